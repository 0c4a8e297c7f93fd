/**
 * The RPC wire format (docs/rpc.md): encoding and decoding of request, response, error and cancel
 * frames. Pure: no connection, no timer.
 *
 * @module
 */

import { RpcError } from "./errors.ts";

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
export const HEADER_SIZE = 8;
/** Largest request id: ids are unsigned 32-bit, and 0 is reserved. */
export const MAX_ID = 0xffffffff;
/** Keeps error frames small whatever a responder throws; longer messages are cut. */
const MAX_ERROR_MESSAGE_BYTES = 4096;
const MAX_CODE_BYTES = 255;

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

/** The error of a frame that breaks the wire format. */
export function malformed(message: string): RpcError {
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

/**
 * An error frame whatever a responder threw: `message` and `appCode` are cut to fit (see
 * {@link encodeRpcFrame} for `code`).
 */
export function encodeErrorFrame(
  id: number,
  code: string,
  message: string,
  appCode?: string,
): Uint8Array {
  return encodeRpcFrame({
    kind: "error",
    id,
    code,
    appCode: appCode === undefined ? undefined : truncate(appCode, MAX_CODE_BYTES),
    message: truncate(message, MAX_ERROR_MESSAGE_BYTES),
  });
}

/**
 * The request id in the fixed 8-byte prefix of a frame that may be malformed otherwise, or 0 if it
 * is too short to have one (0 is never a request's id).
 */
export function frameId(bytes: Uint8Array): number {
  if (bytes.length < HEADER_SIZE) return 0;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
}
