/**
 * What a server is configured with and what it reports: the options of `serve` and of its
 * resources, the admission hook, the connection handler, and the server's events. Apart from the
 * server, so that the upgrade (src/upgrade.ts) reads them without importing the server.
 *
 * @module
 */

import type { Backplane } from "./backplane/backplane.ts";
import type { HeartbeatOptions } from "./heartbeat.ts";
import type { LimitsOptions } from "./ops/limits.ts";
import type { RateLimitKind, TrafficStats } from "./ops/stats.ts";
import type { DeflateOptions } from "./protocol/deflate.ts";
import type { HeadersInput } from "./protocol/headers.ts";
import type { RawFraming } from "./protocol/raw.ts";
import type { OriginPolicy } from "./router.ts";
import type { UpgradeRequest } from "./socket_types.ts";
import type { SlowConsumerPolicy } from "./topics.ts";
import type { ServerTls, Transport } from "./transport/conn.ts";
import type { WS } from "./ws.ts";

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
   * `rateLimited`; the server's sockets count no traffic either (`ws.traffic()` and the
   * `disconnect` event's figures are 0). The events are emitted as usual.
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
