/**
 * wsdriver for browsers (the npm package's `browser` export condition): the `WS` API and the
 * `Rpc` layer over the browser's own `WebSocket`. Nothing here touches sockets, `node:*` modules
 * or the file system.
 *
 * @example
 * ```ts
 * import { connect, Rpc } from "wsdriver"; // resolves to this file in a browser bundle
 *
 * const ws = connect("ws://127.0.0.1:8080/rpc");
 * const rpc = new Rpc(ws);
 * console.log(await rpc.request("hello", { timeout: 1000 }));
 * ```
 *
 * @module
 */

// Issue 14: the browser client.
export {
  type BrowserConnectOptions,
  connect,
  type WebSocketConstructor,
} from "./src/browser/connect.ts";
export { fromWebSocket, type FromWebSocketOptions } from "./src/adapters/websocket.ts";
export { type ReadyState, type SendCallback, type SendData, WS, type WSEvents } from "./src/ws.ts";
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
export {
  HandshakeError,
  ProtocolError,
  ProxyError,
  StateError,
  TimeoutError,
  WSError,
} from "./src/errors.ts";
export { Emitter, type EventMap, type Listener } from "./src/emitter.ts";
export { CloseCode } from "./src/protocol/close.ts";

// Issue 14 (h14client): the reconnecting client over the native WebSocket.
export { type BrowserReconnectOptions, ReconnectingClient } from "./src/browser/reconnecting.ts";
export {
  backoffDelay,
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
export { ReconnectError } from "./src/errors.ts";

// Issue 14 (h14glue): resuming a recoverable topic (issue 13) from the reconnecting client.
export {
  type MessageSource,
  ResumableTopic,
  type ResumableTopicEvents,
  type ResumableTopicOptions,
} from "./src/client/resume.ts";
export {
  formatPosition,
  parsePosition,
  parseTopicFrame,
  type StreamPosition,
  TOPIC_FRAME_PREFIX,
  type TopicFrame,
} from "./src/backplane/position.ts";
