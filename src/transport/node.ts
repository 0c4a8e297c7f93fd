/**
 * Transport over `node:net` and `node:tls`, used on Node and Bun.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { concatBytes } from "../protocol/bytes.ts";
import type {
  Conn,
  ConnectOptions,
  ConnHandlers,
  Listener,
  ListenOptions,
  Transport,
} from "./conn.ts";

/** Up to this many bytes, the chunks of one write are joined into one buffer. */
const COALESCE_LIMIT = 16 * 1024;

/** Where a socket keeps its NodeConn, so that one set of listener functions serves every socket. */
const CONN = Symbol("wsdriver.conn");
type Tagged = net.Socket & { [CONN]: NodeConn };

class NodeConn implements Conn {
  #socket: net.Socket;
  #handlers: ConnHandlers | undefined;
  #error: Error | undefined;
  #drainListener = false;
  #destroyed = false;

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
    conn.#handlers?.close(conn.#error);
  }
  static #onDrain(this: Tagged): void {
    this[CONN].#handlers!.drain();
  }

  get bufferedAmount(): number {
    // A destroyed socket keeps its buffer's length, but those bytes will never be written.
    const s = this.#socket;
    return s.destroyed ? 0 : s.writableLength;
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
    if (s.destroyed || s.writableEnded) {
      callback?.(new Error("socket is closed"));
      return;
    }
    // Node versions differ in what a write cut short by destroy() reports: at times no error.
    const cb = callback
      ? (err?: Error | null) =>
        callback(err ?? (this.#destroyed ? new Error("socket is closed") : undefined))
      : undefined;
    const last = chunks.length - 1;
    let ok: boolean;
    if (last === 0) {
      ok = s.write(chunks[0], cb);
    } else {
      let total = 0;
      for (let i = 0; i <= last; i++) total += chunks[i].length;
      if (total <= COALESCE_LIMIT) {
        // Many small frames (a batch of echoes, pongs): one copy into one buffer is cheaper than
        // a writev with a Buffer wrapper and a write request per frame.
        ok = s.write(concatBytes(chunks, total), cb);
      } else {
        s.cork();
        for (let i = 0; i < last; i++) s.write(chunks[i]);
        ok = s.write(chunks[last], cb);
        s.uncork();
      }
    }
    // node:net only emits `drain` after a write returned false: most sockets never need the
    // listener, and each listener makes every socket bigger.
    if (!ok && !this.#drainListener) {
      this.#drainListener = true;
      s.on("drain", NodeConn.#onDrain);
    }
  }

  end(): void {
    // Ending twice makes node:net build an ERR_STREAM_ALREADY_FINISHED error (with its stack).
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  destroy(): void {
    this.#destroyed = true;
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
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
      server.listen(options.port, options.hostname, () => {
        server.off("error", reject);
        // Accept failures (e.g. out of file descriptors) must not take the process down.
        server.on("error", () => {});
        const addr = server.address() as net.AddressInfo;
        resolve({ hostname: addr.address, port: addr.port, close: () => server.close() });
      });
    });
  },

  connect(options: ConnectOptions): Promise<Conn> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(options.signal.reason);
      let socket: net.Socket;
      const event = options.tls ? "secureConnect" : "connect";
      if (options.tls) {
        const t = options.tls === true ? {} : options.tls;
        const servername = net.isIP(options.hostname) ? undefined : options.hostname;
        socket = tls.connect({
          host: options.hostname,
          port: options.port,
          ca: t.ca === undefined ? undefined : [...tls.rootCertificates, ...[t.ca].flat()],
          servername,
          rejectUnauthorized: t.rejectUnauthorized !== false,
          ALPNProtocols: ["http/1.1"],
        });
      } else {
        socket = net.connect({ host: options.hostname, port: options.port, allowHalfOpen: true });
      }
      const onAbort = () => socket.destroy(options.signal?.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("error", (err) => {
        options.signal?.removeEventListener("abort", onAbort);
        reject(err);
      });
      socket.once(event, () => {
        options.signal?.removeEventListener("abort", onAbort);
        socket.removeAllListeners("error");
        resolve(new NodeConn(socket));
      });
    });
  },
};
