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
  "WS_ERR_ABNORMAL_CLOSE",
  "WS_ERR_ABORTED",
  "WS_ERR_BAD_CONNECTION",
  "WS_ERR_BAD_HTTP_VERSION",
  "WS_ERR_BAD_KEY",
  "WS_ERR_BAD_METHOD",
  "WS_ERR_BAD_VERSION",
  "WS_ERR_CALLBACK",
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
  "WS_ERR_INVALID_OPTION",
  "WS_ERR_INVALID_UTF8",
  "WS_ERR_LINE_TOO_LONG",
  "WS_ERR_MESSAGE_TOO_BIG",
  "WS_ERR_NATIVE",
  "WS_ERR_NOT_OPEN",
  "WS_ERR_NOT_UPGRADE",
  "WS_ERR_NO_HOST",
  "WS_ERR_NO_TOPICS",
  "WS_ERR_PROXY_AUTH",
  "WS_ERR_PROXY_INVALID",
  "WS_ERR_PROXY_REFUSED",
  "WS_ERR_QUEUE_FULL",
  "WS_ERR_RAW_BAD_TYPE",
  "WS_ERR_RECONNECT_FAILED",
  "WS_ERR_REDIRECT_INSECURE",
  "WS_ERR_REDIRECT_INVALID",
  "WS_ERR_REDIRECT_LIMIT",
  "WS_ERR_RESTORE",
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

/**
 * An option or argument of a public function has the wrong type or an impossible value. Thrown
 * synchronously by the call that received it (`serve` and `Rpc.request` reject with it instead).
 *
 * @example
 * ```ts
 * try {
 *   connect("ws://127.0.0.1:8080", { maxPayload: -5 });
 * } catch (err) {
 *   if (err instanceof InvalidOptionError) console.log(err.option); // "maxPayload"
 * }
 * ```
 */
export class InvalidOptionError extends WSError {
  /** The option or argument at fault, e.g. `"maxPayload"` or `"resources./chat.maxClients"`. */
  readonly option: string;

  /** `option` must be `expected` (e.g. "an integer from 0 to 65535"), and was `got`. */
  constructor(option: string, expected: string, got: unknown) {
    super("WS_ERR_INVALID_OPTION", `${option} must be ${expected}, not ${describe(got)}`);
    this.name = "InvalidOptionError";
    this.option = option;
  }
}

/** A short, safe rendering of a bad value for an error message. */
function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value === null || typeof value !== "object") return String(value);
  return "an object";
}

/**
 * An application callback (a handler, a listener, an `accept` hook, `fetch`) threw or rejected;
 * `cause` is what it threw. A client-side socket reports it as its own `error` event.
 *
 * @example
 * ```ts
 * ws.on("error", (err) => {
 *   if (err instanceof CallbackError) console.error("my listener failed:", err.cause);
 * });
 * ```
 */
export class CallbackError extends WSError {
  /** `what` (e.g. `a "message" listener`) threw `cause`. */
  constructor(what: string, cause: unknown) {
    super("WS_ERR_CALLBACK", `${what} threw: ${(cause as Error)?.message ?? String(cause)}`, 1011, {
      cause,
    });
    this.name = "CallbackError";
  }
}

/**
 * A reconnecting client could not take a message: its queue of sends made while disconnected is
 * full (`WS_ERR_QUEUE_FULL`), or it was closed or gave up reconnecting (`WS_ERR_RECONNECT_FAILED`).
 *
 * @example
 * ```ts
 * try {
 *   client.send("update");
 * } catch (err) {
 *   if (err instanceof ReconnectError && err.code === "WS_ERR_QUEUE_FULL") console.warn("offline");
 * }
 * ```
 */
export class ReconnectError extends WSError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
    this.name = "ReconnectError";
  }
}

/**
 * A proxy refused or botched the tunnel. `code` is `WS_ERR_PROXY_AUTH` (the proxy wants other
 * credentials: HTTP 407 or 401, or SOCKS5 authentication failed or no method accepted),
 * `WS_ERR_PROXY_REFUSED` (any other refusal; `status` is the HTTP status or the SOCKS5 reply code)
 * or `WS_ERR_PROXY_INVALID` (an answer that is not HTTP or SOCKS5, too large, or cut short).
 *
 * @example
 * ```ts
 * const ws = connect("ws://example.com/chat", { proxy: "http://127.0.0.1:3128" });
 * ws.on("error", (err) => {
 *   if (err instanceof ProxyError) console.log(err.code, err.status);
 * });
 * ```
 */
export class ProxyError extends WSError {
  /** The proxy's HTTP status, or its SOCKS5 reply code, if it answered with one. */
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number) {
    super(code, message);
    this.name = "ProxyError";
    this.status = status;
  }
}
