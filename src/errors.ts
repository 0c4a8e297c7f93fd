/**
 * Every error wsdriver raises is a {@link WSError} with a stable string `code`; errors that fail a
 * connection also carry the close code sent to the peer.
 *
 * @module
 */

/**
 * Base class of all wsdriver errors.
 *
 * @example
 * ```ts
 * import { WSError } from "@wsdriver/wsdriver";
 * ws.on("error", (err) => {
 *   if (err instanceof WSError) console.log(err.code, err.closeCode);
 * });
 * ```
 */
export class WSError extends Error {
  /** Stable machine-readable code, such as `WS_ERR_INVALID_UTF8`. */
  readonly code: string;
  /** The close code this error causes on the wire, if it fails a connection. */
  readonly closeCode: number | undefined;

  /** Makes an error with a stable `code`, a message and, if it fails a connection, its close code. */
  constructor(code: string, message: string, closeCode?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WSError";
    this.code = code;
    this.closeCode = closeCode;
  }
}

/**
 * The peer broke RFC 6455 (or a configured limit); the connection is failed with `closeCode`.
 *
 * @example
 * ```ts
 * ws.on("error", (err) => {
 *   if (err instanceof ProtocolError && err.code === "WS_ERR_MESSAGE_TOO_BIG") console.warn("too big");
 * });
 * ```
 */
export class ProtocolError extends WSError {
  /** The close code sent to the peer. */
  override readonly closeCode: number;

  /** Makes a protocol error that closes the connection with `closeCode`. */
  constructor(code: string, message: string, closeCode: number) {
    super(code, message, closeCode);
    this.name = "ProtocolError";
    this.closeCode = closeCode;
  }
}

/**
 * The opening handshake failed. On the server, `status` is the HTTP status sent back; on the
 * client, `status` is what the server answered (if it answered with HTTP at all).
 *
 * @example
 * ```ts
 * const ws = connect("ws://127.0.0.1:8080/nope");
 * ws.on("error", (err) => {
 *   if (err instanceof HandshakeError) console.log(err.status);
 * });
 * ```
 */
export class HandshakeError extends WSError {
  /** HTTP status of the failed handshake, if any. */
  readonly status: number | undefined;

  /** Makes a handshake error, with the HTTP status if there was one. */
  constructor(code: string, message: string, status?: number) {
    super(code, message);
    this.name = "HandshakeError";
    this.status = status;
  }
}

/**
 * A call was made in a state that does not allow it, e.g. sending on a closed socket.
 *
 * @example
 * ```ts
 * try {
 *   ws.send("late");
 * } catch (err) {
 *   if (err instanceof StateError) console.log(err.code); // WS_ERR_NOT_OPEN
 * }
 * ```
 */
export class StateError extends WSError {
  /** Makes a state error. */
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "StateError";
  }
}

/**
 * The connection or an operation on it did not complete in time.
 *
 * @example
 * ```ts
 * const ws = connect("ws://127.0.0.1:8080", { handshakeTimeout: 1000 });
 * ws.on("error", (err) => {
 *   if (err instanceof TimeoutError) console.log("gave up after 1 s");
 * });
 * ```
 */
export class TimeoutError extends WSError {
  /** Makes a timeout error. */
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "TimeoutError";
  }
}

/**
 * Every `code` a {@link WSError} raised by the library can carry (RPC errors have their own
 * `RpcErrorCode`). The one list: `tests/error_codes.test.ts` fails when the source raises a code
 * that is not here, or this lists one that nothing raises.
 *
 * @example
 * ```ts
 * import { WS_ERROR_CODES, type WSErrorCode } from "@wsdriver/wsdriver";
 *
 * const known = (code: string): code is WSErrorCode =>
 *   (WS_ERROR_CODES as readonly string[]).includes(code);
 * console.log(known("WS_ERR_INVALID_UTF8")); // true
 * ```
 */
export const WS_ERROR_CODES = [
  "WS_ERR_ABORTED",
  "WS_ERR_BAD_CONNECTION",
  "WS_ERR_BAD_HTTP_VERSION",
  "WS_ERR_BAD_KEY",
  "WS_ERR_BAD_METHOD",
  "WS_ERR_BAD_VERSION",
  "WS_ERR_CLOSED_BEFORE_OPEN",
  "WS_ERR_CONNECT",
  "WS_ERR_CONTROL_TOO_BIG",
  "WS_ERR_EXPECTED_CONTINUATION",
  "WS_ERR_EXPECTED_MASK",
  "WS_ERR_FRAGMENTED_CONTROL",
  "WS_ERR_FRAGMENT_IN_PROGRESS",
  "WS_ERR_FRAGMENT_TYPE",
  "WS_ERR_HANDSHAKE_INVALID",
  "WS_ERR_HANDSHAKE_REJECTED",
  "WS_ERR_HANDSHAKE_TIMEOUT",
  "WS_ERR_HEARTBEAT_TIMEOUT",
  "WS_ERR_INVALID_CLOSE",
  "WS_ERR_INVALID_DEFLATE",
  "WS_ERR_INVALID_LENGTH",
  "WS_ERR_INVALID_OPCODE",
  "WS_ERR_INVALID_UTF8",
  "WS_ERR_LINE_TOO_LONG",
  "WS_ERR_MESSAGE_TOO_BIG",
  "WS_ERR_NATIVE",
  "WS_ERR_NOT_OPEN",
  "WS_ERR_NOT_UPGRADE",
  "WS_ERR_NO_HOST",
  "WS_ERR_NO_TOPICS",
  "WS_ERR_RAW_BAD_TYPE",
  "WS_ERR_UNEXPECTED_CONTINUATION",
  "WS_ERR_UNEXPECTED_MASK",
  "WS_ERR_UNEXPECTED_RSV_1",
  "WS_ERR_UNEXPECTED_RSV_2",
  "WS_ERR_UNEXPECTED_RSV_3",
  "WS_ERR_UNSUPPORTED",
] as const;

/**
 * A stable error code of {@link WS_ERROR_CODES}, such as `WS_ERR_MESSAGE_TOO_BIG`.
 *
 * @example
 * ```ts
 * const code: WSErrorCode = "WS_ERR_NOT_OPEN";
 * ```
 */
export type WSErrorCode = typeof WS_ERROR_CODES[number];
