/**
 * The RFC 6455 connection state machine after the opening handshake, without I/O: bytes in
 * ({@link Protocol.receive}) become handler calls, and send calls become bytes out
 * ({@link Protocol.takeOutput}). Timers and sockets belong to the layer above.
 *
 * Over 500 lines: one class, the state machine, whose send and receive paths share its state on
 * the hot path; framing, masking, UTF-8, close payloads and deflate are in their own files already.
 *
 * @module
 */

import { ProtocolError, StateError } from "../errors.ts";
import { concatBytes } from "./bytes.ts";
import { CloseCode, encodeClosePayload, parseClosePayload } from "./close.ts";
import type { PerMessageDeflate } from "./deflate.ts";
import {
  encodeFrame,
  encodeIntoSlab,
  encodeMaskedIntoSlab,
  encodeMaskedTextIntoSlab,
  encodeTextFrame,
  encodeTextIntoSlab,
  frameSlab,
  Opcode,
  randomMask,
  SLAB_FRAME_LIMIT,
  TEXT_IN_PLACE_LIMIT,
} from "./frame.ts";
import { type ProtocolState, WireState } from "./state.ts";
import { Utf8Validator } from "./utf8.ts";
import { Incoming } from "./incoming.ts";
import { DEFAULTS } from "../defaults.ts";

export type { ProtocolState };

/** Which end of the connection this is: it decides who masks. */
export type Side = "server" | "client";

/** What a {@link Protocol} reports. Calls happen synchronously inside `receive`. */
export interface ProtocolHandler {
  /** A complete data message: text as a string, binary as bytes. */
  message(data: string | Uint8Array, isBinary: boolean): void;
  /** A ping arrived (the pong is already queued when `autoPong` is on). */
  ping(payload: Uint8Array): void;
  /** A pong arrived. */
  pong(payload: Uint8Array): void;
  /** The peer's close frame arrived; our reply, if one was owed, is already queued. */
  close(code: number, reason: string): void;
  /** The peer broke the protocol; a close frame with `error.closeCode` is queued. */
  error(error: ProtocolError): void;
}

/** Options of a {@link Protocol}. */
export interface ProtocolOptions {
  /** `"server"` expects masked frames and sends unmasked ones; `"client"` the reverse. */
  side: Side;
  /** Largest message (sum of its fragments) accepted, in bytes; larger closes with 1009. */
  maxPayload?: number;
  /** Answer pings with pongs automatically (default true). */
  autoPong?: boolean;
  /** permessage-deflate, when the handshake negotiated it. */
  deflate?: PerMessageDeflate;
}

/**
 * What the layer above needs from a connection's protocol: {@link Protocol} for WebSocket, and
 * `RawProtocol` for raw TCP connections with the same API.
 */
export interface WireProtocol {
  /** `open`, `closing` (a close frame went one way) or `closed`. */
  readonly state: ProtocolState;
  /** A close frame was queued to the peer. */
  readonly closeSent: boolean;
  /** The peer's close frame arrived. */
  readonly closeReceived: boolean;
  /** The connection failed (protocol error or abort). */
  readonly failed: boolean;
  /** The close code received (or sent, on failure); 1006 if none. */
  readonly closeCode: number;
  /** The close reason that goes with `closeCode`. */
  readonly closeReason: string;
  /** The transport should now be closed (RFC 6455 §7.1.1). */
  readonly shouldCloseTransport: boolean;
  /** Bytes waiting in `takeOutput`. */
  readonly outputBytes: number;
  /** `shared`: the chunk's memory also holds other connections' bytes (see `ConnHandlers`). */
  receive(chunk: Uint8Array, shared?: boolean): void;
  /** The peer ended its stream (EOF). */
  eof(): void;
  /** The transport failed: the connection is closed without a handshake. */
  abort(): void;
  /** Takes the bytes to write to the transport, in order. */
  takeOutput(): Uint8Array[];
  /** Queues a text message. `compress`: force (true) or skip (false) permessage-deflate; by default, by size. */
  sendText(text: string, compress?: boolean): void;
  /** Queues a binary message. */
  sendBinary(data: Uint8Array, compress?: boolean): void;
  /** Queues one fragment of a message. */
  sendFragment(payload: Uint8Array, isBinary: boolean, fin: boolean): void;
  /** Queues a ping. */
  ping(payload?: Uint8Array): void;
  /** Queues a pong. */
  pong(payload?: Uint8Array): void;
  /** A frame encoded once for many connections, and its payload for framings of their own. */
  sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): void;
  /** Starts the closing handshake (queues a close frame). */
  close(code?: number, reason?: string): void;
}

/** Default {@link ProtocolOptions.maxPayload}: 64 MiB. */
export const DEFAULT_MAX_PAYLOAD: number = DEFAULTS.server.maxPayload;

const EMPTY = new Uint8Array(0);
/** The payload of a close frame without a reason, as `#queueClose` fills it. */
const CLOSE_CODE = new Uint8Array(2);
const textEncoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the message, not a byte order mark to strip.
const textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * One WebSocket connection's protocol state.
 *
 * @example
 * ```ts
 * const p = new Protocol({ side: "server" }, {
 *   message: (data) => p.sendText(String(data)),
 *   ping() {}, pong() {}, close() {}, error() {},
 * });
 * p.receive(bytesFromSocket);
 * for (const chunk of p.takeOutput()) socket.write(chunk);
 * ```
 */
export class Protocol extends WireState implements WireProtocol {
  /** Which end this is. */
  readonly side: Side;
  /** Largest message accepted, in bytes. */
  readonly maxPayload: number;
  /** Pings are answered automatically. */
  readonly autoPong: boolean;
  /** permessage-deflate, if negotiated. */
  readonly deflate: PerMessageDeflate | undefined;
  #handler: ProtocolHandler;
  /** Made on the first bytes received: an idle connection holds none. */
  #in: Incoming | undefined;

  /** Opcode of the fragmented message we are sending (0: none). */
  #sendingOpcode = 0;

  /** A connection's protocol, reporting to `handler`. */
  constructor(options: ProtocolOptions, handler: ProtocolHandler) {
    super();
    this.side = options.side;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.autoPong = options.autoPong ?? true;
    this.deflate = options.deflate;
    this.#handler = handler;
  }

  /**
   * True once the TCP connection should be closed after the queued output is written: the
   * connection failed, or the closing handshake is complete on the server (RFC 6455 §7.1.1: the
   * server closes first; a client waits for it).
   */
  get shouldCloseTransport(): boolean {
    return this._failed || (this._state === "closed" && this.side === "server");
  }

  /**
   * Feeds bytes read from the transport. Ignored once the connection is closed. With `shared`,
   * the chunk's memory also holds other connections' bytes: what is delivered is copied out.
   */
  receive(chunk: Uint8Array, shared = false): void {
    if (this._state === "closed") return;
    const m = this.#in ??= new Incoming(this, this.side === "server");
    m.shared = shared;
    m.parser.push(chunk);
  }

  /** EOF before a close frame: abnormal for WebSocket, reported as 1006 by the layer above. */
  eof(): void {}

  /** Stops reading for good (the transport is gone). */
  abort(): void {
    this.#in?.parser.stop();
    this._state = "closed";
  }

  /**
   * Queues a text message. With permessage-deflate, `compress` true compresses it whatever its
   * size, false sends it as is; by default messages from the threshold up are compressed.
   */
  sendText(text: string, compress?: boolean): void {
    if (this.deflate === undefined && text.length <= TEXT_IN_PLACE_LIMIT) {
      this.#assertCanSend();
      this.#assertNoFragmentInProgress();
      const server = this.side === "server";
      if (text.length * 3 <= this.#slabMax()) {
        const start = server ? encodeTextIntoSlab(text) : encodeMaskedTextIntoSlab(text);
        this._pushRange(frameSlab.buf, start, frameSlab.pos);
        return;
      }
      const frame = encodeTextFrame(text, server ? undefined : randomMask());
      this._push(frame);
      return;
    }
    this.#sendData(Opcode.Text, textEncoder.encode(text), compress);
  }

  /** Queues a binary message (`compress` as for {@link sendText}). */
  sendBinary(data: Uint8Array, compress?: boolean): void {
    if (
      data.length <= this.#slabMax() &&
      (this.deflate === undefined ||
        (compress !== true && data.length < this.deflate.threshold) || compress === false)
    ) {
      this.#assertCanSend();
      this.#assertNoFragmentInProgress();
      this.#pushSlab(Opcode.Binary, data);
      return;
    }
    this.#sendData(Opcode.Binary, data, compress);
  }

  /**
   * Queues one fragment of a message sent in pieces: the first fragment decides text or binary,
   * the one with `fin` true ends the message. Whole messages cannot be sent until then (control
   * frames can).
   */
  sendFragment(payload: Uint8Array, isBinary: boolean, fin: boolean): void {
    this.#assertCanSend();
    const opcode = this.#sendingOpcode === 0
      ? (isBinary ? Opcode.Binary : Opcode.Text)
      : Opcode.Continuation;
    if (this.#sendingOpcode !== 0 && (this.#sendingOpcode === Opcode.Binary) !== isBinary) {
      throw new StateError("WS_ERR_FRAGMENT_TYPE", "a fragment must have the type of its message");
    }
    this.#queue(opcode, payload, fin);
    this.#sendingOpcode = fin ? 0 : this.#sendingOpcode || opcode;
  }

  /**
   * Queues a whole frame encoded elsewhere, e.g. once for many recipients of a broadcast.
   * Server side only: a client must mask every frame with its own key.
   */
  sendEncoded(chunks: readonly Uint8Array[]): void {
    if (this.side === "client") throw new TypeError("a client cannot send pre-encoded frames");
    this.#assertCanSend();
    this.#assertNoFragmentInProgress();
    for (let i = 0; i < chunks.length; i++) {
      this._push(chunks[i]);
    }
  }

  /**
   * Queues a whole frame encoded elsewhere into `buf[start..end]`, which nothing will overwrite
   * (see `frameSlab`): a broadcast encodes each message once, and the frames a connection gets in
   * a row are written as one range, without copying. Server side only.
   */
  sendRange(buf: Uint8Array, start: number, end: number): void {
    if (this.side === "client") throw new TypeError("a client cannot send pre-encoded frames");
    this.#assertCanSend();
    this.#assertNoFragmentInProgress();
    this._pushRange(buf, start, end);
  }

  /** Queues a ping (payload at most 125 bytes). */
  ping(payload: Uint8Array = EMPTY): void {
    this.#sendControl(Opcode.Ping, payload);
  }

  /** Queues an unsolicited pong (payload at most 125 bytes). */
  pong(payload: Uint8Array = EMPTY): void {
    this.#sendControl(Opcode.Pong, payload);
  }

  /**
   * Starts the closing handshake (or completes it, if the peer's close already arrived). Does
   * nothing if a close frame was already sent. Throws a RangeError for a code that may not be
   * sent or a reason over 123 bytes.
   */
  close(code?: number, reason?: string): void {
    const payload = encodeClosePayload(code, reason);
    if (this._closeSent) return;
    this._closeSent = true;
    this.#queue(Opcode.Close, payload, true);
    this._state = this._closeReceived ? "closed" : "closing";
  }

  #assertCanSend(): void {
    if (this._closeSent || this._state === "closed") {
      throw new StateError("WS_ERR_NOT_OPEN", "cannot send: the connection is closing or closed");
    }
  }

  #assertNoFragmentInProgress(): void {
    if (this.#sendingOpcode !== 0) {
      throw new StateError(
        "WS_ERR_FRAGMENT_IN_PROGRESS",
        "a fragmented message is being sent: finish it with fin = true first",
      );
    }
  }

  #sendData(opcode: number, payload: Uint8Array, compress?: boolean): void {
    this.#assertCanSend();
    this.#assertNoFragmentInProgress();
    const d = this.deflate;
    if (d !== undefined && (compress ?? payload.length >= d.threshold)) {
      this.#queue(opcode, d.compress(payload), true, true);
    } else {
      this.#queue(opcode, payload, true);
    }
  }

  #sendControl(opcode: number, payload: Uint8Array): void {
    if (payload.length > 125) throw new RangeError("control frame payload over 125 bytes");
    this.#assertCanSend();
    this.#queue(opcode, payload, true);
  }

  /**
   * The largest payload of a frame that goes into the frame slab: its header takes up to 4 bytes
   * of {@link SLAB_FRAME_LIMIT}, and a client's masking key 4 more.
   */
  #slabMax(): number {
    return SLAB_FRAME_LIMIT - (this.side === "server" ? 4 : 8);
  }

  /** Queues a final frame of at most {@link #slabMax} payload bytes from the frame slab. */
  #pushSlab(opcode: number, payload: Uint8Array): void {
    const start = this.side === "server"
      ? encodeIntoSlab(opcode, payload)
      : encodeMaskedIntoSlab(opcode, payload);
    this._pushRange(frameSlab.buf, start, frameSlab.pos);
  }

  #queue(opcode: number, payload: Uint8Array, fin: boolean, rsv1 = false): void {
    if (fin && !rsv1 && payload.length <= this.#slabMax()) {
      // Like a small message: into the frame slab, without a buffer or an options object.
      this.#pushSlab(opcode, payload);
      return;
    }
    const chunks = encodeFrame(opcode, payload, {
      fin,
      rsv1,
      mask: this.side === "client" ? randomMask() : undefined,
    });
    for (let i = 0; i < chunks.length; i++) {
      this._push(chunks[i]);
    }
  }

  /**
   * Queues a close frame without a reason. `#queue` copies the payload, so the code goes through
   * one shared array instead of a new one per close.
   */
  #queueClose(code: number | undefined): void {
    if (code === undefined) return this.#queue(Opcode.Close, EMPTY, true);
    CLOSE_CODE[0] = code >>> 8;
    CLOSE_CODE[1] = code & 0xff;
    this.#queue(Opcode.Close, CLOSE_CODE, true);
  }

  /** Fails the connection: queue a close frame with `closeCode`, stop reading, report. */
  #fail(code: string, message: string, closeCode: number): false {
    if (this._failed) return false;
    this._failed = true;
    const m = this.#in;
    m?.parser.stop();
    if (!this._closeSent) {
      this._closeSent = true;
      this.#queueClose(closeCode);
    }
    this._closeCode = closeCode;
    this._state = "closed";
    if (m !== undefined) {
      m.msgFirst = m.msgBuf = undefined;
      m.ctrl = undefined;
    }
    this.#handler.error(new ProtocolError(code, message, closeCode));
    return false;
  }

  /** @internal FrameSink */
  frameHeader(fin: boolean, rsv: number, opcode: number, length: number): boolean {
    const m = this.#in!;
    // RSV1 marks a compressed message: on the first frame of a data message only (RFC 7692 §6).
    const compressed = rsv === 4 && this.deflate !== undefined &&
      (opcode === Opcode.Text || opcode === Opcode.Binary);
    if (rsv !== 0 && !compressed) {
      return this.#fail(
        rsv & 4
          ? "WS_ERR_UNEXPECTED_RSV_1"
          : rsv & 2
          ? "WS_ERR_UNEXPECTED_RSV_2"
          : "WS_ERR_UNEXPECTED_RSV_3",
        "reserved bits set without a negotiated extension",
        CloseCode.ProtocolError,
      );
    }
    if (opcode >= 0x8) {
      if (opcode > Opcode.Pong) {
        return this.#fail(
          "WS_ERR_INVALID_OPCODE",
          `reserved opcode ${opcode}`,
          CloseCode.ProtocolError,
        );
      }
      if (!fin) {
        return this.#fail(
          "WS_ERR_FRAGMENTED_CONTROL",
          "fragmented control frame",
          CloseCode.ProtocolError,
        );
      }
      if (length > 125) {
        return this.#fail(
          "WS_ERR_CONTROL_TOO_BIG",
          "control frame payload over 125 bytes",
          CloseCode.ProtocolError,
        );
      }
    } else if (opcode === Opcode.Continuation) {
      if (m.msgOpcode === 0) {
        return this.#fail(
          "WS_ERR_UNEXPECTED_CONTINUATION",
          "continuation frame without a message in progress",
          CloseCode.ProtocolError,
        );
      }
    } else if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      if (m.msgOpcode !== 0) {
        return this.#fail(
          "WS_ERR_EXPECTED_CONTINUATION",
          "new message started before the previous one was finished",
          CloseCode.ProtocolError,
        );
      }
      m.msgOpcode = opcode;
      m.msgCompressed = compressed;
    } else {
      return this.#fail(
        "WS_ERR_INVALID_OPCODE",
        `reserved opcode ${opcode}`,
        CloseCode.ProtocolError,
      );
    }
    if (opcode < 0x8 && m.msgLen + length > this.maxPayload) {
      return this.#fail(
        "WS_ERR_MESSAGE_TOO_BIG",
        `message over the limit of ${this.maxPayload} bytes`,
        CloseCode.MessageTooBig,
      );
    }
    m.frameOpcode = opcode;
    m.frameFin = fin;
    if (opcode < 0x8) m.msgEnd = m.msgLen + length;
    return true;
  }

  /** @internal FrameSink */
  frameData(data: Uint8Array): boolean {
    const m = this.#in!;
    if (m.frameOpcode >= 0x8) {
      const part = m.shared ? new Uint8Array(data) : data, ctrl = m.ctrl;
      if (ctrl === undefined) m.ctrl = part;
      else if (Array.isArray(ctrl)) ctrl.push(part);
      else m.ctrl = [ctrl, part];
      return true;
    }
    // Compressed text can only be checked once inflated, at the end of the message.
    if (
      m.msgOpcode === Opcode.Text && !m.msgCompressed &&
      !(m.utf8 ??= new Utf8Validator()).push(data)
    ) {
      return this.#fail(
        "WS_ERR_INVALID_UTF8",
        "text message is not valid UTF-8",
        CloseCode.InvalidPayload,
      );
    }
    const len = m.msgLen, end = len + data.length;
    m.msgLen = end;
    if (len === 0) {
      m.msgFirst = data;
      m.msgFirstShared = m.shared;
      return true;
    }
    const buf = m.msgBuf;
    // Unmasked straight into place by the parser (see frameInto): nothing to copy.
    if (
      buf !== undefined && data.buffer === buf.buffer && data.byteOffset === buf.byteOffset + len
    ) {
      return true;
    }
    this.#room(m, len, end).set(data, len);
    return true;
  }

  /** @internal FrameSink: a data message's later pieces are unmasked straight into its buffer. */
  frameInto(length: number): Uint8Array | undefined {
    const m = this.#in!;
    if (m.frameOpcode >= 0x8 || m.msgLen === 0) return undefined;
    const len = m.msgLen;
    return this.#room(m, len, len + length).subarray(len, len + length);
  }

  /** The message buffer, grown to hold `end` bytes with its first `len` in place. */
  #room(m: Incoming, len: number, end: number): Uint8Array {
    const buf = m.msgBuf;
    if (buf !== undefined && end <= buf.length) return buf;
    // Growing fourfold, each byte is copied about 1.3 times, and the buffer never exceeds
    // maxPayload (the frame headers were checked against it) nor 16 times what arrived. In the
    // message's last frame it is sized to the announced end at once when that is within 16 times
    // what arrived: a 1 MiB frame read in 64 KiB pieces is copied once, as a list of views would be.
    let size = Math.max(end, 4 * len, 1024);
    if (m.frameFin && (size > m.msgEnd || m.msgEnd <= 16 * end)) size = m.msgEnd;
    const grown = new Uint8Array(Math.min(size, this.maxPayload));
    if (buf === undefined) {
      grown.set(m.msgFirst!);
      m.msgFirst = undefined;
    } else {
      grown.set(buf.subarray(0, len));
    }
    return m.msgBuf = grown;
  }

  /** @internal FrameSink */
  frameEnd(): boolean {
    const m = this.#in!;
    if (m.frameOpcode >= 0x8) {
      const ctrl = m.ctrl;
      m.ctrl = undefined;
      const payload = ctrl === undefined ? EMPTY : Array.isArray(ctrl) ? concatBytes(ctrl) : ctrl;
      return this.#control(m.frameOpcode, payload);
    }
    if (!m.frameFin) return true;
    const opcode = m.msgOpcode;
    let data = m.msgBuf?.subarray(0, m.msgLen) ?? m.msgFirst ?? EMPTY;
    let shared = m.msgBuf === undefined && m.msgFirstShared;
    m.msgFirstShared = false;
    m.msgOpcode = 0;
    m.msgFirst = m.msgBuf = undefined;
    m.msgLen = 0;
    if (m.msgCompressed) {
      m.msgCompressed = false;
      shared = false; // inflated into new memory
      try {
        data = this.deflate!.decompress(data, this.maxPayload);
      } catch (err) {
        const e = err as ProtocolError;
        return this.#fail(e.code, e.message, e.closeCode);
      }
      if (opcode === Opcode.Text && !(m.utf8 ??= new Utf8Validator()).push(data)) {
        return this.#fail(
          "WS_ERR_INVALID_UTF8",
          "text message is not valid UTF-8",
          CloseCode.InvalidPayload,
        );
      }
    }
    if (opcode === Opcode.Text) {
      if (m.utf8 !== undefined && !m.utf8.end()) {
        return this.#fail(
          "WS_ERR_INVALID_UTF8",
          "text message ends inside a UTF-8 sequence",
          CloseCode.InvalidPayload,
        );
      }
      this.#handler.message(textDecoder.decode(data), false);
    } else {
      this.#handler.message(shared ? new Uint8Array(data) : data, true);
    }
    return this._state !== "closed";
  }

  /** @internal FrameSink */
  frameError(code: string, message: string, closeCode: number): void {
    this.#fail(code, message, closeCode);
  }

  #control(opcode: number, payload: Uint8Array): boolean {
    if (opcode === Opcode.Ping) {
      if (this.autoPong && !this._closeSent) this.#queue(Opcode.Pong, payload, true);
      this.#handler.ping(payload);
    } else if (opcode === Opcode.Pong) {
      this.#handler.pong(payload);
    } else {
      const parsed = parseClosePayload(payload);
      if (!parsed.ok) return this.#fail("WS_ERR_INVALID_CLOSE", parsed.message, parsed.closeCode);
      this._closeReceived = true;
      this._closeCode = parsed.code;
      this._closeReason = parsed.reason;
      if (!this._closeSent) {
        this._closeSent = true;
        // Echo the peer's code, as RFC 6455 §5.5.1 suggests; an empty close gets an empty reply.
        this.#queueClose(parsed.code === CloseCode.NoStatus ? undefined : parsed.code);
      }
      this._state = "closed";
      this.#in!.parser.stop();
      this.#handler.close(parsed.code, parsed.reason);
      return false;
    }
    return this._state !== "closed";
  }
}
