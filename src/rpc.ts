/**
 * Request/response (RPC) over a wsdriver connection, in both directions, with a documented binary
 * wire format (docs/rpc.md) so that peers in other languages can speak it.
 *
 * One binary WebSocket message carries one RPC frame. Every RPC frame starts with the byte
 * {@link RPC_MAGIC} (0xF5, which never starts a UTF-8 text): a binary message that starts with it
 * belongs to the RPC layer, every other message (all text messages, other binary messages) is the
 * application's own and is re-emitted by {@link Rpc} as `message`.
 *
 * The layer is split along its seams under src/rpc/: codec.ts (the wire format, pure),
 * session.ts (the `Rpc` class), outgoing.ts and incoming.ts (its in-flight requests in each
 * direction), errors.ts, types.ts and defaults.ts. This module gathers their public names.
 *
 * @example
 * ```ts
 * import { connect, Rpc, serve } from "@wsdriver/wsdriver";
 *
 * const server = await serve({ port: 8080 }, (ws) => {
 *   new Rpc(ws, { responder: (data) => typeof data === "string" ? data.toUpperCase() : data });
 * });
 * const rpc = new Rpc(connect("ws://127.0.0.1:8080"));
 * console.log(await rpc.request("hello", { timeout: 1000 })); // "HELLO"
 * await rpc.shutdown();
 * await server.close();
 * ```
 *
 * @module
 */

export {
  decodeRpcFrame,
  encodeRpcFrame,
  isRpcMessage,
  RPC_MAGIC,
  RPC_VERSION,
  type RpcData,
  type RpcFrame,
  RpcKind,
  RpcPayloadType,
  type RpcSendData,
} from "./rpc/codec.ts";
export {
  DEFAULT_RPC_MAX_IN_FLIGHT,
  DEFAULT_RPC_SHUTDOWN_TIMEOUT,
  DEFAULT_RPC_TIMEOUT,
} from "./rpc/defaults.ts";
export { RpcError, type RpcErrorCode } from "./rpc/errors.ts";
export { Rpc, type RpcContext, type RpcOptions, type RpcResponder } from "./rpc/session.ts";
export type {
  RpcConnection,
  RpcEvents,
  RpcReply,
  RpcRequestOptions,
  RpcShutdownOptions,
  RpcState,
} from "./rpc/types.ts";
