/**
 * The reconnecting client of the browser entry point: a {@link ReconnectingSocket} whose
 * connections are the native `WebSocket`'s (through the browser {@link connect}).
 *
 * @module
 */

import {
  type Dialer,
  type Provider,
  ReconnectingSocket,
  type ReconnectPolicy,
} from "../client/reconnecting_socket.ts";
import { type BrowserConnectOptions, connect } from "./connect.ts";

/**
 * Options of the browser {@link ReconnectingClient}: the browser {@link connect}'s and the
 * reconnect policy. A browser's `WebSocket` cannot send request headers: `headers` is not used.
 */
export interface BrowserReconnectOptions
  extends Omit<BrowserConnectOptions, "signal" | "protocols">, Omit<ReconnectPolicy, "headers"> {
  /** Opens one connection (default: the browser {@link connect} with these options). */
  dial?: Dialer;
}

/**
 * A client that survives server restarts and network drops, on the browser's `WebSocket`: the
 * same policy, queue, `onOpen` hook and events as on the other runtimes. The URL may be relative
 * to the page, and `http:`/`https:` stand for `ws:`/`wss:`.
 *
 * @example
 * ```ts
 * import { ReconnectingClient } from "wsdriver"; // the "browser" export condition picks it
 * const client = new ReconnectingClient("/feed", {
 *   onOpen: (ws) => ws.send(JSON.stringify({ subscribe: "prices" })),
 * });
 * client.on("message", (data) => console.log(data));
 * ```
 */
export class ReconnectingClient extends ReconnectingSocket {
  /**
   * Starts connecting on a microtask, so listeners added right after construction see every
   * event.
   *
   * @param url Where to connect, relative to the page if need be, or a function asked again
   *   before each attempt.
   * @param options The browser {@link connect}'s options and the reconnect policy.
   */
  constructor(url: Provider<string | URL>, options: BrowserReconnectOptions = {}) {
    super(url, {
      ...options,
      dial: options.dial ?? ((u, o) => connect(u, { ...options, protocols: o.protocols })),
    });
  }
}
