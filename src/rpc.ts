/**
 * Request/response (RPC) over a wsdriver connection, in both directions, with a documented binary
 * wire format (docs/rpc.md) so that peers in other languages can speak it.
 *
 * One binary WebSocket message carries one RPC frame. Every RPC frame starts with the byte
 * {@link RPC_MAGIC} (0xF5, which never starts a UTF-8 text): a binary message that starts with it
 * belongs to the RPC layer, every other message (all text messages, other binary messages) is the
 * application's own and is re-emitted by {@link Rpc} as `message`.
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

import { Emitter } from "./emitter.ts";
import { InvalidOptionError, WSError } from "./errors.ts";
import { checkInteger, checkObject } from "./options.ts";
import { encodeClosePayload } from "./protocol/close.ts";
import { DEFAULT_MAX_PAYLOAD } from "./protocol/protocol.ts";

/**
 * First byte of every RPC frame. 0xF5 can never start valid UTF-8, so a binary message holding
 * UTF-8 text is never mistaken for an RPC frame.
 *
 * @example
 * ```ts
 * ws.on("message", (data) => {
 *   if (data instanceof Uint8Array && data[0] === RPC_MAGIC) return; // the RPC layer's
 * });
 * ```
 */
export const RPC_MAGIC = 0xf5;

/**
 * Version of the wire format written in byte 1 of every frame; frames of other versions are
 * refused as malformed.
 *
 * @example
 * ```ts
 * const frame = encodeRpcFrame({ kind: "cancel", id: 7 });
 * frame[1] === RPC_VERSION; // true
 * ```
 */
export const RPC_VERSION = 1;

/**
 * Frame kinds, as written in byte 2 of a frame.
 *
 * @example
 * ```ts
 * const frame = encodeRpcFrame({ kind: "request", id: 1, data: "hi" });
 * frame[2] === RpcKind.Request; // true
 * ```
 */
export const RpcKind = {
  Request: 0x01,
  Response: 0x02,
  Error: 0x03,
  Cancel: 0x04,
} as const;

/**
 * Payload types, as written in byte 3 of request and response frames.
 *
 * @example
 * ```ts
 * const frame = encodeRpcFrame({ kind: "response", id: 1, data: "ok" });
 * frame[3] === RpcPayloadType.Text; // true
 * ```
 */
export const RpcPayloadType = {
  Binary: 0x00,
  Text: 0x01,
} as const;

/** Bytes before the payload: magic, version, kind, payload type, 32-bit request id. */
const HEADER_SIZE = 8;
const MAX_ID = 0xffffffff;
/** Keeps error frames small whatever a responder throws; longer messages are cut. */
const MAX_ERROR_MESSAGE_BYTES = 4096;
const MAX_CODE_BYTES = 255;

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

/**
 * A request or response payload as it arrives: text as a `string`, binary as a `Uint8Array`
 * (a view into the received message, without the 8-byte header).
 *
 * @example
 * ```ts
 * const reply: RpcData = await rpc.request(new Uint8Array([1, 2, 3]));
 * if (typeof reply === "string") console.log("text", reply);
 * ```
 */
export type RpcData = string | Uint8Array;

/**
 * A payload to send: a `string` goes as UTF-8 text, bytes as binary.
 *
 * @example
 * ```ts
 * const payload: RpcSendData = new TextEncoder().encode("as bytes");
 * await rpc.request(payload);
 * ```
 */
export type RpcSendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

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
 * One RPC frame, as {@link encodeRpcFrame} takes it and {@link decodeRpcFrame} returns it.
 * `D` is the payload type: {@link RpcSendData} to encode, {@link RpcData} once decoded.
 *
 * @example
 * ```ts
 * const frame: RpcFrame = { kind: "error", id: 3, code: "RPC_ERR_REMOTE", appCode: "E_AUTH", message: "who are you?" };
 * ws.sendBinary(encodeRpcFrame(frame));
 * ```
 */
export type RpcFrame<D = RpcData> =
  | { kind: "request" | "response"; id: number; data: D }
  | { kind: "error"; id: number; code: string; appCode?: string; message: string }
  | { kind: "cancel"; id: number };

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
 * What a responder gets besides the request's payload.
 *
 * @example
 * ```ts
 * new Rpc(ws, {
 *   responder: async (data, ctx) => {
 *     const res = await fetch("https://example.com/" + data, { signal: ctx.signal });
 *     return await res.text();
 *   },
 * });
 * ```
 */
export interface RpcContext<C extends RpcConnection = RpcConnection> {
  /** The request id chosen by the peer. */
  readonly id: number;
  /** True if the request's payload is binary. */
  readonly isBinary: boolean;
  /**
   * Aborts when the answer is no longer wanted: the requester cancelled (timeout or abort), or the
   * connection closed. Whatever the responder returns after that is dropped.
   */
  readonly signal: AbortSignal;
  /** The `Rpc` the request came through (e.g. to make a request back). */
  readonly rpc: Rpc<C>;
  /** The connection the request came through. */
  readonly connection: C;
  /**
   * Makes a request to the peer on behalf of this one: unlike `rpc.request`, it is allowed while
   * shutdown waits for this request (so a responder that needs the peer can still finish), and it
   * is cancelled when `signal` aborts.
   */
  request(data: RpcSendData, options?: RpcRequestOptions): Promise<RpcData>;
}

/**
 * Answers the peer's requests: its return value is the response, what it throws goes back as an
 * `RPC_ERR_REMOTE` error with the thrown error's `message` and, as `appCode`, its `code` property.
 *
 * @example
 * ```ts
 * const responder: RpcResponder = (data) => {
 *   if (data === "") throw Object.assign(new Error("empty request"), { code: "E_EMPTY" });
 *   return data;
 * };
 * ```
 */
export type RpcResponder<C extends RpcConnection = RpcConnection> = (
  data: RpcData,
  ctx: RpcContext<C>,
) => RpcReply | Promise<RpcReply>;

/**
 * Options of {@link Rpc}.
 *
 * @example
 * ```ts
 * const options: RpcOptions = { timeout: 5000, maxInFlight: 100, responder: (data) => data };
 * new Rpc(ws, options);
 * ```
 */
export interface RpcOptions<C extends RpcConnection = RpcConnection> {
  /** Answers the peer's requests; without one they get `RPC_ERR_NO_RESPONDER`. */
  responder?: RpcResponder<C>;
  /** Default request timeout in milliseconds (default 30000); 0 or `Infinity`: none. */
  timeout?: number;
  /**
   * Most requests awaited at once, and separately most requests being answered at once
   * (default 1024). Over it, a request fails with `RPC_ERR_TOO_MANY` on this side, and the peer's
   * requests are answered with that error. A request frees its slot when it is answered, times
   * out or is cancelled: a responder the requester cancelled no longer counts (it is told through
   * `ctx.signal`, and counted in `abandoned` until it settles).
   */
  maxInFlight?: number;
  /** Largest frame sent, header included (default: the connection's `maxPayload`, else 64 MiB). */
  maxPayload?: number;
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

const encoder = new TextEncoder();
// fatal: invalid UTF-8 makes a frame malformed; ignoreBOM: a leading U+FEFF is payload.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new TypeError("RPC data must be a string, an ArrayBuffer or an ArrayBufferView");
}

function malformed(message: string): RpcError {
  return new RpcError("RPC_ERR_MALFORMED", message);
}

/** `s` cut to at most `max` bytes of UTF-8. */
function truncate(s: string, max: number): string {
  const bytes = encoder.encode(s);
  if (bytes.length <= max) return s;
  let end = max;
  // Back up to a character boundary so the cut text stays valid UTF-8.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return lenientDecoder.decode(bytes.subarray(0, end));
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > MAX_ID) {
    throw new RangeError(`an RPC request id is an integer from 1 to ${MAX_ID}, not ${id}`);
  }
}

function header(size: number, kind: number, type: number, id: number): Uint8Array {
  const out = new Uint8Array(size);
  out[0] = RPC_MAGIC;
  out[1] = RPC_VERSION;
  out[2] = kind;
  out[3] = type;
  new DataView(out.buffer).setUint32(4, id);
  return out;
}

/**
 * Encodes one RPC frame (one binary WebSocket message). Throws a RangeError for an id outside
 * 1..2^32-1, an empty code, or a code or app code over 255 bytes of UTF-8.
 *
 * @example
 * ```ts
 * ws.sendBinary(encodeRpcFrame({ kind: "request", id: 1, data: "hello" }));
 * // f5 01 01 01 00 00 00 01 68 65 6c 6c 6f
 * ```
 */
export function encodeRpcFrame(frame: RpcFrame<RpcSendData>): Uint8Array {
  checkId(frame.id);
  switch (frame.kind) {
    case "request":
    case "response": {
      const text = typeof frame.data === "string";
      const payload = text
        ? encoder.encode(frame.data as string)
        : toBytes(frame.data as Uint8Array);
      const kind = frame.kind === "request" ? RpcKind.Request : RpcKind.Response;
      const out = header(
        HEADER_SIZE + payload.length,
        kind,
        text ? RpcPayloadType.Text : RpcPayloadType.Binary,
        frame.id,
      );
      out.set(payload, HEADER_SIZE);
      return out;
    }
    case "error": {
      const code = encoder.encode(frame.code);
      const appCode = encoder.encode(frame.appCode ?? "");
      if (code.length < 1 || code.length > MAX_CODE_BYTES) {
        throw new RangeError(`an RPC error code has 1 to ${MAX_CODE_BYTES} bytes`);
      }
      if (appCode.length > MAX_CODE_BYTES) {
        throw new RangeError(`an RPC app code has at most ${MAX_CODE_BYTES} bytes`);
      }
      const message = encoder.encode(frame.message);
      const out = header(
        HEADER_SIZE + 2 + code.length + appCode.length + message.length,
        RpcKind.Error,
        0,
        frame.id,
      );
      let p = HEADER_SIZE;
      out[p++] = code.length;
      out.set(code, p);
      p += code.length;
      out[p++] = appCode.length;
      out.set(appCode, p);
      p += appCode.length;
      out.set(message, p);
      return out;
    }
    case "cancel":
      return header(HEADER_SIZE, RpcKind.Cancel, 0, frame.id);
    default:
      throw new TypeError(`unknown RPC frame kind ${(frame as { kind: unknown }).kind}`);
  }
}

function text(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

/**
 * Decodes one RPC frame from a binary message. Throws an {@link RpcError} with code
 * `RPC_ERR_MALFORMED` if the message breaks the wire format (see docs/rpc.md).
 *
 * @example
 * ```ts
 * ws.on("message", (data) => {
 *   if (isRpcMessage(data)) console.log(decodeRpcFrame(data));
 * });
 * ```
 */
export function decodeRpcFrame(bytes: Uint8Array): RpcFrame {
  if (bytes.length < HEADER_SIZE) {
    throw malformed(`an RPC frame has at least ${HEADER_SIZE} bytes, this one ${bytes.length}`);
  }
  if (bytes[0] !== RPC_MAGIC) throw malformed(`not an RPC frame: first byte ${bytes[0]}`);
  if (bytes[1] !== RPC_VERSION) throw malformed(`unsupported RPC version ${bytes[1]}`);
  const kind = bytes[2], type = bytes[3];
  const id = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  if (id === 0) throw malformed("request id 0 is reserved");
  switch (kind) {
    case RpcKind.Request:
    case RpcKind.Response: {
      const body = bytes.subarray(HEADER_SIZE);
      let data: RpcData;
      if (type === RpcPayloadType.Binary) data = body;
      else if (type === RpcPayloadType.Text) data = text(body, "text payload");
      else throw malformed(`unknown payload type ${type}`);
      return { kind: kind === RpcKind.Request ? "request" : "response", id, data };
    }
    case RpcKind.Error: {
      if (type !== 0) throw malformed(`payload type ${type} in an error frame`);
      let p = HEADER_SIZE;
      const codeLength = bytes[p++];
      if (codeLength === undefined || codeLength === 0 || p + codeLength + 1 > bytes.length) {
        throw malformed("error frame with a missing or truncated code");
      }
      const code = text(bytes.subarray(p, p + codeLength), "error code");
      p += codeLength;
      const appCodeLength = bytes[p++];
      if (p + appCodeLength > bytes.length) {
        throw malformed("error frame with a truncated app code");
      }
      const appCode = text(bytes.subarray(p, p + appCodeLength), "app code");
      p += appCodeLength;
      const message = text(bytes.subarray(p), "error message");
      return appCodeLength === 0
        ? { kind: "error", id, code, message }
        : { kind: "error", id, code, appCode, message };
    }
    case RpcKind.Cancel:
      if (type !== 0) throw malformed(`payload type ${type} in a cancel frame`);
      if (bytes.length !== HEADER_SIZE) throw malformed("a cancel frame has no body");
      return { kind: "cancel", id };
    default:
      throw malformed(`unknown RPC frame kind ${kind}`);
  }
}

/**
 * True if a received message belongs to the RPC layer: binary and starting with
 * {@link RPC_MAGIC}. Lets a listener on the connection itself skip RPC frames.
 *
 * @example
 * ```ts
 * ws.on("message", (data) => {
 *   if (isRpcMessage(data)) return; // answered by the Rpc
 *   console.log("plain message", data);
 * });
 * ```
 */
export function isRpcMessage(data: string | Uint8Array): data is Uint8Array {
  return typeof data !== "string" && data.length > 0 && data[0] === RPC_MAGIC;
}

interface Outgoing {
  resolve(data: RpcData): void;
  reject(error: RpcError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The request's own signal and, for `ctx.request`, the responder's, with their listeners. */
  aborts: Array<{ signal: AbortSignal; listener: () => void }>;
}

interface Incoming {
  controller: AbortController;
}

/** Connections that have an Rpc: two would both answer every request. */
const attached = new WeakSet<object>();

function checkTimeout(ms: unknown, what: string): void {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new InvalidOptionError(what, "a number of milliseconds >= 0 (0 or Infinity: none)", ms);
  }
}

/** A finite delay setTimeout can honour, or undefined for "no timer". */
function timerDelay(ms: number): number | undefined {
  // setTimeout fires at once for delays over 2^31-1 ms, which would mean "time out now".
  return ms > 0 && ms <= 0x7fffffff ? ms : undefined;
}

/**
 * The request/response layer on one connection, for both directions: `request` sends a request
 * and resolves with the peer's response; the responder answers the peer's requests. Requests are
 * multiplexed by id and may complete in any order. Messages that are not RPC frames are
 * re-emitted as `message`.
 *
 * Attach it right after the connection is made (a server handler, or right after `connect`) so
 * that no request of the peer arrives before it listens.
 *
 * @example
 * ```ts
 * import { connect, Rpc, RpcError, serve } from "@wsdriver/wsdriver";
 *
 * const server = await serve({ port: 8080 }, (ws) => {
 *   const rpc = new Rpc(ws, {
 *     responder: async (data, ctx) => {
 *       if (data === "whoami") return await ctx.request("your name?"); // ask back
 *       throw Object.assign(new Error("unknown command"), { code: "E_UNKNOWN" });
 *     },
 *   });
 *   rpc.on("message", (data) => console.log("plain:", data));
 * });
 *
 * const client = new Rpc(connect("ws://127.0.0.1:8080"), { responder: () => "ann" });
 * console.log(await client.request("whoami", { timeout: 2000 })); // "ann"
 * try {
 *   await client.request("dance");
 * } catch (err) {
 *   if (err instanceof RpcError) console.log(err.code, err.appCode, err.message);
 *   // RPC_ERR_REMOTE E_UNKNOWN unknown command
 * }
 * await client.shutdown({ timeout: 5000 });
 * await server.close();
 * ```
 */
export class Rpc<C extends RpcConnection = RpcConnection> extends Emitter<RpcEvents> {
  /** The connection this layer runs over. */
  readonly connection: C;
  /** Default request timeout in milliseconds (0: none). */
  readonly timeout: number;
  /** Cap on requests awaited, and separately on requests being answered. */
  readonly maxInFlight: number;
  /** Largest frame sent, in bytes. */
  readonly maxPayload: number;
  #responder: RpcResponder<C> | undefined;
  #state: RpcState = "open";
  #outgoing = new Map<number, Outgoing>();
  /** Requests being answered that are still wanted, by the peer's id. */
  #incoming = new Map<number, Incoming>();
  /** Responders the requester cancelled that have not settled yet. */
  #abandoned = 0;
  #nextId = 1;
  #drainCheck: ((force?: boolean) => void) | undefined;
  #closeWaiters: Array<() => void> = [];
  #shutdown: Promise<boolean> | undefined;

  #onMessage = (data: string | Uint8Array, isBinary: boolean): void => {
    this.#receive(data, isBinary);
  };
  #onClose = (code: number, reason: string, wasClean: boolean): void => {
    this.#closed(code, reason, wasClean);
  };

  /**
   * Attaches the RPC layer to `connection`. Throws an {@link RpcError} `RPC_ERR_ATTACHED` if the
   * connection already has one, a TypeError for a raw connection with line framing, and a
   * RangeError for a bad option.
   */
  constructor(connection: C, options: RpcOptions<C> = {}) {
    super();
    checkObject(options, "options");
    if (options.responder !== undefined && typeof options.responder !== "function") {
      throw new InvalidOptionError("responder", "a function", options.responder);
    }
    if (attached.has(connection)) {
      throw new RpcError("RPC_ERR_ATTACHED", "this connection already has an Rpc");
    }
    if (connection.framing !== undefined && connection.framing !== "length") {
      throw new TypeError(
        `RPC needs binary messages; a raw connection with "${connection.framing}" framing ` +
          `cannot carry them intact (use "length")`,
      );
    }
    const timeout = options.timeout ?? DEFAULT_RPC_TIMEOUT;
    checkTimeout(timeout, "timeout");
    const maxInFlight = options.maxInFlight ?? DEFAULT_RPC_MAX_IN_FLIGHT;
    checkInteger(maxInFlight, "maxInFlight", 1);
    const maxPayload = options.maxPayload ?? connection.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    checkInteger(maxPayload, "maxPayload", HEADER_SIZE);
    this.connection = connection;
    this.timeout = timeout;
    this.maxInFlight = maxInFlight;
    this.maxPayload = maxPayload;
    this.#responder = options.responder;
    if (connection.readyState === "closed") {
      this.#state = "closed";
      return;
    }
    attached.add(connection);
    connection.on("message", this.#onMessage);
    connection.on("close", this.#onClose);
  }

  /** `open`, `shutting-down` or `closed`. */
  get state(): RpcState {
    return this.#state;
  }

  /** Requests awaiting the peer's response (`outgoing`) and being answered here (`incoming`). */
  get inFlight(): { outgoing: number; incoming: number } {
    return { outgoing: this.#outgoing.size, incoming: this.#incoming.size };
  }

  /**
   * Responders here that the requester cancelled (it timed out or aborted) and that have not
   * returned yet: they ignore `ctx.signal`. They hold no `maxInFlight` slot, but their work goes on.
   *
   * @example
   * ```ts
   * if (rpc.abandoned > 100) console.warn("responders ignore ctx.signal");
   * ```
   */
  get abandoned(): number {
    return this.#abandoned;
  }

  /**
   * Sets (or, with `undefined`, removes) the function that answers the peer's requests. Requests
   * already being answered keep the responder they started with.
   *
   * @example
   * ```ts
   * rpc.setResponder(async (data, ctx) => {
   *   await new Promise((r) => setTimeout(r, 10));
   *   if (ctx.signal.aborted) return; // dropped anyway: the requester gave up
   *   return data;
   * });
   * ```
   */
  setResponder(responder: RpcResponder<C> | undefined): this {
    this.#responder = responder;
    return this;
  }

  /**
   * Sends a request and resolves with the peer's response (text as `string`, binary as
   * `Uint8Array`). Never throws: it rejects with an {@link RpcError}, e.g. `RPC_ERR_REMOTE` (the
   * peer's responder threw), `RPC_ERR_TIMEOUT` or `RPC_ERR_ABORTED` (the peer is told to cancel),
   * `RPC_ERR_CLOSED`, `RPC_ERR_SHUTDOWN`, `RPC_ERR_TOO_MANY`, `RPC_ERR_TOO_BIG`.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * setTimeout(() => ac.abort(), 1000);
   * const bytes = await rpc.request(new Uint8Array([1, 2, 3]), { signal: ac.signal, timeout: 5000 });
   * ```
   */
  request(data: RpcSendData, options: RpcRequestOptions = {}): Promise<RpcData> {
    return this.#call(data, options, undefined);
  }

  /** `request`, and `ctx.request` with the responder's `parent` signal. */
  #call(
    data: RpcSendData,
    options: RpcRequestOptions,
    parent: AbortSignal | undefined,
  ): Promise<RpcData> {
    const signal = options?.signal;
    const timeout = options?.timeout ?? this.timeout;
    try {
      checkObject(options, "options");
      checkTimeout(timeout, "timeout");
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new InvalidOptionError("signal", "an AbortSignal", signal);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const connState = this.connection.readyState;
    if (this.#state === "closed" || (connState !== "open" && connState !== "connecting")) {
      return Promise.reject(new RpcError("RPC_ERR_CLOSED", `the connection is ${connState}`));
    }
    // A responder's own requests help finish what shutdown waits for, so they are let through.
    if (this.#state === "shutting-down" && !parent) {
      return Promise.reject(
        new RpcError("RPC_ERR_SHUTDOWN", "shutdown has begun: no new requests are sent"),
      );
    }
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (parent?.aborted) return Promise.reject(abortedError(parent));
    if (this.#outgoing.size >= this.maxInFlight) {
      return Promise.reject(
        new RpcError("RPC_ERR_TOO_MANY", `${this.maxInFlight} requests are already in flight`),
      );
    }
    const id = this.#allocateId();
    let frame: Uint8Array;
    try {
      frame = encodeRpcFrame({ kind: "request", id, data });
    } catch (err) {
      return Promise.reject(err);
    }
    if (frame.length > this.maxPayload) {
      return Promise.reject(
        new RpcError(
          "RPC_ERR_TOO_BIG",
          `a request frame of ${frame.length} bytes is over the limit of ${this.maxPayload}`,
        ),
      );
    }
    return new Promise<RpcData>((resolve, reject) => {
      const entry: Outgoing = { resolve, reject, timer: undefined, aborts: [] };
      // Registered before sending: a connection may deliver the response synchronously.
      this.#outgoing.set(id, entry);
      const delay = timerDelay(timeout);
      if (delay !== undefined) {
        entry.timer = setTimeout(() => {
          this.#cancel(id, new RpcError("RPC_ERR_TIMEOUT", `no response within ${timeout} ms`));
        }, delay);
      }
      for (const s of [signal, parent]) {
        if (!s) continue;
        const listener = () => this.#cancel(id, abortedError(s));
        s.addEventListener("abort", listener, { once: true });
        entry.aborts.push({ signal: s, listener });
      }
      try {
        this.connection.sendBinary(frame);
      } catch (err) {
        this.#settle(id)?.reject(
          new RpcError("RPC_ERR_CLOSED", "the request could not be sent", { cause: err }),
        );
      }
    });
  }

  /**
   * Graceful shutdown: refuses new requests in both directions from now on (this side's with
   * `RPC_ERR_SHUTDOWN` at once, the peer's with an `RPC_ERR_SHUTDOWN` error response), waits
   * until every in-flight request in both directions has finished or `timeout` passed, then closes
   * the connection with `code` and `reason` and resolves once it is closed. Resolves with true if
   * nothing was still in flight when the connection closed; requests cut off by the deadline fail
   * with `RPC_ERR_CLOSED`. Calling it again returns the same promise.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", async () => {
   *   const drained = await rpc.shutdown({ timeout: 5000, code: 1001, reason: "restarting" });
   *   if (!drained) console.warn("some requests were cut off");
   * });
   * ```
   */
  shutdown(options: RpcShutdownOptions = {}): Promise<boolean> {
    if (this.#shutdown) return this.#shutdown;
    const timeout = options.timeout ?? DEFAULT_RPC_SHUTDOWN_TIMEOUT;
    const code = options.code ?? 1000, reason = options.reason ?? "";
    try {
      checkTimeout(timeout, "shutdown timeout");
      // Checked now rather than after the wait, when the error would be a surprise.
      encodeClosePayload(code, reason);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#state === "closed") return this.#shutdown = Promise.resolve(true);
    this.#state = "shutting-down";
    this.#shutdown = (async () => {
      const drained = await this.#drained(timeout);
      if (this.#state !== "closed") {
        const closed = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
        const s = this.connection.readyState;
        if (s === "open" || s === "connecting") this.connection.close(code, reason);
        await closed;
      }
      return drained;
    })();
    return this.#shutdown;
  }

  #drained(timeout: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        this.#drainCheck = undefined;
        resolve(drained);
      };
      this.#drainCheck = (force?: boolean) => {
        if (force !== undefined) finish(force);
        else if (this.#outgoing.size === 0 && this.#incoming.size === 0) finish(true);
      };
      const delay = timerDelay(timeout);
      if (timeout === 0) return finish(this.#outgoing.size === 0 && this.#incoming.size === 0);
      if (delay !== undefined) timer = setTimeout(() => finish(false), delay);
      this.#drainCheck();
    });
  }

  #allocateId(): number {
    let id = this.#nextId;
    // Skipping ids still pending keeps ids unique after the counter wraps around.
    while (this.#outgoing.has(id)) id = id === MAX_ID ? 1 : id + 1;
    this.#nextId = id === MAX_ID ? 1 : id + 1;
    return id;
  }

  /** Forgets a pending request and its timer and abort listener; returns it if it was pending. */
  #settle(id: number): Outgoing | undefined {
    const entry = this.#outgoing.get(id);
    if (!entry) return undefined;
    this.#outgoing.delete(id);
    clearTimeout(entry.timer);
    for (const a of entry.aborts) a.signal.removeEventListener("abort", a.listener);
    this.#drainCheck?.();
    return entry;
  }

  /** Gives up on a request locally and tells the peer, so its responder can stop. */
  #cancel(id: number, error: RpcError): void {
    const entry = this.#settle(id);
    if (!entry) return;
    entry.reject(error);
    this.#send(encodeRpcFrame({ kind: "cancel", id }));
  }

  /** Sends a frame, or drops it if the connection can no longer send: nobody awaits it. */
  #send(frame: Uint8Array): void {
    const s = this.connection.readyState;
    if (s !== "open" && s !== "connecting") return;
    try {
      this.connection.sendBinary(frame);
    } catch {
      // The connection went away in between; its close event fails what is pending.
    }
  }

  #sendError(id: number, code: RpcErrorCode, message: string, appCode?: string): void {
    this.#send(encodeRpcFrame({
      kind: "error",
      id,
      code,
      appCode: appCode === undefined ? undefined : truncate(appCode, MAX_CODE_BYTES),
      message: truncate(message, MAX_ERROR_MESSAGE_BYTES),
    }));
  }

  #receive(data: string | Uint8Array, isBinary: boolean): void {
    if (!isRpcMessage(data)) {
      this.emit("message", data, isBinary);
      return;
    }
    if (this.#state === "closed") return;
    let frame: RpcFrame;
    try {
      frame = decodeRpcFrame(data);
    } catch (err) {
      this.#malformed(data, err as RpcError);
      return;
    }
    switch (frame.kind) {
      case "request":
        return this.#request(frame.id, frame.data);
      case "response":
        // A response to an unknown id is normal: the request timed out or was aborted meanwhile.
        return this.#settle(frame.id)?.resolve(frame.data);
      case "error":
        return this.#settle(frame.id)?.reject(
          new RpcError(frame.code, frame.message, { appCode: frame.appCode, remote: true }),
        );
      case "cancel": {
        const entry = this.#incoming.get(frame.id);
        if (!entry) return; // already answered
        // The slot is free at once: the requester's cap and this side's must agree, or a
        // responder that never returns would lock the requester out for good.
        this.#incoming.delete(frame.id);
        this.#abandoned++;
        entry.controller.abort(
          new RpcError("RPC_ERR_ABORTED", "the requester cancelled the request", { remote: true }),
        );
        this.#drainCheck?.();
        return;
      }
    }
  }

  /**
   * Reports a malformed frame and, where the fixed 8-byte prefix names a request id, keeps that
   * request from waiting for nothing: a request gets an error response, a pending request whose
   * response was malformed fails.
   */
  #malformed(bytes: Uint8Array, error: RpcError): void {
    this.emit("error", error);
    if (bytes.length < HEADER_SIZE) return;
    const id = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
    if (id === 0) return;
    const kind = bytes[2];
    if (kind === RpcKind.Request) {
      // Answering an id that is being answered would settle the peer's earlier request wrongly.
      if (!this.#incoming.has(id)) this.#sendError(id, "RPC_ERR_MALFORMED", error.message);
    } else if (kind === RpcKind.Response || kind === RpcKind.Error) {
      this.#settle(id)?.reject(
        new RpcError("RPC_ERR_MALFORMED", `malformed response: ${error.message}`),
      );
    }
  }

  #request(id: number, data: RpcData): void {
    if (this.#incoming.has(id)) {
      // No answer: it would be taken as the answer to the request already running under that id.
      this.emit("error", malformed(`duplicate request id ${id} while it is being answered`));
      return;
    }
    if (this.#state === "shutting-down") {
      return this.#sendError(id, "RPC_ERR_SHUTDOWN", "the peer is shutting down");
    }
    if (this.#incoming.size >= this.maxInFlight) {
      return this.#sendError(
        id,
        "RPC_ERR_TOO_MANY",
        `the peer is answering ${this.maxInFlight} requests already`,
      );
    }
    const responder = this.#responder;
    if (!responder) return this.#sendError(id, "RPC_ERR_NO_RESPONDER", "the peer has no responder");
    const entry: Incoming = { controller: new AbortController() };
    this.#incoming.set(id, entry);
    const signal = entry.controller.signal;
    const ctx: RpcContext<C> = {
      id,
      isBinary: typeof data !== "string",
      signal,
      rpc: this,
      connection: this.connection,
      request: (data, options = {}) => this.#call(data, options, signal),
    };
    // A promise around the call turns a synchronous throw into a rejection like an async one.
    new Promise<RpcReply>((resolve) => resolve(responder(data, ctx))).then(
      (reply) => this.#answer(id, entry, reply, undefined),
      (err: unknown) => this.#answer(id, entry, undefined, { err }),
    );
  }

  #answer(
    id: number,
    entry: Incoming,
    reply: RpcReply,
    thrown: { err: unknown } | undefined,
  ): void {
    // Not the current entry: cancelled (or the connection closed); the answer is not wanted.
    if (this.#incoming.get(id) !== entry) {
      if (entry.controller.signal.aborted) this.#abandoned--;
      return;
    }
    this.#incoming.delete(id);
    try {
      if (thrown) {
        // Anything with a string `message` counts as an error, so plain `{ code, message }`
        // objects and errors from other realms keep their details.
        const { err } = thrown;
        const e = typeof err === "object" && err !== null
          ? err as { code?: unknown; message?: unknown }
          : {};
        const message = typeof e.message === "string" ? e.message : String(err);
        const code = e.code;
        const appCode = typeof code === "string" || typeof code === "number"
          ? String(code)
          : undefined;
        this.#sendError(id, "RPC_ERR_REMOTE", message, appCode);
        return;
      }
      let frame: Uint8Array;
      try {
        frame = encodeRpcFrame({ kind: "response", id, data: reply ?? new Uint8Array(0) });
      } catch (err) {
        const e = new RpcError(
          "RPC_ERR_REMOTE",
          `the responder returned ${typeof reply}; return a string or bytes`,
          { cause: err },
        );
        this.emit("error", e);
        this.#sendError(id, "RPC_ERR_REMOTE", e.message);
        return;
      }
      if (frame.length > this.maxPayload) {
        const e = new RpcError(
          "RPC_ERR_TOO_BIG",
          `a response frame of ${frame.length} bytes is over the limit of ${this.maxPayload}`,
        );
        this.emit("error", e);
        this.#sendError(id, "RPC_ERR_TOO_BIG", e.message);
        return;
      }
      this.#send(frame);
    } finally {
      this.#drainCheck?.();
    }
  }

  #closed(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.connection.off?.("message", this.#onMessage);
    this.connection.off?.("close", this.#onClose);
    attached.delete(this.connection);
    // Decided before the loops below empty the maps, which would make any drain look complete.
    this.#drainCheck?.(this.#outgoing.size === 0 && this.#incoming.size === 0);
    const why = `the connection closed (${code}${reason ? ` ${reason}` : ""})`;
    for (const id of [...this.#outgoing.keys()]) {
      this.#settle(id)?.reject(new RpcError("RPC_ERR_CLOSED", `${why} with the request pending`));
    }
    const incoming = [...this.#incoming.values()];
    this.#incoming.clear();
    this.#abandoned += incoming.length;
    for (const entry of incoming) {
      entry.controller.abort(new RpcError("RPC_ERR_CLOSED", `${why}; nobody awaits the answer`));
    }
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of waiters) w();
    this.emit("close", code, reason, wasClean);
  }
}

function abortedError(signal: AbortSignal): RpcError {
  return new RpcError("RPC_ERR_ABORTED", "the request was aborted", { cause: signal.reason });
}
