/**
 * Wraps a standard (WHATWG) `WebSocket` in the `WS` API: a socket from `Deno.upgradeWebSocket`,
 * or a client `WebSocket` of Deno, Bun or a browser.
 *
 * @module
 */

import { StateError, WSError } from "../errors.ts";
import { NativeDriver, type NativeSocket } from "../driver/native.ts";
import type { UpgradeRequest } from "../socket_types.ts";
import { WS } from "../ws.ts";

/** Options of {@link fromWebSocket}. */
export interface FromWebSocketOptions<Data> {
  /** The upgrade request (server side), for `ws.request` and `ws.url`. */
  request?: Request;
  /** Application data for `ws.data`. */
  data?: Data;
  /** The peer's address, e.g. from `Deno.serve`'s `info.remoteAddr`. */
  remoteAddress?: string;
  /** The peer's port. */
  remotePort?: number;
}

/** Throws: the standard WebSocket API has no way to do `what`. */
function unsupported(what: string): never {
  throw new StateError("WS_ERR_UNSUPPORTED", `this native socket cannot send ${what}`);
}

/** The standard API only lets applications send 1000 and 3000-4999. */
function closeCode(code: number | undefined): number {
  return code === undefined || code === 1000 || (code >= 3000 && code <= 4999)
    ? code ?? 1000
    : 1000;
}

/**
 * Wraps `socket` so that it has the `WS` events and methods. Fragments, pings and pongs cannot be
 * sent through the standard API (they throw a `StateError` with code `WS_ERR_UNSUPPORTED`); close
 * codes other than 1000 and 3000-4999 are sent as 1000.
 *
 * @example
 * ```ts
 * Deno.serve((req, info) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   const ws = fromWebSocket(socket, { request: req, remoteAddress: info.remoteAddr.hostname });
 *   ws.on("message", (m) => ws.send(m));
 *   return response;
 * });
 * ```
 */
export function fromWebSocket<Data = unknown>(
  socket: WebSocket,
  options: FromWebSocketOptions<Data> = {},
): WS<Data> {
  const req = options.request;
  let request: UpgradeRequest | undefined;
  if (req) {
    const u = new URL(req.url);
    request = { path: u.pathname, query: u.searchParams, headers: req.headers, params: {} };
  }
  const ws = new WS<Data>({ side: req ? "server" : "client" }, {
    url: socket.url || req?.url.replace(/^http/, "ws") || "",
    request,
    data: options.data,
  });
  socket.binaryType = "arraybuffer";
  const native: NativeSocket = {
    sendText: (text) => socket.send(text),
    sendBinary: (data) => socket.send(data as Uint8Array<ArrayBuffer>),
    sendEncoded: (_chunks, payload) => socket.send(payload as string | Uint8Array<ArrayBuffer>),
    sendFragment: () => unsupported("fragments"),
    ping: () => unsupported("pings"),
    pong: () => unsupported("pongs"),
    close: (code, reason) => socket.close(closeCode(code), reason),
    terminate: () => socket.close(),
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    remoteAddress: options.remoteAddress ?? "",
    remotePort: options.remotePort ?? 0,
  };
  const driver = new NativeDriver(ws, native);
  const open = () => ws._open(driver, socket.protocol);
  if (socket.readyState === 1) queueMicrotask(open);
  else socket.addEventListener("open", open, { once: true });
  socket.addEventListener("message", (e) => {
    const data = (e as MessageEvent).data;
    if (typeof data === "string") driver.message(data, false);
    else driver.message(new Uint8Array(data as ArrayBuffer), true);
  });
  socket.addEventListener("error", () => {
    ws._fail(
      ws.readyState === "connecting"
        ? new WSError("WS_ERR_CONNECT", "the native socket failed to connect")
        : new WSError("WS_ERR_NATIVE", "the native socket failed"),
    );
  });
  socket.addEventListener("close", (e) => {
    const ev = e as CloseEvent;
    driver.closed(ev.code, ev.reason, ev.wasClean);
  });
  return ws;
}
