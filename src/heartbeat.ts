/**
 * Heartbeats and idle timeouts: one timer sweeps many sockets, pinging quiet peers, dropping peers
 * that stay silent after a ping (dead peer detection), and closing idle connections.
 *
 * @module
 */

import { now } from "./clock.ts";
import { TimeoutError } from "./errors.ts";
import type { WS } from "./ws.ts";

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /** Ping a peer that has sent nothing for this many milliseconds. */
  interval: number;
  /** Drop a peer that sends nothing for this many milliseconds after a ping. */
  timeout: number;
}

/** Server default: ping after 30 s of silence, drop the peer 10 s later. */
export const DEFAULT_HEARTBEAT: HeartbeatOptions = { interval: 30_000, timeout: 10_000 };

/** Smallest sweep period, so tiny settings in tests cannot spin the timer. */
const MIN_TICK = 20;

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
  #sockets = new Set<WS>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick: number;

  constructor(options: { heartbeat?: HeartbeatOptions; idleTimeout?: number }) {
    this.heartbeat = options.heartbeat;
    this.idleTimeout = options.idleTimeout;
    const periods = [options.heartbeat?.interval, options.heartbeat?.timeout, options.idleTimeout]
      .filter((n): n is number => n !== undefined && n > 0);
    this.#tick = Math.max(MIN_TICK, Math.min(...periods) / 2);
    if (periods.length === 0) this.#tick = 0;
  }

  /** Watches `ws` until it closes. */
  add(ws: WS): void {
    if (this.#tick === 0) return;
    // Closed sockets are dropped by the next sweep: no listener per socket.
    this.#sockets.add(ws);
    this.#timer ??= setInterval(() => this.#sweep(), this.#tick);
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sockets.clear();
  }

  #sweep(): void {
    const t = now();
    const hb = this.heartbeat, idle = this.idleTimeout;
    for (const ws of this.#sockets) {
      if (ws.readyState === "closed") {
        this.#sockets.delete(ws);
        continue;
      }
      if (ws.readyState !== "open") continue;
      if (ws._seen) {
        ws._seen = false;
        ws._lastSeenAt = t;
        ws._pingSentAt = 0;
      }
      if (ws._active) {
        ws._active = false;
        ws._lastMessageAt = t;
      }
      if (idle !== undefined && t - ws._lastMessageAt >= idle) {
        ws.close(1001, "idle timeout");
        continue;
      }
      if (!hb || ws.kind === "raw") continue; // raw TCP has no ping
      if (ws._pingSentAt !== 0) {
        if (t - ws._pingSentAt >= hb.timeout) {
          ws._fatal(
            new TimeoutError(
              "WS_ERR_HEARTBEAT_TIMEOUT",
              `no answer to a ping within ${hb.timeout} ms`,
            ),
          );
        }
      } else if (t - ws._lastSeenAt >= hb.interval) {
        ws._pingSentAt = t;
        ws.ping();
      }
    }
    if (this.#sockets.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
