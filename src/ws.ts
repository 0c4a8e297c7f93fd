/**
 * The `WS` class: one WebSocket connection, the same on the server and the client side.
 *
 * @module
 */

import { now } from "./clock.ts";
import { Emitter, listenerError, logUnhandled } from "./emitter.ts";
import {
  CallbackError,
  InvalidOptionError,
  type ProtocolError,
  StateError,
  type WSError,
} from "./errors.ts";
import { checkCallback, checkCloseArgs, checkControlPayload } from "./options.ts";
import { CloseCode } from "./protocol/close.ts";
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
import type { SubscribeOptions, Topics } from "./topics.ts";
import type { Conn, ConnHandlers } from "./transport/conn.ts";
import { messages } from "./stream.ts";
import { ConnLimiter, type ResolvedConnLimits } from "./ops/limits.ts";
import type { ResourceCounters, TrafficStats } from "./ops/stats.ts";
import { installInspect } from "./inspect.ts";
import { DEFAULTS } from "./defaults.ts";

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

/** Options of one send. */
export interface SendOptions {
  /**
   * With permessage-deflate negotiated: true compresses this message whatever its size, false
   * sends it uncompressed; by default, messages from the deflate `threshold` up are compressed.
   */
  compress?: boolean;
}

/** Called once the data was written to the socket, or with the error that prevented it. */
export type SendCallback = (error?: Error) => void;

/** Default time to wait for the closing handshake before dropping the socket: 5 s. */
export const DEFAULT_CLOSE_TIMEOUT: number = DEFAULTS.server.closeTimeout;

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
  /** Told once the socket is open and once it is closed (a server): one shared hook, no closure each. */
  owner?: SocketOwner<Data>;
  /** The server resource pattern the sockets belong to. */
  resource?: string;
  /** The resource's counters (a server's sockets). */
  stats?: ResourceCounters;
  /** Per-connection rate limits, if any. */
  limits?: ResolvedConnLimits;
}

/** @internal What a server learns of its sockets' lives. */
export interface SocketOwner<Data> {
  _opened(ws: WS<Data>): void;
  _forget(ws: WS<Data>, code: number, reason: string, wasClean: boolean): void;
  /** Errors thrown by the application's handler and listeners. */
  _callbackError(error: unknown, ws: WS<Data>): void;
}

/** @internal What is a socket's own. */
export interface WSInit<Data> {
  /** The URL; a server's sockets leave it out and have it built from `request` when asked. */
  url?: string;
  request?: UpgradeRequest;
  data?: Data;
}

/** Default {@link WS.highWaterMark}: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK: number = DEFAULTS.server.highWaterMark;

/** Output of one turn above which a broadcast writes it at once (see `_overHighWaterMark`). */
const SYNC_FLUSH = 64 * 1024;

const encoder = new TextEncoder();
const NO_CHUNKS: readonly Uint8Array[] = [];

/** Sockets with output to write at the end of this turn, and whether that is scheduled. */
const flushQueue: WS[] = [];
let flushScheduled = false;
/**
 * Sockets a large turn could not write within {@link FLUSH_SLICE_MS}: written in later slices, so
 * that a broadcast to 10k sockets (one write each, ~10 µs apiece on Deno) does not hold the loop
 * for 100 ms while other connections wait. A socket stays queued (`#flushQueued`) until its slice,
 * so what it is sent meanwhile follows the broadcast, in order.
 */
let backlog: WS[] = [];
let backlogHead = 0;
let backlogScheduled = false;
/** Time one turn's flush, or one backlog slice, may write for before yielding to I/O. */
const FLUSH_SLICE_MS = 2;
/** Sockets written between two looks at the clock (small turns never look). */
const FLUSH_CHECK_EVERY = 64;

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
  const began = performance.now();
  // Sockets queued while flushing (a send callback that sends) are flushed in this loop too.
  let i = 0;
  while (i < flushQueue.length) {
    flushQueue[i++]._flushNow();
    if (i % FLUSH_CHECK_EVERY === 0 && performance.now() - began > FLUSH_SLICE_MS) break;
  }
  if (i < flushQueue.length) {
    for (let j = i; j < flushQueue.length; j++) backlog.push(flushQueue[j]);
    if (!backlogScheduled) {
      backlogScheduled = true;
      setTimeout(flushBacklog, 0);
    }
  }
  flushQueue.length = 0;
}

function flushBacklog(): void {
  const began = performance.now();
  let i = backlogHead;
  while (i < backlog.length) {
    backlog[i++]._flushNow();
    if ((i - backlogHead) % FLUSH_CHECK_EVERY === 0 && performance.now() - began > FLUSH_SLICE_MS) {
      break;
    }
  }
  if (i < backlog.length) {
    backlogHead = i;
    setTimeout(flushBacklog, 0);
    return;
  }
  backlog = [];
  backlogHead = 0;
  backlogScheduled = false;
}

/**
 * Runs send callbacks (pairs of mark and callback, see `WS.#callbacks`): all with success, or, for
 * a failed write, success for those whose bytes went out (mark at most `written`) and `error` for
 * the rest.
 */
function settle(callbacks: Array<number | SendCallback>, error?: Error, written = 0): void {
  for (let i = 0; i < callbacks.length; i += 2) {
    const cb = callbacks[i + 1] as SendCallback;
    if (error === undefined || (callbacks[i] as number) <= written) cb();
    else cb(error);
  }
}

/** What a {@link WS} sends through: its own {@link Protocol}, or a runtime's native socket. */
interface Engine {
  sendText(text: string, compress?: boolean): void;
  sendBinary(data: Uint8Array, compress?: boolean): void;
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

/** A ping or pong payload as bytes; throws an InvalidOptionError for a bad argument. */
function controlPayload(payload: unknown, callback: unknown): Uint8Array | undefined {
  checkControlPayload(payload, "payload");
  checkCallback(callback);
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload as Uint8Array;
  if (bytes && bytes.length > 125) {
    throw new InvalidOptionError("payload", "at most 125 bytes", `${bytes.length} bytes`);
  }
  return bytes;
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
  /** The application paused reading (see `pause`), apart from the write backpressure above. */
  #userPaused = false;
  #limiter: ConnLimiter | undefined;
  /** @internal Counted on paths that run anyway: plain numbers, nothing allocated. */
  _messagesIn = 0;
  /** @internal */
  _messagesOut = 0;
  /** @internal */
  _bytesIn = 0;
  /** @internal */
  _bytesOut = 0;
  /** @internal When the socket opened (see `now`), for the server's `disconnect` event. */
  _openedAt = 0;

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
  /**
   * Send callbacks waiting for the next write, as pairs of (mark, callback): the mark is the
   * transport's `written` count once the callback's bytes are out, so that a write cut short
   * fails only the callbacks whose bytes did not go out.
   */
  #callbacks: Array<number | SendCallback> | undefined;
  /** The transport's count of bytes accepted (in `Conn.written` terms) after our last write. */
  #sentMark = 0;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The transport's `written` when the close timer was last armed. */
  #closeProgress = 0;
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
   * closes. Server-side sockets only. With `since` (a recoverable topic on a backplane), it is
   * first sent what it missed after that position.
   */
  subscribe(topic: string, options?: SubscribeOptions): void {
    if (!this.#config.topics) {
      throw new StateError("WS_ERR_NO_TOPICS", "only server-side sockets can subscribe");
    }
    if (this.#state === "closed" || this.#subscribed?.has(topic)) return;
    (this.#subscribed ??= new Set()).add(topic);
    this.#config.topics._add(topic, this, options?.since);
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

  /**
   * Messages and bytes this socket received and sent so far (bytes as on the wire, frame headers
   * included; on a runtime's native socket, received payload only).
   *
   * @example
   * ```ts
   * ws.on("close", () => console.log(ws.traffic()));
   * ```
   */
  traffic(): TrafficStats {
    return {
      messagesIn: this._messagesIn,
      messagesOut: this._messagesOut,
      bytesIn: this._bytesIn,
      bytesOut: this._bytesOut,
    };
  }

  /** Bytes accepted by `send` and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#pendingBytes + (this.#proto?.outputBytes ?? 0) +
      (this.#conn?.bufferedAmount ?? this.#native?.bufferedAmount ?? 0);
  }

  /**
   * Sends a message: a string as text, anything else as binary. `options.compress` overrides the
   * permessage-deflate threshold for this message.
   * Throws a {@link StateError} once the socket is closing or closed.
   *
   * @example
   * ```ts
   * ws.send(alreadyCompressedJpeg, { compress: false }, (err) => err || console.log("written"));
   * ```
   */
  send(data: SendData, options?: SendOptions | SendCallback, callback?: SendCallback): void {
    if (typeof options === "function") {
      callback = options;
      options = undefined;
    } else if (options !== undefined) {
      // Neither options nor a callback: reported as the callback it was most likely meant to be.
      if (options === null || typeof options !== "object") checkCallback(options);
      const compress = options.compress;
      if (compress !== undefined && typeof compress !== "boolean") {
        throw new InvalidOptionError("compress", "a boolean", compress);
      }
    }
    if (callback !== undefined && typeof callback !== "function") checkCallback(callback);
    if (typeof data === "string") this.sendText(data, callback, options);
    else if (
      data instanceof Uint8Array || data instanceof ArrayBuffer || ArrayBuffer.isView(data)
    ) {
      this.sendBinary(data, callback, options);
    } else throw new InvalidOptionError("data", "a string, an ArrayBuffer or a view of one", data);
  }

  /** Sends a text message. */
  sendText(text: string, callback?: SendCallback, options?: SendOptions): void {
    if (typeof text !== "string") throw new TypeError("sendText needs a string");
    const compress = options?.compress;
    // Open: straight to the engine, without the closure that a send made while connecting needs.
    if (this.#state !== "open") {
      return this.#do(() => this.#engine!.sendText(text, compress), callback, text.length);
    }
    this.#engine!.sendText(text, compress);
    this._active = true;
    this._messagesOut++;
    this.#flush(callback);
  }

  /** Sends a binary message. */
  sendBinary(
    data: Uint8Array | ArrayBuffer | ArrayBufferView,
    callback?: SendCallback,
    options?: SendOptions,
  ): void {
    const bytes = toBytes(data);
    const compress = options?.compress;
    if (this.#state !== "open") {
      return this.#do(() => this.#engine!.sendBinary(bytes, compress), callback, bytes.length);
    }
    this.#engine!.sendBinary(bytes, compress);
    this._active = true;
    this._messagesOut++;
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

  /**
   * Stops reading from the peer until `resume()`, for a consumer that cannot keep up: the peer's
   * sends then wait in the operating system's buffers and, past those, the peer's own. Messages in
   * the chunk being read still arrive. A closing socket is read to its end (the close frame must get
   * through), and a runtime's native socket cannot pause: then nothing happens.
   */
  pause(): void {
    if (this.#userPaused || (this.#state !== "open" && this.#state !== "connecting")) return;
    this.#userPaused = true;
    if (!this.#readPaused) this.#conn?.pause();
  }

  /** Reads from the peer again after `pause()`. */
  resume(): void {
    if (!this.#userPaused) return;
    this.#userPaused = false;
    if (!this.#readPaused && this.#limiter?.timer === undefined) this.#conn?.resume();
  }

  /** True between `pause()` and `resume()`. */
  get isPaused(): boolean {
    return this.#userPaused;
  }

  /**
   * `for await (const message of ws)`: the messages, text as strings and binary as `Uint8Array`s,
   * until a clean close (an unclean one throws). A loop that does not keep up pauses the socket;
   * leaving it early stops the iteration without closing the socket.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Uint8Array> {
    return messages(this);
  }

  /** Sends a ping (payload of at most 125 bytes). The peer's pong arrives as a `pong` event. */
  ping(payload?: string | Uint8Array, callback?: SendCallback): void {
    const bytes = controlPayload(payload, callback);
    this.#do(() => this.#engine!.ping(bytes), callback, bytes?.length ?? 0);
  }

  /** Sends an unsolicited pong (payload of at most 125 bytes), e.g. as a unidirectional heartbeat. */
  pong(payload?: string | Uint8Array, callback?: SendCallback): void {
    const bytes = controlPayload(payload, callback);
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
    this._messagesOut++;
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
    this._messagesOut++;
    this.#flush();
    return true;
  }

  /**
   * @internal Over the high-water mark by what the transport could not write. Output made in this
   * turn is not written until its end: once it is large, it is written now, so that a burst of
   * broadcasts judges a subscriber by its peer's reading, not by the burst's size.
   */
  _overHighWaterMark(): boolean {
    const proto = this.#proto;
    if (proto !== undefined && proto.outputBytes >= SYNC_FLUSH && !this.#inReceive) {
      this._flushNow();
    }
    return this.bufferedAmount > this.highWaterMark;
  }

  /** @internal Fails the connection from outside the protocol (e.g. heartbeat timeout). */
  _fatal(error: WSError): void {
    if (this.#state === "closed") return;
    const stats = this.#config.stats;
    if (stats && error.code === "WS_ERR_HEARTBEAT_TIMEOUT") stats.heartbeatTimeouts++;
    this.emit("error", error);
    this.terminate();
  }

  /**
   * Starts the closing handshake with `code` (default 1000) and `reason` (at most 123 bytes of
   * UTF-8). If the peer does not complete it within `closeTimeout`, the socket is dropped.
   * Closing a connecting socket abandons the handshake. Does nothing once closing.
   */
  close(code: number = CloseCode.Normal, reason = ""): void {
    checkCloseArgs(code, reason);
    this.#startClose(code, reason);
  }

  /**
   * @internal Starts the closing handshake with a close frame without a status code (the peer
   * reports 1005), as the standard `WebSocket`'s `close()` without arguments does.
   */
  _closeWithoutStatus(): void {
    this.#startClose(undefined, "");
  }

  #startClose(code: number | undefined, reason: string): void {
    if (this.#state === "connecting") {
      this.#failOpen(
        new StateError("WS_ERR_CLOSED_BEFORE_OPEN", "closed before the connection opened"),
      );
      return;
    }
    if (this.#state !== "open") return;
    // Closing before the engine acts: a native engine may report the close synchronously.
    this.#state = "closing";
    // A rate-limited or paused socket is read again, so that the peer's close frame can arrive.
    if (this.#limiter?.timer !== undefined) {
      clearTimeout(this.#limiter.timer);
      WS.#unthrottle(this as WS<unknown>);
    }
    this.resume();
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

  /** @internal The client's handshake follows a redirect to `url`. */
  _redirected(url: string): void {
    this.#url = url;
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
    this.#sentMark = conn.written + conn.bufferedAmount;
    this._lastSeenAt = this._lastMessageAt = now();
    const limits = this.#config.limits;
    if (limits) this.#limiter = new ConnLimiter(limits);
    conn.setHandlers(new ConnEvents(this));
    if (this.#userPaused) conn.pause();
    this.#opened(handler);
    // What followed the handshake may lie in a transport's shared read buffer: treated as shared.
    if (rest.length > 0) this.#receive(rest, true);
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
    this._messagesIn++;
    this.#limiter?.message(this);
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

  /** @internal The transport delivered bytes (`shared`: see `ConnHandlers.data`). */
  _data(chunk: Uint8Array, shared?: boolean): void {
    this.#receive(chunk, shared);
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
      if (!this.#userPaused && this.#limiter?.timer === undefined) conn.resume();
    }
    this.emit("drain");
  }

  /** @internal A native socket delivered a message. */
  _nativeMessage(data: string | Uint8Array, isBinary: boolean): void {
    this._seen = true;
    this._bytesIn += data.length;
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
    this.#config.owner?._forget(this, code, reason, wasClean);
    this.emit("close", code, reason, wasClean);
  }

  /**
   * Runs the application's handler, replays sends queued while connecting, and emits `open`. A
   * handler that throws, or returns a promise that rejects, is a failed callback (see
   * `[listenerError]`).
   */
  #opened(handler?: (ws: WS<Data>) => void): void {
    this.#config.owner?._opened(this);
    if (handler) {
      try {
        // Typed as returning void, so that any function fits; an async one returns a promise.
        const result = handler(this) as unknown as PromiseLike<void> | null | undefined;
        if (result !== undefined && result !== null && typeof result.then === "function") {
          result.then(undefined, (err) => this[listenerError](err, "handler"));
        }
      } catch (err) {
        this[listenerError](err, "handler");
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

  /**
   * The application's handler or one of its listeners failed: a server's socket reports it to the
   * server (its `error` event), a client's to its own `error` event (as a {@link CallbackError});
   * with nobody listening it is logged. Either way the socket closes with 1011, since the
   * application's state for it can no longer be trusted.
   */
  protected override [listenerError](error: unknown, event: keyof WSEvents | "handler"): void {
    const owner = this.#config.owner;
    if (owner) owner._callbackError(error, this);
    else if (event === "error" || event === "close" || this.listenerCount("error") === 0) {
      logUnhandled(error, `wsdriver: a socket's "${String(event)}" listener threw`);
    } else {
      this.emit("error", new CallbackError(`a "${String(event)}" listener`, error));
    }
    if (this.#state === "open") this.close(CloseCode.InternalError);
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

  #receive(chunk: Uint8Array, shared?: boolean): void {
    const proto = this.#proto!;
    this._seen = true;
    this._bytesIn += chunk.length;
    this.#limiter?.bytes(this, chunk.length);
    this.#inReceive = true;
    try {
      proto.receive(chunk, shared);
    } finally {
      this.#inReceive = false;
    }
    this._flushNow();
  }

  /** Queues a write of what the protocol produced; while reading, waits for the end of the chunk. */
  #flush(callback?: SendCallback): void {
    if (callback) {
      (this.#callbacks ??= []).push(this.#sentMark + (this.#proto?.outputBytes ?? 0), callback);
    }
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
      if (callbacks) settle(callbacks);
      return;
    }
    if (proto.outputBytes > 0) {
      this._bytesOut += proto.outputBytes;
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
    if (!this.#readPaused && conn.bufferedAmount > this.highWaterMark) {
      this.#readPaused = true;
      const stats = this.#config.stats;
      if (stats) stats.backpressurePauses++;
      if (!this.#userPaused) conn.pause();
    }
    if (proto.shouldCloseTransport) conn.end();
    else if (proto.state === "closed" && this.#transportEnded) conn.end();
  }

  /** @internal A rate limit paused reading for `ms` (policy "pause"). */
  _throttle(ms: number): void {
    const conn = this.#conn, limiter = this.#limiter;
    // A closing socket is read to its end: the close frame must get through.
    if (!conn || !limiter || limiter.timer !== undefined || this.#state !== "open") return;
    conn.pause();
    limiter.timer = setTimeout(WS.#unthrottle, ms, this);
  }

  static #unthrottle(ws: WS<unknown>): void {
    ws.#limiter!.timer = undefined;
    if (!ws.#readPaused && !ws.#userPaused && ws.#state !== "closed") ws.#conn!.resume();
  }

  /** @internal A rate limit closes the socket (policy "close"). */
  _limitClose(): void {
    if (this.#state === "open") this.close(CloseCode.PolicyViolation, "rate limit exceeded");
  }

  #leaveTopics(): void {
    if (!this.#subscribed) return;
    for (const topic of this.#subscribed) this.#config.topics!._remove(topic, this);
    this.#subscribed = undefined;
  }

  /**
   * The closing handshake gets `closeTimeout` without progress: while the peer still reads what
   * was queued before the close frame (or just took the close frame), the wait starts over, so a
   * slow but live reader gets everything and the close code; a peer that reads nothing is dropped.
   */
  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeProgress = this.#conn?.written ?? 0;
    this.#closeTimer = setTimeout(() => this.#closeTimedOut(), this.closeTimeout);
  }

  #closeTimedOut(): void {
    const written = this.#conn?.written ?? 0;
    if (written > this.#closeProgress && this.#state !== "closed") {
      this.#closeProgress = written;
      this.#closeTimer = setTimeout(() => this.#closeTimedOut(), this.closeTimeout);
      return;
    }
    this.#drop();
  }

  #closed(): void {
    if (this.#state === "closed") return;
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#limiter?.timer);
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
    if (callbacks) settle(callbacks, new StateError("WS_ERR_NOT_OPEN", "socket closed"), -1);
    this.#config.owner?._forget(this, code, reason, clean);
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
  data(chunk: Uint8Array, shared?: boolean): void {
    this.#ws._data(chunk, shared);
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
