/**
 * The RPC layer's default limits, and how its timeouts are read.
 *
 * @module
 */

import { InvalidOptionError } from "../errors.ts";

/**
 * Default {@link RpcRequestOptions.timeout}: 30 s. Without a bound, a peer that never answers
 * would hold the request (and its cap slot) until the connection closes.
 *
 * @example
 * ```ts
 * const rpc = new Rpc(ws, { timeout: DEFAULT_RPC_TIMEOUT * 2 });
 * ```
 */
export const DEFAULT_RPC_TIMEOUT = 30_000;

/**
 * Default {@link RpcOptions.maxInFlight}: 1024 requests awaited and 1024 being answered per side.
 * It bounds the memory a peer can make this side hold with requests it never lets finish.
 *
 * @example
 * ```ts
 * const rpc = new Rpc(ws, { maxInFlight: DEFAULT_RPC_MAX_IN_FLIGHT * 10 });
 * ```
 */
export const DEFAULT_RPC_MAX_IN_FLIGHT = 1024;

/**
 * Default {@link RpcShutdownOptions.timeout}: 10 s to let in-flight requests finish.
 *
 * @example
 * ```ts
 * await rpc.shutdown({ timeout: DEFAULT_RPC_SHUTDOWN_TIMEOUT });
 * ```
 */
export const DEFAULT_RPC_SHUTDOWN_TIMEOUT = 10_000;

/** Throws an InvalidOptionError unless `ms` is a timeout: milliseconds, 0 or Infinity for none. */
export function checkTimeout(ms: unknown, what: string): void {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new InvalidOptionError(what, "a number of milliseconds >= 0 (0 or Infinity: none)", ms);
  }
}

/** A finite delay setTimeout can honour, or undefined for "no timer". */
export function timerDelay(ms: number): number | undefined {
  // setTimeout fires at once for delays over 2^31-1 ms, which would mean "time out now".
  return ms > 0 && ms <= 0x7fffffff ? ms : undefined;
}
