/**
 * Reconnecting over any way to open a socket: backoff with jitter, a bounded queue for sends made
 * while disconnected, and a hook that restores session state on every (re)connect. Nothing here
 * opens sockets itself, so it runs wherever a {@link Dialer} does (a browser's native `WebSocket`
 * too); `ReconnectingClient` is this over `connect`.
 *
 * @module
 */

import type { ConnectOptions } from "../client.ts";
import { Emitter } from "../emitter.ts";
import { ReconnectError, StateError, WSError } from "../errors.ts";
import { checkCloseArgs } from "../options.ts";
import { type SendData, type SendOptions, toBytes, type WS } from "../ws.ts";

/** A value, or a function that returns it (possibly asynchronously), asked again on each attempt. */
export type Provider<T> = T | (() => T | Promise<T>);

/** What a {@link Dialer} gets for each attempt. */
export interface DialerOptions {
  /** Subprotocols to offer. */
  protocols: readonly string[];
  /** Request headers from the headers provider (a browser's native socket cannot send them). */
  headers: Headers;
}

/**
 * Opens one connection and returns it at once, in the `connecting` state: `connect` for a
 * `ReconnectingClient`; on a browser, one that wraps the native `WebSocket` with `fromWebSocket`.
 */
export type Dialer = (url: string, options: DialerOptions) => WS;

/** How one connection (or one attempt) ended. */
export interface DisconnectInfo {
  /** Close code; 1006 when no close frame came (or the attempt failed). */
  code: number;
  /** Close reason, `""` if none was given. */
  reason: string;
  /** Whether the closing handshake finished; false for drops and failed attempts. */
  wasClean: boolean;
  /** The error that ended it, if any (e.g. `WS_ERR_CONNECT`, a `HandshakeError`). */
  error?: WSError;
  /** False if the attempt failed before the connection opened. */
  opened: boolean;
}

/** What {@link ReconnectPolicy.onOpen} learns about the connection it restores. */
export interface OpenInfo {
  /** Number of this attempt since the last stable connection (1 for the first). */
  attempt: number;
  /** True for every connection after the first one. */
  reconnected: boolean;
}

/** The reconnect policy: what a {@link ReconnectingSocket} does between connections. */
export interface ReconnectPolicy {
  /** Subprotocols to offer on each connection. */
  protocols?: readonly string[];
  /** Request headers, or a function asked before each attempt (e.g. for a fresh token). */
  headers?: Provider<ConnectOptions["headers"]>;
  /** Smallest delay before a retry, in milliseconds (default 500). */
  minDelay?: number;
  /** Largest delay before a retry (default 30000). */
  maxDelay?: number;
  /** Growth of the delay's upper bound per failed attempt (default 2). */
  factor?: number;
  /** Failed attempts in a row after which the client gives up (default `Infinity`: never). */
  maxRetries?: number;
  /** A connection that stayed open this many milliseconds resets the retry count (default 5000). */
  resetAfter?: number;
  /**
   * Decides whether to reconnect after a close that is not abnormal. Abnormal closes (every close
   * without a complete closing handshake, 1001, 1005, 1006, 1011-1014, and every failed attempt)
   * always reconnect; others (a clean 1000, 1008, 4000, …) only if this returns true (default:
   * never).
   */
  shouldReconnect?: (info: DisconnectInfo) => boolean;
  /** Most messages kept while disconnected (default 1000); over it, `send` throws. */
  maxQueuedMessages?: number;
  /** Most bytes kept while disconnected (default 1 MiB); over it, `send` throws. */
  maxQueuedBytes?: number;
  /**
   * Runs on every connection once it is open, before the queued messages go out and before the
   * `open` event: re-subscribe, log in again, resume a recoverable topic from its last offset.
   * What it sends goes out first. If it returns a promise, sends wait for it; if it throws or
   * rejects, the connection is dropped and retried.
   */
  onOpen?: (ws: WS, info: OpenInfo) => void | Promise<void>;
  /** Random numbers in [0, 1) for the jitter (default `Math.random`). */
  random?: () => number;
}

/** Options of a {@link ReconnectingSocket}: the policy and how to open a connection. */
export interface ReconnectingSocketOptions extends ReconnectPolicy {
  /** Opens one connection. */
  dial: Dialer;
}

/** Events of a {@link ReconnectingSocket} (and so of a `ReconnectingClient`). */
export type ReconnectingEvents = {
  /** Attempt number `attempt` starts (1 for the first since the last stable connection). */
  connecting: [attempt: number];
  /** A connection is open, restored by `onOpen`, and the queue went out. */
  open: [info: OpenInfo];
  /** A message from the current connection. */
  message: [data: string | Uint8Array, isBinary: boolean];
  /** A connection or an attempt ended. A `retry` or the final `close` follows. */
  disconnect: [info: DisconnectInfo];
  /** Attempt `attempt` will start in `delay` milliseconds. */
  retry: [attempt: number, delay: number];
  /** An error of a connection or an attempt, or `WS_ERR_RECONNECT_FAILED` when giving up. */
  error: [error: WSError];
  /** Closed for good: by `close()`, by giving up, or by a close not to be retried. */
  close: [code: number, reason: string];
};

/** State of a {@link ReconnectingSocket}. */
export type ReconnectingState = "connecting" | "open" | "closing" | "closed";

/** Default {@link ReconnectPolicy.minDelay}. */
export const DEFAULT_MIN_DELAY = 500;
/** Default {@link ReconnectPolicy.maxDelay}. */
export const DEFAULT_MAX_DELAY = 30_000;
/** Default {@link ReconnectPolicy.maxQueuedMessages}. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 1000;
/** Default {@link ReconnectPolicy.maxQueuedBytes}. */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

/** Close codes that say nothing about the application: the network, a restart, an overload. */
const ABNORMAL = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);

/**
 * Delay before retry number `retry` (1-based): uniform in [`minDelay`, cap], where the cap is
 * `minDelay · factor^retry`, at most `maxDelay` ("full jitter": clients that lost the same server
 * do not come back in step).
 *
 * @example
 * ```ts
 * backoffDelay(3, { minDelay: 100, maxDelay: 10_000 }); // somewhere in 100..800
 * ```
 */
export function backoffDelay(
  retry: number,
  options: Pick<ReconnectPolicy, "minDelay" | "maxDelay" | "factor" | "random"> = {},
): number {
  const min = options.minDelay ?? DEFAULT_MIN_DELAY;
  const max = Math.max(min, options.maxDelay ?? DEFAULT_MAX_DELAY);
  const cap = Math.min(max, min * (options.factor ?? 2) ** retry);
  return Math.round(min + (options.random ?? Math.random)() * (cap - min));
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x800) n += c >= 0xd800 && c <= 0xdbff ? (i++, 2) : 2;
    else if (c >= 0x80) n += 1;
  }
  return n;
}

async function provide<T>(p: Provider<T>): Promise<T> {
  return typeof p === "function" ? await (p as () => T | Promise<T>)() : p;
}

/**
 * A connection that survives server restarts and network drops, over any {@link Dialer}. It
 * connects at once and again after every abnormal close, waiting a growing, jittered delay between
 * failed attempts; `send` works in every state but closed (messages sent while disconnected are
 * queued, within bounds, and go out in order after the reconnect). `ReconnectingClient` is this
 * over `connect`; on a browser, dial the native `WebSocket`.
 *
 * @example
 * ```ts
 * import { fromWebSocket, ReconnectingSocket } from "@wsdriver/wsdriver";
 * const socket = new ReconnectingSocket("wss://example.com/feed", {
 *   dial: (url, { protocols }) => fromWebSocket(new WebSocket(url, [...protocols])),
 *   onOpen: (ws) => ws.send(JSON.stringify({ subscribe: "prices" })),
 * });
 * socket.on("message", (data) => console.log(data));
 * ```
 */
export class ReconnectingSocket extends Emitter<ReconnectingEvents> {
  #url: Provider<string | URL>;
  #options: ReconnectPolicy;
  #dial: Dialer;
  #state: ReconnectingState = "connecting";
  #ws: WS | undefined;
  #failures = 0;
  #connections = 0;
  #openedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queue: SendData[] = [];
  #queuedBytes = 0;
  #closed: Promise<void>;
  #resolveClosed!: () => void;

  /**
   * Starts the first attempt on a microtask, so listeners added right after construction see
   * every event.
   *
   * @param url Where to connect, or a function asked again before each attempt (e.g. to pick
   *   another server).
   * @param options The {@link Dialer} that opens each connection and the reconnect policy.
   */
  constructor(url: Provider<string | URL>, options: ReconnectingSocketOptions) {
    super();
    this.#url = url;
    this.#options = options;
    this.#dial = options.dial;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    queueMicrotask(() => this.#attempt());
  }

  /** `connecting` (also while waiting to retry), `open`, `closing` or `closed`. */
  get readyState(): ReconnectingState {
    return this.#state;
  }

  /** The current connection, if any (open or still connecting). */
  get socket(): WS | undefined {
    return this.#ws;
  }

  /** Failed attempts in a row so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Messages waiting for a connection. */
  get queuedMessages(): number {
    return this.#queue.length;
  }

  /** Bytes waiting for a connection. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Queued bytes plus what the current connection has not written yet. */
  get bufferedAmount(): number {
    return this.#queuedBytes + (this.#state === "open" ? this.#ws!.bufferedAmount : 0);
  }

  /** Resolves once the client is closed for good. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Sends a message now if connected, else queues it. Throws a {@link ReconnectError}
   * (`WS_ERR_QUEUE_FULL`) when the queue is full, and a `StateError` once closing or closed.
   * Binary data is copied when queued; `options` apply to sends made while connected.
   */
  send(data: SendData, options?: SendOptions): void {
    if (this.#state === "closing" || this.#state === "closed") {
      throw new StateError("WS_ERR_NOT_OPEN", `cannot send: the client is ${this.#state}`);
    }
    // A connection already closing (its close frame came) cannot take it: the next one will.
    if (this.#state === "open" && this.#ws!.readyState === "open") {
      return this.#ws!.send(data, options);
    }
    const item = typeof data === "string" ? data : toBytes(data).slice();
    const size = typeof item === "string" ? utf8Length(item) : item.length;
    const maxMessages = this.#options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
    const maxBytes = this.#options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (this.#queue.length + 1 > maxMessages || this.#queuedBytes + size > maxBytes) {
      throw new ReconnectError(
        "WS_ERR_QUEUE_FULL",
        `disconnected and the queue is full (${this.#queue.length} messages, ${this.#queuedBytes} bytes)`,
      );
    }
    this.#queue.push(item);
    this.#queuedBytes += size;
  }

  /**
   * Stops reconnecting, closes the current connection with `code` and `reason`, drops the queue,
   * and resolves once everything is closed. Throws an `InvalidOptionError` (as `WS.close` does)
   * for a code or reason that may not be sent.
   */
  close(code = 1000, reason = ""): Promise<void> {
    if (this.#state === "closed" || this.#state === "closing") return this.#closed;
    checkCloseArgs(code, reason);
    this.#state = "closing";
    clearTimeout(this.#timer);
    const ws = this.#ws;
    if (ws === undefined || ws.readyState === "closed") {
      this.#finish(code, reason);
    } else {
      // The connection's close event finishes (see #lost); one already closing just ends.
      if (ws.readyState === "open") ws.close(code, reason);
      else if (ws.readyState === "connecting") ws.terminate();
    }
    return this.#closed;
  }

  async #attempt(): Promise<void> {
    if (this.#state !== "connecting") return;
    const attempt = this.#failures + 1;
    this.emit("connecting", attempt);
    let url: string, headers: Headers;
    try {
      url = String(await provide(this.#url));
      headers = new Headers(await provide(this.#options.headers));
    } catch (err) {
      if (this.#state !== "connecting") return;
      const error = new WSError(
        "WS_ERR_CONNECT",
        `the URL or headers provider failed: ${(err as Error)?.message}`,
        undefined,
        { cause: err },
      );
      this.emit("error", error);
      return this.#lost(undefined, {
        code: 1006,
        reason: "",
        wasClean: false,
        error,
        opened: false,
      });
    }
    if (this.#state !== "connecting") return;
    let ws: WS;
    try {
      ws = this.#dial(url, { protocols: this.#options.protocols ?? [], headers });
    } catch (err) {
      // A URL the dialer refuses will never work: no retry.
      this.emit(
        "error",
        new ReconnectError("WS_ERR_RECONNECT_FAILED", (err as Error).message, { cause: err }),
      );
      return this.#finish(1006, "");
    }
    this.#ws = ws;
    let error: WSError | undefined, opened = false;
    ws.on("error", (e) => {
      error = e;
      this.emit("error", e);
    });
    ws.on("message", (data, isBinary) => this.emit("message", data, isBinary));
    ws.once("open", () => {
      opened = true;
      this.#opened(ws, attempt);
    });
    ws.once("close", (code, reason, wasClean) => {
      this.#lost(ws, { code, reason, wasClean, error, opened });
    });
  }

  async #opened(ws: WS, attempt: number): Promise<void> {
    this.#openedAt = Date.now();
    const info: OpenInfo = { attempt, reconnected: this.#connections++ > 0 };
    if (this.#options.onOpen) {
      try {
        await this.#options.onOpen(ws, info);
      } catch (err) {
        if (ws.readyState === "open") {
          this.emit(
            "error",
            new WSError("WS_ERR_RESTORE", `onOpen failed: ${(err as Error)?.message}`, 1011, {
              cause: err,
            }),
          );
          ws.close(1011, "restore failed");
        }
        return;
      }
    }
    if (ws !== this.#ws || ws.readyState !== "open" || this.#state !== "connecting") return;
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const item of queue) ws.send(item);
    this.#state = "open";
    this.emit("open", info);
  }

  #lost(ws: WS | undefined, info: DisconnectInfo): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    if (this.#state === "closing" || this.#state === "closed") {
      return this.#finish(info.code, info.reason);
    }
    this.#state = "connecting";
    this.emit("disconnect", info);
    const retry = !info.opened || !info.wasClean || ABNORMAL.has(info.code) ||
      (this.#options.shouldReconnect?.(info) ?? false);
    if (!retry) return this.#finish(info.code, info.reason);
    const resetAfter = this.#options.resetAfter ?? 5000;
    if (info.opened && Date.now() - this.#openedAt >= resetAfter) this.#failures = 0;
    this.#failures++;
    const maxRetries = this.#options.maxRetries ?? Infinity;
    if (this.#failures > maxRetries) {
      this.emit(
        "error",
        new ReconnectError(
          "WS_ERR_RECONNECT_FAILED",
          `gave up after ${maxRetries} retries`,
          { cause: info.error },
        ),
      );
      return this.#finish(info.code, info.reason);
    }
    const delay = backoffDelay(this.#failures, this.#options);
    this.emit("retry", this.#failures + 1, delay);
    this.#timer = setTimeout(() => this.#attempt(), delay);
  }

  #finish(code: number, reason: string): void {
    if (this.#state === "closed") return;
    clearTimeout(this.#timer);
    this.#state = "closed";
    this.#queue = [];
    this.#queuedBytes = 0;
    this.emit("close", code, reason);
    this.#resolveClosed();
  }
}
