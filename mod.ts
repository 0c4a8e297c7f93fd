/**
 * wsdriver: a WebSocket (RFC 6455) server and client for Deno, Bun and Node, built on a sans-I/O
 * protocol core.
 *
 * @example
 * ```ts
 * import { connect, serve } from "@wsdriver/wsdriver";
 *
 * const server = await serve({ port: 8080 }, (ws) => {
 *   ws.on("message", (data) => ws.send(data));
 * });
 * const ws = connect("ws://127.0.0.1:8080");
 * ws.on("open", () => ws.send("hello"));
 * ws.on("message", (data) => {
 *   console.log(data);
 *   ws.close();
 *   server.close();
 * });
 * ```
 *
 * @module
 */

export {
  type ReadyState,
  type SendCallback,
  type SendData,
  type UpgradeRequest,
  WS,
  type WSEvents,
} from "./src/ws.ts";
export {
  type AcceptHook,
  type ConnectionHandler,
  createServer,
  type NodeUpgradeRequest,
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
export { DEFAULT_HEARTBEAT, type HeartbeatOptions } from "./src/heartbeat.ts";
export { originAllowed, type OriginPolicy, Router } from "./src/router.ts";
export { connect, type ConnectOptions } from "./src/client.ts";
export {
  decodeRpcFrame,
  DEFAULT_RPC_MAX_IN_FLIGHT,
  DEFAULT_RPC_SHUTDOWN_TIMEOUT,
  DEFAULT_RPC_TIMEOUT,
  encodeRpcFrame,
  isRpcMessage,
  Rpc,
  RPC_MAGIC,
  RPC_VERSION,
  type RpcConnection,
  type RpcContext,
  type RpcData,
  RpcError,
  type RpcErrorCode,
  type RpcEvents,
  type RpcFrame,
  RpcKind,
  type RpcOptions,
  RpcPayloadType,
  type RpcReply,
  type RpcRequestOptions,
  type RpcResponder,
  type RpcSendData,
  type RpcShutdownOptions,
  type RpcState,
} from "./src/rpc.ts";
export { fromWebSocket, type FromWebSocketOptions } from "./src/adapters/websocket.ts";
export {
  type BunServerWebSocket,
  bunWebSocket,
  type BunWebSocketHandlers,
} from "./src/adapters/bun.ts";
export { HandshakeError, ProtocolError, StateError, TimeoutError, WSError } from "./src/errors.ts";
export { Emitter, type EventMap, type Listener } from "./src/emitter.ts";
export type { ClientTls, ServerTls } from "./src/transport/conn.ts";
export { currentRuntime, type Runtime } from "./src/transport/runtime.ts";

export {
  CloseCode,
  encodeClosePayload,
  isValidCloseCode,
  parseClosePayload,
} from "./src/protocol/close.ts";
export {
  encodeFrame,
  type EncodeOptions,
  FrameParser,
  type FrameSink,
  Opcode,
  randomMask,
} from "./src/protocol/frame.ts";
export { applyMask } from "./src/protocol/mask.ts";
export {
  acceptDeflateResponse,
  CONTEXT_TAKEOVER,
  type DeflateOptions,
  type DeflateParams,
  type Extension,
  negotiateDeflate,
  offerDeflate,
  parseExtensions,
  PerMessageDeflate,
} from "./src/protocol/deflate.ts";
export { isValidUtf8, Utf8Validator } from "./src/protocol/utf8.ts";
export {
  DEFAULT_MAX_PAYLOAD,
  Protocol,
  type ProtocolHandler,
  type ProtocolOptions,
  type ProtocolState,
  type Side,
} from "./src/protocol/protocol.ts";
export {
  acceptKey,
  checkClientRequest,
  checkServerResponse,
  encodeAcceptResponse,
  encodeClientRequest,
  generateKey,
  selectProtocol,
} from "./src/protocol/handshake.ts";
export {
  encodeResponse,
  HeadReader,
  parseRequestHead,
  parseResponseHead,
} from "./src/protocol/http.ts";
// Issue 11 (hardening, server side): option checking and application-callback errors.
export { CallbackError, InvalidOptionError, type WSErrorCode } from "./src/errors.ts";
export { DEFAULT_RAW_IDLE_TIMEOUT } from "./src/server.ts";

// Issue 13: topics across processes (the backplane core; the Redis one is in ./redis.ts).
export {
  Backplane,
  type BackplaneEvents,
  type BackplaneOptions,
  type BackplaneStats,
  type GapInfo,
  type History,
  type RecoverablePolicy,
  type RecoveryInfo,
} from "./src/backplane/backplane.ts";
export {
  formatPosition,
  parsePosition,
  parseTopicFrame,
  type StreamPosition,
  TOPIC_FRAME_PREFIX,
  type TopicFrame,
} from "./src/backplane/position.ts";
export type { SubscribeOptions } from "./src/topics.ts";

// Issue 14 (h14client): the reconnecting client, the standard WebSocket class and streams.
export { ReconnectError } from "./src/errors.ts";
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
  WebSocket,
  type WebSocketBinaryType,
  type WebSocketData,
  type WebSocketOptions,
} from "./src/client/websocket.ts";
export {
  closedOf,
  DEFAULT_READ_HIGH_WATER_MARK,
  type FragmentSource,
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
export type { SendOptions } from "./src/ws.ts";

// Issue 14 (proxies, redirects, unix sockets, browsers): the proxy error class. The browser entry
// point is browser.ts.
export { ProxyError } from "./src/errors.ts";

// Issue 16: stats, Prometheus metrics, lifecycle events and limits.
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
export type { ClientDisconnectInfo, RateLimitInfo } from "./src/server.ts";

// Issue 14 (h14glue): resuming a recoverable topic from a reconnecting client.
export {
  type MessageSource,
  ResumableTopic,
  type ResumableTopicEvents,
  type ResumableTopicOptions,
} from "./src/client/resume.ts";
