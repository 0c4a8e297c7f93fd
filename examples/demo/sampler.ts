/**
 * The dashboard's data: every `interval` ms, a sample of `server.stats()` (connections, and
 * messages and bytes per second each way), the last `keep` of them remembered for a page that
 * opens later, each new one published to the dashboard's sockets.
 *
 * @module
 */

import type { Server, ServerStats } from "../../mod.ts";

/** One point of the dashboard's plots. */
export interface Sample {
  /** Milliseconds since the epoch. */
  t: number;
  connections: number;
  messagesInPerSecond: number;
  messagesOutPerSecond: number;
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
}

/** Topic the dashboard's sockets subscribe to. */
export const DASHBOARD_TOPIC = "dashboard";

/** Samples `server` until stopped. */
export class Sampler {
  readonly samples: Sample[] = [];
  #server: Server;
  #keep: number;
  #last: { t: number; s: ServerStats };
  #timer: ReturnType<typeof setInterval>;

  constructor(server: Server, interval = 1000, keep = 300) {
    this.#server = server;
    this.#keep = keep;
    this.#last = { t: Date.now(), s: server.stats() };
    this.#timer = setInterval(() => this.#sample(), interval);
  }

  /** What a page that opens now is sent first. */
  history(): string {
    return JSON.stringify({ type: "history", samples: this.samples });
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    const t = Date.now(), s = this.#server.stats();
    const prev = this.#last, dt = Math.max(1, t - prev.t) / 1000;
    const rate = (now: number, before: number) => Math.round((now - before) / dt);
    const sample: Sample = {
      t,
      connections: s.connections,
      messagesInPerSecond: rate(s.messagesIn, prev.s.messagesIn),
      messagesOutPerSecond: rate(s.messagesOut, prev.s.messagesOut),
      bytesInPerSecond: rate(s.bytesIn, prev.s.bytesIn),
      bytesOutPerSecond: rate(s.bytesOut, prev.s.bytesOut),
    };
    this.#last = { t, s };
    this.samples.push(sample);
    if (this.samples.length > this.#keep) this.samples.shift();
    this.#server.publish(
      DASHBOARD_TOPIC,
      JSON.stringify({
        type: "sample",
        sample,
        totals: {
          connectionsTotal: s.connectionsTotal,
          messagesIn: s.messagesIn,
          messagesOut: s.messagesOut,
          bytesIn: s.bytesIn,
          bytesOut: s.bytesOut,
          refused: s.refused,
          closes: s.closes,
          rateLimited: s.rateLimited,
          topics: s.topics,
          subscribers: s.subscribers,
          uptime: s.uptime,
        },
      }),
    );
  }
}
