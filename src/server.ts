/**
 * The WebSocket server: `serve(options, handler)`.
 *
 * @module
 */

import { CloseCode } from "./protocol/close.ts";
import { checkClientRequest, encodeAcceptResponse, selectProtocol } from "./protocol/handshake.ts";
import { encodeResponse, HeadReader, HttpParseError, parseRequestHead } from "./protocol/http.ts";
import type { Conn, Listener, ServerTls, Transport } from "./transport/conn.ts";
import { defaultTransport } from "./transport/runtime.ts";
import { DEFAULT_CLOSE_TIMEOUT, WS } from "./ws.ts";

/** Options of {@link serve}. */
export interface ServeOptions {
  /** TCP port (default 8080; 0 picks a free one, see {@link Server.port}). */
  port?: number;
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** Largest message accepted, in bytes (default 64 MiB); over it: close 1009. */
  maxPayload?: number;
  /** Subprotocols this server speaks; the first one the client offers is chosen. */
  protocols?: readonly string[];
  /** Extra headers for every `101 Switching Protocols` answer. */
  headers?: HeadersInit;
  /** PEM certificate and key: serve `wss:`. */
  tls?: ServerTls;
  /** Milliseconds a client has to complete its upgrade request (default 10000). */
  handshakeTimeout?: number;
  /** Milliseconds to wait for the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Largest request head accepted, in bytes (default 16 KiB); over it: 431. */
  maxHeadSize?: number;
  /** @internal Socket implementation; the runtime's by default. */
  transport?: Transport;
}

/** Called for every accepted connection, with the socket already open. */
export type ConnectionHandler = (ws: WS) => void;

/** Default {@link ServeOptions.handshakeTimeout}: 10 s. */
export const DEFAULT_SERVER_HANDSHAKE_TIMEOUT = 10_000;

/**
 * A listening WebSocket server.
 *
 * @example
 * ```ts
 * const server = await serve({ port: 0 }, (ws) => ws.on("message", (m) => ws.send(m)));
 * console.log(server.url);
 * await server.close();
 * ```
 */
export class Server {
  /** Connected clients (open or closing). */
  readonly clients: Set<WS> = new Set();
  #listener: Listener | undefined;
  #secure: boolean;
  #handshaking = new Set<Conn>();
  #closing: Promise<void> | undefined;

  /** @internal Use {@link serve}. */
  constructor(secure: boolean) {
    this.#secure = secure;
  }

  /** @internal */
  _listening(listener: Listener): void {
    this.#listener = listener;
  }

  /** The port listened on. */
  get port(): number {
    return this.#listener!.port;
  }

  /** The address listened on. */
  get hostname(): string {
    return this.#listener!.hostname;
  }

  /** A URL clients on this machine can use, e.g. `ws://127.0.0.1:8080`. */
  get url(): string {
    const h = this.hostname === "0.0.0.0" || this.hostname === "::" ? "127.0.0.1" : this.hostname;
    return `${this.#secure ? "wss" : "ws"}://${h.includes(":") ? `[${h}]` : h}:${this.port}`;
  }

  /** @internal */
  _handshaking(conn: Conn, active: boolean): void {
    if (active) this.#handshaking.add(conn);
    else this.#handshaking.delete(conn);
  }

  /**
   * Stops accepting connections, closes every client with `code` (default 1001) and `reason`, and
   * resolves once all of them are closed (each within its close timeout).
   */
  close(code: number = CloseCode.GoingAway, reason = "server shutting down"): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#listener!.close();
    for (const conn of this.#handshaking) conn.destroy();
    this.#handshaking.clear();
    const waits: Promise<void>[] = [];
    for (const ws of this.clients) {
      if (ws.readyState === "closed") continue;
      waits.push(new Promise((resolve) => ws.once("close", () => resolve())));
      ws.close(code, reason);
    }
    this.#closing = Promise.all(waits).then(() => {});
    return this.#closing;
  }
}

/**
 * Runs the application's handler. If it throws, the connection is closed with 1011 and the error
 * is rethrown outside the server's own code, so the server's state stays consistent.
 */
function runHandler(handler: ConnectionHandler, ws: WS): void {
  try {
    handler(ws);
  } catch (err) {
    ws.close(CloseCode.InternalError);
    queueMicrotask(() => {
      throw err;
    });
  }
}

/**
 * Starts a WebSocket server and resolves once it listens. `handler` runs for every client that
 * completes the opening handshake, before any of its messages are delivered.
 *
 * @example
 * ```ts
 * import { serve } from "@wsdriver/wsdriver";
 * const server = await serve({ port: 8080 }, (ws) => {
 *   ws.on("message", (data) => ws.send(data)); // echo
 * });
 * ```
 */
export async function serve(options: ServeOptions, handler: ConnectionHandler): Promise<Server> {
  const transport = options.transport ?? defaultTransport();
  const accepted = options.protocols ?? [];
  const timeout = options.handshakeTimeout ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT;
  const closeTimeout = options.closeTimeout;
  const server = new Server(options.tls !== undefined);
  const handshake = (srv: Server, conn: Conn) => {
    srv._handshaking(conn, true);
    const reader = new HeadReader(options.maxHeadSize);
    let done = false;
    let timer = setTimeout(() => conn.destroy(), timeout);
    const reject = (status: number, body: string, headers = new Headers()) => {
      done = true;
      clearTimeout(timer);
      conn.write([encodeResponse(status, headers, body)]);
      conn.end();
      // A peer that never closes its side must not hold the socket forever.
      timer = setTimeout(() => conn.destroy(), closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    };
    conn.setHandlers({
      data(chunk) {
        if (done) return;
        const r = reader.push(chunk);
        if (!r.done) return;
        if ("error" in r) return reject(431, "request head too large");
        let req, url;
        try {
          req = parseRequestHead(r.head);
          url = new URL(req.target, `http://${req.headers.get("host") ?? "invalid"}`);
        } catch (err) {
          return reject(
            400,
            err instanceof HttpParseError ? err.message : "invalid request target or Host",
          );
        }
        const check = checkClientRequest(req);
        if (!check.ok) return reject(check.status, check.body, check.headers);
        done = true;
        clearTimeout(timer);
        srv._handshaking(conn, false);
        const protocol = selectProtocol(check.protocols, accepted);
        conn.write([encodeAcceptResponse(check.key, protocol, options.headers)]);
        url.protocol = options.tls ? "wss:" : "ws:";
        const ws = new WS({
          side: "server",
          url: url.href,
          maxPayload: options.maxPayload,
          closeTimeout,
          request: { path: url.pathname, query: url.searchParams, headers: req.headers },
        });
        srv.clients.add(ws);
        ws.once("close", () => srv.clients.delete(ws));
        ws._attach(conn, protocol, r.rest, () => runHandler(handler, ws));
      },
      end() {
        if (!done) conn.end();
      },
      close() {
        clearTimeout(timer);
        srv._handshaking(conn, false);
      },
      drain() {},
    });
  };
  const listener = await transport.listen(
    { hostname: options.hostname ?? "0.0.0.0", port: options.port ?? 8080, tls: options.tls },
    (conn) => handshake(server, conn),
  );
  server._listening(listener);
  return server;
}
