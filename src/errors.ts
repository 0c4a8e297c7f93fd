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
