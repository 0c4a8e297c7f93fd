/**
 * `Bun.serve` integration: sockets that Bun upgraded get the `WS` API.
 *
 * @module
 */

import { StateError } from "../errors.ts";
import { NativeDriver } from "../driver/native.ts";
import { WS, type WSConfig } from "../ws.ts";

/** What every socket of the adapter shares. */
const SERVER: WSConfig<never> = { side: "server" };

/** The slice of Bun's `ServerWebSocket` used here, typed locally (no Bun types needed). */
export interface BunServerWebSocket<Data> {
  /** Application data given to `server.upgrade`. */
  data: Data;
  /** The peer's IP address. */
  readonly remoteAddress: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends a message; returns bytes sent, -1 on backpressure, 0 if dropped. */
  send(data: string | Uint8Array): number;
  /** Sends a ping. */
  ping(data?: string | Uint8Array): number;
  /** Sends a pong. */
  pong(data?: string | Uint8Array): number;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** Bytes queued and not yet written. */
  getBufferedAmount?(): number;
}

/** The `websocket` handlers object that `Bun.serve` takes. */
export interface BunWebSocketHandlers<Data> {
  /** A socket was upgraded. */
  open(ws: BunServerWebSocket<Data>): void;
  /** A message arrived. */
  message(ws: BunServerWebSocket<Data>, message: string | Uint8Array): void;
  /** The socket closed. */
  close(ws: BunServerWebSocket<Data>, code: number, reason: string): void;
  /** The socket can take more data. */
  drain(ws: BunServerWebSocket<Data>): void;
  /** A ping arrived. */
  ping(ws: BunServerWebSocket<Data>, data: Uint8Array): void;
  /** A pong arrived. */
  pong(ws: BunServerWebSocket<Data>, data: Uint8Array): void;
}

function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Handlers for `Bun.serve({ websocket })` that hand each upgraded socket to `handler` as a `WS`.
 * Fragments cannot be sent through Bun's API (they throw `WS_ERR_UNSUPPORTED`); everything else
 * works as on wsdriver's own server. `ws.data` is the `data` given to `server.upgrade`.
 *
 * @example
 * ```ts
 * Bun.serve({
 *   port: 8080,
 *   fetch: (req, server) => server.upgrade(req, { data: { user: "ann" } }) ? undefined : new Response("hi"),
 *   websocket: bunWebSocket((ws) => ws.on("message", (m) => ws.send(m))),
 * });
 * ```
 */
export function bunWebSocket<Data = unknown>(
  handler: (ws: WS<Data>) => void,
): BunWebSocketHandlers<Data> {
  const sockets = new WeakMap<BunServerWebSocket<Data>, NativeDriver>();
  return {
    open(bws) {
      const ws = new WS<Data>(SERVER, { url: "", data: bws.data });
      const driver = new NativeDriver(ws, {
        sendText: (text) => void bws.send(text),
        sendBinary: (data) => void bws.send(data),
        sendEncoded: (_chunks, payload) => void bws.send(payload),
        sendFragment: () => unsupported(),
        ping: (payload) => void bws.ping(payload),
        pong: (payload) => void bws.pong(payload),
        close: (code, reason) => bws.close(code, reason),
        terminate: () => bws.terminate(),
        get bufferedAmount() {
          return bws.getBufferedAmount?.() ?? 0;
        },
        remoteAddress: bws.remoteAddress,
        remotePort: 0,
      });
      sockets.set(bws, driver);
      ws._open(driver, "", handler);
    },
    message(bws, message) {
      const driver = sockets.get(bws);
      if (typeof message === "string") driver?.message(message, false);
      else driver?.message(view(message), true);
    },
    close(bws, code, reason) {
      sockets.get(bws)?.closed(code, reason, code !== 1006);
    },
    drain(bws) {
      sockets.get(bws)?.drain();
    },
    ping(bws, data) {
      sockets.get(bws)?.control("ping", view(data));
    },
    pong(bws, data) {
      sockets.get(bws)?.control("pong", view(data));
    },
  };
}

function unsupported(): never {
  throw new StateError("WS_ERR_UNSUPPORTED", "Bun's server sockets cannot send fragments");
}
