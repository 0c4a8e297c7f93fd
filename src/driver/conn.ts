/**
 * What the wire and raw drivers share: a sans-I/O protocol driven over a byte stream ({@link Conn})
 * with writes batched per turn, send callbacks settled by the bytes actually written, and reading
 * paused while the peer does not read our replies.
 *
 * @module
 */

import { type ProtocolError, StateError } from "../errors.ts";
import { CloseCode } from "../protocol/close.ts";
import type { ProtocolHandler, WireProtocol } from "../protocol/protocol.ts";
import type { SendCallback } from "../socket_types.ts";
import type { Conn, ConnHandlers } from "../transport/conn.ts";
import { type Driver, type DriverSink, PAUSE_THROTTLE, PAUSE_USER } from "./driver.ts";
import { type Flushable, queueFlush, settle } from "./flush.ts";

/** Output of one turn above which a broadcast writes it at once (see `flushLarge`). */
const SYNC_FLUSH = 64 * 1024;

// Bits of `ConnDriver.#flags`: one small integer instead of a field per flag, on every idle socket.
/** Reading is paused because the peer does not read what we write (see `PAUSE_*` in driver.ts). */
const PAUSE_BACKPRESSURE = 4;
/** Any reason to pause: reading goes on once none holds. */
const PAUSED = PAUSE_USER | PAUSE_THROTTLE | PAUSE_BACKPRESSURE;
/** A chunk is being read: what it makes us send is written at its end. */
const IN_RECEIVE = 8;
/** This driver is in the flush queue. */
const FLUSH_QUEUED = 16;
/** The peer ended its stream. */
const TRANSPORT_ENDED = 32;

/**
 * A protocol over a byte stream. It is the stream's handler from construction on, and its
 * protocol's handler (one object per connection for both, no forwarding object in between). What
 * followed the handshake (possibly in a transport's shared read buffer) is read on `start`.
 */
export abstract class ConnDriver<P extends WireProtocol>
  implements Driver, ConnHandlers, ProtocolHandler, Flushable {
  /** Made by the subclass's constructor, with this driver as its handler. */
  protected proto!: P;
  #sink: DriverSink;
  #conn: Conn;
  /** `PAUSED` reasons, `IN_RECEIVE`, `FLUSH_QUEUED`, `TRANSPORT_ENDED`. */
  #flags = 0;
  /**
   * Send callbacks waiting for the next write, as pairs of (mark, callback): the mark is the
   * transport's `written` count once the callback's bytes are out, so that a write cut short
   * fails only the callbacks whose bytes did not go out.
   */
  #callbacks: Array<number | SendCallback> | undefined;
  /** The transport's count of bytes accepted (in `Conn.written` terms) after our last write. */
  #sentMark: number;

  constructor(sink: DriverSink, conn: Conn) {
    this.#sink = sink;
    this.#conn = conn;
    this.#sentMark = conn.written + conn.bufferedAmount;
    conn.setHandlers(this);
  }

  /** True when the connection ended cleanly as far as this protocol is concerned. */
  protected abstract endedCleanly(proto: P): boolean;
  /**
   * Whether the transport, once it should close, closes without waiting for the peer's EOF. A
   * failed connection half-closes instead: its peer may still be sending, and a close with bytes
   * unread makes the kernel answer with a reset, which can discard the close frame before the peer
   * reads it.
   */
  protected abstract closesAtOnce(proto: P): boolean;

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  get remotePort(): number {
    return this.#conn.remotePort;
  }

  get bufferedAmount(): number {
    return this.proto.outputBytes + this.#conn.bufferedAmount;
  }

  get written(): number {
    return this.#conn.written;
  }

  sendText(text: string, compress?: boolean): void {
    this.proto.sendText(text, compress);
  }

  sendBinary(data: Uint8Array, compress?: boolean): void {
    this.proto.sendBinary(data, compress);
  }

  sendFragment(data: Uint8Array, isBinary: boolean, fin: boolean): void {
    this.proto.sendFragment(data, isBinary, fin);
  }

  sendPing(payload?: Uint8Array): void {
    this.proto.ping(payload);
  }

  sendPong(payload?: Uint8Array): void {
    this.proto.pong(payload);
  }

  sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): void {
    this.proto.sendEncoded(chunks, payload);
  }

  abstract sendRange(
    buf: Uint8Array,
    start: number,
    end: number,
    payload: string | Uint8Array,
  ): void;

  sendClose(code: number | undefined, reason: string): void {
    this.proto.close(code, reason);
  }

  terminate(): void {
    this.#conn.destroy();
  }

  /** Queues a write of what the protocol produced; while reading, waits for the end of the chunk. */
  flush(callback?: SendCallback): void {
    if (callback) {
      (this.#callbacks ??= []).push(this.#sentMark + this.proto.outputBytes, callback);
    }
    if (this.#flags & (IN_RECEIVE | FLUSH_QUEUED)) return;
    // Sends made in the same turn (a loop, a broadcast burst) go out as one write per socket.
    this.#flags |= FLUSH_QUEUED;
    queueFlush(this);
  }

  /**
   * Output made in this turn is not written until its end: once it is large, it is written now,
   * so that a burst of broadcasts judges a subscriber by its peer's reading, not by the burst's size.
   */
  flushLarge(): void {
    if (this.proto.outputBytes >= SYNC_FLUSH && !(this.#flags & IN_RECEIVE)) this._flushNow();
  }

  /** Writes everything the protocol produced so far, in one write. */
  _flushNow(): void {
    this.#flags &= ~FLUSH_QUEUED;
    const conn = this.#conn, proto = this.proto;
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (proto.outputBytes > 0) {
      if (this.#sink._counting) this.#sink._bytesOut += proto.outputBytes;
      this.#sentMark += proto.outputBytes;
      const out = proto.takeOutput();
      conn.write(
        out,
        callbacks === undefined ? undefined : (err) => settle(callbacks, err, conn.written),
      );
    } else if (callbacks) {
      settle(callbacks);
    }
    // A peer that sends faster than it reads is not read until its replies drain.
    if (
      (this.#flags & PAUSE_BACKPRESSURE) === 0 && conn.bufferedAmount > this.#sink.highWaterMark
    ) {
      this.#sink._backpressure();
      this.pause(PAUSE_BACKPRESSURE);
    }
    if (proto.shouldCloseTransport) {
      if (this.closesAtOnce(proto)) conn.close();
      else conn.end();
    } else if (proto.state === "closed" && this.#flags & TRANSPORT_ENDED) conn.end();
  }

  pause(reason: number): void {
    const was = this.#flags;
    this.#flags = was | reason;
    if ((was & PAUSED) === 0) this.#conn.pause();
  }

  resume(reason: number): void {
    if ((this.#flags & reason) === 0) return;
    this.#flags &= ~reason;
    if ((this.#flags & PAUSED) === 0) this.#conn.resume();
  }

  /** `rest` may be a view of a transport's shared read buffer: read as shared. */
  start(rest?: Uint8Array): void {
    if (rest !== undefined && rest.length > 0) this.data(rest, true);
  }

  abandon(): void {
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (callbacks) settle(callbacks, new StateError("WS_ERR_NOT_OPEN", "socket closed"), -1);
  }

  /** ConnHandlers: bytes arrived (`shared`: see `ConnHandlers.data`). */
  data(chunk: Uint8Array, shared?: boolean): void {
    this.#sink._received(chunk.length);
    this.#flags |= IN_RECEIVE;
    try {
      this.proto.receive(chunk, shared);
    } finally {
      this.#flags &= ~IN_RECEIVE;
    }
    this._flushNow();
  }

  /** ConnHandlers: the peer ended its stream. */
  end(): void {
    this.#flags |= TRANSPORT_ENDED;
    this.proto.eof();
    this.#conn.end();
  }

  /** ConnHandlers: the transport's buffer drained. */
  drain(): void {
    if (
      (this.#flags & PAUSE_BACKPRESSURE) !== 0 &&
      this.#conn.bufferedAmount <= this.#sink.highWaterMark
    ) {
      this.resume(PAUSE_BACKPRESSURE);
    }
    this.#sink._drain();
  }

  /** ConnHandlers: the transport closed; how the connection ended goes to the socket. */
  closed(): void {
    const proto = this.proto;
    const ended = this.endedCleanly(proto);
    const clean = ended && !proto.failed;
    const code = ended || proto.closeReceived || proto.failed
      ? proto.closeCode
      : CloseCode.Abnormal;
    const reason = proto.closeReceived ? proto.closeReason : "";
    proto.abort();
    this.#sink._closed(code, reason, clean);
  }

  /** ProtocolHandler: a message arrived. */
  message(data: string | Uint8Array, isBinary: boolean): void {
    this.#sink._message(data, isBinary);
  }

  /** ProtocolHandler: a ping arrived (the pong is queued already). */
  ping(payload: Uint8Array): void {
    this.#sink._control("ping", payload);
  }

  /** ProtocolHandler: a pong arrived. */
  pong(payload: Uint8Array): void {
    this.#sink._control("pong", payload);
  }

  /** ProtocolHandler: the peer's close frame arrived. */
  close(): void {
    this.#sink._closing();
  }

  /** ProtocolHandler: the peer broke the protocol. */
  error(error: ProtocolError): void {
    this.#sink._closing(error);
  }
}
