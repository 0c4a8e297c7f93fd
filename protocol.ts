/**
 * `wsdriver/protocol`: the sans-I/O WebSocket core, for people who bring their own transport:
 * frame parsing and encoding, masking, the close payload, UTF-8 validation, the opening handshake
 * and HTTP heads, permessage-deflate negotiation, and {@link Protocol}, one connection's state
 * machine (bytes in, handler calls and bytes out). Nothing here touches a socket or a timer.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameParser, Opcode, randomMask } from "@wsdriver/wsdriver/protocol";
 *
 * const chunks = encodeFrame(Opcode.Text, new TextEncoder().encode("hi"), { mask: randomMask() });
 * const parser = new FrameParser({
 *   frameHeader: (fin, _rsv, opcode, length) => (console.log(fin, opcode, length), true),
 *   frameData: (data) => (console.log(new TextDecoder().decode(data)), true),
 *   frameEnd: () => true,
 *   frameError: (code) => console.error(code),
 * }, { requireMask: true });
 * for (const chunk of chunks) parser.push(chunk);
 * ```
 *
 * @module
 */

export {
  CloseCode,
  encodeClosePayload,
  isValidCloseCode,
  parseClosePayload,
  type ParsedClose,
} from "./src/protocol/close.ts";
export {
  encodeFrame,
  type EncodeOptions,
  FrameParser,
  type FrameSink,
  Opcode,
  randomMask,
} from "./src/protocol/frame.ts";
export { applyMask } from "./src/protocol/mask.ts";
export {
  acceptDeflateResponse,
  contextTakeover,
  type DeflateOptions,
  type DeflateParams,
  type Extension,
  type ExtensionParam,
  negotiateDeflate,
  offerDeflate,
  parseExtensions,
  PerMessageDeflate,
} from "./src/protocol/deflate.ts";
export { isValidUtf8, Utf8Validator } from "./src/protocol/utf8.ts";
export {
  DEFAULT_MAX_PAYLOAD,
  Protocol,
  type ProtocolHandler,
  type ProtocolOptions,
  type ProtocolState,
  type Side,
  type WireProtocol,
} from "./src/protocol/protocol.ts";
export { WireState } from "./src/protocol/state.ts";
export {
  type AcceptedRequest,
  acceptKey,
  checkClientRequest,
  checkServerResponse,
  type ClientRequestOptions,
  encodeAcceptResponse,
  encodeClientRequest,
  generateKey,
  type RejectedRequest,
  selectProtocol,
} from "./src/protocol/handshake.ts";
export {
  type DeflateRawOptions,
  type InflateRawOptions,
  type Platform,
  platform,
  setPlatform,
} from "./src/platform/platform.ts";
export type { HeadersInput } from "./src/protocol/headers.ts";
export { HandshakeError, ProtocolError, WSError } from "./src/errors.ts";
export {
  encodeResponse,
  type HeaderLookup,
  HeadReader,
  type HeadResult,
  HttpParseError,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./src/protocol/http.ts";
