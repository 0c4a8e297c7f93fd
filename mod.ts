/**
 * wsdriver: a WebSocket (RFC 6455) server and client for Deno, Bun and Node, built on a sans-I/O
 * protocol core.
 *
 * This root entry is what an application needs: {@link serve} and {@link connect}, the {@link WS}
 * socket, the {@link Server}, the error classes and every option and event type in their
 * signatures. Everything else lives on a named subpath:
 *
 * | subpath              | for                                                               |
 * | -------------------- | ----------------------------------------------------------------- |
 * | `wsdriver/protocol`  | the sans-I/O core (frames, masking, handshake, HTTP heads, deflate) |
 * | `wsdriver/rpc`       | request/response over a connection                                |
 * | `wsdriver/node`      | attaching to a `node:http` server                                 |
 * | `wsdriver/deno`      | sockets from `Deno.upgradeWebSocket` or a standard `WebSocket`    |
 * | `wsdriver/bun`       | sockets that `Bun.serve` upgraded                                 |
 * | `wsdriver/raw`       | the raw TCP framing (newline or length-prefixed messages)         |
 * | `wsdriver/redis`     | the Redis backplane: topics across processes                      |
 * | `wsdriver/browser`   | the client API over a browser's native `WebSocket`                |
 *
 * @example
 * ```ts
 * import { connect, serve } from "@wsdriver/wsdriver";
 *
 * const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
 *   ws.on("message", (data) => ws.send(data));
 * });
 * const ws = connect(server.url);
 * ws.on("open", () => ws.send("hello"));
 * ws.on("message", (data) => {
 *   console.log(data);
 *   ws.close();
 * });
 * ws.on("close", () => server.close());
 * ```
 *
 * @module
 */

// The socket.
export {
  type ReadyState,
  type SendCallback,
  type SendData,
  type SendOptions,
  type SubscribeOptions,
  type UpgradeRequest,
  WS,
  type WSEvents,
} from "./src/ws.ts";
export { Emitter, type EventMap, type Listener } from "./src/emitter.ts";

// The server.
export {
  type AcceptHook,
  type ClientDisconnectInfo,
  type ConnectionHandler,
  DEFAULT_RAW_IDLE_TIMEOUT,
  type NodeUpgradeRequest,
  type RateLimitInfo,
  type RawOptions,
  type RefusedInfo,
  type Resource,
  type ResourceOptions,
  serve,
  type ServeOptions,
  Server,
  type ServerEvents,
  type UpgradeInfo,
} from "./src/server.ts";
export {
  type PublishOptions,
  type SlowConsumerPolicy,
  Topics,
  type TopicsOptions,
} from "./src/topics.ts";
export type { OriginPolicy } from "./src/router.ts";

// The client.
export { connect, type ConnectOptions } from "./src/client.ts";

// Options shared by both ends.
export type { HeadersInput } from "./src/protocol/headers.ts";
export type { HeartbeatOptions } from "./src/heartbeat.ts";
export type { DeflateOptions } from "./src/protocol/deflate.ts";
export { type ConnectionDefaults, DEFAULTS } from "./src/defaults.ts";
export type { RawFraming } from "./src/protocol/raw.ts";
export type { Side } from "./src/protocol/protocol.ts";
export type { ClientTls, ServerTls } from "./src/transport/conn.ts";
export { CloseCode } from "./src/protocol/close.ts";

// Errors.
export {
  CallbackError,
  HandshakeError,
  InvalidOptionError,
  ProtocolError,
  ProxyError,
  ReconnectError,
  StateError,
  TimeoutError,
  WS_ERROR_CODES,
  WSError,
  type WSErrorCode,
} from "./src/errors.ts";

// Reconnecting, the standard WebSocket class, streams.
export {
  backoffDelay,
  DEFAULT_MAX_DELAY,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_MAX_QUEUED_MESSAGES,
  DEFAULT_MIN_DELAY,
  type Dialer,
  type DialerOptions,
  type DisconnectInfo,
  type OpenInfo,
  type Provider,
  type ReconnectingEvents,
  ReconnectingSocket,
  type ReconnectingSocketOptions,
  type ReconnectingState,
  type ReconnectPolicy,
} from "./src/client/reconnecting_socket.ts";
export { ReconnectingClient, type ReconnectOptions } from "./src/client/reconnecting.ts";
export {
  CloseEvent,
  type CloseEventFields,
  type CloseEventInit,
  type CloseEventLike,
  type Handler,
  WebSocket,
  type WebSocketBinaryType,
  type WebSocketData,
  type WebSocketOptions,
} from "./src/client/websocket.ts";
export {
  closedOf,
  DEFAULT_READ_HIGH_WATER_MARK,
  type FragmentSource,
  type Message,
  messages,
  sendStream,
  type StreamOptions,
  toStreams,
  type WebSocketCloseInfo,
  type WebSocketStreams,
} from "./src/stream.ts";
export {
  WebSocketStream,
  type WebSocketStreamOpen,
  type WebSocketStreamOptions,
} from "./src/client/stream.ts";

export {
  type MessageSource,
  ResumableTopic,
  type ResumableTopicEvents,
  type ResumableTopicOptions,
} from "./src/client/resume.ts";

// Topics across processes (the Redis backplane itself is on `wsdriver/redis`).
export { Backplane } from "./src/backplane/backplane.ts";
export type { BackplaneStats } from "./src/backplane/stats.ts";
export type {
  BackplaneEvents,
  BackplaneOptions,
  GapInfo,
  History,
  RecoverablePolicy,
  RecoveryInfo,
} from "./src/backplane/types.ts";
export {
  formatPosition,
  parsePosition,
  parseTopicFrame,
  type StreamPosition,
  TOPIC_FRAME_PREFIX,
  type TopicFrame,
} from "./src/backplane/position.ts";

// Operations: stats, Prometheus metrics, limits.
export {
  type RateLimitKind,
  type ResourceStats,
  type ServerStats,
  type TrafficStats,
} from "./src/ops/stats.ts";
export {
  handleMetrics,
  type HasStats,
  PROMETHEUS_CONTENT_TYPE,
  prometheusText,
} from "./src/ops/metrics.ts";
export { type LimitsOptions, type RateLimitPolicy } from "./src/ops/limits.ts";
