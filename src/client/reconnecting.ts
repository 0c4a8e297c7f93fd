/**
 * `ReconnectingClient`: a {@link ReconnectingSocket} whose connections are opened by
 * {@link connect}, with all of its options.
 *
 * @module
 */

import { connect, type ConnectOptions } from "../client.ts";
import {
  type Dialer,
  type Provider,
  ReconnectingSocket,
  type ReconnectPolicy,
} from "./reconnecting_socket.ts";

/** Options of a {@link ReconnectingClient}: {@link connect}'s, plus the reconnect policy. */
export interface ReconnectOptions
  extends Omit<ConnectOptions, "headers" | "signal" | "protocols">, ReconnectPolicy {
  /** Opens one connection (default: {@link connect} with these options). */
  dial?: Dialer;
}

/**
 * A WebSocket client that survives server restarts and network drops (see
 * {@link ReconnectingSocket} for the behaviour and events). Every {@link connect} option applies
 * to each connection; with `heartbeat` on, a dead server is noticed and reconnected to.
 *
 * @example
 * ```ts
 * import { ReconnectingClient } from "@wsdriver/wsdriver";
 * const client = new ReconnectingClient("ws://127.0.0.1:8080/feed", {
 *   headers: async () => ({ Authorization: `Bearer ${await freshToken()}` }),
 *   onOpen: (ws) => ws.send(JSON.stringify({ subscribe: "prices" })),
 *   heartbeat: { interval: 10_000, timeout: 5_000 },
 *   maxRetries: 10,
 * });
 * client.on("retry", (attempt, delay) => console.log(`attempt ${attempt} in ${delay} ms`));
 * client.on("message", (data) => console.log(data));
 * client.send("hello"); // queued until the first connection is open
 * await client.close();
 * ```
 */
export class ReconnectingClient extends ReconnectingSocket {
  /** Throws a TypeError at once for a URL (not a provider) that is not `ws:`, `wss:` or `ws+unix:`. */
  constructor(url: Provider<string | URL>, options: ReconnectOptions = {}) {
    if (typeof url !== "function" && !/^(wss?|ws\+unix):$/.test(new URL(url).protocol)) {
      throw new TypeError(`not a WebSocket URL: ${url}`);
    }
    super(url, {
      ...options,
      dial: options.dial ?? ((u, o) => connect(u, { ...options, ...o })),
    });
  }
}
