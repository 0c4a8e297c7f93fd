/**
 * The WebSocket server: `serve(options, handler)`.
 *
 * @module
 */

import type { Backplane } from "./backplane/backplane.ts";
import { now } from "./clock.ts";
import { Emitter, logUnhandled } from "./emitter.ts";
import { InvalidOptionError } from "./errors.ts";
import { checkCloseArgs, checkObject, checkServeOptions } from "./options.ts";
import type { HeadersInput } from "./protocol/headers.ts";
import { DEFAULT_HEARTBEAT, type HeartbeatOptions, Sweeper } from "./heartbeat.ts";
import { CloseCode } from "./protocol/close.ts";
import type { DeflateOptions } from "./protocol/deflate.ts";
import { HeaderFields, type HeaderLookup, type RequestHead } from "./protocol/http.ts";
import {
  AddressLimits,
  type AddressRefusal,
  connLimits,
  type LimitsOptions,
  type ResolvedConnLimits,
} from "./ops/limits.ts";
import {
  addResourceStats,
  emptyResourceStats,
  type RateLimitKind,
  ResourceCounters,
  type ServerStats,
} from "./ops/stats.ts";
import type { RawFraming } from "./protocol/raw.ts";
import { type OriginPolicy, Router } from "./router.ts";
import { type PublishOptions, type SlowConsumerPolicy, Topics } from "./topics.ts";
import type { Conn, Listener, ServerTls, Transport } from "./transport/conn.ts";
import { nodeConnFromSocket } from "./transport/node.ts";
import { defaultTransport } from "./transport/runtime.ts";
import { type Route, Upgrade, type UpgradeContext } from "./upgrade.ts";
import { type SendData, type UpgradeRequest, WS } from "./ws.ts";
import type { ResourceStats, TrafficStats } from "./ops/stats.ts";
import { installInspect } from "./inspect.ts";
import { DEFAULTS } from "./defaults.ts";

/** The pattern of the `serve` handler, for servers without resources. */
const DEFAULT_PATTERN = "*";

/** What a server knows about an upgrade request before accepting it. */
export interface UpgradeInfo extends UpgradeRequest {
  /** The full `ws:`/`wss:` URL requested. */
  url: string;
  /** Subprotocols the client offered. */
  protocols: string[];
  /** The peer's address. */
  remoteAddress: string;
  /** The peer's port. */
  remotePort: number;
}

/**
 * Admission hook: return nothing (or `{ data }`) to accept, attaching `data` to `ws.data`; return
 * a `Response` to refuse with its status, headers and body (e.g. 401 with `WWW-Authenticate`).
 * A hook that throws or rejects refuses with 500 and is reported by the server's `error` event; one
 * that never settles is cut off by `handshakeTimeout` (or its client leaving), which frees its slot.
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
  headers?: HeadersInput;
  /** Admission hook (after the server-wide one). */
  accept?: AcceptHook<Data>;
  /** Accept permessage-deflate (RFC 7692), with these options if an object (default off). */
  deflate?: boolean | DeflateOptions;
  /** Milliseconds to wait for the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Ping quiet clients and drop dead ones (default 30 s / 10 s); `false` turns it off. */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Close a client with 1001 after this many milliseconds without a data message (default
   * `false`: off).
   */
  idleTimeout?: number | false;
  /** Outgoing bytes per client above which it is not read and broadcasts skip it (default 1 MiB). */
  highWaterMark?: number;
}

/** A resource: its handler and options. */
export interface Resource<Data> extends ResourceOptions<Data> {
  /** Called for every accepted connection. */
  handler: ConnectionHandler<Data>;
}

/** Options of {@link serve}. */
export interface ServeOptions<Data = unknown> extends ResourceOptions<Data> {
  /** TCP port (default 8080; 0 picks a free one, see {@link Server.port}). */
  port?: number;
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /**
   * A unix domain socket to listen on instead of `hostname` and `port` (the file must not exist;
   * it is removed on close). Clients connect with `ws+unix:/path/to.sock:/resource`.
   */
  path?: string;
  /**
   * Let several processes listen on the same port, the kernel spreading connections among them
   * (SO_REUSEPORT; Deno and Bun on Linux). On Node use `node:cluster`, whose workers share a port.
   */
  reusePort?: boolean;
  /** PEM certificate and key: serve `wss:`. */
  tls?: ServerTls;
  /**
   * Resources by path (`/chat/:room` or exact); a path that matches none gets 404. Without
   * resources, the handler given to `serve` takes every path.
   */
  resources?: Record<string, Resource<Data> | ConnectionHandler<Data>>;
  /** Milliseconds a client has to complete its upgrade request (default 10000). */
  handshakeTimeout?: number;
  /** Largest request head accepted, in bytes (default 16 KiB); over it: 431. */
  maxHeadSize?: number;
  /** What `publish` does with a client over its high-water mark (default `"drop"`). */
  slowConsumer?: SlowConsumerPolicy;
  /** Close code when `slowConsumer` is `"close"`: 1008 or 1013 (default). */
  slowConsumerCode?: 1008 | 1013;
  /**
   * Answers plain HTTP requests (no `Upgrade: websocket`), so one server serves a page and its
   * sockets. Without it they get 426. One request per connection; bodies need a Content-Length.
   * A handler that throws or rejects, returns no `Response`, or whose body fails is answered with
   * 500 (the error goes to the server's `error` event).
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
  /**
   * Makes `publish` and `subscribe` span every process attached to the same backplane (e.g.
   * `redisBackplane` from `wsdriver/redis`); closed with the server. Default: this process only.
   */
  backplane?: Backplane;
  /** Limits against abuse, per connection and per client address (all off by default). */
  limits?: LimitsOptions;
  /**
   * Keep the counters that {@link Server.stats} reports (default `true`). With `false` the server
   * counts nothing: `stats()` still tells what it reads when called (`uptime`, `connections` in
   * total and per resource, `handshaking`, `topics`, `subscribers`, and `slowConsumerDrops` and
   * `backplane`, which `server.topics` and the backplane count either way), and every other
   * figure is 0: messages, bytes, `connectionsTotal`, `closes`, `refused`, pauses, timeouts,
   * `rateLimited`. Each socket still counts its own traffic (`ws.traffic()`, the `disconnect`
   * event), and the events are emitted as usual.
   *
   * @example
   * ```ts
   * const server = await serve({ port: 8080, stats: false }, (ws) => ws.send("hello"));
   * console.log(server.stats().connections); // the open sockets, read when called
   * ```
   */
  stats?: boolean;
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
  /**
   * Close a raw client after this many milliseconds without a message either way (default 120 s;
   * `false`: never). Raw clients have no ping, so without it a silent socket would hold its slot
   * forever. The server's `idleTimeout`, if set, is the default instead.
   */
  idleTimeout?: number | false;
}

/**
 * Default {@link RawOptions.idleTimeout}: 2 minutes.
 *
 * @example
 * ```ts
 * await serve({ port: 8080, raw: { idleTimeout: DEFAULT_RAW_IDLE_TIMEOUT * 5 } }, (ws) => {});
 * ```
 */
export const DEFAULT_RAW_IDLE_TIMEOUT: number = DEFAULTS.raw.idleTimeout;

/** The parts of a `node:http` `IncomingMessage` that {@link Server.handleUpgrade} reads. */
export interface NodeUpgradeRequest {
  /** Request method. */
  method?: string;
  /** Request target (path and query). */
  url?: string;
  /** HTTP version, e.g. `1.1`. */
  httpVersion?: string;
  /** Header names and values, alternating. */
  rawHeaders?: string[];
}

/** Called for every accepted connection, with the socket already open. */
export type ConnectionHandler<Data = unknown> = (ws: WS<Data>) => void;

/** A handshake the server refused, as reported by its `refused` event. */
export interface RefusedInfo {
  /** The HTTP status answered (or, for a raw client, the status in its refusal line). */
  status: number;
  /** Why, in words (the body sent, or the cause). */
  reason: string;
  /** Request path, or `""` if the request head never arrived. */
  path: string;
  /** The peer's address. */
  remoteAddress: string;
  /** The peer's port. */
  remotePort: number;
}

/** Events of a {@link Server}, with their listener arguments. */
export type ServerEvents<Data = unknown> = {
  /**
   * An application callback (an `accept` hook, a handler, a socket's listener, `fetch`) threw or
   * rejected. Only the connection it ran for is affected: it was closed with 1011, or answered 500.
   * `ws` is undefined before the socket opened (`accept`, `fetch`). With no listener, the error is
   * logged with `console.error`; it is never rethrown.
   */
  error: [error: unknown, ws: WS<Data> | undefined];
  /** A handshake was refused (any status other than 101). */
  refused: [info: RefusedInfo];
  /** `publish` skipped (policy `"drop"`) or closed (policy `"close"`) a subscriber that is over its high-water mark. */
  slow: [ws: WS<Data>, topic: string];
  /** A client's socket opened: emitted just before its resource's handler runs. */
  connection: [ws: WS<Data>];
  /** A client's socket closed: how, after how long, and what went through it. */
  disconnect: [ws: WS<Data>, info: ClientDisconnectInfo];
  /** A limit acted: a connection paused or closed, or a handshake refused with 429. */
  ratelimit: [info: RateLimitInfo<Data>];
};

/**
 * How a connection ended, as reported by a server's `disconnect` event.
 *
 * @example
 * ```ts
 * server.on("disconnect", (ws, i: ClientDisconnectInfo) =>
 *   console.log(ws.remoteAddress, i.code, `${i.duration} ms`, i.bytesIn, i.bytesOut));
 * ```
 */
export interface ClientDisconnectInfo extends TrafficStats {
  /** Close code (1006: dropped without a close frame). */
  code: number;
  /** Close reason, `""` if none was given. */
  reason: string;
  /** Whether the closing handshake finished; false points at a dropped or killed connection. */
  wasClean: boolean;
  /** Milliseconds the socket was open. */
  duration: number;
  /** The resource pattern it belonged to (`"*"`: the `serve` handler). */
  resource: string;
  /** The peer's address, so that a log line or an audit needs nothing but this record. */
  remoteAddress: string;
}

/**
 * What a server's `ratelimit` event reports.
 *
 * @example
 * ```ts
 * server.on("ratelimit", (i: RateLimitInfo) => console.warn(i.limit, i.action, i.address));
 * ```
 */
export interface RateLimitInfo<Data = unknown> {
  /** The limit that acted. */
  limit: RateLimitKind;
  /** `"pause"`: reading stopped until the budget refills; `"close"`: closed with 1008; `"refuse"`: 429. */
  action: "pause" | "close" | "refuse";
  /** The client address (after `trustProxy` / `clientAddress`, for per-address limits). */
  address: string;
  /** The connection, for per-connection limits. */
  ws?: WS<Data>;
}

/** Default {@link ServeOptions.handshakeTimeout}: 10 s. */
export const DEFAULT_SERVER_HANDSHAKE_TIMEOUT: number = DEFAULTS.server.handshakeTimeout;

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
export class Server<Data = unknown> extends Emitter<ServerEvents<Data>> {
  /** Connected clients (open or closing). */
  readonly clients: Set<WS<Data>> = new Set();
  /** Topics and their subscribers; see {@link WS.subscribe}. */
  readonly topics: Topics;
  /** The backplane given to {@link serve}, if any. */
  backplane: Backplane | undefined;
  #byResource = new Map<string, Set<WS<Data>>>();
  #listener: Listener | undefined;
  #secure: boolean;
  #handshaking = new Set<Conn>();
  #sweeper: Sweeper;
  /** Watches raw clients, which have their own idle timeout. */
  #rawSweeper: Sweeper | undefined;
  /** Watches the clients of resources with heartbeat or idle settings of their own. */
  #resourceSweepers: Map<string, Sweeper> | undefined;
  #closing: Promise<void> | undefined;
  #createdAt = now();
  /** Per resource pattern; none when the server does not count (`stats: false`). */
  #counters: Map<string, ResourceCounters> | undefined;
  #refused = new Map<number, number>();
  #rateLimited: Record<RateLimitKind, number> = {
    messages: 0,
    bytes: 0,
    connections: 0,
    handshakes: 0,
  };
  #addressLimits: AddressLimits | undefined;
  /** Client address of each open socket, when connections per address are limited. */
  #addressOf: Map<WS<Data>, string> | undefined;
  /** @internal Per-connection limits, shared by all sockets' settings. */
  readonly _connLimits: ResolvedConnLimits | undefined;

  /** @internal Use {@link serve}. */
  constructor(
    secure: boolean,
    topics: Topics,
    sweeper: Sweeper,
    rawSweeper?: Sweeper,
    limits?: LimitsOptions,
    counting = true,
    resourceSweepers?: Map<string, Sweeper>,
  ) {
    super();
    this.#resourceSweepers = resourceSweepers;
    this.#secure = secure;
    if (counting) this.#counters = new Map();
    this.topics = topics;
    this.#sweeper = sweeper;
    this.#rawSweeper = rawSweeper;
    topics._onSlow = (ws, topic) => this.emit("slow", ws as WS<Data>, topic);
    this._connLimits = connLimits(limits, this);
    if (AddressLimits.wanted(limits)) {
      this.#addressLimits = new AddressLimits(limits!);
      if ((limits!.connectionsPerAddress ?? 0) > 0) this.#addressOf = new Map();
    }
  }

  /**
   * What the server did so far: connections, refused handshakes, messages and bytes, closes by
   * code, slow consumers, topics, pauses, timeouts and limits, in total and per resource. Cheap
   * enough to call every second: it walks the open sockets once. With {@link ServeOptions.stats}
   * `false`, only the figures read when called are filled in.
   *
   * @example
   * ```ts
   * const { connections, messagesIn, bytesOut, refused } = server.stats();
   * ```
   */
  stats(): ServerStats {
    const resources: Record<string, ResourceStats> = {};
    const total = emptyResourceStats();
    if (this.#counters) {
      for (const [pattern, counters] of this.#counters) {
        const r = resources[pattern] = counters.snapshot(this.clientsOf(pattern));
        addResourceStats(total, r);
      }
    } else {
      // Nothing counted (`stats: false`): only what is open now can be told.
      for (const ws of this.clients) {
        (resources[ws._resource] ??= emptyResourceStats()).connections++;
      }
      total.connections = this.clients.size;
    }
    const topics = this.topics.counts();
    const stats: ServerStats = {
      ...total,
      uptime: now() - this.#createdAt,
      handshaking: this.#handshaking.size,
      refused: Object.fromEntries([...this.#refused].sort((a, b) => a[0] - b[0])),
      slowConsumerDrops: this.topics.slowConsumerDrops,
      topics: topics.topics,
      subscribers: topics.subscribers,
      rateLimited: { ...this.#rateLimited },
      resources,
    };
    const backplane = this.backplane?.stats;
    if (backplane) stats.backplane = { ...backplane };
    return stats;
  }

  /** @internal The counters of the resource at `pattern`; none with `stats: false`. */
  _countersOf(pattern: string): ResourceCounters | undefined {
    const all = this.#counters;
    if (!all) return undefined;
    let c = all.get(pattern);
    if (!c) all.set(pattern, c = new ResourceCounters());
    return c;
  }

  /** @internal A handshake (or plain HTTP request) was answered with an error `status`. */
  _countRefused(status: number): void {
    if (this.#counters) this.#refused.set(status, (this.#refused.get(status) ?? 0) + 1);
  }

  /** @internal A limit acted (see {@link ServerEvents.ratelimit}). */
  _rateLimited(
    limit: RateLimitKind,
    action: "pause" | "close" | "refuse",
    address: string,
    ws?: unknown,
  ): void {
    if (this.#counters) this.#rateLimited[limit]++;
    this.emit("ratelimit", { limit, action, address, ws: ws as WS<Data> | undefined });
  }

  /**
   * @internal Per-address limits at admission: undefined to go on, or the 429 to answer.
   * `headers` is undefined for a raw client.
   */
  _admitAddress(
    remoteAddress: string,
    headers: HeaderLookup | undefined,
  ): AddressRefusal | undefined {
    const limits = this.#addressLimits;
    if (!limits) return undefined;
    const refusal = limits.admit(limits.addressOf(remoteAddress, headers));
    if (refusal) this._rateLimited(refusal.kind, "refuse", refusal.address);
    return refusal;
  }

  /** @internal A client's socket opened (WS's owner hook). */
  _opened(ws: WS<Data>): void {
    ws._openedAt = now();
    const counters = this._countersOf(ws._resource);
    if (counters) counters.connectionsTotal++;
    const byAddress = this.#addressOf;
    if (byAddress) {
      const address = this.#addressLimits!.addressOf(ws.remoteAddress, ws.request?.headers);
      byAddress.set(ws, address);
      this.#addressLimits!.count(address, 1);
    }
    this.emit("connection", ws);
  }

  /** @internal Takes over a new connection (set by {@link createServer}). */
  _accept: (conn: Conn, parsed?: { req: RequestHead<HeaderFields>; rest: Uint8Array }) => void =
    () => {};

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
    const raw = req.rawHeaders ?? [];
    const fields: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) fields.push(raw[i].toLowerCase(), raw[i + 1]);
    const parsed: RequestHead<HeaderFields> = {
      method: req.method ?? "GET",
      target: req.url ?? "/",
      version: `HTTP/${req.httpVersion ?? "1.1"}`,
      headers: new HeaderFields(fields),
    };
    this._accept(nodeConnFromSocket(socket), { req: parsed, rest: new Uint8Array(head) });
  }

  /** The unix domain socket listened on, if {@link ServeOptions.path} was given. */
  get path(): string | undefined {
    return this.#listener?.path;
  }

  /**
   * A URL clients on this machine can use, e.g. `ws://127.0.0.1:8080`, or `ws+unix:/run/x.sock`
   * (append `:/resource` for another resource than `/`).
   */
  get url(): string {
    if (this.path !== undefined) return `ws+unix:${this.path}`;
    const h = this.hostname === "0.0.0.0" || this.hostname === "::" ? "127.0.0.1" : this.hostname;
    return `${this.#secure ? "wss" : "ws"}://${h.includes(":") ? `[${h}]` : h}:${this.port}`;
  }

  /** Clients of the resource registered at `pattern` (e.g. `"/chat/:room"`). */
  clientsOf(pattern: string): ReadonlySet<WS<Data>> {
    if (pattern === DEFAULT_PATTERN) return this.clients;
    return this.#byResource.get(pattern) ?? new Set();
  }

  /**
   * Sends `data` to every open subscriber of `topic`, encoding the frame once; returns how many
   * got it. See {@link Topics.publish}.
   */
  publish(topic: string, data: SendData, options?: PublishOptions): number {
    if (typeof topic !== "string") throw new InvalidOptionError("topic", "a string", topic);
    if (options !== undefined) {
      const except = checkObject(options, "options").except;
      if (except !== undefined && !(except instanceof WS)) {
        throw new InvalidOptionError("except", "a socket (WS)", except);
      }
    }
    return this.topics.publish(topic, data, options);
  }

  /**
   * @internal An application callback failed, for `ws` or (admission, `fetch`) for no socket:
   * reported to the `error` listeners, or logged if there are none.
   */
  _callbackError(error: unknown, ws: WS<Data> | undefined): void {
    if (!this.emit("error", error, ws)) {
      logUnhandled(error, "wsdriver: an application callback threw");
    }
  }

  /** @internal A handshake was refused. */
  _refused(info: RefusedInfo): void {
    this._countRefused(info.status);
    this.emit("refused", info);
  }

  /** @internal */
  _handshaking(conn: Conn, active: boolean): void {
    if (active) this.#handshaking.add(conn);
    else this.#handshaking.delete(conn);
  }

  /** @internal */
  _admitted(ws: WS<Data>, pattern: string): void {
    this.clients.add(ws);
    // The `serve` handler's clients are all clients: no second set to keep.
    if (pattern !== DEFAULT_PATTERN) {
      let set = this.#byResource.get(pattern);
      if (!set) this.#byResource.set(pattern, set = new Set());
      set.add(ws);
    }
    if (ws.kind === "raw" && this.#rawSweeper) this.#rawSweeper.add(ws as WS);
    else (this.#resourceSweepers?.get(pattern) ?? this.#sweeper).add(ws as WS);
  }

  /** @internal A client closed (WS's owner hook). */
  _forget(ws: WS<Data>, code: number, reason: string, wasClean: boolean): void {
    this.clients.delete(ws);
    if (ws._resource !== DEFAULT_PATTERN) this.#byResource.get(ws._resource)?.delete(ws);
    this._countersOf(ws._resource)?.closed(ws, code);
    const byAddress = this.#addressOf;
    const address = byAddress?.get(ws);
    if (address !== undefined) {
      byAddress!.delete(ws);
      this.#addressLimits!.count(address, -1);
    }
    // Sockets that never opened (refused while connecting) have nothing to report.
    if (ws._openedAt === 0 || this.listenerCount("disconnect") === 0) return;
    this.emit("disconnect", ws, {
      code,
      reason,
      wasClean,
      duration: now() - ws._openedAt,
      resource: ws._resource,
      remoteAddress: ws.remoteAddress,
      messagesIn: ws._messagesIn,
      messagesOut: ws._messagesOut,
      bytesIn: ws._bytesIn,
      bytesOut: ws._bytesOut,
    });
  }

  /**
   * Stops accepting connections, closes every client with `code` (default 1001) and `reason`, and
   * resolves once all of them are closed (each within its close timeout).
   */
  close(code: number = CloseCode.GoingAway, reason = "server shutting down"): Promise<void> {
    if (this.#closing) return this.#closing;
    // Checked before anything stops, so that a bad code cannot leave the server half closed.
    checkCloseArgs(code, reason);
    this.#listener?.close();
    this.#sweeper.stop();
    this.#rawSweeper?.stop();
    for (const sweeper of this.#resourceSweepers?.values() ?? []) sweeper.stop();
    for (const conn of this.#handshaking) conn.destroy();
    this.#handshaking.clear();
    const waits: Promise<void>[] = [];
    for (const ws of this.clients) {
      if (ws.readyState === "closed") continue;
      waits.push(new Promise((resolve) => ws.once("close", () => resolve())));
      ws.close(code, reason);
    }
    this.#closing = Promise.all(waits).then(() => this.backplane?.close());
    return this.#closing;
  }
}

installInspect(Server, "Server", (s) => ({ url: s.url, clients: s.clients.size }));

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
  checkServeOptions(options);
  if (handler !== undefined && typeof handler !== "function") {
    throw new InvalidOptionError("handler", "a function", handler);
  }
  const router = new Router<Route<Data>>();
  for (const [pattern, r] of Object.entries(options.resources ?? {})) {
    router.add(pattern, typeof r === "function" ? { handler: r, pattern } : { ...r, pattern });
  }
  if (!options.resources && !handler) throw new TypeError("serve needs a handler or resources");
  const topics = new Topics({
    slowConsumer: options.slowConsumer,
    slowConsumerCode: options.slowConsumerCode,
  });
  const sweeper = sweeperOf(options.heartbeat, options.idleTimeout);
  // A resource with heartbeat or idle settings of its own has its own sweeper.
  const resourceSweepers = new Map<string, Sweeper>();
  for (const [pattern, r] of Object.entries(options.resources ?? {})) {
    if (typeof r === "function" || (r.heartbeat === undefined && r.idleTimeout === undefined)) {
      continue;
    }
    resourceSweepers.set(
      pattern,
      sweeperOf(r.heartbeat ?? options.heartbeat, r.idleTimeout ?? options.idleTimeout),
    );
  }
  const raw = options.raw === true ? {} : options.raw || undefined;
  const rawIdle = raw?.idleTimeout ??
    (typeof options.idleTimeout === "number" ? options.idleTimeout : DEFAULT_RAW_IDLE_TIMEOUT);
  const rawSweeper = raw && rawIdle !== false ? new Sweeper({ idleTimeout: rawIdle }) : undefined;
  const server = new Server<Data>(
    options.tls !== undefined,
    topics,
    sweeper,
    rawSweeper,
    options.limits,
    options.stats !== false,
    resourceSweepers,
  );
  options.backplane?._attach(topics);
  server.backplane = options.backplane;
  const ctx: UpgradeContext<Data> = {
    options,
    server,
    router,
    fallback: handler && !options.resources ? { handler, pattern: DEFAULT_PATTERN } : undefined,
    topics,
    raw,
    handshakeTimeout: options.handshakeTimeout ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT,
    admitting: new Map(),
  };
  server._accept = (conn, parsed) => new Upgrade(ctx, conn, parsed);
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
        hostname: options.hostname ?? DEFAULTS.server.hostname,
        port: options.port ?? DEFAULTS.server.port,
        path: options.path,
        reusePort: options.reusePort,
        tls: options.tls,
        handshakeTimeout: options.handshakeTimeout ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT,
      },
      (conn) => server._accept(conn),
    ),
  );
  return server;
}

/** A sweeper for these settings (`undefined`: the server's default; `false`: off). */
function sweeperOf(
  heartbeat: HeartbeatOptions | false | undefined,
  idleTimeout: number | false | undefined,
): Sweeper {
  return new Sweeper({
    heartbeat: heartbeat === false ? undefined : heartbeat ?? DEFAULT_HEARTBEAT,
    idleTimeout: idleTimeout === false ? undefined : idleTimeout,
  });
}
