/**
 * The `WS` class: one WebSocket connection, the same on the server and the client side. It is a
 * front over one `Driver` (src/driver/): it checks arguments, keeps the connection's state,
 * queues sends made while connecting, counts, and ends every connection through one close path,
 * `_closed`. Server-only concerns stay with the server: a server's socket is handed its request,
 * and the server's topic registry keeps what it subscribed to.
 *
 * Over 500 lines: it is one class, the socket's public API (some forty members), and most of it is
 * their documentation and argument checks; what is not the API lives in src/driver/.
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
import type { Side } from "./protocol/protocol.ts";
import type { RawFraming } from "./protocol/raw.ts";
import type { PerMessageDeflate } from "./protocol/deflate.ts";
import { type Driver, PAUSE_THROTTLE, PAUSE_USER } from "./driver/driver.ts";
import { iterateMessages } from "./message_iterator.ts";
import { ConnLimiter, type ResolvedConnLimits } from "./ops/limits.ts";
import type { ResourceCounters, TrafficStats } from "./ops/stats.ts";
import { installInspect } from "./inspect.ts";
import { DEFAULTS } from "./defaults.ts";
import { type Deadline, Deadlines } from "./deadlines.ts";
import type {
  ReadyState,
  SendCallback,
  SendData,
  SendOptions,
  SubscribeOptions,
  TopicRegistry,
  UpgradeRequest,
  WSEvents,
} from "./socket_types.ts";
import type { ServerRequest } from "./request.ts";

export type {
  ReadyState,
  SendCallback,
  SendData,
  SendOptions,
  SubscribeOptions,
  UpgradeRequest,
  WSEvents,
} from "./socket_types.ts";

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
  /** A server's topics: they keep what each socket subscribed to. */
  topics?: TopicRegistry<WS>;
  /** A raw TCP connection (no WebSocket framing) with this framing. */
  raw?: RawFraming;
  /** Told once the socket is open and once it is closed (a server): one shared hook, no closure each. */
  owner?: SocketOwner<Data>;
  /** The server resource pattern the sockets belong to. */
  resource?: string;
  /** The resource's counters (a server's sockets). */
  stats?: ResourceCounters;
  /** `false`: the sockets count no traffic either (a server with `stats: false`). */
  counting?: boolean;
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

/** The close timeouts, one queue per `closeTimeout` value. */
const closeQueues = new Map<number, Deadlines<WS<unknown>>>();

/** What the handshake agreed beyond the defaults: made only when it agreed on something. */
interface Agreed {
  /** The subprotocol, or `""`. */
  protocol: string;
  /** permessage-deflate, if negotiated. */
  deflate: PerMessageDeflate | undefined;
  /** The `Sec-WebSocket-Extensions` that agreed on it, or `""`. */
  extensions: string;
}

/** What a client's socket holds only while it connects. */
interface Connecting {
  /** Abandons the handshake. */
  abort?: () => void;
  /** Sends made while connecting, replayed on open. */
  pending?: Array<{ run: () => void; callback?: SendCallback; bytes: number }>;
}

// Bits of `WS.#flags`: one small integer instead of a field per flag, on every idle socket.
/** The peer sent something since the last heartbeat sweep. */
const SEEN = 1;
/** A data message went either way since the last sweep. */
const ACTIVE = 2;
/** The application paused reading (see `pause`). */
const USER_PAUSED = 4;

/** Default {@link WS.highWaterMark}: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK: number = DEFAULTS.server.highWaterMark;

const encoder = new TextEncoder();

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
  /** `SEEN`, `ACTIVE`, `USER_PAUSED`. */
  #flags = 0;
  /**
   * @internal When the peer was last seen to send anything (see `now`), or, negated, when the
   * heartbeat ping now unanswered was sent: a socket waits for a pong or it does not, and one
   * field serves both.
   */
  _lastSeenAt = 0;
  /** @internal When the last data message was seen going either way. */
  _lastMessageAt = 0;
  #agreed: Agreed | undefined;
  #limiter: ConnLimiter | undefined;
  /**
   * @internal Counted on paths that run anyway: plain numbers, nothing allocated (not at all on a
   * server with `stats: false`).
   */
  _messagesIn = 0;
  /** @internal */
  _messagesOut = 0;
  /** @internal */
  _bytesIn = 0;
  /** @internal */
  _bytesOut = 0;
  /** @internal DriverSink: whether `_bytesOut` is counted. */
  get _counting(): boolean {
    return this.#config.counting !== false;
  }
  /** @internal When the socket opened (see `now`), for the server's `disconnect` event. */
  _openedAt = 0;
  /** @internal Its place in its server's list of clients (see `SocketList`); -1: in none. */
  _clientSlot = -1;
  /** @internal Its place in the list of the sweeper that watches it; -1: in none. */
  _sweepSlot = -1;

  #state: ReadyState = "connecting";
  /**
   * The closing handshake's timeout (see `#armCloseTimer`). A field and not a side table keyed by
   * socket: JavaScriptCore keeps keys deleted from a small `Map` reachable until its next full
   * collection (see `socket_list.ts`), and every socket passes through here once.
   */
  #closeTimer: Deadline<WS<unknown>> | undefined;
  /** What the socket sends through, from open on. */
  #driver: Driver | undefined;
  /** What a client's socket holds while it connects. */
  #connecting: Connecting | undefined;

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

  /**
   * Joins `topic`: the server's `publish(topic, …)` reaches this socket until it unsubscribes or
   * closes. Server-side sockets only. With `since` (a recoverable topic on a backplane), it is
   * first sent what it missed after that position.
   */
  subscribe(topic: string, options?: SubscribeOptions): void {
    const topics = this.#config.topics;
    if (!topics) throw new StateError("WS_ERR_NO_TOPICS", "only server-side sockets can subscribe");
    if (this.#state !== "closed") topics._subscribe(this, topic, options?.since);
  }

  /** Leaves `topic`. */
  unsubscribe(topic: string): void {
    this.#config.topics?._unsubscribe(this, topic);
  }

  /** True if subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.#config.topics?._topicsOf(this)?.has(topic) ?? false;
  }

  /** Topics this socket is subscribed to. */
  get topics(): string[] {
    return [...(this.#config.topics?._topicsOf(this) ?? [])];
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
    return this.#agreed?.extensions ?? "";
  }

  /** @internal permessage-deflate, if negotiated (broadcasts compress once per parameter set). */
  get _deflate(): PerMessageDeflate | undefined {
    return this.#agreed?.deflate;
  }

  /** The subprotocol agreed in the handshake, or `""`. */
  get protocol(): string {
    return this.#agreed?.protocol ?? "";
  }

  /**
   * The peer's IP address (`""` until connected). On Node and Bun, a closed socket knows it only
   * if it was read while the socket was open (or its server has a `disconnect` listener): read it
   * in `open` to use it after the socket closes.
   */
  get remoteAddress(): string {
    return this.#driver?.remoteAddress ?? "";
  }

  /** The peer's port (0 until connected). */
  get remotePort(): number {
    return this.#driver?.remotePort ?? 0;
  }

  /**
   * Messages and bytes this socket received and sent so far (bytes as on the wire, frame headers
   * included; on a runtime's native socket, received payload only). All 0 on a server with
   * `stats: false`.
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
    // Sends made while connecting are summed when asked: no field for them on every socket.
    let queued = 0;
    const pending = this.#connecting?.pending;
    if (pending !== undefined) { for (const p of pending) queued += p.bytes; }
    return queued + (this.#driver?.bufferedAmount ?? 0);
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
    // Open: straight to the driver, without the closure that a send made while connecting needs.
    if (this.#state !== "open") {
      return this.#do(() => this.#driver!.sendText(text, compress), callback, text.length);
    }
    const driver = this.#driver!;
    driver.sendText(text, compress);
    this.#flags |= ACTIVE;
    if (this.#config.counting !== false) this._messagesOut++;
    driver.flush(callback);
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
      return this.#do(() => this.#driver!.sendBinary(bytes, compress), callback, bytes.length);
    }
    const driver = this.#driver!;
    driver.sendBinary(bytes, compress);
    this.#flags |= ACTIVE;
    if (this.#config.counting !== false) this._messagesOut++;
    driver.flush(callback);
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
    this.#do(() => this.#driver!.sendFragment(bytes, isBinary, fin), callback, bytes.length);
  }

  /**
   * Stops reading from the peer until `resume()`, for a consumer that cannot keep up: the peer's
   * sends then wait in the operating system's buffers and, past those, the peer's own. Messages in
   * the chunk being read still arrive. A closing socket is read to its end (the close frame must get
   * through), and a runtime's native socket cannot pause: then nothing happens.
   */
  pause(): void {
    if (this.#flags & USER_PAUSED || (this.#state !== "open" && this.#state !== "connecting")) {
      return;
    }
    this.#flags |= USER_PAUSED;
    this.#driver?.pause(PAUSE_USER);
  }

  /** Reads from the peer again after `pause()`. */
  resume(): void {
    if (!(this.#flags & USER_PAUSED)) return;
    this.#flags &= ~USER_PAUSED;
    this.#driver?.resume(PAUSE_USER);
  }

  /** True between `pause()` and `resume()`. */
  get isPaused(): boolean {
    return (this.#flags & USER_PAUSED) !== 0;
  }

  /**
   * `for await (const message of ws)`: the messages, text as strings and binary as `Uint8Array`s,
   * until a clean close (an unclean one throws). A loop that does not keep up pauses the socket;
   * leaving it early stops the iteration without closing the socket.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Uint8Array> {
    return iterateMessages(this);
  }

  /** Sends a ping (payload of at most 125 bytes). The peer's pong arrives as a `pong` event. */
  ping(payload?: string | Uint8Array, callback?: SendCallback): void {
    const bytes = controlPayload(payload, callback);
    this.#do(() => this.#driver!.sendPing(bytes), callback, bytes?.length ?? 0);
  }

  /** Sends an unsolicited pong (payload of at most 125 bytes), e.g. as a unidirectional heartbeat. */
  pong(payload?: string | Uint8Array, callback?: SendCallback): void {
    const bytes = controlPayload(payload, callback);
    this.#do(() => this.#driver!.sendPong(bytes), callback, bytes?.length ?? 0);
  }

  #do(run: () => void, callback: SendCallback | undefined, bytes: number): void {
    if (this.#state === "connecting") {
      ((this.#connecting ??= {}).pending ??= []).push({ run, callback, bytes });
      return;
    }
    if (this.#state !== "open") {
      throw new StateError("WS_ERR_NOT_OPEN", `cannot send: the socket is ${this.#state}`);
    }
    run();
    this.#flags |= ACTIVE;
    this.#driver!.flush(callback);
  }

  /** @internal Sends a frame encoded once for many sockets; false if this one is not open. */
  _sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): boolean {
    if (this.#state !== "open") return false;
    const driver = this.#driver!;
    driver.sendEncoded(chunks, payload);
    this.#flags |= ACTIVE;
    if (this.#config.counting !== false) this._messagesOut++;
    driver.flush();
    return true;
  }

  /**
   * @internal Sends a frame encoded once for many sockets into `buf[start..end]` (see
   * `Protocol.sendRange`); drivers that frame by themselves send `payload`. False if not open.
   */
  _sendRange(buf: Uint8Array, start: number, end: number, payload: string | Uint8Array): boolean {
    if (this.#state !== "open") return false;
    const driver = this.#driver!;
    driver.sendRange(buf, start, end, payload);
    this.#flags |= ACTIVE;
    if (this.#config.counting !== false) this._messagesOut++;
    driver.flush();
    return true;
  }

  /**
   * @internal Over the high-water mark by what the transport could not write. Output made in this
   * turn is not written until its end: once it is large, it is written now, so that a burst of
   * broadcasts judges a subscriber by its peer's reading, not by the burst's size.
   */
  _overHighWaterMark(): boolean {
    this.#driver?.flushLarge();
    return this.bufferedAmount > this.highWaterMark;
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
      return this._closed(
        CloseCode.Abnormal,
        "",
        false,
        new StateError("WS_ERR_CLOSED_BEFORE_OPEN", "closed before the connection opened"),
      );
    }
    if (this.#state !== "open") return;
    // Closing before the driver acts: a native socket may report the close synchronously.
    this.#state = "closing";
    const driver = this.#driver!;
    // A rate-limited or paused socket is read again, so that the peer's close frame can arrive.
    if (this.#limiter?.timer !== undefined) {
      clearTimeout(this.#limiter.timer);
      WS.#unthrottle(this as WS<unknown>);
    }
    this.resume();
    this.#armCloseTimer();
    driver.sendClose(code, reason);
    driver.flush();
  }

  /** Drops the connection at once, without a closing handshake. */
  terminate(): void {
    if (this.#state === "connecting") {
      return this._closed(
        CloseCode.Abnormal,
        "",
        false,
        new StateError("WS_ERR_CLOSED_BEFORE_OPEN", "terminated before the connection opened"),
      );
    }
    this.#driver?.terminate();
  }

  /**
   * @internal The connection failed: a handshake that did not complete (the socket closes with
   * `error`), or an open socket failed from outside its protocol (e.g. heartbeat timeout): `error`
   * is emitted and the connection dropped.
   */
  _fail(error: WSError): void {
    if (this.#state === "connecting") return this._closed(CloseCode.Abnormal, "", false, error);
    if (this.#state === "closed") return;
    const stats = this.#config.stats;
    if (stats && error.code === "WS_ERR_HEARTBEAT_TIMEOUT") stats.heartbeatTimeouts++;
    this.emit("error", error);
    this.#driver!.terminate();
  }

  /** @internal The handshake negotiated permessage-deflate (before `_open`). */
  _negotiated(deflate: PerMessageDeflate, extensions: string): void {
    this.#agreed = { protocol: "", deflate, extensions };
  }

  /** @internal The client's handshake follows a redirect to `url`. */
  _redirected(url: string): void {
    this.#url = url;
  }

  /** @internal The client's handshake is under way; `abort` cancels it. */
  _connecting(abort: () => void): void {
    (this.#connecting ??= {}).abort = abort;
  }

  /**
   * @internal The handshake succeeded: the socket is open over `driver`. `handler` runs once the
   * socket is open but before `open` is emitted and before the driver reads `rest`, what followed
   * the handshake.
   */
  _open(
    driver: Driver,
    protocol: string,
    handler?: (ws: WS<Data>) => void,
    rest?: Uint8Array,
  ): void {
    if (this.#state !== "connecting") {
      driver.terminate();
      return;
    }
    // Sends queued while connecting stay until the handler ran (see `#opened`).
    const connecting = this.#connecting;
    if (connecting !== undefined) connecting.abort = undefined;
    this.#driver = driver;
    if (protocol !== "") {
      const agreed = this.#agreed;
      if (agreed !== undefined) agreed.protocol = protocol;
      else this.#agreed = { protocol, deflate: undefined, extensions: "" };
    }
    this.#state = "open";
    this._lastSeenAt = this._lastMessageAt = now();
    const limits = this.#config.limits;
    if (limits) this.#limiter = new ConnLimiter(limits);
    if (this.#flags & USER_PAUSED) driver.pause(PAUSE_USER);
    this.#opened(handler);
    driver.start(rest);
  }

  /** @internal DriverSink: `bytes` arrived from the peer. */
  _received(bytes: number): void {
    this.#flags |= SEEN;
    if (this.#config.counting !== false) this._bytesIn += bytes;
    this.#limiter?.bytes(this, bytes);
  }

  /** @internal DriverSink: a message arrived. */
  _message(data: string | Uint8Array, isBinary: boolean): void {
    this.#flags |= ACTIVE;
    if (this.#config.counting !== false) this._messagesIn++;
    this.#limiter?.message(this);
    this.emit("message", data, isBinary);
  }

  /** @internal DriverSink: a ping or pong arrived. */
  _control(kind: "ping" | "pong", payload: Uint8Array): void {
    this.emit(kind, payload);
  }

  /** @internal DriverSink: the peer's close frame arrived, or the protocol failed (with `error`). */
  _closing(error?: ProtocolError): void {
    this.#state = "closing";
    this.#armCloseTimer();
    if (error) this.emit("error", error);
  }

  /** @internal DriverSink: the outgoing buffer drained. */
  _drain(): void {
    this.emit("drain");
  }

  /**
   * @internal The heartbeat sweep at time `t`: what the hot paths flagged since the last sweep
   * (flags, not clock readings) becomes the timestamps it reads.
   */
  _stamp(t: number): void {
    const flags = this.#flags;
    if (flags & SEEN) this._lastSeenAt = t;
    if (flags & ACTIVE) this._lastMessageAt = t;
    this.#flags = flags & USER_PAUSED;
  }

  /** @internal DriverSink: reading stopped until the peer reads what it was sent. */
  _backpressure(): void {
    const stats = this.#config.stats;
    if (stats) stats.backpressurePauses++;
  }

  /**
   * @internal The one way a socket ends, whatever ended it: the driver reporting that the
   * connection is gone (after a closing handshake, a protocol error, `terminate`, the peer's EOF,
   * a transport error or the close timeout), or a handshake that failed or was abandoned (with
   * `error`). It settles the state, the timers, the topics, the send callbacks and the server's
   * bookkeeping, and emits `close` once.
   */
  _closed(code: number, reason: string, wasClean: boolean, error?: WSError): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    const closeTimer = this.#closeTimer;
    if (closeTimer !== undefined) {
      closeTimer.cancel();
      this.#closeTimer = undefined;
    }
    const limiter = this.#limiter;
    if (limiter) clearTimeout(limiter.timer);
    const connecting = this.#connecting;
    this.#connecting = undefined;
    connecting?.abort?.();
    this.#config.topics?._leave(this);
    const pending = connecting?.pending;
    if (pending) {
      const failure = error ?? new StateError("WS_ERR_NOT_OPEN", "socket closed");
      for (const p of pending) p.callback?.(failure);
    }
    this.#driver?.abandon();
    this.#config.owner?._forget(this, code, reason, wasClean);
    if (error) this.emit("error", error);
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
    const pending = this.#connecting?.pending;
    this.#connecting = undefined;
    if (pending === undefined) {
      if (this.#state === "open") this.emit("open");
      return;
    }
    for (const p of pending) {
      if (this.#state !== "open") {
        p.callback?.(new StateError("WS_ERR_NOT_OPEN", "the socket closed before this was sent"));
        continue;
      }
      p.run();
      this.#driver!.flush(p.callback);
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

  /** @internal A rate limit paused reading for `ms` (policy "pause"). */
  _throttle(ms: number): void {
    const limiter = this.#limiter;
    // A closing socket is read to its end: the close frame must get through.
    if (!limiter || limiter.timer !== undefined || this.#state !== "open") return;
    this.#driver!.pause(PAUSE_THROTTLE);
    limiter.timer = setTimeout(WS.#unthrottle, ms, this);
  }

  static #unthrottle(ws: WS<unknown>): void {
    ws.#limiter!.timer = undefined;
    if (ws.#state !== "closed") ws.#driver!.resume(PAUSE_THROTTLE);
  }

  /** @internal A rate limit closes the socket (policy "close"). */
  _limitClose(): void {
    if (this.#state === "open") this.close(CloseCode.PolicyViolation, "rate limit exceeded");
  }

  /**
   * The closing handshake gets `closeTimeout` without progress: while the peer still reads what
   * was queued before the close frame (or just took the close frame), the wait starts over, so a
   * slow but live reader gets everything and the close code; a peer that reads nothing is dropped.
   * The timer carries the driver's `written` when it was armed: no field, and no closure, for it.
   */
  #armCloseTimer(): void {
    const ws = this as WS<unknown>;
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = WS.#closeQueue(this.closeTimeout).arm(ws, this.#driver?.written ?? 0);
  }

  static #closeQueue(ms: number): Deadlines<WS<unknown>> {
    let queue = closeQueues.get(ms);
    if (queue === undefined) closeQueues.set(ms, queue = new Deadlines(ms, WS.#closeTimedOut));
    return queue;
  }

  static #closeTimedOut(ws: WS<unknown>, progress: number): void {
    const written = ws.#driver?.written ?? 0;
    if (written > progress && ws.#state !== "closed") {
      ws.#closeTimer = WS.#closeQueue(ws.closeTimeout).arm(ws, written);
      return;
    }
    ws.#driver?.terminate();
  }
}

installInspect(WS, "WS", (ws) => ({
  readyState: ws.readyState,
  url: ws.url,
  protocol: ws.protocol,
  bufferedAmount: ws.bufferedAmount,
}));
