/**
 * The RFC 6455 §5.2 base framing: an incremental parser that turns bytes in any split into frame
 * events, and an encoder that turns payloads into frame bytes.
 *
 * @module
 */

import { applyMask, maskInto } from "./mask.ts";
import { Slab } from "./slab.ts";

/**
 * Frame opcodes.
 *
 * @example
 * ```ts
 * encodeFrame(Opcode.Text, new TextEncoder().encode("hi"));
 * ```
 */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** Receives what a {@link FrameParser} finds. Returning false from a method stops the parser. */
export interface FrameSink {
  /** A frame header was read; `length` is the payload length announced by the peer. */
  frameHeader(fin: boolean, rsv: number, opcode: number, length: number): boolean;
  /**
   * A piece of the current frame's payload, already unmasked: a view of the input, or of the sink's
   * own memory that {@link frameInto} returned for it.
   */
  frameData(data: Uint8Array): boolean;
  /**
   * Where to unmask the next `length` payload bytes (a masked piece of at least 1 KiB): a view of
   * exactly `length` bytes of the sink's own memory, or undefined for a view of the input, unmasked
   * in place. A sink that would copy the piece anyway (to join a message's pieces) saves a pass
   * over it.
   */
  frameInto?(length: number): Uint8Array | undefined;
  /** The current frame's payload is complete. */
  frameEnd(): boolean;
  /** The framing itself is broken; the parser has stopped. */
  frameError(code: string, message: string, closeCode: number): void;
}

const NO_BYTES = new Uint8Array(0);
/**
 * The masking key of the piece being unmasked, filled from the parser's key before each call. A
 * parser keeps its key as a number: a typed array of its own was two allocations per connection
 * (the header scratch with it), about 400 bytes of garbage for a client that only says hello and
 * closes.
 */
const KEY = new Uint8Array(4);

/**
 * Pieces from this size on are offered to {@link FrameSink.frameInto}; for smaller ones the call
 * costs about what the pass it saves does.
 */
const INTO_MIN = 1024;

const enum State {
  Header,
  Payload,
  Stopped,
}

/**
 * Incremental frame parser. Payload bytes are delivered as views of the pushed chunks (no copy)
 * and unmasked in place (unless the sink takes them into its own memory, see
 * {@link FrameSink.frameInto}), so a pushed chunk must not be reused by the caller afterwards.
 *
 * @example
 * ```ts
 * const parser = new FrameParser(sink, { requireMask: true });
 * socket.on("data", (chunk) => parser.push(chunk));
 * ```
 */
export class FrameParser {
  #sink: FrameSink;
  #requireMask: boolean;
  #state = State.Header;
  /** Header bytes of a header split across chunks, allocated on the first such header. */
  #hdr: Uint8Array = NO_BYTES;
  #hdrLen = 0;
  #remaining = 0;
  #masked = false;
  /** The masking key's bytes, first byte lowest. */
  #key = 0;
  #keyOffset = 0;

  /** Delivers frames to `sink`; with `requireMask`, unmasked frames are a protocol error (server side). */
  constructor(sink: FrameSink, options: { requireMask: boolean }) {
    this.#sink = sink;
    this.#requireMask = options.requireMask;
  }

  /** Stops parsing for good; later input is ignored. */
  stop(): void {
    this.#state = State.Stopped;
  }

  /** True once the parser stopped (an error, or a sink method returned false). */
  get stopped(): boolean {
    return this.#state === State.Stopped;
  }

  /** Parses as much of `chunk` as possible. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.#state === State.Payload) {
        const n = Math.min(this.#remaining, len - pos);
        let piece = chunk.subarray(pos, pos + n);
        pos += n;
        if (this.#masked) {
          const k = this.#key;
          KEY[0] = k;
          KEY[1] = k >>> 8;
          KEY[2] = k >>> 16;
          KEY[3] = k >>> 24;
          const into = n >= INTO_MIN ? this.#sink.frameInto?.(n) : undefined;
          if (into !== undefined) {
            maskInto(piece, KEY, into, 0, this.#keyOffset);
            piece = into;
          } else {
            applyMask(piece, KEY, this.#keyOffset);
          }
          this.#keyOffset = (this.#keyOffset + n) & 3;
        }
        this.#remaining -= n;
        if (!this.#sink.frameData(piece)) return this.stop();
        if (this.#remaining === 0) {
          this.#state = State.Header;
          if (!this.#sink.frameEnd()) return this.stop();
        }
        continue;
      }
      if (this.#state === State.Stopped) return;
      // Header: parse in place when it is whole in this chunk, else gather it in #hdr.
      let buf = chunk, off = pos;
      const avail = len - pos;
      if (this.#hdrLen > 0 || avail < 2 || avail < headerSize(chunk[pos + 1])) {
        const want = this.#hdrLen < 2 ? 2 : headerSize(this.#hdr[1]);
        const take = Math.min(want - this.#hdrLen, avail);
        if (this.#hdr === NO_BYTES) this.#hdr = new Uint8Array(14);
        this.#hdr.set(chunk.subarray(pos, pos + take), this.#hdrLen);
        this.#hdrLen += take;
        pos += take;
        if (this.#hdrLen < 2 || this.#hdrLen < headerSize(this.#hdr[1])) continue;
        buf = this.#hdr;
        off = 0;
        this.#hdrLen = 0;
      } else {
        pos += headerSize(chunk[pos + 1]);
      }
      if (!this.#header(buf, off)) return this.stop();
    }
  }

  #header(buf: Uint8Array, off: number): boolean {
    const b0 = buf[off], b1 = buf[off + 1];
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#requireMask) {
      this.#sink.frameError(
        masked ? "WS_ERR_UNEXPECTED_MASK" : "WS_ERR_EXPECTED_MASK",
        masked ? "a server must not mask its frames" : "a client must mask its frames",
        1002,
      );
      return false;
    }
    let length = b1 & 0x7f;
    let p = off + 2;
    if (length === 126) {
      length = (buf[p] << 8) | buf[p + 1];
      p += 2;
    } else if (length === 127) {
      const hi = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
      const lo = ((buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]) >>> 0;
      if (hi >= 0x80000000) {
        this.#sink.frameError(
          "WS_ERR_INVALID_LENGTH",
          "64-bit payload length has its most significant bit set",
          1002,
        );
        return false;
      }
      length = hi * 0x100000000 + lo;
      p += 8;
    }
    this.#masked = masked;
    if (masked) {
      this.#key = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
      this.#keyOffset = 0;
    }
    if (!this.#sink.frameHeader((b0 & 0x80) !== 0, (b0 >> 4) & 7, b0 & 0x0f, length)) return false;
    if (length === 0) return this.#sink.frameEnd();
    this.#remaining = length;
    this.#state = State.Payload;
    return true;
  }
}

/** Header size implied by the second header byte. */
function headerSize(b1: number): number {
  const len7 = b1 & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}

/** Options of {@link encodeFrame}. */
export interface EncodeOptions {
  /** Final fragment of its message (default true). */
  fin?: boolean;
  /** RSV1, set by an extension such as permessage-deflate on a message's first frame. */
  rsv1?: boolean;
  /** Masking key: clients must mask every frame, servers never do. */
  mask?: Uint8Array;
}

/** Below this, payload and header go into one buffer: one small copy beats a second write. */
const COPY_THRESHOLD = 1024;

/**
 * Encodes one frame as one or two byte chunks (header and payload, when copying the payload would
 * cost more than writing it separately). An unmasked payload is not copied: do not modify it until
 * it is written.
 *
 * @example
 * ```ts
 * const chunks = encodeFrame(Opcode.Binary, new Uint8Array([1, 2, 3]));
 * ```
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  options: EncodeOptions = {},
): Uint8Array[] {
  const n = payload.length;
  const mask = options.mask;
  const hlen = headerLength(n, mask !== undefined);
  const inline = mask !== undefined || n <= COPY_THRESHOLD;
  const out = new Uint8Array(inline ? hlen + n : hlen);
  writeHeader(out, 0, opcode, n, options);
  if (mask) {
    maskInto(payload, mask, out, hlen);
    return [out];
  }
  if (inline) {
    out.set(payload, hlen);
    return [out];
  }
  return [out, payload];
}

/** Largest text that {@link encodeTextFrame} encodes in place (it reserves 3 bytes a char). */
export const TEXT_IN_PLACE_LIMIT = 16 * 1024;

/**
 * Encodes a whole text frame with one allocation: the UTF-8 goes straight behind a header slot
 * sized for the worst case, and the header is written right before it once the length is known.
 * For texts up to {@link TEXT_IN_PLACE_LIMIT} characters.
 *
 * @example
 * ```ts
 * const frame = encodeTextFrame("hello"); // [0x81, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f]
 * ```
 */
export function encodeTextFrame(text: string, mask?: Uint8Array): Uint8Array {
  const reserve = headerLength(text.length * 3, mask !== undefined);
  const buf = new Uint8Array(reserve + text.length * 3);
  const { written } = utf8Encoder.encodeInto(text, buf.subarray(reserve));
  const start = reserve - headerLength(written, mask !== undefined);
  writeHeader(buf, start, 0x1, written, { mask });
  if (mask) applyMask(buf.subarray(reserve, reserve + written), mask);
  return buf.subarray(start, reserve + written);
}

const utf8Encoder = new TextEncoder();

/** Options of a final, unmasked frame without extension bits. */
const FINAL: EncodeOptions = {};

/** Frames up to this size (header included) go into the slab. */
export const SLAB_FRAME_LIMIT = 4 * 1024;

/**
 * Shared space where small unmasked frames are encoded, one after another, so that a frame costs
 * no allocation and the frames a connection produces in a row are one contiguous range, written
 * with one view. A frame's bytes are never rewritten (see {@link Slab}): they may be queued on any
 * number of sockets, e.g. once for all subscribers of a topic.
 */
export const frameSlab: Slab = new Slab(64 * 1024);

/**
 * Encodes an unmasked text frame of at most {@link SLAB_FRAME_LIMIT} / 3 characters into
 * {@link frameSlab}, and returns where the frame starts; it ends at the slab's new `pos`.
 *
 * @example
 * ```ts
 * const start = encodeTextIntoSlab("hi");
 * const frame = frameSlab.buf.subarray(start, frameSlab.pos);
 * ```
 */
export function encodeTextIntoSlab(text: string): number {
  const n = text.length;
  if (n < 126) {
    // Short ASCII, the common chat message: copied char by char, which costs less than
    // encodeInto and the view it needs.
    const buf = frameSlab.reserve(n + 2);
    const start = frameSlab.pos;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) break;
      buf[start + 2 + i] = c;
    }
    if (i === n) {
      buf[start] = 0x81;
      buf[start + 1] = n;
      frameSlab.commit(2 + n);
      return start;
    }
  }
  const max = n * 3;
  const slot = max < 126 ? 2 : 4;
  const buf = frameSlab.reserve(slot + max);
  const start = frameSlab.pos;
  const { written } = utf8Encoder.encodeInto(
    text,
    buf.subarray(start + slot, start + slot + max),
  );
  const hlen = written < 126 ? 2 : 4;
  // The header slot was sized for the worst case: close the gap, so that frames stay contiguous.
  if (hlen < slot) buf.copyWithin(start + hlen, start + slot, start + slot + written);
  writeHeader(buf, start, Opcode.Text, written, FINAL);
  frameSlab.commit(hlen + written);
  return start;
}

/**
 * Encodes an unmasked frame with a payload of at most {@link SLAB_FRAME_LIMIT} - 4 bytes into
 * {@link frameSlab}, and returns where it starts (see {@link encodeTextIntoSlab}).
 *
 * @example
 * ```ts
 * const start = encodeIntoSlab(Opcode.Binary, new Uint8Array([1, 2]));
 * ```
 */
export function encodeIntoSlab(opcode: number, payload: Uint8Array): number {
  const n = payload.length;
  const hlen = n < 126 ? 2 : 4;
  const buf = frameSlab.reserve(hlen + n);
  const start = frameSlab.pos;
  writeHeader(buf, start, opcode, n, FINAL);
  buf.set(payload, start + hlen);
  frameSlab.commit(hlen + n);
  return start;
}

function headerLength(n: number, masked: boolean): number {
  return 2 + (n < 126 ? 0 : n < 0x10000 ? 2 : 8) + (masked ? 4 : 0);
}

/** Writes a frame header for a payload of `n` bytes at `out[at]`. */
function writeHeader(
  out: Uint8Array,
  at: number,
  opcode: number,
  n: number,
  options: EncodeOptions,
): void {
  out[at] = (options.fin === false ? 0 : 0x80) | (options.rsv1 ? 0x40 : 0) | opcode;
  const maskBit = options.mask ? 0x80 : 0;
  let p = at + 2;
  if (n < 126) {
    out[at + 1] = maskBit | n;
  } else if (n < 0x10000) {
    out[at + 1] = maskBit | 126;
    out[p++] = n >>> 8;
    out[p++] = n & 0xff;
  } else {
    out[at + 1] = maskBit | 127;
    const hi = Math.floor(n / 0x100000000);
    out[p++] = hi >>> 24;
    out[p++] = (hi >>> 16) & 0xff;
    out[p++] = (hi >>> 8) & 0xff;
    out[p++] = hi & 0xff;
    out[p++] = n >>> 24;
    out[p++] = (n >>> 16) & 0xff;
    out[p++] = (n >>> 8) & 0xff;
    out[p++] = n & 0xff;
  }
  if (options.mask) out.set(options.mask, p);
}

const POOL_SIZE = 8192;
let pool = new Uint8Array(0);
let poolPos = 0;

/**
 * A fresh random 4-byte masking key, cut from a pool of random bytes so that each frame does not
 * pay for a call into the random number generator.
 *
 * @example
 * ```ts
 * encodeFrame(Opcode.Text, bytes, { mask: randomMask() });
 * ```
 */
export function randomMask(): Uint8Array {
  const k = maskOffset();
  return pool.subarray(k, k + 4);
}

/** Where 4 fresh random bytes start in `pool` (which this may replace: read it afterwards). */
function maskOffset(): number {
  if (poolPos + 4 > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolPos = 0;
  }
  poolPos += 4;
  return poolPos - 4;
}

/** Up to this many payload bytes, a masked frame in the slab is masked byte by byte. */
const MASK_LOOP_MAX = 256;

/**
 * Encodes a final masked frame (a client's) with a payload of at most {@link SLAB_FRAME_LIMIT} - 8
 * bytes into {@link frameSlab}, masked with a fresh random key, and returns where it starts; it
 * ends at the slab's new `pos`. A client's pongs and small messages then cost no buffer each, and
 * those it sends in a row are one contiguous range (a ping flood's pongs had been a buffer each,
 * queued one by one while the peer did not read).
 *
 * @example
 * ```ts
 * const start = encodeMaskedIntoSlab(Opcode.Pong, new Uint8Array([1, 2]));
 * const frame = frameSlab.buf.subarray(start, frameSlab.pos); // 8 bytes: 0x8a, 0x82, key, payload
 * ```
 */
export function encodeMaskedIntoSlab(opcode: number, payload: Uint8Array): number {
  const n = payload.length;
  const hlen = n < 126 ? 6 : 8;
  const buf = frameSlab.reserve(hlen + n);
  const start = frameSlab.pos;
  buf.set(payload, start + hlen);
  maskedFrame(buf, start, opcode, n);
  frameSlab.commit(hlen + n);
  return start;
}

/**
 * Encodes a final masked text frame (a client's) of at most ({@link SLAB_FRAME_LIMIT} - 8) / 3
 * characters into {@link frameSlab}, and returns where it starts (see
 * {@link encodeMaskedIntoSlab}).
 *
 * @example
 * ```ts
 * const start = encodeMaskedTextIntoSlab("hi");
 * const frame = frameSlab.buf.subarray(start, frameSlab.pos); // 0x81, 0x82, key, masked "hi"
 * ```
 */
export function encodeMaskedTextIntoSlab(text: string): number {
  const n = text.length, max = n * 3;
  const slot = max < 126 ? 6 : 8;
  const buf = frameSlab.reserve(slot + max);
  const start = frameSlab.pos;
  let i = 0;
  // Short ASCII, the common case, is copied char by char (as in encodeTextIntoSlab).
  if (n < 126) {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) break;
      buf[start + slot + i] = c;
    }
  }
  const written = n < 126 && i === n
    ? n
    : utf8Encoder.encodeInto(text, buf.subarray(start + slot, start + slot + max)).written;
  const hlen = written < 126 ? 6 : 8;
  // The header slot was sized for the worst case: close the gap, so that frames stay contiguous.
  if (hlen < slot) buf.copyWithin(start + hlen, start + slot, start + slot + written);
  maskedFrame(buf, start, Opcode.Text, written);
  frameSlab.commit(hlen + written);
  return start;
}

/**
 * Writes the header of a final masked frame of `n` payload bytes (under 64 KiB) at `buf[start]`,
 * with a fresh random key, and masks the payload that follows it in place.
 */
function maskedFrame(buf: Uint8Array, start: number, opcode: number, n: number): void {
  buf[start] = 0x80 | opcode;
  let p = start + 2;
  if (n < 126) {
    buf[start + 1] = 0x80 | n;
  } else {
    buf[start + 1] = 0x80 | 126;
    buf[p++] = n >>> 8;
    buf[p++] = n & 0xff;
  }
  const k = maskOffset(), key = pool;
  buf[p] = key[k];
  buf[p + 1] = key[k + 1];
  buf[p + 2] = key[k + 2];
  buf[p + 3] = key[k + 3];
  p += 4;
  if (n > MASK_LOOP_MAX) applyMask(buf.subarray(p, p + n), key.subarray(k, k + 4));
  else for (let i = 0; i < n; i++) buf[p + i] ^= key[k + (i & 3)];
}
