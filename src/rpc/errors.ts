/**
 * Failures of the RPC layer: {@link RpcError} and its codes.
 *
 * @module
 */

import { WSError } from "../errors.ts";

/**
 * Codes of {@link RpcError}. Codes marked "wire" can also arrive in an error frame from the peer
 * (then `remote` is true); a peer may send other codes, which are passed on as they are.
 *
 * - `RPC_ERR_REMOTE` (wire): the peer's responder threw; `message` and `appCode` are its error's.
 * - `RPC_ERR_NO_RESPONDER` (wire): the peer has no responder.
 * - `RPC_ERR_SHUTDOWN` (wire): the request came after shutdown began (this side's or the peer's).
 * - `RPC_ERR_TOO_MANY` (wire): over `maxInFlight` (this side's or the peer's).
 * - `RPC_ERR_TOO_BIG` (wire): the request or response frame is over `maxPayload`.
 * - `RPC_ERR_MALFORMED` (wire): a frame broke the wire format.
 * - `RPC_ERR_TIMEOUT`: no response in time; the request was cancelled.
 * - `RPC_ERR_ABORTED`: the request's signal aborted; the request was cancelled. Also the reason of
 *   a responder's `ctx.signal` when the requester cancelled.
 * - `RPC_ERR_CLOSED`: the connection closed (or was not open) with the request pending.
 * - `RPC_ERR_ATTACHED`: the connection already has an `Rpc`.
 *
 * @example
 * ```ts
 * const code: RpcErrorCode = "RPC_ERR_TIMEOUT";
 * ```
 */
export type RpcErrorCode =
  | "RPC_ERR_REMOTE"
  | "RPC_ERR_NO_RESPONDER"
  | "RPC_ERR_SHUTDOWN"
  | "RPC_ERR_TOO_MANY"
  | "RPC_ERR_TOO_BIG"
  | "RPC_ERR_MALFORMED"
  | "RPC_ERR_TIMEOUT"
  | "RPC_ERR_ABORTED"
  | "RPC_ERR_CLOSED"
  | "RPC_ERR_ATTACHED";

/**
 * Every failure of the RPC layer: a failed request rejects with one, malformed frames are reported
 * with one as an `error` event. See {@link RpcErrorCode} for the codes.
 *
 * @example
 * ```ts
 * try {
 *   await rpc.request("get user 7", { timeout: 500 });
 * } catch (err) {
 *   if (err instanceof RpcError && err.code === "RPC_ERR_REMOTE") console.log(err.appCode, err.message);
 *   else if (err instanceof RpcError && err.code === "RPC_ERR_TIMEOUT") console.log("too slow");
 * }
 * ```
 */
export class RpcError extends WSError {
  /** The application's own code, from the `code` property of what the peer's responder threw. */
  readonly appCode: string | undefined;
  /** True if the peer sent this error in an error frame; false if it was raised on this side. */
  readonly remote: boolean;

  /** An error with `code`; `remote` marks one the peer sent, `cause` what led to it. */
  constructor(
    code: RpcErrorCode | (string & Record<never, never>),
    message: string,
    options: { appCode?: string; remote?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, undefined, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "RpcError";
    this.appCode = options.appCode;
    this.remote = options.remote ?? false;
  }
}

/** The rejection of a request whose signal (its own, or a responder's for `ctx.request`) aborted. */
export function abortedError(signal: AbortSignal): RpcError {
  return new RpcError("RPC_ERR_ABORTED", "the request was aborted", { cause: signal.reason });
}
