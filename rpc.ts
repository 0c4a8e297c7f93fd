/**
 * `wsdriver/rpc`: request/response over a wsdriver connection, in both directions, with a
 * documented binary frame format that plain messages never collide with.
 *
 * @example
 * ```ts
 * import { connect, serve } from "@wsdriver/wsdriver";
 * import { Rpc } from "@wsdriver/wsdriver/rpc";
 *
 * const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
 *   new Rpc(ws, { responder: (data) => `hello ${data}` });
 * });
 * const ws = connect(server.url);
 * const rpc = new Rpc(ws);
 * ws.on("open", async () => {
 *   console.log(await rpc.request("ann"));
 *   ws.close();
 *   await server.close();
 * });
 * ```
 *
 * @module
 */

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
