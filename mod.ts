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
  type UpgradeRequest,
  WS,
  type WSEvents,
} from "./src/ws.ts";
export { Emitter, type EventMap, type Listener } from "./src/emitter.ts";

// The server.
export {
  type AcceptHook,
  type ConnectionHandler,
  type NodeUpgradeRequest,
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
export type { RawFraming } from "./src/protocol/raw.ts";
export type { Side } from "./src/protocol/protocol.ts";
export type { ClientTls, ServerTls } from "./src/transport/conn.ts";
export { CloseCode } from "./src/protocol/close.ts";

// Errors.
export {
  HandshakeError,
  ProtocolError,
  StateError,
  TimeoutError,
  WS_ERROR_CODES,
  WSError,
  type WSErrorCode,
} from "./src/errors.ts";

// Export blocks added by other issues go below this line, each after a comment naming its issue;
// the integrator sorts them into the sections above (or onto a subpath entry).
