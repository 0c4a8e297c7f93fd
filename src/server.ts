/**
 * The WebSocket server: `serve(options, handler)`.
 *
 * @module
 */

import { DEFAULT_HEARTBEAT, type HeartbeatOptions, Sweeper } from "./heartbeat.ts";
import { concatBytes } from "./protocol/bytes.ts";
import { CloseCode } from "./protocol/close.ts";
import { type DeflateOptions, negotiateDeflate, PerMessageDeflate } from "./protocol/deflate.ts";
import { checkClientRequest, encodeAcceptResponse, selectProtocol } from "./protocol/handshake.ts";
import {
  encodeResponse,
  hasToken,
  HeadReader,
  HttpParseError,
  parseRequestHead,
  type RequestHead,
} from "./protocol/http.ts";
import { type RawFraming, RawType } from "./protocol/raw.ts";
import { originAllowed, type OriginPolicy, Router } from "./router.ts";
import { type PublishOptions, type SlowConsumerPolicy, Topics } from "./topics.ts";
import type { Conn, Listener, ServerTls, Transport } from "./transport/conn.ts";
import { nodeConnFromSocket } from "./transport/node.ts";
import { defaultTransport } from "./transport/runtime.ts";
import { DEFAULT_CLOSE_TIMEOUT, type SendData, type UpgradeRequest, WS } from "./ws.ts";

/** What a server knows about an upgrade request before accepting it. */
export interface UpgradeInfo extends UpgradeRequest {
  /** The full `ws:`/`wss:` URL requested. */
  url: string;
  /** Subprotocols the client offered. */
  protocols: string[];
  remoteAddress: string;
  remotePort: number;
}

/**
 * Admission hook: return nothing (or `{ data }`) to accept, attaching `data` to `ws.data`; return
 * a `Response` to refuse with its status, headers and body (e.g. 401 with `WWW-Authenticate`).
 */
export type AcceptHook<Data> = (
  info: UpgradeInfo,
) => Response | { data: Data } | void | Promise<Response | { data: Data } | void>;

/** Options shared by a server and each of its resources (a resource's own value wins). */
export interface ResourceOptions<Data> {
  /** Subprotocols spoken; the first one the client offers is chosen. */
  protocols?: readonly string[];
  /** Which `Origin`s are admitted (default any); others get 403. */
  origins?: OriginPolicy;
  /** Most clients at once; over it, 503. */
  maxClients?: number;
  /** Largest message accepted, in bytes (default 64 MiB); over it: close 1009. */
  maxPayload?: number;
  /** Extra headers for the `101 Switching Protocols` answer. */
  headers?: HeadersInit;
  /** Admission hook (after the server-wide one). */
  accept?: AcceptHook<Data>;
  /** Accept permessage-deflate (RFC 7692), with these options if an object (default off). */
  deflate?: boolean | DeflateOptions;
}

/** A resource: its handler and options. */
export interface Resource<Data> extends ResourceOptions<Data> {
  handler: ConnectionHandler<Data>;
}

/** Options of {@link serve}. */
export interface ServeOptions<Data = unknown> extends ResourceOptions<Data> {
  /** TCP port (default 8080; 0 picks a free one, see {@link Server.port}). */
  port?: number;
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** PEM certificate and key: serve `wss:`. */
  tls?: ServerTls;
  /**
   * Resources by path (`/chat/:room` or exact); a path that matches none gets 404. Without
   * resources, the handler given to `serve` takes every path.
   */
  resources?: Record<string, Resource<Data> | ConnectionHandler<Data>>;
  /** Milliseconds a client has to complete its upgrade request (default 10000). */
  handshakeTimeout?: number;
  /** Milliseconds to wait for the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Largest request head accepted, in bytes (default 16 KiB); over it: 431. */
  maxHeadSize?: number;
  /** Ping quiet clients and drop dead ones (default 30 s / 10 s); `false` turns it off. */
  heartbeat?: HeartbeatOptions | false;
  /** Close a client with 1001 after this many milliseconds without a data message (default off). */
  idleTimeout?: number;
  /** Outgoing bytes per client above which it is not read and broadcasts skip it (default 1 MiB). */
  highWaterMark?: number;
  /** What `publish` does with a client over its high-water mark (default `"drop"`). */
  slowConsumer?: SlowConsumerPolicy;
  /** Close code when `slowConsumer` is `"close"`: 1008 or 1013 (default). */
  slowConsumerCode?: 1008 | 1013;
  /**
   * Answers plain HTTP requests (no `Upgrade: websocket`), so one server serves a page and its
   * sockets. Without it they get 426. One request per connection; bodies need a Content-Length.
   */
  fetch?: (
    request: Request,
    info: { remoteAddress: string; remotePort: number },
  ) => Response | Promise<Response>;
  /** Largest request body passed to `fetch`, in bytes (default 1 MiB); over it: 413. */
  maxBodySize?: number;
  /**
   * Also accept raw TCP clients on the same port (default off): the first bytes decide, an HTTP
   * request head goes the HTTP/WebSocket way, anything else (or silence for `detectTimeout`) is a
   * raw connection, handed as a `WS` of kind `"raw"` to the resource at `raw.path`.
   */
  raw?: boolean | RawOptions;
  /** @internal Socket implementation; the runtime's by default. */
  transport?: Transport;
}

/** Raw TCP clients on a server's port. */
export interface RawOptions {
  /** `"line"`: newline-delimited UTF-8 text (default); `"length"`: length-prefixed messages. */
  framing?: RawFraming;
  /** The resource that serves raw clients (default: the `serve` handler, or the resource at `/`). */
  path?: string;
  /** Milliseconds to wait for a first byte before taking a silent client as raw (default 300). */
  detectTimeout?: number;
}

/** Default {@link ServeOptions.maxBodySize}: 1 MiB. */
export const DEFAULT_MAX_BODY_SIZE = 1024 * 1024;

/** The parts of a `node:http` `IncomingMessage` that {@link Server.handleUpgrade} reads. */
export interface NodeUpgradeRequest {
  method?: string;
  url?: string;
  httpVersion?: string;
  rawHeaders?: string[];
}

/** Called for every accepted connection, with the socket already open. */
export type ConnectionHandler<Data = unknown> = (ws: WS<Data>) => void;

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
export class Server<Data = unknown> {
  /** Connected clients (open or closing). */
  readonly clients: Set<WS<Data>> = new Set();
  /** Topics and their subscribers; see {@link WS.subscribe}. */
  readonly topics: Topics;
  #byResource = new Map<string, Set<WS<Data>>>();
  #listener: Listener | undefined;
  #secure: boolean;
  #handshaking = new Set<Conn>();
  #sweeper: Sweeper;
  #closing: Promise<void> | undefined;

  /** @internal Use {@link serve}. */
  constructor(secure: boolean, topics: Topics, sweeper: Sweeper) {
    this.#secure = secure;
    this.topics = topics;
    this.#sweeper = sweeper;
  }

  /** @internal Takes over a new connection (set by {@link createServer}). */
  _accept: (conn: Conn, parsed?: { req: RequestHead; rest: Uint8Array }) => void = () => {};

  /** @internal */
  _listening(listener: Listener): void {
    this.#listener = listener;
  }

  /** The port listened on (0 for a server made by {@link createServer}). */
  get port(): number {
    return this.#listener?.port ?? 0;
  }

  /** The address listened on (`""` for a server made by {@link createServer}). */
  get hostname(): string {
    return this.#listener?.hostname ?? "";
  }

  /**
   * Takes over an upgrade request from a `node:http` (or `node:https`) server's `upgrade` event:
   * the same checks, admission and handler as for the server's own connections.
   */
  handleUpgrade(req: NodeUpgradeRequest, socket: unknown, head: Uint8Array): void {
    const headers = new Headers();
    const raw = req.rawHeaders ?? [];
    try {
      for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    } catch {
      // Node already validated the head; a value Headers refuses is answered like any bad head.
    }
    const parsed: RequestHead = {
      method: req.method ?? "GET",
      target: req.url ?? "/",
      version: `HTTP/${req.httpVersion ?? "1.1"}`,
      headers,
    };
    this._accept(nodeConnFromSocket(socket), { req: parsed, rest: new Uint8Array(head) });
  }

  /** A URL clients on this machine can use, e.g. `ws://127.0.0.1:8080`. */
  get url(): string {
    const h = this.hostname === "0.0.0.0" || this.hostname === "::" ? "127.0.0.1" : this.hostname;
    return `${this.#secure ? "wss" : "ws"}://${h.includes(":") ? `[${h}]` : h}:${this.port}`;
  }

  /** Clients of the resource registered at `pattern` (e.g. `"/chat/:room"`). */
  clientsOf(pattern: string): ReadonlySet<WS<Data>> {
    return this.#byResource.get(pattern) ?? new Set();
  }

  /**
   * Sends `data` to every open subscriber of `topic`, encoding the frame once; returns how many
   * got it. See {@link Topics.publish}.
   */
  publish(topic: string, data: SendData, options?: PublishOptions): number {
    return this.topics.publish(topic, data, options);
  }

  /** @internal */
  _handshaking(conn: Conn, active: boolean): void {
    if (active) this.#handshaking.add(conn);
    else this.#handshaking.delete(conn);
  }

  /** @internal */
  _admitted(ws: WS<Data>, pattern: string): void {
    this.clients.add(ws);
    ws._resource = pattern;
    let set = this.#byResource.get(pattern);
    if (!set) this.#byResource.set(pattern, set = new Set());
    set.add(ws);
    this.#sweeper.add(ws as WS);
  }

  /** @internal A client closed (WS's owner hook). */
  _forget(ws: WS<Data>): void {
    this.clients.delete(ws);
    this.#byResource.get(ws._resource)?.delete(ws);
  }

  /**
   * Stops accepting connections, closes every client with `code` (default 1001) and `reason`, and
   * resolves once all of them are closed (each within its close timeout).
   */
  close(code: number = CloseCode.GoingAway, reason = "server shutting down"): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#listener?.close();
    this.#sweeper.stop();
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
function runHandler<Data>(handler: ConnectionHandler<Data>, ws: WS<Data>): void {
  try {
    handler(ws);
  } catch (err) {
    ws.close(CloseCode.InternalError);
    queueMicrotask(() => {
      throw err;
    });
  }
}

const DEFAULT_PATTERN = "*";

/**
 * Creates a server that does not listen by itself: feed it upgrades from an existing HTTP server
 * with {@link Server.handleUpgrade}. {@link serve} is `createServer` plus a listening socket.
 *
 * @example
 * ```ts
 * import { createServer as createHttpServer } from "node:http";
 * const wss = createServer({}, (ws) => ws.on("message", (m) => ws.send(m)));
 * const http = createHttpServer((req, res) => res.end("hello"));
 * http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head));
 * http.listen(8080);
 * ```
 */
export function createServer<Data = unknown>(
  options: ServeOptions<Data>,
  handler?: ConnectionHandler<Data>,
): Server<Data> {
  const router = new Router<Resource<Data> & { pattern: string }>();
  for (const [pattern, r] of Object.entries(options.resources ?? {})) {
    router.add(pattern, typeof r === "function" ? { handler: r, pattern } : { ...r, pattern });
  }
  if (!options.resources && !handler) throw new TypeError("serve needs a handler or resources");
  const fallback: Resource<Data> & { pattern: string } | undefined = handler && !options.resources
    ? { handler, pattern: DEFAULT_PATTERN }
    : undefined;
  const timeout = options.handshakeTimeout ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT;
  const closeTimeout = options.closeTimeout;
  const topics = new Topics({
    slowConsumer: options.slowConsumer,
    slowConsumerCode: options.slowConsumerCode,
  });
  const heartbeat = options.heartbeat === false
    ? undefined
    : options.heartbeat ?? DEFAULT_HEARTBEAT;
  const sweeper = new Sweeper({ heartbeat, idleTimeout: options.idleTimeout });
  const server = new Server<Data>(options.tls !== undefined, topics, sweeper);
  const rawOptions: RawOptions | undefined = options.raw === true ? {} : options.raw || undefined;
  /** Connections past the request checks and not yet open: they count against maxClients. */
  const admitting = new Map<string, number>();
  const count = (pattern: string, delta: number) =>
    admitting.set(pattern, (admitting.get(pattern) ?? 0) + delta);

  const handshake = (conn: Conn, parsed?: { req: RequestHead; rest: Uint8Array }) => {
    server._handshaking(conn, true);
    const reader = new HeadReader(options.maxHeadSize);
    let state: "detect" | "head" | "admitting" | "body" | "done" = rawOptions && !parsed
      ? "detect"
      : "head";
    const early: Uint8Array[] = [];
    let bodyLength = 0, bodyReady: (() => void) | undefined;
    let timer = setTimeout(() => conn.destroy(), timeout);
    const reject = (
      status: number,
      body: string | Uint8Array | undefined,
      headers = new Headers(),
    ) => {
      state = "done";
      clearTimeout(timer);
      conn.write([encodeResponse(status, headers, body)]);
      conn.end();
      // A peer that never closes its side must not hold the socket forever.
      timer = setTimeout(() => conn.destroy(), closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    };
    /**
     * The checks and hooks every connection passes, WebSocket or raw; resolves with the resource
     * and the data to attach, or undefined once the connection was refused.
     */
    const admission = async (
      path: string,
      info: Omit<UpgradeInfo, "path" | "params">,
      refuse: (status: number, body: string, headers?: Headers) => void,
    ) => {
      const match = router.match(path) ?? (fallback && { resource: fallback, params: {} });
      if (!match) return refuse(404, "no such resource");
      const resource = match.resource;
      if (!originAllowed(resource.origins ?? options.origins, info.headers.get("origin"))) {
        return refuse(403, "origin not allowed");
      }
      const pattern = resource.pattern;
      const inResource = server.clientsOf(pattern).size + (admitting.get(pattern) ?? 0);
      let total = server.clients.size;
      for (const n of admitting.values()) total += n;
      const serverMax = options.maxClients, resourceMax = resource.maxClients;
      if (
        (serverMax !== undefined && total >= serverMax) ||
        (resourceMax !== undefined && inResource >= resourceMax)
      ) {
        return refuse(503, "too many clients", new Headers({ "Retry-After": "5" }));
      }
      const full: UpgradeInfo = { ...info, path, params: match.params };
      let data: Data | undefined;
      state = "admitting";
      count(pattern, 1);
      try {
        for (const hook of [options.accept, resource.accept]) {
          if (!hook) continue;
          const verdict = await hook(full);
          if (state !== "admitting") return; // the client left meanwhile
          if (verdict instanceof Response) {
            return refuse(verdict.status, await verdict.text(), verdict.headers);
          }
          if (verdict) data = verdict.data;
        }
      } catch (err) {
        if (state === "admitting") refuse(500, "internal error");
        queueMicrotask(() => {
          throw err;
        });
        return;
      } finally {
        count(pattern, -1);
      }
      state = "done";
      clearTimeout(timer);
      server._handshaking(conn, false);
      const request: UpgradeRequest = {
        path,
        query: info.query,
        headers: info.headers,
        params: match.params,
      };
      return { resource, data, request };
    };
    const admit = async (
      req: RequestHead,
      url: URL,
      offered: string[],
      key: string,
      rest: Uint8Array,
    ) => {
      url.protocol = options.tls ? "wss:" : "ws:";
      const info = {
        query: url.searchParams,
        headers: req.headers,
        url: url.href,
        protocols: offered,
        remoteAddress: conn.remoteAddress,
        remotePort: conn.remotePort,
      };
      const admitted = await admission(url.pathname, info, reject);
      if (!admitted) return;
      const { resource, data, request } = admitted;
      const protocol = selectProtocol(offered, resource.protocols ?? options.protocols ?? []);
      const deflateOption = resource.deflate ?? options.deflate;
      const deflateOptions = deflateOption === true ? {} : deflateOption || undefined;
      const deflate = deflateOptions &&
        negotiateDeflate(req.headers.get("sec-websocket-extensions"), deflateOptions);
      conn.write([
        encodeAcceptResponse(key, protocol, resource.headers ?? options.headers, deflate?.response),
      ]);
      const ws = new WS<Data>({
        side: "server",
        url: url.href,
        maxPayload: resource.maxPayload ?? options.maxPayload,
        closeTimeout,
        highWaterMark: options.highWaterMark,
        request,
        topics,
        data,
        owner: server,
      });
      if (deflate) {
        ws._negotiated(
          new PerMessageDeflate(deflate.params, "server", deflateOptions!),
          deflate.response,
        );
      }
      server._admitted(ws, resource.pattern);
      ws._attach(
        conn,
        protocol,
        concatBytes([rest, ...early]),
        () => runHandler(resource.handler, ws),
      );
    };
    const admitRaw = async (rest: Uint8Array) => {
      const path = rawOptions!.path ?? "/";
      const framing = rawOptions!.framing ?? "line";
      const refuse = (status: number, body: string) => {
        state = "done";
        clearTimeout(timer);
        conn.write([encodeRawRefusal(framing, status, body)]);
        conn.end();
        timer = setTimeout(() => conn.destroy(), closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
      };
      const host = conn.remoteAddress.includes(":")
        ? `[${conn.remoteAddress}]`
        : conn.remoteAddress;
      const url = `tcp://${host}:${conn.remotePort}`;
      const info = {
        query: new URLSearchParams(),
        headers: new Headers(),
        url,
        protocols: [],
        remoteAddress: conn.remoteAddress,
        remotePort: conn.remotePort,
      };
      const admitted = await admission(path, info, refuse);
      if (!admitted) return;
      const { resource, data, request } = admitted;
      const ws = new WS<Data>({
        side: "server",
        url,
        maxPayload: resource.maxPayload ?? options.maxPayload,
        closeTimeout,
        highWaterMark: options.highWaterMark,
        request,
        topics,
        data,
        raw: framing,
        owner: server,
      });
      server._admitted(ws, resource.pattern);
      ws._attach(conn, "", concatBytes([rest, ...early]), () => runHandler(resource.handler, ws));
    };
    const http = (req: RequestHead, url: URL, rest: Uint8Array) => {
      if (req.headers.has("transfer-encoding")) return reject(411, "send a Content-Length");
      bodyLength = Number(req.headers.get("content-length") ?? "0");
      if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) {
        return reject(400, "bad Content-Length");
      }
      if (bodyLength > (options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE)) {
        return reject(413, "body too large");
      }
      if (options.tls) url.protocol = "https:";
      state = "body";
      bodyReady = async () => {
        state = "admitting";
        const body = concatBytes([rest, ...early]).subarray(0, bodyLength) as Uint8Array<
          ArrayBuffer
        >;
        const hasBody = req.method !== "GET" && req.method !== "HEAD";
        let response: Response;
        try {
          const request = new Request(url.href, {
            method: req.method,
            headers: req.headers,
            body: hasBody ? body : undefined,
          });
          response = await options.fetch!(request, {
            remoteAddress: conn.remoteAddress,
            remotePort: conn.remotePort,
          });
        } catch (err) {
          if (state === "admitting") reject(500, "internal error");
          queueMicrotask(() => {
            throw err;
          });
          return;
        }
        const bytes = req.method === "HEAD"
          ? undefined
          : new Uint8Array(await response.arrayBuffer());
        if (state === "admitting") reject(response.status, bytes, response.headers);
      };
      if (rest.length >= bodyLength) bodyReady();
    };
    const onRequest = (req: RequestHead, rest: Uint8Array) => {
      let url;
      try {
        url = new URL(req.target, `http://${req.headers.get("host") ?? "invalid"}`);
      } catch {
        return reject(400, "invalid request target or Host");
      }
      if (options.fetch && !hasToken(req.headers.get("upgrade"), "websocket")) {
        return http(req, url, rest);
      }
      const check = checkClientRequest(req);
      if (!check.ok) return reject(check.status, check.body, check.headers);
      admit(req, url, check.protocols, check.key, rest);
    };
    let detected: Uint8Array = new Uint8Array(0);
    const detect = (chunk: Uint8Array) => {
      detected = concatBytes([detected, chunk]);
      const http = looksLikeHttp(detected);
      if (http === undefined) return;
      clearTimeout(detectTimer);
      if (http) {
        state = "head";
        onHead(detected);
      } else {
        state = "admitting";
        admitRaw(detected);
      }
    };
    const detectTimer = state === "detect"
      ? setTimeout(() => {
        if (state !== "detect") return;
        state = "admitting";
        admitRaw(detected);
      }, rawOptions!.detectTimeout ?? DEFAULT_DETECT_TIMEOUT)
      : undefined;
    const onHead = (chunk: Uint8Array) => {
      const r = reader.push(chunk);
      if (!r.done) return;
      if ("error" in r) return reject(431, "request head too large");
      let req;
      try {
        req = parseRequestHead(r.head);
      } catch (err) {
        return reject(400, (err as HttpParseError).message);
      }
      onRequest(req, r.rest);
    };
    conn.setHandlers({
      data(chunk) {
        if (state === "detect") return detect(chunk);
        if (state === "admitting") {
          early.push(chunk);
          return;
        }
        if (state === "body") {
          early.push(chunk);
          if (early.reduce((n, c) => n + c.length, 0) >= bodyLength) bodyReady!();
          return;
        }
        if (state === "head") onHead(chunk);
      },
      end() {
        if (state !== "done") {
          state = "done";
          conn.end();
        }
      },
      close() {
        state = "done";
        clearTimeout(timer);
        clearTimeout(detectTimer);
        server._handshaking(conn, false);
      },
      drain() {},
    });
    if (parsed) onRequest(parsed.req, parsed.rest);
  };
  server._accept = handshake;
  return server;
}

/**
 * Starts a WebSocket server and resolves once it listens. `handler` runs for every client that
 * completes the opening handshake, before any of its messages are delivered; with `resources`,
 * each resource's handler runs for its paths instead.
 *
 * @example
 * ```ts
 * import { serve } from "@wsdriver/wsdriver";
 * const server = await serve({ port: 8080 }, (ws) => {
 *   ws.on("message", (data) => ws.send(data)); // echo
 * });
 * ```
 *
 * @example
 * ```ts
 * const server = await serve({
 *   port: 8080,
 *   origins: ["https://example.com"],
 *   resources: {
 *     "/chat/:room": {
 *       maxClients: 100,
 *       accept: (info) => info.headers.get("authorization") === "Bearer s3cret"
 *         ? { data: { user: "ann" } }
 *         : new Response("who are you?", { status: 401, headers: { "WWW-Authenticate": "Bearer" } }),
 *       handler: (ws) => ws.subscribe(ws.request!.params.room),
 *     },
 *   },
 * });
 * ```
 */
export async function serve<Data = unknown>(
  options: ServeOptions<Data>,
  handler?: ConnectionHandler<Data>,
): Promise<Server<Data>> {
  const server = createServer(options, handler);
  const transport = options.transport ?? defaultTransport();
  server._listening(
    await transport.listen(
      {
        hostname: options.hostname ?? "0.0.0.0",
        port: options.port ?? 8080,
        tls: options.tls,
        handshakeTimeout: options.handshakeTimeout ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT,
      },
      (conn) => server._accept(conn),
    ),
  );
  return server;
}

/** Default {@link RawOptions.detectTimeout}. */
export const DEFAULT_DETECT_TIMEOUT = 300;

/**
 * True if `b` starts like an HTTP request line (an upper-case method and a space), false if it
 * cannot, undefined while it still might.
 */
function looksLikeHttp(b: Uint8Array): boolean | undefined {
  let i = 0;
  while (i < b.length && i < 16 && b[i] >= 0x41 && b[i] <= 0x5a) i++;
  if (i === b.length && i < 16) return undefined;
  return i > 0 && b[i] === 0x20;
}

/** What a refused raw client is told: a line, or a close frame of the length-prefixed framing. */
function encodeRawRefusal(framing: RawFraming, status: number, body: string): Uint8Array {
  const text = new TextEncoder().encode(framing === "line" ? `error: ${status} ${body}\n` : body);
  if (framing === "line") return text;
  const out = new Uint8Array(7 + text.length);
  out[0] = RawType.Close;
  new DataView(out.buffer).setUint32(1, 2 + text.length);
  new DataView(out.buffer).setUint16(5, CloseCode.PolicyViolation);
  out.set(text, 7);
  return out;
}
