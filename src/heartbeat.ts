/**
 * Heartbeats and idle timeouts: one timer sweeps many sockets, pinging quiet peers, dropping peers
 * that stay silent after a ping (dead peer detection), and closing idle connections.
 *
 * @module
 */

import { now } from "./clock.ts";
import { TimeoutError } from "./errors.ts";
import type { WS } from "./ws.ts";
import { DEFAULTS } from "./defaults.ts";
import { SocketList } from "./socket_list.ts";

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /** Ping a peer that has sent nothing for this many milliseconds. */
  interval: number;
  /** Drop a peer that sends nothing for this many milliseconds after a ping. */
  timeout: number;
}

/** Server default: ping after 30 s of silence, drop the peer 10 s later. */
export const DEFAULT_HEARTBEAT: HeartbeatOptions = DEFAULTS.server.heartbeat;

/** Smallest sweep period, so tiny settings in tests cannot spin the timer. */
const MIN_TICK = 20;
/**
 * Most sockets one slice of a sweep visits, and the time it may take: a sweep of 10k sockets that
 * pinged all at once would hold the event loop for hundreds of milliseconds (and bring all their
 * pongs back together), so each sweep is cut into slices spread over the sweep period.
 */
const SLICE_SOCKETS = 32;
const SLICE_BUDGET_MS = 2;

/**
 * Watches a set of sockets with one timer.
 *
 * @example
 * ```ts
 * const sweeper = new Sweeper({ heartbeat: { interval: 30_000, timeout: 10_000 } });
 * sweeper.add(ws);
 * ```
 */
export class Sweeper {
  readonly heartbeat: HeartbeatOptions | undefined;
  /** Close a socket after this many milliseconds without a data message either way. */
  readonly idleTimeout: number | undefined;
  /** The sockets watched; its cursor is where the sweep under way stands. */
  #sockets = new SocketList<WS>("_sweepSlot");
  #timer: ReturnType<typeof setTimeout> | undefined;
  #tick: number;
  #sweeping = false;
  #sweepStart = 0;
  #sliceDelay = 0;

  constructor(options: { heartbeat?: HeartbeatOptions; idleTimeout?: number }) {
    this.heartbeat = options.heartbeat;
    this.idleTimeout = options.idleTimeout;
    const periods = [options.heartbeat?.interval, options.heartbeat?.timeout, options.idleTimeout]
      .filter((n): n is number => n !== undefined && n > 0);
    this.#tick = Math.max(MIN_TICK, Math.min(...periods) / 2);
    if (periods.length === 0) this.#tick = 0;
  }

  /** Watches `ws` until {@link remove}. */
  add(ws: WS): void {
    if (this.#tick === 0) return;
    this.#sockets.add(ws);
    if (this.#timer === undefined && !this.#sweeping) {
      this.#sweepStart = now();
      this.#timer = setTimeout(this.#slice, this.#tick);
    }
  }

  /** Stops watching `ws` (it closed): a closed socket is not kept until the next sweep. */
  remove(ws: WS): void {
    this.#sockets.remove(ws);
  }

  /** Stops the timer. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sweeping = false;
    this.#sockets.clear();
  }

  /** One slice of a sweep; the next one is scheduled so that a sweep spans half the period. */
  #slice = (): void => {
    this.#timer = undefined;
    const t = now();
    const sockets = this.#sockets;
    if (!this.#sweeping) {
      this.#sweeping = true;
      sockets.cursor = 0;
      this.#sweepStart = t;
      const slices = Math.ceil(sockets.size / SLICE_SOCKETS);
      this.#sliceDelay = slices > 1 ? Math.max(1, this.#tick / 2 / slices) : 0;
    }
    const began = performance.now();
    for (let n = 1;; n++) {
      if (sockets.cursor >= sockets.size) {
        this.#sweeping = false;
        sockets.cursor = 0;
        break;
      }
      // Past the cursor before the visit, which may close the socket (and so remove it).
      this.#visit(sockets.items[sockets.cursor++], t);
      if (n >= SLICE_SOCKETS || ((n & 15) === 0 && performance.now() - began > SLICE_BUDGET_MS)) {
        break;
      }
    }
    if (this.#sweeping) {
      this.#timer = setTimeout(this.#slice, this.#sliceDelay);
    } else if (sockets.size > 0) {
      this.#timer = setTimeout(this.#slice, Math.max(0, this.#sweepStart + this.#tick - now()));
    }
  };

  #visit(ws: WS, t: number): void {
    const hb = this.heartbeat, idle = this.idleTimeout;
    if (ws.readyState === "closed") {
      this.#sockets.remove(ws);
      return;
    }
    if (ws.readyState !== "open") return;
    ws._stamp(t);
    if (idle !== undefined && t - ws._lastMessageAt >= idle) {
      ws.close(1001, "idle timeout");
      return;
    }
    if (!hb || ws.kind === "raw") return; // raw TCP has no ping
    const seen = ws._lastSeenAt;
    if (seen < 0) {
      // Negated: when the ping now unanswered was sent (see `WS._lastSeenAt`).
      if (t + seen >= hb.timeout) {
        ws._fail(
          new TimeoutError(
            "WS_ERR_HEARTBEAT_TIMEOUT",
            `no answer to a ping within ${hb.timeout} ms`,
          ),
        );
      }
    } else if (t - seen >= hb.interval) {
      ws._lastSeenAt = -t;
      ws.ping();
    }
  }
}
