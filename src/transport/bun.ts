/**
 * Transport over `Bun.listen`/`Bun.connect` on Bun: plain TCP, and TLS for servers (clients' TLS
 * goes through `node:tls`).
 *
 * Bun's sockets do not buffer: `write` hands what it can to the kernel at once and returns how
 * many bytes it took; the rest is queued here and written from the `drain` handler. One shared
 * handler object serves every socket, each socket's {@link BunConn} lives in its `data` field.
 *
 * Over 500 lines: most of it is `BunConn`, one connection's write queue, EOF and close states
 * (bit flags on one object, per idle connection), which the shared handler drives.
 *
 * @module
 */

import { coalesce } from "../protocol/bytes.ts";
import { Slab } from "../protocol/slab.ts";
import type {
  Conn,
  ConnectOptions,
  ConnHandlers,
  Listener,
  ListenOptions,
  ServerTls,
  Transport,
} from "./conn.ts";
import { Gather } from "./gather.ts";
import { nodeTransport } from "./node.ts";

/** The slice of a Bun socket used here, typed locally so the build needs no Bun types. */
interface BunSocket {
  data: BunConn | undefined;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  write(data: Uint8Array): number;
  end(): void;
  /** Shuts the write side down (with `true`, the read side). */
  shutdown(halfClose?: boolean): void;
  close?(): void;
  terminate(): void;
  pause?(): void;
  resume?(): void;
}

interface BunSocketHandler {
  handshake?(socket: BunSocket, success: boolean, error: Error | null): void;
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunTcpListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** Where a Bun socket goes: a TCP address or a unix domain socket. */
type BunAddress = { hostname: string; port: number } | { unix: string };

interface BunNamespace {
  listen(
    o: BunAddress & {
      tls?: ServerTls;
      reusePort?: boolean;
      allowHalfOpen?: boolean;
      socket: BunSocketHandler;
    },
  ): BunTcpListener;
  connect(
    o: BunAddress & { allowHalfOpen?: boolean; socket: BunSocketHandler },
  ): Promise<BunSocket>;
}

function bunAddress(o: { hostname: string; port: number; path?: string }): BunAddress {
  return o.path === undefined ? { hostname: o.hostname, port: o.port } : { unix: o.path };
}

function bun(): BunNamespace {
  return (globalThis as unknown as { Bun: BunNamespace }).Bun;
}

/**
 * Chunks written while others wait in the queue are joined up to this size: what waits then costs
 * about its bytes, not a queue entry per small frame. Writes that find the queue empty are
 * gathered (see {@link Gather}).
 */
const COALESCE_LIMIT = 64 * 1024;

// State bits of a BunConn (one small integer instead of a field per flag).
/** `end()` was called: no more writes; half-close once the queue is flushed. */
const ENDING = 1;
/** Our side sent its FIN (or the socket is closing). */
const WRITE_SHUT = 2;
/** The peer sent its FIN. */
const READ_EOF = 4;
/** The socket is closed (or `destroy()` was called). */
const CLOSED = 8;
/** `close` was delivered (or queued for delivery) to the handlers. */
const CLOSE_REPORTED = 16;
/** Events that arrived before `setHandlers` are being replayed. */
const REPLAYING = 32;
/** `close()` was called: once the queue is flushed, close instead of half-closing. */
const CLOSE_AT_END = 64;
/** The peer's EOF came with the close and is reported with it. */
const EOF_UNREPORTED = 128;

/** Events held until `setHandlers`: rare (a peer that speaks before the server listens). */
interface Early {
  chunks: Uint8Array[];
  end: boolean;
  close: boolean;
}

/** Reads up to this size are copied into {@link recvSlab}. */
const RECV_COPY_LIMIT = 4 * 1024;
/**
 * Where small reads are copied. Bun hands each read over in a fresh Buffer whose ArrayBuffer
 * object JavaScriptCore has not built yet: the first view of it (the parser makes one per frame)
 * builds it, at a cost of several small messages' worth of parsing. Copying the read into a slab
 * whose ArrayBuffer exists is far cheaper. A read's bytes are its connection's alone (its parser
 * unmasks them in place) and are never rewritten (see {@link Slab}).
 */
const recvSlab = new Slab(64 * 1024);

/**
 * A small read copied into {@link recvSlab}. The slab holds other connections' reads too: the
 * receiver is told (`shared`), and copies out what it hands to the application (binary messages,
 * which are few next to the frames parsed in place, and text is decoded into strings anyway).
 */
function toSlab(chunk: Uint8Array): Uint8Array {
  const n = chunk.length;
  const buf = recvSlab.reserve(n);
  const at = recvSlab.pos;
  buf.set(chunk, at);
  recvSlab.commit(n);
  return buf.subarray(at, at + n);
}

/** Writes the kernel did not take yet, made when it first refuses some. */
interface WriteQueue {
  chunks: Uint8Array[];
  /**
   * Write callbacks waiting for queued bytes: pairs of (byte mark, callback), where the mark is the
   * value of `BunConn._out` once the callback's bytes are written. Only queued bytes make a
   * callback wait, so they are part of the queue.
   */
  cbs: Array<number | ((error?: Error) => void)> | undefined;
}

class BunConn implements Conn {
  /** @internal */ _s: BunSocket;
  /** @internal */ _h: ConnHandlers | undefined = undefined;
  /** @internal State bits (ENDING, ...). */
  _f = 0;
  /** @internal What waits to be handed to the OS; `undefined` while nothing does (the usual case). */
  _q: WriteQueue | undefined = undefined;
  /** @internal Bytes in `_q`. */
  _qBytes = 0;
  /** @internal Bytes handed to the socket so far (a running total, for the callback marks). */
  _out = 0;
  /** @internal The socket's error, reported with `close`. */
  _err: Error | undefined = undefined;
  /** @internal Events before `setHandlers`. */
  _early: Early | undefined = undefined;

  // No setNoDelay: Bun sets TCP_NODELAY itself on every socket it accepts or connects, and a
  // second setsockopt cost each handshake a system call.
  constructor(socket: BunSocket) {
    this._s = socket;
  }

  // Read on demand: an idle socket should not hold the strings.
  get remoteAddress(): string {
    return this._s.remoteAddress ?? "";
  }

  get remotePort(): number {
    return this._s.remotePort ?? 0;
  }

  get bufferedAmount(): number {
    return this._qBytes;
  }

  get written(): number {
    return this._out;
  }

  setHandlers(handlers: ConnHandlers): void {
    const first = this._h === undefined;
    this._h = handlers;
    if (first && this._early !== undefined) {
      // Delivered after the caller's own setup, as a resumed node:net socket would.
      this._f |= REPLAYING;
      queueMicrotask(() => this._replay());
    }
  }

  /** @internal Delivers what arrived before `setHandlers`, in order. */
  _replay(): void {
    const early = this._early!;
    this._early = undefined;
    this._f &= ~REPLAYING;
    const h = this._h!;
    for (const c of early.chunks) {
      if (this._f & CLOSED && !early.close) break;
      h.data(c);
    }
    if (early.end) h.end();
    if (early.close) h.closed(this._err);
  }

  write(chunks: readonly Uint8Array[], callback?: (error?: Error) => void): void {
    if (this._f & (ENDING | CLOSED)) {
      callback?.(new Error("socket is closed"));
      return;
    }
    const n = chunks.length;
    const queue = this._q;
    if (queue !== undefined) {
      // Something is already waiting: queue behind it, small frames joined.
      const parts = n > 1 ? coalesce(chunks, COALESCE_LIMIT) : chunks;
      for (let i = 0; i < parts.length; i++) this._queue(parts[i]);
      if (callback) (queue.cbs ??= []).push(this._out + this._qBytes, callback);
      return;
    }
    if (n === 1) {
      const data = chunks[0];
      const w = data.length === 0 ? 0 : this._s.write(data);
      if (w < 0) return this._writeFailed(callback);
      this._out += w;
      if (w < data.length) this._queue(w === 0 ? data : data.subarray(w));
    } else if (n > 1 && !this._send(chunks, false)) {
      return this._writeFailed(callback);
    }
    this._afterDirect(callback);
  }

  /**
   * @internal Writes `chunks` gathered (see {@link Gather}) until the kernel takes no more, and
   * queues the rest. False if the socket refused a write (it is closing); the rest is queued then
   * only with `requeue` (a flush keeps what it could not write counted in `bufferedAmount`).
   */
  _send(chunks: readonly Uint8Array[], requeue: boolean): boolean {
    const s = this._s;
    const g = new Gather(chunks);
    while (!g.done) {
      const piece = g.next();
      const w = piece.length === 0 ? 0 : s.write(piece);
      if (w < 0 && !requeue) return false;
      if (w > 0) this._out += w;
      if (w < piece.length) {
        const rest = g.rest(piece, w < 0 ? 0 : w);
        for (let i = 0; i < rest.length; i++) this._queue(rest[i]);
        return w >= 0;
      }
    }
    return true;
  }

  /** @internal After a write that found the queue empty: the callback, now or once flushed. */
  _afterDirect(callback: ((error?: Error) => void) | undefined): void {
    if (!callback) return;
    const queue = this._q;
    if (queue === undefined) queueMicrotask(callback as () => void);
    else (queue.cbs ??= []).push(this._out + this._qBytes, callback);
  }

  /** @internal The socket refused a write: it is closing. */
  _writeFailed(callback: ((error?: Error) => void) | undefined): void {
    if (callback) {
      const err = this._err ?? new Error("socket is closed");
      queueMicrotask(() => callback(err));
    }
  }

  /** @internal */
  _queue(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    (this._q ??= { chunks: [], cbs: undefined }).chunks.push(chunk);
    this._qBytes += chunk.length;
  }

  /** @internal Writes queued chunks until the kernel refuses more; true once the queue is empty. */
  _flush(): boolean {
    const queue = this._q;
    if (queue === undefined) return true;
    const q = queue.chunks;
    // What the kernel does not take goes back into the (emptied) queue, in order.
    queue.chunks = [];
    this._qBytes = 0;
    if (!this._send(q, true)) return false;
    if (queue.chunks.length === 0) this._q = undefined;
    const cbs = queue.cbs;
    if (cbs !== undefined) {
      let k = 0;
      while (k < cbs.length && (cbs[k] as number) <= this._out) {
        (cbs[k + 1] as (error?: Error) => void)();
        k += 2;
      }
      if (k === cbs.length) queue.cbs = undefined;
      else if (k > 0) cbs.splice(0, k);
    }
    return this._q === undefined;
  }

  /** @internal The kernel takes data again. */
  _onDrain(): void {
    if (this._q === undefined || this._f & CLOSED) return;
    if (!this._flush()) return;
    if (this._f & ENDING) this._shut();
    else this._h?.drain();
  }

  end(): void {
    if (this._f & (ENDING | CLOSED)) return;
    this._f |= ENDING;
    if (this._q === undefined) this._shut();
  }

  close(): void {
    if (this._f & CLOSED) return;
    this._f |= CLOSE_AT_END;
    if (this._f & WRITE_SHUT) this._s.end();
    else this.end();
  }

  /** @internal Everything is written after `end()`: FIN, and close if nothing more is read. */
  _shut(): void {
    if (this._f & (WRITE_SHUT | CLOSED)) return;
    this._f |= WRITE_SHUT;
    // Bun's end() closes the socket entirely.
    if (this._f & (READ_EOF | CLOSE_AT_END)) this._s.end();
    else this._s.shutdown(); // shutdown(true) would shut the read side
  }

  destroy(): void {
    if (this._f & CLOSED) return;
    this._f |= CLOSED;
    this._dropQueue();
    const s = this._s;
    if (s.close) s.close();
    else s.end();
  }

  /** @internal Fails what waits to be written. */
  _dropQueue(): void {
    const cbs = this._q?.cbs;
    this._q = undefined;
    this._qBytes = 0;
    if (cbs === undefined) return;
    const err = this._err ?? new Error("socket is closed");
    queueMicrotask(() => {
      for (let k = 1; k < cbs.length; k += 2) (cbs[k] as (error?: Error) => void)(err);
    });
  }

  pause(): void {
    this._s.pause?.();
  }

  resume(): void {
    this._s.resume?.();
  }

  /** @internal */
  _onData(chunk: Uint8Array): void {
    if (this._h === undefined || this._f & REPLAYING) {
      // Rare (a peer that speaks before the server listens): kept as a plain copy of its own.
      (this._early ??= { chunks: [], end: false, close: false }).chunks.push(
        new Uint8Array(chunk),
      );
      return;
    }
    // Large reads: a plain Uint8Array (users get that type on every runtime) of their own.
    if (chunk.length > RECV_COPY_LIMIT) {
      this._h.data(Object.setPrototypeOf(chunk, Uint8Array.prototype));
    } else {
      this._h.data(toSlab(chunk), true);
    }
  }

  /** @internal */
  _onEnd(): void {
    if (this._f & (READ_EOF | CLOSED)) return;
    this._f |= READ_EOF;
    if (this._h === undefined || this._f & REPLAYING) {
      (this._early ??= { chunks: [], end: false, close: false }).end = true;
    } else {
      this._h.end();
    }
    // We had already finished writing: nothing more can happen on this socket.
    if (this._f & WRITE_SHUT && !(this._f & CLOSED)) this._s.end();
  }

  /** @internal */
  _onClose(error?: Error): void {
    const f = this._f;
    if (f & CLOSE_REPORTED) return;
    // Once our side is shut, Bun closes at the peer's FIN without an `end` event: report the EOF
    // (unless the close is our own, from `close()`).
    const eof = error === undefined &&
      (f & (CLOSED | WRITE_SHUT | READ_EOF | CLOSE_AT_END)) === WRITE_SHUT;
    this._f = f | CLOSED | CLOSE_REPORTED | (eof ? READ_EOF : 0);
    if (error && !this._err) this._err = error;
    this._dropQueue();
    if (this._h === undefined || f & REPLAYING) {
      // Reported by the replay (CLOSE_REPORTED stays set: no second report).
      const early = this._early ??= { chunks: [], end: false, close: false };
      if (eof) early.end = true;
      early.close = true;
      return;
    }
    // Bun reports the close from inside end()/close(); a node:net socket reports it later. One
    // microtask reports every close of this turn: no closure per socket.
    if (eof) this._f |= EOF_UNREPORTED;
    if (closing.push(this) === 1) queueMicrotask(reportCloses);
  }

  /** @internal */
  _reportClose(): void {
    const h = this._h!;
    if (this._f & EOF_UNREPORTED) h.end();
    h.closed(this._err);
  }
}

/** Sockets whose close is reported in the next microtask, in the order they closed. */
let closing: BunConn[] = [];

function reportCloses(): void {
  const list = closing;
  closing = [];
  for (let i = 0; i < list.length; i++) {
    try {
      list[i]._reportClose();
    } catch (err) {
      // Surfaces as it would from a microtask of its own, and the other sockets still hear.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/** The handlers of every socket: they find their BunConn in `socket.data`. */
const socketHandler: BunSocketHandler = {
  open(socket) {
    socket.data = new BunConn(socket);
  },
  data(socket, data) {
    socket.data?._onData(data);
  },
  drain(socket) {
    socket.data?._onDrain();
  },
  end(socket) {
    socket.data?._onEnd();
  },
  close(socket, error) {
    socket.data?._onClose(error);
  },
  error(socket, error) {
    const conn = socket.data;
    if (conn && !conn._err) conn._err = error;
  },
};

/** The server side: the same, plus telling the server about each new connection. */
function serverHandler(onConn: (conn: Conn) => void, tls: boolean): BunSocketHandler {
  const handler: BunSocketHandler = {
    ...socketHandler,
    open(socket) {
      const conn = new BunConn(socket);
      socket.data = conn;
      onConn(conn);
    },
  };
  // With a handshake handler, Bun opens a TLS socket when it accepts it, not after the TLS
  // handshake: the server's handshake timeout then also covers a client that never starts one.
  if (tls) handler.handshake = () => {};
  return handler;
}

/**
 * The `Bun.listen`/`Bun.connect` transport (a client's TLS: `node:tls`).
 *
 * @example
 * ```ts
 * const conn = await bunTransport.connect({ hostname: "127.0.0.1", port: 8080 });
 * ```
 */
export const bunTransport: Transport = {
  name: "Bun.listen + node:tls",

  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    try {
      const listener = bun().listen({
        ...bunAddress(options),
        tls: options.tls,
        reusePort: options.reusePort,
        allowHalfOpen: true,
        socket: serverHandler(onConn, options.tls !== undefined),
      });
      const { path } = options;
      return Promise.resolve({
        hostname: path === undefined ? listener.hostname : "",
        port: path === undefined ? listener.port : 0,
        path,
        close: () => listener.stop(false),
      });
    } catch (err) {
      return Promise.reject(err);
    }
  },

  async connect(options: ConnectOptions): Promise<Conn> {
    if (options.tls) return nodeTransport.connect(options);
    const signal = options.signal;
    if (signal?.aborted) throw signal.reason;
    const connecting = bun().connect({
      ...bunAddress(options),
      allowHalfOpen: true,
      socket: socketHandler,
    });
    let socket: BunSocket;
    if (signal) {
      let onAbort!: () => void;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      try {
        socket = await Promise.race([connecting, aborted]);
      } catch (err) {
        // Connected after all, too late: drop it.
        connecting.then((s) => s.data?.destroy(), () => {});
        throw err;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    } else {
      socket = await connecting;
    }
    // `open` ran before the promise resolved; data that came in between waits in the BunConn.
    return socket.data ?? new BunConn(socket);
  },
};
