/**
 * Raw TCP connections with the same events as WebSocket ones (the gulfstream idea): messages are
 * framed either as newline-delimited text, so `nc` and `telnet` users can join, or with a
 * length prefix:
 *
 * | bytes | field                                                               |
 * | ----- | ------------------------------------------------------------------- |
 * | 1     | type: 0x01 text (UTF-8), 0x02 binary, 0x08 close                    |
 * | 4     | payload length, unsigned big-endian                                 |
 * | n     | payload; a close carries a 2-byte big-endian code and a UTF-8 reason |
 *
 * Like {@link Protocol}, this is pure: bytes in, handler calls and bytes out.
 *
 * @module
 */

import { ProtocolError, StateError } from "../errors.ts";
import { CloseCode } from "./close.ts";
import type { ProtocolHandler, WireProtocol } from "./protocol.ts";
import { WireState } from "./state.ts";
import { isValidUtf8 } from "./utf8.ts";

/** How messages are delimited on a raw connection. */
export type RawFraming = "line" | "length";

/** Frame types of the length-prefixed framing. */
export const RawType = { Text: 0x01, Binary: 0x02, Close: 0x08 } as const;

/** Options of a {@link RawProtocol}. */
export interface RawProtocolOptions {
  /** How messages are delimited. */
  framing: RawFraming;
  /** Largest message (or line) accepted, in bytes; over it the connection fails with 1009. */
  maxPayload: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const NEWLINE = new Uint8Array([0x0a]);

/**
 * One raw connection's framing and state.
 *
 * @example
 * ```ts
 * const p = new RawProtocol({ framing: "line", maxPayload: 65536 }, handler);
 * p.receive(new TextEncoder().encode("hello\n")); // handler.message("hello", false)
 * ```
 */
export class RawProtocol extends WireState implements WireProtocol {
  /** How messages are delimited. */
  readonly framing: RawFraming;
  /** Largest message accepted, in bytes. */
  readonly maxPayload: number;
  #handler: ProtocolHandler;
  /** Bytes of an incomplete line or frame, as received (views of the input chunks). */
  #parts: Uint8Array[] = [];
  #partsLen = 0;
  /** Type and length of the length-prefixed frame being read (type 0: reading a prefix). */
  #frameType = 0;
  #frameLen = 0;

  /** A raw connection's framing, reporting to `handler`. */
  constructor(options: RawProtocolOptions, handler: ProtocolHandler) {
    super();
    this.framing = options.framing;
    this.maxPayload = options.maxPayload;
    this.#handler = handler;
  }

  /** A raw connection has no closing handshake: once closed either way, TCP goes. */
  get shouldCloseTransport(): boolean {
    return this._state === "closed";
  }

  /** `shared`: the chunk's memory also holds other connections' bytes (see `Protocol`). */
  receive(chunk: Uint8Array, shared = false): void {
    if (this._state === "closed") return;
    if (this.framing === "line") return this.#lines(chunk); // lines become strings: no bytes leak
    this.#frames(chunk, shared);
    // What stays buffered for a later frame is copied out of shared memory now.
    const last = this.#parts.length - 1;
    if (shared && last >= 0) this.#parts[last] = new Uint8Array(this.#parts[last]);
  }

  /** Removes and returns the first `n` buffered bytes (a view when one part holds them). */
  #take(n: number): Uint8Array {
    const first = this.#parts[0];
    if (first.length >= n) {
      if (first.length === n) this.#parts.shift();
      else this.#parts[0] = first.subarray(n);
      this.#partsLen -= n;
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const part = this.#parts[0];
      const k = Math.min(part.length, n - off);
      out.set(part.subarray(0, k), off);
      off += k;
      if (k === part.length) this.#parts.shift();
      else this.#parts[0] = part.subarray(k);
    }
    this.#partsLen -= n;
    return out;
  }

  /** Delivers every complete line; keeps an incomplete one as parts (no copying per read). */
  #lines(chunk: Uint8Array): void {
    let start = 0;
    while (this._state !== "closed") {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) {
        if (start < chunk.length) {
          this.#parts.push(chunk.subarray(start));
          this.#partsLen += chunk.length - start;
        }
        if (this.#partsLen > this.maxPayload) this.#tooLong();
        return;
      }
      this.#parts.push(chunk.subarray(start, nl));
      this.#partsLen += nl - start;
      start = nl + 1;
      let line = this.#take(this.#partsLen);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
      if (line.length > this.maxPayload) return this.#tooLong();
      if (!isValidUtf8(line)) {
        return this.#fail(
          "WS_ERR_INVALID_UTF8",
          "line is not valid UTF-8",
          CloseCode.InvalidPayload,
        );
      }
      this.#handler.message(decoder.decode(line), false);
    }
  }

  #tooLong(): void {
    this.#fail(
      "WS_ERR_LINE_TOO_LONG",
      `line over the limit of ${this.maxPayload} bytes`,
      CloseCode.MessageTooBig,
    );
  }

  /** Delivers every complete length-prefixed frame. */
  #frames(chunk: Uint8Array, shared: boolean): void {
    this.#parts.push(chunk);
    this.#partsLen += chunk.length;
    while (this._state !== "closed") {
      if (this.#frameType === 0) {
        if (this.#partsLen < 5) return;
        const h = this.#take(5);
        const type = h[0];
        const len = ((h[1] << 24) | (h[2] << 16) | (h[3] << 8) | h[4]) >>> 0;
        if (type !== RawType.Text && type !== RawType.Binary && type !== RawType.Close) {
          return this.#fail(
            "WS_ERR_RAW_BAD_TYPE",
            `unknown frame type ${type}`,
            CloseCode.ProtocolError,
          );
        }
        // Refused from the prefix, before anything is buffered.
        if (len > this.maxPayload) {
          return this.#fail(
            "WS_ERR_MESSAGE_TOO_BIG",
            `message over the limit of ${this.maxPayload} bytes`,
            CloseCode.MessageTooBig,
          );
        }
        this.#frameType = type;
        this.#frameLen = len;
      }
      if (this.#partsLen < this.#frameLen) return;
      const type = this.#frameType;
      const payload = this.#frameLen === 0 ? new Uint8Array(0) : this.#take(this.#frameLen);
      this.#frameType = 0;
      if (type === RawType.Binary) {
        this.#handler.message(shared ? new Uint8Array(payload) : payload, true);
        continue;
      }
      const text = type === RawType.Text ? payload : payload.subarray(2);
      if (!isValidUtf8(text)) {
        return this.#fail(
          "WS_ERR_INVALID_UTF8",
          "text is not valid UTF-8",
          CloseCode.InvalidPayload,
        );
      }
      if (type === RawType.Text) {
        this.#handler.message(decoder.decode(text), false);
        continue;
      }
      this._closeReceived = true;
      this._closeCode = payload.length >= 2 ? (payload[0] << 8) | payload[1] : CloseCode.NoStatus;
      this._closeReason = decoder.decode(text);
      if (!this._closeSent) {
        this.#queueClose(this._closeCode === CloseCode.NoStatus ? undefined : this._closeCode, "");
      }
      this._state = "closed";
      this.#handler.close(this._closeCode, this._closeReason);
    }
  }

  /** The peer ended the stream: for a raw connection, that is how it says goodbye. */
  eof(): void {
    if (this._state === "closed") return;
    if (this.#partsLen > 0 && this.framing === "line") {
      // A last line without its newline still counts.
      this.receive(NEWLINE);
    }
    this._closeReceived = true;
    if (this._closeCode === CloseCode.Abnormal) this._closeCode = CloseCode.Normal;
    this._state = "closed";
  }

  /** The transport failed: the connection is closed without a handshake. */
  abort(): void {
    this._state = "closed";
  }

  /** Queues a text message. */
  sendText(text: string): void {
    this.#send(RawType.Text, encoder.encode(text));
  }

  /** Queues a binary message. */
  sendBinary(data: Uint8Array): void {
    this.#send(RawType.Binary, data);
  }

  sendEncoded(_chunks: readonly Uint8Array[], payload: string | Uint8Array): void {
    if (typeof payload === "string") this.sendText(payload);
    else this.sendBinary(payload);
  }

  /** Raw framing has no fragments: throws. */
  sendFragment(): void {
    throw new StateError("WS_ERR_UNSUPPORTED", "raw connections cannot send fragments");
  }

  /** Raw framing has no pings: does nothing. */
  ping(): void {
    throw new StateError("WS_ERR_UNSUPPORTED", "raw connections have no ping");
  }

  /** Raw framing has no pongs: does nothing. */
  pong(): void {
    throw new StateError("WS_ERR_UNSUPPORTED", "raw connections have no pong");
  }

  /** Closes: a close frame in length framing, nothing more in line framing. */
  close(code?: number, reason = ""): void {
    if (this._closeSent) return;
    if (this.framing === "length") this.#queueClose(code, reason);
    this._closeSent = true;
    if (!this._closeReceived) this._closeCode = code ?? CloseCode.NoStatus;
    this._state = "closed";
  }

  #queueClose(code: number | undefined, reason: string): void {
    this._closeSent = true;
    if (this.framing !== "length") return;
    const r = encoder.encode(reason).subarray(0, 123);
    const payload = new Uint8Array(code === undefined ? 0 : 2 + r.length);
    if (code !== undefined) {
      payload[0] = code >>> 8;
      payload[1] = code & 0xff;
      payload.set(r, 2);
    }
    this.#push(RawType.Close, payload);
  }

  #send(type: number, payload: Uint8Array): void {
    if (this._closeSent || this._state === "closed") {
      throw new StateError("WS_ERR_NOT_OPEN", "cannot send: the connection is closing or closed");
    }
    this.#push(type, payload);
  }

  #push(type: number, payload: Uint8Array): void {
    if (this.framing === "line") {
      this._push(payload);
      this._push(NEWLINE);
      return;
    }
    const head = new Uint8Array(5);
    head[0] = type;
    head[1] = payload.length >>> 24;
    head[2] = (payload.length >>> 16) & 0xff;
    head[3] = (payload.length >>> 8) & 0xff;
    head[4] = payload.length & 0xff;
    this._push(head);
    this._push(payload);
  }

  #fail(code: string, message: string, closeCode: number): void {
    this._failed = true;
    this._closeCode = closeCode;
    this.#parts = [];
    this.#partsLen = 0;
    if (this.framing === "line") {
      // Tell a human at `nc` why the line was refused.
      const line = encoder.encode(`error: ${message}`);
      this._push(line);
      this._push(NEWLINE);
    } else if (!this._closeSent) {
      this.#queueClose(closeCode, message);
    }
    this._closeSent = true;
    this._state = "closed";
    this.#handler.error(new ProtocolError(code, message, closeCode));
  }
}
