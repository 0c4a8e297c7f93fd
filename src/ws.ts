/**
 * The `WS` class: one WebSocket connection, the same on the server and the client side.
 *
 * @module
 */

import { now } from "./clock.ts";
import { Emitter } from "./emitter.ts";
import { type ProtocolError, StateError, type WSError } from "./errors.ts";
import { CloseCode, encodeClosePayload } from "./protocol/close.ts";
import {
  DEFAULT_MAX_PAYLOAD,
  Protocol,
  type ProtocolHandler,
  type Side,
  type WireProtocol,
} from "./protocol/protocol.ts";
import { type RawFraming, RawProtocol } from "./protocol/raw.ts";
import type { PerMessageDeflate } from "./protocol/deflate.ts";
import type { ServerRequest } from "./request.ts";
import type { Topics } from "./topics.ts";
import type { Conn, ConnHandlers } from "./transport/conn.ts";
import { installInspect } from "./inspect.ts";

/** Connection state; it only moves forward. */
export type ReadyState = "connecting" | "open" | "closing" | "closed";

/** Events of a {@link WS}, with their listener arguments. */
export type WSEvents = {
  /** The opening handshake completed. */
  open: [];
  /** A complete message: text as a string, binary as a `Uint8Array`. */
  message: [data: string | Uint8Array, isBinary: boolean];
  /** A ping arrived (it is answered automatically). */
  ping: [payload: Uint8Array];
  /** A pong arrived. */
  pong: [payload: Uint8Array];
  /** Something went wrong: the peer broke the protocol, or the handshake failed. `close` follows. */
  error: [error: WSError];
  /** The connection is closed. `code` is 1006 if it dropped without a close frame. */
  close: [code: number, reason: string, wasClean: boolean];
  /** The outgoing buffer was flushed to the operating system. */
  drain: [];
};

/** What the server saw in the upgrade request. */
export interface UpgradeRequest {
  /** Path of the request target, e.g. `/chat/lobby`. */
  path: string;
  /** Parameters of the matched resource pattern, e.g. `{ room: "lobby" }` for `/chat/:room`. */
  params: Record<string, string>;
  /** Query of the request target. */
  query: URLSearchParams;
  /** All request headers. */
  headers: Headers;
}

/** Data accepted by {@link WS.send}. */
export type SendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** Called once the data was written to the socket, or with the error that prevented it. */
export type SendCallback = (error?: Error) => void;

/** Default time to wait for the closing handshake before dropping the socket: 5 s. */
export const DEFAULT_CLOSE_TIMEOUT = 5000;

/**
 * @internal What sockets made alike share: a server keeps one per resource, so that an idle
 * socket does not carry its own copy of settings that never differ.
 */
export interface WSConfig<Data> {
  side: Side;
  maxPayload?: number;
  closeTimeout?: number;
  highWaterMark?: number;
  topics?: Topics;
  /** A raw TCP connection (no WebSocket framing) with this framing. */
  raw?: RawFraming;
  /** Told once the socket is closed (a server's client sets): one shared hook, no closure each. */
  owner?: { _forget(ws: WS<Data>): void };
  /** The server resource pattern the sockets belong to. */
  resource?: string;
}

/** @internal What is a socket's own. */
export interface WSInit<Data> {
  /** The URL; a server's sockets leave it out and have it built from `request` when asked. */
  url?: string;
  request?: UpgradeRequest;
  data?: Data;
}

/** Default {@link WS.highWaterMark}: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

const encoder = new TextEncoder();
const NO_CHUNKS: readonly Uint8Array[] = [];

/** Sockets with output to write at the end of this turn, and whether that is scheduled. */
const flushQueue: WS[] = [];
let flushScheduled = false;

/**
 * Schedules `ws`'s write at the end of the current turn: one microtask for all sockets (a
 * broadcast reaches hundreds), and no closure per socket.
 */
function queueFlush(ws: WS): void {
  flushQueue.push(ws);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flushAll);
  }
}

function flushAll(): void {
  flushScheduled = false;
  // Sockets queued while flushing (a send callback that sends) are flushed in this loop too.
  for (let i = 0; i < flushQueue.length; i++) flushQueue[i]._flushNow();
  flushQueue.length = 0;
}

/** What a {@link WS} sends through: its own {@link Protocol}, or a runtime's native socket. */
interface Engine {
  sendText(text: string): void;
  sendBinary(data: Uint8Array): void;
  sendFragment(data: Uint8Array, isBinary: boolean, fin: boolean): void;
  ping(payload?: Uint8Array): void;
  pong(payload?: Uint8Array): void;
  /** A frame encoded once for many sockets, and its payload for engines that frame by themselves. */
  sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/**
 * @internal A socket that another WebSocket implementation (Deno's, Bun's) already upgraded; the
 * adapters in `src/adapters/` provide it and report its events through `WS._native*`.
 */
export interface NativeSocket extends Engine {
  terminate(): void;
  readonly bufferedAmount: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** @internal Bytes of a binary send, without copying. */
export function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new TypeError("data must be a string, an ArrayBuffer or an ArrayBufferView");
}

function payloadBytes(payload: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof payload === "string" ? encoder.encode(payload) : payload;
}

/**
 * A WebSocket connection. Servers hand one to their handler; {@link connect} returns one.
 * Binary data passed to `send` is not copied on the server side: do not modify it until the
 * send callback runs.
 *
 * @example
 * ```ts
 * const ws = connect("ws://127.0.0.1:8080/echo");
 * ws.on("open", () => ws.send("hello"));
 * ws.on("message", (data, isBinary) => console.log(isBinary ? "binary" : "text", data));
 * ws.on("close", (code, reason) => console.log("closed", code, reason));
 * ```
 */
export class WS<Data = unknown> extends Emitter<WSEvents> {
  #config: WSConfig<Data>;
  #url: string | undefined;
  /** Server side: what the upgrade request asked for. */
  readonly request: UpgradeRequest | undefined;
  /** Application data, e.g. what a server's `accept` hook attached. */
  data: Data;
  /**
   * @internal The peer sent something since the last heartbeat sweep. Flags, not clock readings,
   * on the hot path: the sweep turns them into the timestamps below.
   */
  _seen = false;
  /** @internal A data message went either way since the last sweep. */
  _active = false;
  /** @internal When the peer was last seen to send anything (see `now`). */
  _lastSeenAt = 0;
  /** @internal When the heartbeat ping now unanswered was sent, or 0. */
  _pingSentAt = 0;
  /** @internal When the last data message was seen going either way. */
  _lastMessageAt = 0;
  #deflate: PerMessageDeflate | undefined;
  #extensions = "";
  #subscribed: Set<string> | undefined;
  #readPaused = false;

  #state: ReadyState = "connecting";
  #protocol = "";
  #conn: Conn | undefined;
  #proto: WireProtocol | undefined;
  #native: NativeSocket | undefined;
  #abortConnect: (() => void) | undefined;
  /** Sends made while connecting, replayed on open. */
  #pending: Array<{ run: () => void; callback?: SendCallback; bytes: number }> | undefined;
  #pendingBytes = 0;
  #inReceive = false;
  #flushQueued = false;
  /** Send callbacks waiting for the next write. */
  #callbacks: SendCallback[] | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #transportEnded = false;

  /** @internal Use {@link serve} or {@link connect}. */
  constructor(config: WSConfig<Data>, init: WSInit<Data> = {}) {
    super();
    this.#config = config;
    this.#url = init.url;
    this.request = init.request;
    this.data = init.data as Data;
  }

  /** Protocol version, as websocket-driver names it. */
  get version(): "hybi-13" {
    return "hybi-13";
  }

  /** Which end this is. */
  get side(): Side {
    return this.#config.side;
  }

  /** Largest message accepted, in bytes (over it: close 1009). */
  get maxPayload(): number | undefined {
    return this.#config.maxPayload;
  }

  /** Milliseconds to wait for the closing handshake before dropping the socket. */
  get closeTimeout(): number {
    return this.#config.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
  }

  /**
   * Outgoing bytes above which the socket stops reading from its peer until the buffer drains,
   * and broadcasts skip (or close) it.
   */
  get highWaterMark(): number {
    return this.#config.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  }

  /**
   * `"websocket"`, or `"raw"` for a raw TCP connection (same events and methods; no pings,
   * fragments or subprotocols).
   */
  get kind(): "websocket" | "raw" {
    return this.#config.raw ? "raw" : "websocket";
  }

  /** Framing of a raw connection. */
  get framing(): RawFraming | undefined {
    return this.#config.raw;
  }

  /** @internal The server resource pattern this socket belongs to. */
  get _resource(): string {
    return this.#config.resource ?? "";
  }

  /** What sends go through: the protocol, or the runtime's native socket. */
  get #engine(): Engine | undefined {
    return this.#proto ?? this.#native;
  }

  /**
   * Joins `topic`: the server's `publish(topic, …)` reaches this socket until it unsubscribes or
   * closes. Server-side sockets only.
   */
  subscribe(topic: string): void {
    if (!this.#config.topics) {
      throw new StateError("WS_ERR_NO_TOPICS", "only server-side sockets can subscribe");
    }
    if (this.#state === "closed") return;
    (this.#subscribed ??= new Set()).add(topic);
    this.#config.topics._add(topic, this);
  }

  /** Leaves `topic`. */
  unsubscribe(topic: string): void {
    if (this.#subscribed?.delete(topic)) this.#config.topics!._remove(topic, this);
  }

  /** True if subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.#subscribed?.has(topic) ?? false;
  }

  /** Topics this socket is subscribed to. */
  get topics(): string[] {
    return [...(this.#subscribed ?? [])];
  }

  /** `ws:`/`wss:` URL of the connection (`tcp:` for a raw one). */
  get url(): string {
    // A server's sockets rebuild it from the request head when asked: most never are.
    return this.#url ??= (this.request as ServerRequest)._href();
  }

  /** `connecting`, `open`, `closing` or `closed`. */
  get readyState(): ReadyState {
    return this.#state;
  }

  /** The extensions agreed in the handshake (`Sec-WebSocket-Extensions`), or `""`. */
  get extensions(): string {
    return this.#extensions;
  }

  /** @internal permessage-deflate, if negotiated (broadcasts compress once per parameter set). */
  get _deflate(): PerMessageDeflate | undefined {
    return this.#deflate;
  }

  /** The subprotocol agreed in the handshake, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The peer's IP address (`""` until connected). */
  get remoteAddress(): string {
    return this.#native?.remoteAddress ?? this.#conn?.remoteAddress ?? "";
  }

  /** The peer's port (0 until connected). */
  get remotePort(): number {
    return this.#native?.remotePort ?? this.#conn?.remotePort ?? 0;
  }

  /** Bytes accepted by `send` and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#pendingBytes + (this.#proto?.outputBytes ?? 0) +
      (this.#conn?.bufferedAmount ?? this.#native?.bufferedAmount ?? 0);
  }

  /**
   * Sends a message: a string as text, anything else as binary.
   * Throws a {@link StateError} once the socket is closing or closed.
   */
  send(data: SendData, callback?: SendCallback): void {
    if (typeof data === "string") this.sendText(data, callback);
    else this.sendBinary(data, callback);
  }

  /** Sends a text message. */
  sendText(text: string, callback?: SendCallback): void {
    if (typeof text !== "string") throw new TypeError("sendText needs a string");
    // Open: straight to the engine, without the closure that a send made while connecting needs.
    if (this.#state !== "open") {
      return this.#do(() => this.#engine!.sendText(text), callback, text.length);
    }
    this.#engine!.sendText(text);
    this._active = true;
    this.#flush(callback);
  }

  /** Sends a binary message. */
  sendBinary(data: Uint8Array | ArrayBuffer | ArrayBufferView, callback?: SendCallback): void {
    const bytes = toBytes(data);
    if (this.#state !== "open") {
      return this.#do(() => this.#engine!.sendBinary(bytes), callback, bytes.length);
    }
    this.#engine!.sendBinary(bytes);
    this._active = true;
    this.#flush(callback);
  }

  /**
   * Sends one fragment of a message sent in pieces (e.g. streamed): a string fragment makes a
   * text message, bytes a binary one; the fragment with `fin` true ends the message. Until then,
   * whole messages cannot be sent (pings and pongs can).
   *
   * @example
   * ```ts
   * ws.sendFragment("Hello, ", false);
   * ws.sendFragment("world", true);
   * ```
   */
  sendFragment(
    data: string | Uint8Array | ArrayBuffer | ArrayBufferView,
    fin: boolean,
    callback?: SendCallback,
  ): void {
    const isBinary = typeof data !== "string";
    const bytes = isBinary ? toBytes(data) : encoder.encode(data);
    this.#do(() => this.#engine!.sendFragment(bytes, isBinary, fin), callback, bytes.length);
  }

  /** Sends a ping (payload of at most 125 bytes). The peer's pong arrives as a `pong` event. */
  ping(payload?: string | Uint8Array, callback?: SendCallback): void {
    const bytes = payloadBytes(payload);
    if (bytes && bytes.length > 125) throw new RangeError("ping payload over 125 bytes");
    this.#do(() => this.#engine!.ping(bytes), callback, bytes?.length ?? 0);
  }

  /** Sends an unsolicited pong (payload of at most 125 bytes), e.g. as a unidirectional heartbeat. */
  pong(payload?: string | Uint8Array, callback?: SendCallback): void {
    const bytes = payloadBytes(payload);
    if (bytes && bytes.length > 125) throw new RangeError("pong payload over 125 bytes");
    this.#do(() => this.#engine!.pong(bytes), callback, bytes?.length ?? 0);
  }

  #do(run: () => void, callback: SendCallback | undefined, bytes: number): void {
    if (this.#state === "connecting") {
      (this.#pending ??= []).push({ run, callback, bytes });
      this.#pendingBytes += bytes;
      return;
    }
    if (this.#state !== "open") {
      throw new StateError("WS_ERR_NOT_OPEN", `cannot send: the socket is ${this.#state}`);
    }
    run();
    this._active = true;
    this.#flush(callback);
  }

  /** @internal Sends a frame encoded once for many sockets; false if this one is not open. */
  _sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): boolean {
    if (this.#state !== "open") return false;
    this.#engine!.sendEncoded(chunks, payload);
    this._active = true;
    this.#flush();
    return true;
  }

  /**
   * @internal Sends a frame encoded once for many sockets into `buf[start..end]` (see
   * `Protocol.sendRange`); engines that frame by themselves send `payload`. False if not open.
   */
  _sendRange(buf: Uint8Array, start: number, end: number, payload: string | Uint8Array): boolean {
    if (this.#state !== "open") return false;
    const proto = this.#proto;
    if (proto instanceof Protocol) proto.sendRange(buf, start, end);
    else this.#engine!.sendEncoded(NO_CHUNKS, payload);
    this._active = true;
    this.#flush();
    return true;
  }

  /** @internal Fails the connection from outside the protocol (e.g. heartbeat timeout). */
  _fatal(error: WSError): void {
    if (this.#state === "closed") return;
    this.emit("error", error);
    this.terminate();
  }

  /**
   * Starts the closing handshake with `code` (default 1000) and `reason` (at most 123 bytes of
   * UTF-8). If the peer does not complete it within `closeTimeout`, the socket is dropped.
   * Closing a connecting socket abandons the handshake. Does nothing once closing.
   */
  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.#state === "connecting") {
      this.#failOpen(
        new StateError("WS_ERR_CLOSED_BEFORE_OPEN", "closed before the connection opened"),
      );
      return;
    }
    if (this.#state !== "open") return;
    encodeClosePayload(code, reason); // throws on a code or reason that may not be sent
    // Closing before the engine acts: a native engine may report the close synchronously.
    this.#state = "closing";
    this.#armCloseTimer();
    this.#engine!.close(code, reason);
    this.#flush();
  }

  /** Drops the connection at once, without a closing handshake. */
  terminate(): void {
    if (this.#state === "connecting") {
      this.#failOpen(
        new StateError("WS_ERR_CLOSED_BEFORE_OPEN", "terminated before the connection opened"),
      );
      return;
    }
    this.#drop();
  }

  #drop(): void {
    if (this.#native) this.#native.terminate();
    else this.#conn?.destroy();
  }

  /** @internal The handshake negotiated permessage-deflate (before `_attach`). */
  _negotiated(deflate: PerMessageDeflate, extensions: string): void {
    this.#deflate = deflate;
    this.#extensions = extensions;
  }

  /** @internal The client's handshake is under way; `abort` cancels it. */
  _connecting(abort: () => void): void {
    this.#abortConnect = abort;
  }

  /**
   * @internal The handshake succeeded: take over `conn`. `handler` runs once the socket is open
   * but before `open` is emitted and before `rest` (bytes that followed the handshake) is read.
   */
  _attach(conn: Conn, protocol: string, rest: Uint8Array, handler?: (ws: WS<Data>) => void): void {
    if (this.#state !== "connecting") {
      conn.destroy();
      return;
    }
    this.#abortConnect = undefined;
    this.#conn = conn;
    this.#protocol = protocol;
    const events = new ProtocolEvents(this);
    const proto: WireProtocol = this.framing
      ? new RawProtocol({
        framing: this.framing,
        maxPayload: this.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      }, events)
      : new Protocol(
        { side: this.side, maxPayload: this.maxPayload, deflate: this.#deflate },
        events,
      );
    this.#proto = proto;
    this.#state = "open";
    this._lastSeenAt = this._lastMessageAt = now();
    conn.setHandlers(new ConnEvents(this));
    this.#opened(handler);
    if (rest.length > 0) this.#receive(rest);
  }

  /** @internal The socket is open on a runtime's native WebSocket; events come via `_native*`. */
  _attachNative(
    native: NativeSocket,
    protocol: string,
    handler?: (ws: WS<Data>) => void,
  ): void {
    if (this.#state !== "connecting") {
      native.terminate();
      return;
    }
    this.#native = native;
    this.#protocol = protocol;
    this.#state = "open";
    this._lastSeenAt = this._lastMessageAt = now();
    this.#opened(handler);
  }

  /** @internal The protocol delivered a message (see ProtocolEvents). */
  _message(data: string | Uint8Array, isBinary: boolean): void {
    this._active = true;
    this.emit("message", data, isBinary);
  }

  /** @internal A ping or pong arrived. */
  _control(kind: "ping" | "pong", payload: Uint8Array): void {
    this.emit(kind, payload);
  }

  /** @internal The peer's close frame arrived, or the protocol failed (with `error`). */
  _closing(error?: ProtocolError): void {
    this.#state = "closing";
    this.#armCloseTimer();
    if (error) this.emit("error", error);
  }

  /** @internal The transport delivered bytes. */
  _data(chunk: Uint8Array): void {
    this.#receive(chunk);
  }

  /** @internal The peer ended its stream. */
  _end(): void {
    this.#transportEnded = true;
    this.#proto!.eof();
    this.#conn!.end();
  }

  /** @internal The transport closed. */
  _transportClosed(): void {
    this.#closed();
  }

  /** @internal The transport's buffer drained. */
  _drain(): void {
    const conn = this.#conn!;
    if (this.#readPaused && conn.bufferedAmount <= this.highWaterMark) {
      this.#readPaused = false;
      conn.resume();
    }
    this.emit("drain");
  }

  /** @internal A native socket delivered a message. */
  _nativeMessage(data: string | Uint8Array, isBinary: boolean): void {
    this._seen = true;
    this._message(data, isBinary);
  }

  /** @internal A native socket delivered a ping or pong. */
  _nativeControl(kind: "ping" | "pong", payload: Uint8Array): void {
    this._seen = true;
    this._control(kind, payload);
  }

  /** @internal A native socket flushed its buffer. */
  _nativeDrain(): void {
    this.emit("drain");
  }

  /** @internal A native socket closed. */
  _nativeClose(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === "closed") return;
    clearTimeout(this.#closeTimer);
    this.#state = "closed";
    this.#leaveTopics();
    this.#config.owner?._forget(this);
    this.emit("close", code, reason, wasClean);
  }

  /**
   * Runs the application's handler, replays sends queued while connecting, and emits `open`. A
   * handler that throws closes the socket with 1011; its error is rethrown outside wsdriver's code,
   * so that the server's state stays consistent.
   */
  #opened(handler?: (ws: WS<Data>) => void): void {
    if (handler) {
      try {
        handler(this);
      } catch (err) {
        this.close(CloseCode.InternalError);
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    const pending = this.#pending;
    if (pending === undefined) {
      if (this.#state === "open") this.emit("open");
      return;
    }
    this.#pending = undefined;
    this.#pendingBytes = 0;
    for (const p of pending) {
      if (this.#state !== "open") {
        p.callback?.(new StateError("WS_ERR_NOT_OPEN", "the socket closed before this was sent"));
        continue;
      }
      p.run();
      this.#flush(p.callback);
    }
    if (this.#state === "open") this.emit("open");
  }

  /** @internal The client's handshake failed. */
  _fail(error: WSError): void {
    this.#failOpen(error);
  }

  #failOpen(error: WSError): void {
    if (this.#state !== "connecting") return;
    this.#state = "closed";
    const abort = this.#abortConnect;
    this.#abortConnect = undefined;
    abort?.();
    const pending = this.#pending;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    if (pending) { for (const p of pending) p.callback?.(error); }
    this.emit("error", error);
    this.emit("close", CloseCode.Abnormal, "", false);
  }

  #receive(chunk: Uint8Array): void {
    const proto = this.#proto!;
    this._seen = true;
    this.#inReceive = true;
    try {
      proto.receive(chunk);
    } finally {
      this.#inReceive = false;
    }
    this._flushNow();
  }

  /** Queues a write of what the protocol produced; while reading, waits for the end of the chunk. */
  #flush(callback?: SendCallback): void {
    if (callback) (this.#callbacks ??= []).push(callback);
    if (this.#inReceive || this.#flushQueued) return;
    // Sends made in the same turn (a loop, a broadcast burst) go out as one write per socket.
    this.#flushQueued = true;
    queueFlush(this as WS);
  }

  /** @internal Writes everything the protocol produced so far, in one write. */
  _flushNow(): void {
    this.#flushQueued = false;
    const conn = this.#conn, proto = this.#proto;
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (!conn || !proto) {
      // A native socket writes by itself: the data is handed over.
      if (callbacks) { for (const cb of callbacks) cb(); }
      return;
    }
    if (proto.outputBytes > 0) {
      const out = proto.takeOutput();
      conn.write(
        out,
        callbacks === undefined ? undefined : (err) => {
          for (const cb of callbacks) cb(err);
        },
      );
    } else if (callbacks) {
      for (const cb of callbacks) cb();
    }
    // A peer that sends faster than it reads is not read until its replies drain.
    if (!this.#readPaused && conn.bufferedAmount > this.highWaterMark) {
      this.#readPaused = true;
      conn.pause();
    }
    if (proto.shouldCloseTransport) conn.end();
    else if (proto.state === "closed" && this.#transportEnded) conn.end();
  }

  #leaveTopics(): void {
    if (!this.#subscribed) return;
    for (const topic of this.#subscribed) this.#config.topics!._remove(topic, this);
    this.#subscribed = undefined;
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => this.#drop(), this.closeTimeout);
  }

  #closed(): void {
    if (this.#state === "closed") return;
    clearTimeout(this.#closeTimer);
    const proto = this.#proto!;
    // WebSocket closes cleanly after both close frames; raw TCP once either side ended it.
    const ended = this.kind === "raw"
      ? proto.closeSent || proto.closeReceived
      : proto.closeSent && proto.closeReceived;
    const clean = ended && !proto.failed;
    const code = ended || proto.closeReceived || proto.failed
      ? proto.closeCode
      : CloseCode.Abnormal;
    const reason = proto.closeReceived ? proto.closeReason : "";
    proto.abort();
    this.#state = "closed";
    this.#leaveTopics();
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (callbacks) {
      for (const cb of callbacks) cb(new StateError("WS_ERR_NOT_OPEN", "socket closed"));
    }
    this.#config.owner?._forget(this);
    this.emit("close", code, reason, clean);
  }
}

installInspect(WS, "WS", (ws) => ({
  readyState: ws.readyState,
  url: ws.url,
  protocol: ws.protocol,
  bufferedAmount: ws.bufferedAmount,
}));

/**
 * A socket's protocol events, forwarded to it: one small object per socket instead of a closure
 * per event (idle connections are mostly such bookkeeping).
 */
class ProtocolEvents implements ProtocolHandler {
  #ws: WS<unknown>;
  constructor(ws: WS<unknown>) {
    this.#ws = ws;
  }
  message(data: string | Uint8Array, isBinary: boolean): void {
    this.#ws._message(data, isBinary);
  }
  ping(payload: Uint8Array): void {
    this.#ws._control("ping", payload);
  }
  pong(payload: Uint8Array): void {
    this.#ws._control("pong", payload);
  }
  close(): void {
    this.#ws._closing();
  }
  error(error: ProtocolError): void {
    this.#ws._closing(error);
  }
}

/** A socket's transport events, forwarded to it (see {@link ProtocolEvents}). */
class ConnEvents implements ConnHandlers {
  #ws: WS<unknown>;
  constructor(ws: WS<unknown>) {
    this.#ws = ws;
  }
  data(chunk: Uint8Array): void {
    this.#ws._data(chunk);
  }
  end(): void {
    this.#ws._end();
  }
  close(): void {
    this.#ws._transportClosed();
  }
  drain(): void {
    this.#ws._drain();
  }
}
