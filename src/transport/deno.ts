/**
 * Transport over `Deno.listen`/`Deno.connect`, used on Deno for plain TCP.
 *
 * @module
 */

import { coalesce, concatBytes } from "../protocol/bytes.ts";
import type {
  Conn,
  ConnectOptions,
  ConnHandlers,
  Listener,
  ListenOptions,
  Transport,
} from "./conn.ts";

/** The slice of the Deno namespace used here, typed locally so the npm build needs no Deno types. */
interface DenoNetConn {
  readonly remoteAddr: { hostname?: string; port?: number };
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}
interface DenoListener {
  readonly addr: { hostname?: string; port?: number };
  accept(): Promise<DenoNetConn>;
  close(): void;
}
interface DenoNamespace {
  listen(o: { hostname: string; port: number } | { transport: "unix"; path: string }): DenoListener;
  connect(
    o: { hostname: string; port: number; signal?: AbortSignal } | {
      transport: "unix";
      path: string;
    },
  ): Promise<DenoNetConn>;
}

function deno(): DenoNamespace {
  return (globalThis as unknown as { Deno: DenoNamespace }).Deno;
}

/**
 * Read buffer sizes: a connection starts small (an idle one holds only this while its read is
 * pending) and doubles its buffer whenever a read fills it, up to the maximum.
 */
const READ_MIN = 512;
const READ_MAX = 64 * 1024;
/** Queued chunks are joined into writes of up to this size, to save async ops. */
const WRITE_BATCH = 256 * 1024;
/**
 * Runs of chunks smaller than this are joined as they are queued. Larger ones are queued as they
 * are: the write loop copies every batch into one buffer anyway, and joining a 64 KiB frame with its
 * header here as well copied each large message twice (64 KiB echo: 0.74x the throughput).
 */
const COALESCE_LIMIT = 16 * 1024;

interface Pending {
  chunk: Uint8Array;
  callback?: (error?: Error) => void;
}

class DenoConn implements Conn {
  #conn: DenoNetConn;
  #handlers: ConnHandlers | undefined;
  #queue: Pending[] = [];
  /** The batch being written. */
  #inflight: Pending[] | undefined;
  #queued = 0;
  #written = 0;
  #writing = false;
  #ending = false;
  /** `close()` was called: once the queue is written, close instead of half-closing. */
  #closeAtEnd = false;
  /** `closeWrite` was called. */
  #writeClosed = false;
  /** `closeWrite` is done: our FIN (and TLS close_notify) went out. */
  #writeShut = false;
  #readClosed = false;
  #closed = false;
  #paused = false;
  #resume: (() => void) | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(conn: DenoNetConn) {
    this.#conn = conn;
    this.remoteAddress = conn.remoteAddr.hostname ?? "";
    this.remotePort = conn.remoteAddr.port ?? 0;
    try {
      conn.setNoDelay?.(true);
    } catch {
      // TLS connections do not expose the option on every Deno version.
    }
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  get written(): number {
    return this.#written;
  }

  setHandlers(handlers: ConnHandlers): void {
    const first = this.#handlers === undefined;
    this.#handlers = handlers;
    if (first) this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(READ_MIN);
    try {
      while (!this.#closed) {
        if (this.#paused) await new Promise<void>((r) => (this.#resume = r));
        const n = await this.#conn.read(buf);
        if (n === null) break;
        if (this.#closed) return;
        let chunk: Uint8Array;
        if (n * 2 >= buf.length) {
          // A mostly full buffer is handed over as is; the next read gets a new (larger) one.
          chunk = buf.subarray(0, n);
          buf = new Uint8Array(n === buf.length ? Math.min(buf.length * 2, READ_MAX) : buf.length);
        } else {
          chunk = buf.slice(0, n);
        }
        // Paused while this read was under way: its bytes wait for resume.
        if (this.#paused) await new Promise<void>((r) => (this.#resume = r));
        if (this.#closed) return;
        this.#handlers!.data(chunk);
      }
    } catch (err) {
      return this.#close(err as Error);
    }
    if (this.#closed) return;
    this.#readClosed = true;
    this.#handlers!.end();
    if (this.#writeClosed) this.#close();
  }

  write(chunks: readonly Uint8Array[], callback?: (error?: Error) => void): void {
    if (this.#closed || this.#ending) {
      callback?.(new Error("socket is closed"));
      return;
    }
    // Small frames joined: a queue entry per 2-byte pong would cost far more than its bytes.
    const parts = chunks.length > 1 ? coalesce(chunks, COALESCE_LIMIT) : chunks;
    const last = parts.length - 1;
    for (let i = 0; i <= last; i++) {
      this.#queue.push({ chunk: parts[i], callback: i === last ? callback : undefined });
      this.#queued += parts[i].length;
    }
    if (!this.#writing) this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0 && !this.#closed) {
      let take = 0, bytes = 0;
      while (
        take < this.#queue.length &&
        (take === 0 || bytes + this.#queue[take].chunk.length <= WRITE_BATCH)
      ) {
        bytes += this.#queue[take++].chunk.length;
      }
      const batch = this.#queue.splice(0, take);
      this.#inflight = batch;
      const data = concatBytes(batch.map((p) => p.chunk), bytes);
      try {
        for (let off = 0; off < data.length;) {
          const n = await this.#conn.write(data.subarray(off));
          off += n;
          this.#written += n;
        }
      } catch (err) {
        if (this.#closed) return; // destroy() failed the batch already
        this.#inflight = undefined;
        for (const p of batch) p.callback?.(err as Error);
        return this.#close(err as Error);
      }
      if (this.#closed) return;
      this.#inflight = undefined;
      this.#queued -= bytes;
      for (const p of batch) p.callback?.();
    }
    this.#writing = false;
    if (this.#closed) return;
    if (this.#ending) return this.#shutdownWrite();
    this.#handlers?.drain();
  }

  async #shutdownWrite(): Promise<void> {
    if (this.#writeClosed) return;
    this.#writeClosed = true;
    try {
      await this.#conn.closeWrite();
    } catch {
      // The peer may already be gone; the read side reports how it ended.
    }
    this.#writeShut = true;
    if (this.#readClosed || this.#closeAtEnd) this.#close();
  }

  end(): void {
    if (this.#ending || this.#closed) return;
    this.#ending = true;
    if (!this.#writing) this.#shutdownWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closeAtEnd = true;
    if (this.#writeShut) this.#close();
    else this.end();
  }

  destroy(): void {
    this.#close();
  }

  #close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime.
    }
    this.#resume?.();
    // A write under way when the socket is closed may never settle: fail it now.
    const failed = this.#inflight ? [...this.#inflight, ...this.#queue] : this.#queue;
    this.#inflight = undefined;
    for (const p of failed) p.callback?.(new Error("socket is closed"));
    this.#queue = [];
    this.#queued = 0;
    this.#handlers?.closed(error);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const r = this.#resume;
    this.#resume = undefined;
    r?.();
  }
}

/**
 * The Deno-native transport.
 *
 * @example
 * ```ts
 * const conn = await denoTransport.connect({ hostname: "127.0.0.1", port: 8080 });
 * ```
 */
export const denoTransport: Transport = {
  name: "Deno.listen",

  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    if (options.tls) return Promise.reject(new TypeError("denoTransport speaks plain TCP only"));
    const { path } = options;
    const listener = deno().listen(
      path === undefined
        ? { hostname: options.hostname, port: options.port }
        : { transport: "unix", path },
    );
    let open = true;
    (async () => {
      while (open) {
        let conn: DenoNetConn;
        try {
          conn = await listener.accept();
        } catch {
          if (!open) return;
          // Transient accept failures (e.g. out of file descriptors) must not stop the server.
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        onConn(new DenoConn(conn));
      }
    })();
    return Promise.resolve({
      hostname: path === undefined ? listener.addr.hostname ?? options.hostname : "",
      port: path === undefined ? listener.addr.port ?? options.port : 0,
      path,
      close: () => {
        open = false;
        listener.close();
      },
    });
  },

  async connect(options: ConnectOptions): Promise<Conn> {
    if (options.tls) throw new TypeError("denoTransport speaks plain TCP only");
    options.signal?.throwIfAborted();
    const { hostname, port, path, signal } = options;
    // Deno.connect takes no signal for unix sockets; a local connect does not wait long.
    if (path !== undefined) return new DenoConn(await deno().connect({ transport: "unix", path }));
    return new DenoConn(await deno().connect({ hostname, port, signal }));
  },
};
