/**
 * Transport over `node:net` and `node:tls`, used on Node and Bun.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { coalesce, concatBytes } from "../protocol/bytes.ts";
import type {
  ClientTls,
  Conn,
  ConnectOptions,
  ConnHandlers,
  Listener,
  ListenOptions,
  Transport,
} from "./conn.ts";

/** Up to this many bytes, the chunks of one write are joined into one buffer. */
const COALESCE_LIMIT = 16 * 1024;

/**
 * Deno's node:net writes a writev (cork) asynchronously, even when the kernel would take it all at
 * once: the bytes then count as buffered until the next turn, and a broadcast burst takes fast
 * subscribers for slow ones. There, a write's chunks (at most {@link PIECE} bytes) are joined.
 */
const JOIN_WRITEV = (globalThis as { Deno?: unknown }).Deno !== undefined;

/** Where a socket keeps its NodeConn, so that one set of listener functions serves every socket. */
const CONN = Symbol("wsdriver.conn");
type Tagged = net.Socket & { [CONN]: NodeConn };

/** node:net's own bookkeeping of a socket's writes (Node has both; Deno and Bun neither). */
type WriteInternals = net.Socket & {
  _bytesDispatched?: number;
  _handle?: { writeQueueSize?: number } | null;
};

/**
 * Largest write handed to node:net while a socket is backed up. node:net joins everything written
 * meanwhile into one request that completes only once all of it is out; in pieces, what went out
 * shows (`written`) while a slow peer reads, and the send buffer holds bytes, not a queue entry
 * per write.
 */
const PIECE = 256 * 1024;

type WriteCallback = (error?: Error) => void;

/** Writes held back while the socket is backed up. */
interface Backlog {
  chunks: Uint8Array[];
  bytes: number;
  /** Bytes ever put in: a running total, for the callback marks. */
  in: number;
  /** Bytes handed to the socket so far. */
  out: number;
  /** Pairs of (mark, callback): a callback runs once the piece that ends past its mark is written. */
  cbs: Array<number | WriteCallback>;
  /** `end()` was called: FIN once the backlog is written. */
  ending: boolean;
}

function newBacklog(): Backlog {
  return { chunks: [], bytes: 0, in: 0, out: 0, cbs: [], ending: false };
}

// Bits of `NodeConn.#flags`: one small integer instead of a field per flag, on every idle socket.
/** The `drain` listener is installed. */
const DRAIN_LISTENER = 1;
/** `destroy()` was called. */
const DESTROYED = 2;
/** `close()` was called: destroyed once `end()` has sent everything and the FIN. */
const CLOSE_AT_END = 4;

class NodeConn implements Conn {
  #socket: net.Socket;
  #handlers: ConnHandlers | undefined;
  #error: Error | undefined;
  /** `DRAIN_LISTENER`, `DESTROYED`. */
  #flags = 0;
  /** Writes held back since node:net said it was full (see {@link PIECE}). */
  #backlog: Backlog | undefined;
  /** The largest {@link written} seen: the socket's own figures are gone once it is destroyed. */
  #written = 0;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    (socket as Tagged)[CONN] = this;
    socket.setNoDelay(true);
    // Data, end and drain listeners come with the handlers: until then the socket does not flow.
    socket.on("error", NodeConn.#onError);
    socket.on("close", NodeConn.#onClose);
  }

  // Read on demand: each is a system call, and an idle socket should not hold the strings.
  get remoteAddress(): string {
    return this.#socket.remoteAddress ?? "";
  }

  get remotePort(): number {
    return this.#socket.remotePort ?? 0;
  }

  // Shared listeners (node:events calls them with the socket as `this`): no closures per socket.
  static #onData(this: Tagged, buf: Uint8Array): void {
    // A plain Uint8Array view (no copy): users get the same type on every runtime.
    this[CONN].#handlers!.data(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  }
  static #onEnd(this: Tagged): void {
    this[CONN].#handlers!.end();
  }
  static #onError(this: Tagged, err: Error): void {
    this[CONN].#error = err;
  }
  static #onClose(this: Tagged): void {
    const conn = this[CONN];
    conn.#handlers?.closed(conn.#error);
  }
  static #onFinish(this: Tagged): void {
    this[CONN].destroy();
  }
  static #onDrain(this: Tagged): void {
    const conn = this[CONN];
    if (conn.#pump()) conn.#handlers?.drain();
  }

  /** Hands the backlog over piece by piece while node:net takes it; true once it is all out. */
  #pump(): boolean {
    const b = this.#backlog;
    if (b === undefined) return true;
    const s = this.#socket;
    while (b.bytes > 0) {
      if (s.destroyed) return false;
      let piece = b.chunks[0];
      if (piece.length > PIECE) {
        b.chunks[0] = piece.subarray(PIECE);
        piece = piece.subarray(0, PIECE);
      } else {
        let n = 1, total = piece.length;
        while (n < b.chunks.length && total + b.chunks[n].length <= PIECE) {
          total += b.chunks[n++].length;
        }
        piece = n === 1 ? piece : concatBytes(b.chunks.slice(0, n), total);
        b.chunks.splice(0, n);
      }
      b.bytes -= piece.length;
      b.out += piece.length;
      const mark = b.out;
      // Written at once (node:net said "full" before it tried): on to the next piece.
      if (!s.write(piece, (err) => this.#settle(b, mark, err)) && s.writableLength > 0) {
        return false;
      }
    }
    this.#backlog = undefined;
    if (b.ending) this.end();
    return true;
  }

  /** A piece ending at `mark` was written (or failed): its callbacks run. */
  #settle(b: Backlog, mark: number, err?: Error | null): void {
    const error = err ?? (this.#flags & DESTROYED ? new Error("socket is closed") : undefined);
    const cbs = b.cbs;
    let k = 0;
    while (k < cbs.length && (cbs[k] as number) <= mark) {
      (cbs[k + 1] as WriteCallback)(error);
      k += 2;
    }
    if (k > 0) cbs.splice(0, k);
  }

  get bufferedAmount(): number {
    // A destroyed socket keeps its buffer's length, but those bytes will never be written.
    const s = this.#socket;
    return s.destroyed ? 0 : s.writableLength + (this.#backlog?.bytes ?? 0);
  }

  get written(): number {
    return this.#measure();
  }

  #measure(): number {
    const s = this.#socket as WriteInternals;
    // Node's stream handle knows how much of the write under way is still its own; elsewhere only
    // completed writes count.
    const held = s._handle?.writeQueueSize;
    const w = held !== undefined && s._bytesDispatched !== undefined
      ? s._bytesDispatched - held
      : (s.bytesWritten ?? 0) - s.writableLength;
    if (w > this.#written) this.#written = w;
    return this.#written;
  }

  setHandlers(handlers: ConnHandlers): void {
    const first = this.#handlers === undefined;
    this.#handlers = handlers;
    if (!first) return;
    const s = this.#socket;
    s.on("end", NodeConn.#onEnd);
    s.on("data", NodeConn.#onData);
  }

  write(chunks: readonly Uint8Array[], callback?: (error?: Error) => void): void {
    const s = this.#socket;
    const b = this.#backlog;
    if (s.destroyed || s.writableEnded || b?.ending) {
      callback?.(new Error("socket is closed"));
      return;
    }
    if (b !== undefined) return this.#hold(b, chunks, callback);
    // Node versions differ in what a write cut short by destroy() reports: at times no error.
    const cb = callback
      ? (err?: Error | null) =>
        callback(err ?? (this.#flags & DESTROYED ? new Error("socket is closed") : undefined))
      : undefined;
    const last = chunks.length - 1;
    let total = 0;
    for (let i = 0; i <= last; i++) total += chunks[i].length;
    if (total > PIECE) {
      // A burst: handed over in pieces, so that progress shows while a slow peer reads it.
      this.#hold(this.#backlog = newBacklog(), chunks, callback);
      if (!this.#pump()) this.#listenDrain();
      return;
    }
    let ok: boolean;
    if (last === 0) {
      ok = s.write(chunks[0], cb);
    } else {
      if (total <= COALESCE_LIMIT || JOIN_WRITEV) {
        // Many small frames (a batch of echoes, pongs): one copy into one buffer is cheaper than
        // a writev with a Buffer wrapper and a write request per frame.
        ok = s.write(concatBytes(chunks, total), cb);
      } else {
        const parts = coalesce(chunks, COALESCE_LIMIT);
        const end = parts.length - 1;
        s.cork();
        for (let i = 0; i < end; i++) s.write(parts[i]);
        ok = s.write(parts[end], cb);
        s.uncork();
      }
    }
    // node:net only emits `drain` after a write returned false: most sockets never need the
    // listener, and each listener makes every socket bigger.
    // node:net says "full" for any write over its own high-water mark, even one the kernel took
    // at once: only bytes it still holds make a backlog.
    if (!ok && s.writableLength > 0) {
      this.#backlog = newBacklog();
      this.#listenDrain();
    }
  }

  #listenDrain(): void {
    if (this.#flags & DRAIN_LISTENER) return;
    this.#flags |= DRAIN_LISTENER;
    this.#socket.on("drain", NodeConn.#onDrain);
  }

  /** Adds a write to the backlog. */
  #hold(b: Backlog, chunks: readonly Uint8Array[], callback?: WriteCallback): void {
    const parts = chunks.length > 1 ? coalesce(chunks, COALESCE_LIMIT) : chunks;
    for (const c of parts) {
      if (c.length === 0) continue;
      b.chunks.push(c);
      b.bytes += c.length;
      b.in += c.length;
    }
    if (callback) b.cbs.push(b.in, callback);
  }

  end(): void {
    if (this.#backlog !== undefined) {
      this.#backlog.ending = true;
      return;
    }
    // Ending twice makes node:net build an ERR_STREAM_ALREADY_FINISHED error (with its stack).
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  close(): void {
    if (this.#flags & (CLOSE_AT_END | DESTROYED)) return;
    this.#flags |= CLOSE_AT_END;
    const s = this.#socket;
    // Everything written is the kernel's already: closing the socket sends it, then the FIN, as
    // shutting the write side first would. Skipping node:net's end (a shutdown request, `finish`
    // one turn later) took a Node handshake from 95-105 to 75-89 µs of server CPU (6 pairs). TLS
    // ends properly: its close_notify, and output the TLS layer may still hold.
    if (
      s.writableFinished ||
      (s.writableLength === 0 && this.#backlog === undefined && !(s as tls.TLSSocket).encrypted)
    ) return this.destroy();
    // Else destroyed at `finish`, when node:net wrote everything and shut the write side: reading
    // the peer's EOF first would cost a wake-up and a read for nothing. `on`, not `once`: a stream
    // finishes once, and `once` wraps the listener in a closure.
    s.on("finish", NodeConn.#onFinish);
    this.end();
  }

  destroy(): void {
    this.#measure(); // the last figures, before destroy() clears them
    this.#flags |= DESTROYED;
    const b = this.#backlog;
    this.#backlog = undefined;
    if (b !== undefined) {
      // Never handed over: fails now (pieces under way fail with the socket).
      const cbs = b.cbs, k = cbs.findIndex((x, i) => i % 2 === 0 && (x as number) > b.out);
      if (k >= 0) {
        const failed = cbs.splice(k);
        const err = new Error("socket is closed");
        queueMicrotask(() => {
          for (let i = 1; i < failed.length; i += 2) (failed[i] as WriteCallback)(err);
        });
      }
    }
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  /** @internal Stops reporting and hands over the paused socket (see {@link startTls}). */
  _detach(): net.Socket {
    const s = this.#socket;
    s.pause();
    s.off("data", NodeConn.#onData);
    s.off("end", NodeConn.#onEnd);
    s.off("error", NodeConn.#onError);
    s.off("close", NodeConn.#onClose);
    s.off("drain", NodeConn.#onDrain);
    this.#handlers = undefined;
    return s;
  }

  resume(): void {
    this.#socket.resume();
  }
}

/**
 * Wraps a socket that a `node:http` server handed over in its `upgrade` event.
 *
 * @example
 * ```ts
 * http.on("upgrade", (req, socket) => useConn(nodeConnFromSocket(socket)));
 * ```
 */
export function nodeConnFromSocket(socket: unknown): Conn {
  return new NodeConn(socket as net.Socket);
}

/** Client TLS options for `node:tls`: extra CAs add to the built-in ones, SNI for host names. */
function tlsOptions(hostname: string, options: ClientTls | true): tls.ConnectionOptions {
  const t = options === true ? {} : options;
  return {
    ca: t.ca === undefined ? undefined : [...tls.rootCertificates, ...[t.ca].flat()],
    servername: net.isIP(hostname) ? undefined : hostname,
    rejectUnauthorized: t.rejectUnauthorized !== false,
    ALPNProtocols: ["http/1.1"],
  };
}

/**
 * Starts TLS to `hostname` over `conn`, a plain connection of {@link nodeTransport} that nothing
 * reads any more (e.g. a proxy tunnel); resolves once the TLS handshake is done.
 *
 * @example
 * ```ts
 * const tunnel = await nodeTransport.connect({ hostname: "127.0.0.1", port: 3128 });
 * // ... CONNECT example.com:443 through it ...
 * const conn = await startTls(tunnel, "example.com", true);
 * ```
 */
export function startTls(
  conn: Conn,
  hostname: string,
  options: ClientTls | true,
  signal?: AbortSignal,
): Promise<Conn> {
  if (!(conn instanceof NodeConn)) {
    return Promise.reject(new TypeError("startTls needs a node:net connection"));
  }
  const socket = tls.connect({ ...tlsOptions(hostname, options), socket: conn._detach() });
  return settleConnect(socket, "secureConnect", signal);
}

/** Resolves with the connection once `socket` emits `event`; rejects on error or abort. */
function settleConnect(socket: net.Socket, event: string, signal?: AbortSignal): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const onAbort = () => socket.destroy(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", (err) => {
      signal?.removeEventListener("abort", onAbort);
      reject(err);
    });
    socket.once(event, () => {
      signal?.removeEventListener("abort", onAbort);
      socket.removeAllListeners("error");
      resolve(new NodeConn(socket));
    });
  });
}

/**
 * The `node:net`/`node:tls` transport.
 *
 * @example
 * ```ts
 * const conn = await nodeTransport.connect({ hostname: "127.0.0.1", port: 8080 });
 * ```
 */
export const nodeTransport: Transport = {
  name: "node:net",

  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    const onSocket = (socket: net.Socket) => onConn(new NodeConn(socket));
    // Half-open allowed: the peer's EOF is reported, and the layer above decides when to end.
    const server = options.tls
      ? tls.createServer({
        cert: options.tls.cert,
        key: options.tls.key,
        ALPNProtocols: ["http/1.1"],
        handshakeTimeout: options.handshakeTimeout,
        allowHalfOpen: true,
      }, onSocket)
      : net.createServer({ allowHalfOpen: true }, onSocket);
    // A failed TLS handshake is the peer's problem, not the server's.
    server.on("tlsClientError", (_err: Error, socket: net.Socket) => socket.destroy());
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const listening = () => {
        server.off("error", reject);
        // Accept failures (e.g. out of file descriptors) must not take the process down.
        server.on("error", () => {});
        const close = () => server.close();
        if (options.path !== undefined) {
          return resolve({ hostname: "", port: 0, path: options.path, close });
        }
        const addr = server.address() as net.AddressInfo;
        resolve({ hostname: addr.address, port: addr.port, close });
      };
      if (options.path !== undefined) server.listen(options.path, listening);
      else {
        const { port, hostname: host, reusePort } = options;
        server.listen({ port, host, reusePort }, listening);
      }
    });
  },

  connect(options: ConnectOptions): Promise<Conn> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    let socket: net.Socket;
    if (options.tls) {
      socket = tls.connect({
        host: options.hostname,
        port: options.port,
        ...tlsOptions(options.hostname, options.tls),
      });
    } else if (options.path !== undefined) {
      socket = net.connect({ path: options.path, allowHalfOpen: true });
    } else {
      socket = net.connect({ host: options.hostname, port: options.port, allowHalfOpen: true });
    }
    return settleConnect(socket, options.tls ? "secureConnect" : "connect", options.signal);
  },
};
