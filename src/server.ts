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
import { DEFAULT_HEARTBEAT, type HeartbeatOptions, Sweeper } from "./heartbeat.ts";
import { CloseCode } from "./protocol/close.ts";
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
  type ResourceStats,
  type ServerStats,
} from "./ops/stats.ts";
import { Router } from "./router.ts";
import { SocketList } from "./socket_list.ts";
import { ClientSet } from "./client_set.ts";
import type {
  ConnectionHandler,
  NodeUpgradeRequest,
  RefusedInfo,
  ServeOptions,
  ServerEvents,
} from "./server_types.ts";
import { type PublishOptions, Topics } from "./topics.ts";
import type { Conn, Listener } from "./transport/conn.ts";
import { nodeConnFromSocket } from "./transport/node.ts";
import { defaultTransport } from "./transport/runtime.ts";
import { type Route, Upgrade, type UpgradeContext, type UpgradeTimeouts } from "./upgrade.ts";
import { type SendData, WS } from "./ws.ts";
import { installInspect } from "./inspect.ts";
import { DEFAULTS } from "./defaults.ts";

export type {
  AcceptHook,
  ClientDisconnectInfo,
  ConnectionHandler,
  NodeUpgradeRequest,
  RateLimitInfo,
  RawOptions,
  RefusedInfo,
  Resource,
  ResourceOptions,
  ServeOptions,
  ServerEvents,
  UpgradeInfo,
} from "./server_types.ts";

/** The pattern of the `serve` handler, for servers without resources. */
const DEFAULT_PATTERN = "*";

/**
 * Default {@link RawOptions.idleTimeout}: 2 minutes.
 *
 * @example
 * ```ts
 * await serve({ port: 8080, raw: { idleTimeout: DEFAULT_RAW_IDLE_TIMEOUT * 5 } }, (ws) => {});
 * ```
 */
export const DEFAULT_RAW_IDLE_TIMEOUT: number = DEFAULTS.raw.idleTimeout;

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
  #clients = new SocketList<WS<Data>>("_clientSlot");
  /** Connected clients (open or closing): a live, read-only set. */
  readonly clients: ReadonlySet<WS<Data>> = new ClientSet(this.#clients);
  /** Topics and their subscribers; see {@link WS.subscribe}. */
  readonly topics: Topics;
  /** The backplane given to {@link serve}, if any. */
  backplane: Backplane | undefined;
  /** Clients of each resource other than the `serve` handler's, counted, and their views. */
  #inResource = new Map<string, number>();
  #views = new Map<string, ClientSet<WS<Data>>>();
  #listener: Listener | undefined;
  #secure: boolean;
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
      handshaking: this._pending ? this._pending.handshake.size + this._pending.refused.size : 0,
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
   *
   * The address is read only when something will use it: on Node each read is a system call (a
   * measurable share of a handshake). Node and Bun learn a socket's peer address only when asked
   * and cannot tell it once the socket is closed, so it is read now for the `disconnect` event.
   */
  _admitAddress(
    conn: { readonly remoteAddress: string },
    headers: HeaderLookup | undefined,
  ): AddressRefusal | undefined {
    const limits = this.#addressLimits;
    if (!limits) {
      if (this.listenerCount("disconnect") > 0) void conn.remoteAddress;
      return undefined;
    }
    const refusal = limits.admit(limits.addressOf(conn.remoteAddress, headers));
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

  /**
   * @internal The timeouts of connections not yet open (set by {@link createServer}): their queues
   * are the list of those connections, which `close` destroys and `stats` counts.
   */
  _pending: UpgradeTimeouts<Data> | undefined;

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
    const parsed: RequestHead<HeaderFields> = {
      method: req.method ?? "GET",
      target: req.url ?? "/",
      version: `HTTP/${req.httpVersion ?? "1.1"}`,
      headers: HeaderFields.fromList(req.rawHeaders ?? []),
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
    let view = this.#views.get(pattern);
    if (view === undefined) {
      view = new ClientSet(this.#clients, pattern, this.#inResource);
      this.#views.set(pattern, view);
    }
    return view;
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
  _admitted(ws: WS<Data>, pattern: string): void {
    this.#clients.add(ws);
    // The `serve` handler's clients are all clients: nothing more to count.
    if (pattern !== DEFAULT_PATTERN) {
      this.#inResource.set(pattern, (this.#inResource.get(pattern) ?? 0) + 1);
    }
    this.#sweeperOf(ws).add(ws as WS);
  }

  /** The sweeper that watches `ws`. */
  #sweeperOf(ws: WS<Data>): Sweeper {
    if (ws.kind === "raw" && this.#rawSweeper) return this.#rawSweeper;
    return this.#resourceSweepers?.get(ws._resource) ?? this.#sweeper;
  }

  /** @internal A client closed (WS's owner hook). */
  _forget(ws: WS<Data>, code: number, reason: string, wasClean: boolean): void {
    const pattern = ws._resource;
    if (this.#clients.remove(ws) && pattern !== DEFAULT_PATTERN) {
      this.#inResource.set(pattern, this.#inResource.get(pattern)! - 1);
    }
    this.#sweeperOf(ws).remove(ws as WS);
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
    for (const conn of this._pending?.handshake.targets() ?? []) conn.destroy();
    for (const conn of this._pending?.refused.targets() ?? []) conn.destroy();
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
    timeouts: server._pending = Upgrade.timeouts(options, raw),
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
