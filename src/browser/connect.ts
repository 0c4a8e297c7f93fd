/**
 * The client for browsers: `connect(url)` over the runtime's native `WebSocket`, returning the
 * same `WS` (events, `send`, `close`) as on Deno, Bun and Node, so that code on top of it (the
 * `Rpc` layer, application code) runs unchanged. What a browser cannot do is not offered: no
 * request headers, proxies, TLS options or unix sockets (the browser decides those).
 *
 * @module
 */

import { fromWebSocket } from "../adapters/websocket.ts";
import { TimeoutError, WSError } from "../errors.ts";
import type { WS } from "../ws.ts";
import { DEFAULTS } from "../defaults.ts";

/** The standard `WebSocket` constructor, or one shaped like it (e.g. the `ws` package's). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Options of the browser {@link connect}. */
export interface BrowserConnectOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: readonly string[];
  /** Milliseconds for the browser to open the connection (default 10000). */
  handshakeTimeout?: number;
  /** Abandons the connection attempt. */
  signal?: AbortSignal;
  /** The `WebSocket` implementation (default: the global one). */
  WebSocket?: WebSocketConstructor;
}

/** Default {@link BrowserConnectOptions.handshakeTimeout}: 10 s, as on the other runtimes. */
const DEFAULT_HANDSHAKE_TIMEOUT: number = DEFAULTS.client.handshakeTimeout;

/**
 * Opens a WebSocket connection with the native `WebSocket`. Returns at once with a socket in the
 * `connecting` state; `open`, or `error` + `close`, follow. Messages sent before `open` are
 * queued. Fragments, pings and pongs cannot be sent through the browser's API (they throw a
 * `StateError`, `WS_ERR_UNSUPPORTED`).
 *
 * @example
 * ```ts
 * import { connect, Rpc } from "wsdriver"; // the "browser" export condition picks this file
 * const ws = connect("wss://example.com/chat", { protocols: ["chat"] });
 * ws.on("open", () => ws.send("hi"));
 * ws.on("message", (data) => console.log(data));
 * const rpc = new Rpc(ws);
 * ```
 */
export function connect(url: string | URL, options: BrowserConnectOptions = {}): WS {
  const u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new TypeError(`not a WebSocket URL: ${u.href}`);
  }
  if (u.hash !== "") throw new TypeError("a WebSocket URL may not have a fragment");
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Ctor) throw new TypeError("this runtime has no WebSocket: pass options.WebSocket");
  const socket = new Ctor(u.href, [...(options.protocols ?? [])]);
  const ws = fromWebSocket(socket);
  if (ws.readyState !== "connecting") return ws;
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const { signal } = options;
  const settle = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  const fail = (err: WSError) => {
    settle();
    ws._fail(err);
  };
  const timer = setTimeout(
    () => fail(new TimeoutError("WS_ERR_HANDSHAKE_TIMEOUT", `no handshake within ${timeout} ms`)),
    timeout,
  );
  const onAbort = () => fail(new WSError("WS_ERR_ABORTED", "connection attempt aborted"));
  if (signal?.aborted) queueMicrotask(onAbort);
  signal?.addEventListener("abort", onAbort, { once: true });
  // Whatever ends the attempt (open, failure, close() while connecting) stops the timer; one that
  // gives up drops the native socket.
  ws.once("open", settle);
  ws.once("close", settle);
  ws._connecting(() => {
    settle();
    socket.close();
  });
  return ws;
}
