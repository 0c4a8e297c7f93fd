/**
 * The native driver: a socket that another WebSocket implementation (Deno's, Bun's, a browser's)
 * already upgraded. It frames and writes by itself; the adapters in `src/adapters/` report its
 * events here.
 *
 * @module
 */

import type { SendCallback } from "../socket_types.ts";
import type { Driver, DriverSink } from "./driver.ts";
import { type Flushable, queueFlush, settle } from "./flush.ts";

/** What an adapter makes of a runtime's socket. */
export interface NativeSocket {
  sendText(text: string, compress?: boolean): void;
  sendBinary(data: Uint8Array, compress?: boolean): void;
  sendFragment(data: Uint8Array, isBinary: boolean, fin: boolean): void;
  ping(payload?: Uint8Array): void;
  pong(payload?: Uint8Array): void;
  /** A frame encoded once for many sockets: a native socket sends `payload` instead. */
  sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  readonly bufferedAmount: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

const NO_CHUNKS: readonly Uint8Array[] = [];

/** A runtime's socket, driven through the {@link Driver} interface. */
export class NativeDriver implements Driver, Flushable {
  #sink: DriverSink;
  #socket: NativeSocket;
  #flushQueued = false;
  /** Send callbacks, as `settle` takes them: the data is handed over, they run at the turn's end. */
  #callbacks: Array<number | SendCallback> | undefined;

  constructor(sink: DriverSink, socket: NativeSocket) {
    this.#sink = sink;
    this.#socket = socket;
  }

  get remoteAddress(): string {
    return this.#socket.remoteAddress;
  }

  get remotePort(): number {
    return this.#socket.remotePort;
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /** A native socket does not say what it wrote: the closing handshake gets `closeTimeout` flat. */
  get written(): number {
    return 0;
  }

  sendText(text: string, compress?: boolean): void {
    this.#socket.sendText(text, compress);
  }

  sendBinary(data: Uint8Array, compress?: boolean): void {
    this.#socket.sendBinary(data, compress);
  }

  sendFragment(data: Uint8Array, isBinary: boolean, fin: boolean): void {
    this.#socket.sendFragment(data, isBinary, fin);
  }

  sendPing(payload?: Uint8Array): void {
    this.#socket.ping(payload);
  }

  sendPong(payload?: Uint8Array): void {
    this.#socket.pong(payload);
  }

  sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): void {
    this.#socket.sendEncoded(chunks, payload);
  }

  sendRange(_buf: Uint8Array, _start: number, _end: number, payload: string | Uint8Array): void {
    this.#socket.sendEncoded(NO_CHUNKS, payload);
  }

  sendClose(code: number | undefined, reason: string): void {
    this.#socket.close(code, reason);
  }

  terminate(): void {
    this.#socket.terminate();
  }

  flush(callback?: SendCallback): void {
    if (callback) (this.#callbacks ??= []).push(0, callback);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueFlush(this);
  }

  flushLarge(): void {}

  /** The data was handed over already: the callbacks succeed. */
  _flushNow(): void {
    this.#flushQueued = false;
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    if (callbacks) settle(callbacks);
  }

  /** A native socket cannot stop reading. */
  pause(): void {}

  resume(): void {}

  start(): void {}

  /** What was handed over may still go out: the callbacks run at the turn's end as usual. */
  abandon(): void {}

  /** A message arrived. */
  message(data: string | Uint8Array, isBinary: boolean): void {
    this.#sink._received(data.length);
    this.#sink._message(data, isBinary);
  }

  /** A ping or pong arrived. */
  control(kind: "ping" | "pong", payload: Uint8Array): void {
    this.#sink._received(0);
    this.#sink._control(kind, payload);
  }

  /** The socket's buffer drained. */
  drain(): void {
    this.#sink._drain();
  }

  /** The socket closed. */
  closed(code: number, reason: string, wasClean: boolean): void {
    this.#sink._closed(code, reason, wasClean);
  }
}
