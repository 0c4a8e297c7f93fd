/**
 * The RPC layer's public types that do not name the `Rpc` class: the connection it runs over, what
 * a responder may return, the options of a request and of shutdown, events and states. Those that
 * name `Rpc` live beside it in session.ts: importing its type here would make an import cycle.
 *
 * @module
 */

import type { RpcSendData } from "./codec.ts";
import type { RpcError } from "./errors.ts";

/**
 * What a responder may return: a payload, or nothing for an empty binary response.
 *
 * @example
 * ```ts
 * const reply: RpcReply = undefined; // answers with zero bytes
 * ```
 */
export type RpcReply = RpcSendData | void | null | undefined;

/**
 * The connection an {@link Rpc} runs over: a {@link WS}, or any connection with the same shape
 * (e.g. a raw TCP connection with a binary message framing). Only binary messages are sent.
 *
 * @example
 * ```ts
 * const conn: RpcConnection = connect("ws://127.0.0.1:8080");
 * const rpc = new Rpc(conn);
 * ```
 */
export interface RpcConnection {
  /** `connecting`, `open`, `closing` or `closed`; requests go out only while connecting or open. */
  readonly readyState: string;
  /** Largest message the connection accepts, if it sets one (default 64 MiB). */
  readonly maxPayload?: number | undefined;
  /**
   * Message framing of a raw TCP connection: RPC needs `"length"`, whose binary messages arrive
   * intact (`"line"` would split frames at newline bytes).
   */
  readonly framing?: string | undefined;
  /** Sends one binary message; throws once the connection is closing or closed. */
  sendBinary(data: Uint8Array): void;
  /** Adds a listener for complete messages. */
  on(event: "message", listener: (data: string | Uint8Array, isBinary: boolean) => void): unknown;
  /** Adds a listener for the end of the connection; it must fire exactly once. */
  on(event: "close", listener: (code: number, reason: string, wasClean: boolean) => void): unknown;
  /** Removes a listener; if present, the `Rpc` detaches itself once the connection closed. */
  off?(event: "message", listener: (data: string | Uint8Array, isBinary: boolean) => void): unknown;
  /** Removes a listener. */
  off?(
    event: "close",
    listener: (code: number, reason: string, wasClean: boolean) => void,
  ): unknown;
  /** Starts closing the connection. */
  close(code?: number, reason?: string): void;
}

/**
 * Options of {@link Rpc.request}.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const opts: RpcRequestOptions = { signal: ac.signal, timeout: 2000 };
 * await rpc.request("slow", opts);
 * ```
 */
export interface RpcRequestOptions {
  /** Cancels the request: it rejects with `RPC_ERR_ABORTED` and the peer is told to stop. */
  signal?: AbortSignal;
  /** Milliseconds to wait for the response (default: the `Rpc`'s); 0 or `Infinity`: none. */
  timeout?: number;
}

/**
 * Options of {@link Rpc.shutdown}.
 *
 * @example
 * ```ts
 * const opts: RpcShutdownOptions = { timeout: 5000, code: 1001, reason: "restarting" };
 * await rpc.shutdown(opts);
 * ```
 */
export interface RpcShutdownOptions {
  /** Milliseconds to wait for in-flight requests before closing anyway (default 10000). */
  timeout?: number;
  /** Close code (default 1000). */
  code?: number;
  /** Close reason (default empty). */
  reason?: string;
}

/**
 * Events of an {@link Rpc}.
 *
 * @example
 * ```ts
 * rpc.on("message", (data, isBinary) => console.log("plain message", data, isBinary));
 * rpc.on("error", (err: RpcError) => console.warn(err.code, err.message));
 * rpc.on("close", (code, reason) => console.log("closed", code, reason));
 * ```
 */
export type RpcEvents = {
  /** A message that is not an RPC frame: any text message, or binary not starting with 0xF5. */
  message: [data: string | Uint8Array, isBinary: boolean];
  /**
   * A problem no request reports: a malformed frame from the peer, or a responder's return value
   * that could not be sent (the peer got an error response instead).
   */
  error: [error: RpcError];
  /** The connection closed; every pending request has been rejected. */
  close: [code: number, reason: string, wasClean: boolean];
};

/**
 * `open` (requests flow), `shutting-down` (new requests refused, in-flight ones finishing) or
 * `closed`.
 *
 * @example
 * ```ts
 * if (rpc.state === "open") await rpc.request("ping");
 * ```
 */
export type RpcState = "open" | "shutting-down" | "closed";
