/**
 * The standard (WHATWG) `WebSocket` interface on wsdriver's client, so that code written for the
 * browser, and libraries that take a WebSocket constructor, run unchanged on Deno, Bun and Node.
 *
 * @module
 */

import { connect, type ConnectOptions } from "../client.ts";
import { toBytes, type WS } from "../ws.ts";

/** What a standard `WebSocket` sends. */
export type WebSocketData = string | ArrayBuffer | ArrayBufferView | Blob;

/** wsdriver options of a {@link WebSocket}: {@link connect}'s, except the subprotocols. */
export type WebSocketOptions = Omit<ConnectOptions, "protocols">;

/** How binary messages arrive (the DOM's `BinaryType`, named here so no DOM types are needed). */
export type WebSocketBinaryType = "blob" | "arraybuffer";

/** The `close` event's fields. */
export interface CloseEventFields {
  /** The close code the peer sent, 1005 if it sent none, 1006 if the connection just dropped. */
  code?: number;
  /** The close reason the peer sent, `""` if none. */
  reason?: string;
  /** Whether both ends finished the closing handshake (false after a dropped connection). */
  wasClean?: boolean;
}

/** What a {@link CloseEvent} is made from (the DOM's `CloseEventInit`). */
export interface CloseEventInit extends CloseEventFields {
  /** As in `EventInit`; the socket's own `close` events do not bubble. */
  bubbles?: boolean;
  /** As in `EventInit`; the socket's own `close` events cannot be cancelled. */
  cancelable?: boolean;
  /** As in `EventInit`; there is no shadow DOM to cross outside a browser. */
  composed?: boolean;
}

/**
 * The `close` event of a {@link WebSocket}: the runtime's `CloseEvent` where it has one (Deno,
 * Bun, browsers), else (Node 20) an `Event` with the same fields.
 *
 * @example
 * ```ts
 * ws.addEventListener("close", (e) => {
 *   if (e instanceof CloseEvent) console.log(e.code, e.reason, e.wasClean);
 * });
 * ```
 */
export const CloseEvent: {
  new (type: string, init?: CloseEventInit): CloseEventLike;
} = (globalThis as unknown as { CloseEvent?: never }).CloseEvent ??
  class CloseEvent extends Event {
    readonly code: number;
    readonly reason: string;
    readonly wasClean: boolean;
    constructor(type: string, init: CloseEventInit = {}) {
      super(type, init);
      this.code = init.code ?? 0;
      this.reason = init.reason ?? "";
      this.wasClean = init.wasClean ?? false;
    }
  };

const encoder = new TextEncoder();

/** RFC 7230 `tchar`: what a subprotocol name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * An `on*` handler of a {@link WebSocket} (`onopen`, `onmessage`, …); it runs with the socket as
 * `this`. `null` means none is set. Named here, rather than taken from the DOM's
 * `EventHandler`, so the types hold where there is no DOM library.
 */
export type Handler<E = Event> = ((event: E) => unknown) | null;

/** What a `close` listener gets: a {@link CloseEvent}. */
export type CloseEventLike = Event & Required<CloseEventFields>;

function syntaxError(message: string): DOMException {
  return new DOMException(message, "SyntaxError");
}

/** Bytes that `send(data)` adds to `bufferedAmount`. */
function sizeOf(data: WebSocketData): number {
  if (typeof data === "string") return encoder.encode(data).length;
  if (data instanceof Blob) return data.size;
  return data.byteLength;
}

/**
 * A WebSocket as the WHATWG standard defines it (`EventTarget` events and `on*` handlers, numeric
 * `readyState`, `binaryType`, `bufferedAmount`, `close(code, reason)` with the standard's checks
 * and `DOMException`s), connected by wsdriver's client. The optional third argument takes
 * wsdriver's {@link ConnectOptions} (headers, TLS, heartbeat, …).
 *
 * @example
 * ```ts
 * import { WebSocket } from "@wsdriver/wsdriver";
 * const ws = new WebSocket("ws://127.0.0.1:8080/echo", ["chat"]);
 * ws.binaryType = "arraybuffer";
 * ws.onopen = () => ws.send("hello");
 * ws.addEventListener("message", (e) => console.log((e as MessageEvent).data));
 * ws.onclose = (e) => console.log("closed", (e as CloseEvent).code);
 * ```
 */
export class WebSocket extends EventTarget {
  /** `readyState` before the handshake completes; compare with it rather than with `0`. */
  static readonly CONNECTING = 0;
  /** `readyState` while messages can be sent and received. */
  static readonly OPEN = 1;
  /** `readyState` once either end started closing; `send` then drops its data. */
  static readonly CLOSING = 2;
  /** `readyState` after the `close` event: the connection is gone for good. */
  static readonly CLOSED = 3;
  /** {@link WebSocket.CONNECTING} on the instance too, as the standard has it. */
  readonly CONNECTING = 0;
  /** {@link WebSocket.OPEN} on the instance too, as the standard has it. */
  readonly OPEN = 1;
  /** {@link WebSocket.CLOSING} on the instance too, as the standard has it. */
  readonly CLOSING = 2;
  /** {@link WebSocket.CLOSED} on the instance too, as the standard has it. */
  readonly CLOSED = 3;

  #ws: WS;
  #url: string;
  #origin: string;
  #readyState = 0;
  #binaryType: WebSocketBinaryType = "blob";
  #protocol = "";
  #extensions = "";
  #failed = false;
  /** Bytes sent after closing (the standard counts them in `bufferedAmount`) or waiting on a Blob. */
  #extraBytes = 0;
  /** Sends waiting behind a Blob being read, kept in order. */
  #chain: Promise<void> | undefined;
  #chained = 0;
  #handlers = new Map<string, { fn: Handler; listener: EventListener }>();

  /**
   * Starts connecting at once, as the standard's constructor does; listen for `open` before
   * sending. Throws a `SyntaxError` `DOMException` for a URL that is not `ws:`, `wss:`, `http:` or
   * `https:`, has a fragment, or for an invalid or repeated subprotocol.
   *
   * @param url Where to connect; `http:` and `https:` are taken as `ws:` and `wss:`.
   * @param protocols Subprotocols to offer, most preferred first.
   * @param options wsdriver's own options (headers, TLS, heartbeat, …), which the standard lacks.
   */
  constructor(url: string | URL, protocols: string | string[] = [], options?: WebSocketOptions) {
    super();
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw syntaxError(`invalid URL: ${url}`);
    }
    if (u.protocol === "http:") u.protocol = "ws:";
    else if (u.protocol === "https:") u.protocol = "wss:";
    if (u.protocol !== "ws:" && u.protocol !== "wss:") {
      throw syntaxError(`the URL's scheme must be ws: or wss:, not ${u.protocol}`);
    }
    // An empty fragment ("#") has no `hash` but is a fragment all the same.
    if (u.href.includes("#")) throw syntaxError("a WebSocket URL may not have a fragment");
    const list = typeof protocols === "string" ? [protocols] : [...protocols].map(String);
    const seen = new Set<string>();
    for (const p of list) {
      if (!TOKEN.test(p)) throw syntaxError(`invalid subprotocol ${JSON.stringify(p)}`);
      if (seen.has(p)) throw syntaxError(`subprotocol ${JSON.stringify(p)} given twice`);
      seen.add(p);
    }
    this.#url = u.href;
    this.#origin = u.origin;
    const ws = this.#ws = connect(u, { ...options, protocols: list });
    ws.on("open", () => {
      this.#readyState = 1;
      this.#protocol = ws.protocol;
      this.#extensions = ws.extensions;
      this.dispatchEvent(new Event("open"));
    });
    ws.on("message", (data, isBinary) => {
      if (this.#readyState !== 1) return;
      this.dispatchEvent(
        new MessageEvent("message", {
          data: isBinary ? this.#binary(data as Uint8Array) : data,
          origin: this.#origin,
        }),
      );
    });
    ws.on("error", () => (this.#failed = true));
    ws.on("close", (code, reason, wasClean) => {
      // The standard fires these from a task of their own, never inside close().
      queueMicrotask(() => {
        this.#readyState = 3;
        if (this.#failed) this.dispatchEvent(new Event("error"));
        this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean }));
      });
    });
  }

  #binary(data: Uint8Array): Blob | ArrayBuffer {
    if (this.#binaryType === "blob") return new Blob([data as Uint8Array<ArrayBuffer>]);
    return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength &&
        data.buffer instanceof ArrayBuffer
      ? data.buffer
      : data.slice().buffer;
  }

  /** The URL, as parsed (`http:` and `https:` become `ws:` and `wss:`). */
  get url(): string {
    return this.#url;
  }

  /** 0 connecting, 1 open, 2 closing (also once the peer started closing), 3 closed. */
  get readyState(): number {
    return this.#readyState === 1 && this.#ws.readyState === "closing" ? 2 : this.#readyState;
  }

  /** The subprotocol the server chose, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions the server agreed to, or `""`. */
  get extensions(): string {
    return this.#extensions;
  }

  /** Bytes queued by `send` and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + this.#extraBytes;
  }

  /** How binary messages arrive: `"blob"` (default) or `"arraybuffer"`. Other values are ignored. */
  get binaryType(): WebSocketBinaryType {
    return this.#binaryType;
  }

  set binaryType(value: WebSocketBinaryType) {
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  /**
   * Sends a message. Throws an `InvalidStateError` while connecting; once closing, the data is
   * dropped (and counted in `bufferedAmount`), as the standard says.
   */
  send(data: WebSocketData): void {
    const state = this.readyState;
    if (state === 0) {
      throw new DOMException("the WebSocket is still connecting", "InvalidStateError");
    }
    if (state !== 1) {
      this.#extraBytes += sizeOf(data);
      return;
    }
    if (data instanceof Blob || this.#chain !== undefined) return this.#sendLater(data);
    if (typeof data === "string") this.#ws.sendText(data);
    else this.#ws.sendBinary(toBytes(data));
  }

  /** A Blob is read asynchronously: it, and every send after it, wait their turn. */
  #sendLater(data: WebSocketData): void {
    const size = sizeOf(data);
    this.#extraBytes += size;
    this.#chained++;
    this.#chain = (this.#chain ?? Promise.resolve()).then(async () => {
      const bytes = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : data;
      this.#extraBytes -= size;
      if (--this.#chained === 0) this.#chain = undefined;
      if (this.#ws.readyState !== "open") return;
      if (typeof bytes === "string") this.#ws.sendText(bytes);
      else this.#ws.sendBinary(toBytes(bytes));
    });
  }

  /**
   * Closes the connection. `code` must be 1000 or 3000-4999 (else `InvalidAccessError`), `reason`
   * at most 123 bytes of UTF-8 (else `SyntaxError`). Closing while connecting fails the connection
   * (`error`, then `close` with 1006).
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined) {
      code = Number.isFinite(Number(code)) ? Math.min(65535, Math.max(0, Math.round(code))) : 0;
      if (code !== 1000 && (code < 3000 || code > 4999)) {
        throw new DOMException(`close code ${code} may not be sent`, "InvalidAccessError");
      }
    }
    if (reason !== undefined && encoder.encode(String(reason)).length > 123) {
      throw syntaxError("the close reason is over 123 bytes");
    }
    if (this.readyState >= 2) return;
    const wasConnecting = this.#readyState === 0;
    this.#readyState = 2;
    if (wasConnecting) this.#ws.terminate();
    else if (code === undefined && !reason) this.#ws._closeWithoutStatus();
    else this.#ws.close(code ?? 1000, reason === undefined ? "" : String(reason));
  }

  #handler<E>(type: string): Handler<E> {
    return (this.#handlers.get(type)?.fn ?? null) as Handler<E>;
  }

  /** An event handler attribute: registered where it was first set, replaced in place. */
  #setHandler<E>(type: string, handler: Handler<E>): void {
    let fn = handler as Handler;
    if (typeof fn !== "function") fn = null;
    const h = this.#handlers.get(type);
    if (fn === null) {
      if (h) this.removeEventListener(type, h.listener);
      this.#handlers.delete(type);
      return;
    }
    if (h === undefined) {
      const entry: { fn: Handler; listener: EventListener } = {
        fn,
        // Two Event types meet here (the DOM's and @types/node's); they are the same at run time.
        listener: ((e: Event) => {
          entry.fn?.call(this, e);
        }) as unknown as EventListener,
      };
      this.#handlers.set(type, entry);
      this.addEventListener(type, entry.listener);
      return;
    }
    h.fn = fn;
  }

  /** Handler of the `open` event. */
  get onopen(): Handler {
    return this.#handler("open");
  }
  set onopen(fn: Handler) {
    this.#setHandler("open", fn);
  }

  /** Handler of `message` events (`MessageEvent` with `data` and `origin`). */
  get onmessage(): Handler<MessageEvent> {
    return this.#handler("message");
  }
  set onmessage(fn: Handler<MessageEvent>) {
    this.#setHandler("message", fn);
  }

  /** Handler of the `error` event (fired just before `close` when the connection failed). */
  get onerror(): Handler {
    return this.#handler("error");
  }
  set onerror(fn: Handler) {
    this.#setHandler("error", fn);
  }

  /** Handler of the `close` event (a `CloseEvent` with `code`, `reason` and `wasClean`). */
  get onclose(): Handler<CloseEventLike> {
    return this.#handler("close");
  }
  set onclose(fn: Handler<CloseEventLike>) {
    this.#setHandler("close", fn);
  }
}
