/**
 * This side's requests to the peer: their cap, ids and frames, and, while they await the response,
 * the timer and abort listeners that give up on each one.
 *
 * @module
 */

import { encodeRpcFrame, MAX_ID, type RpcData, type RpcSendData } from "./codec.ts";
import { timerDelay } from "./defaults.ts";
import { abortedError, RpcError } from "./errors.ts";
import type { RpcConnection } from "./types.ts";

/** One request awaiting its response. */
interface Pending {
  resolve(data: RpcData): void;
  reject(error: RpcError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The request's own signal and, for `ctx.request`, the responder's, with their listeners. */
  aborts: Array<{ signal: AbortSignal; listener: () => void }>;
}

/** The requests of one `Rpc` that await the peer, by id. */
export class OutgoingRequests {
  #pending = new Map<number, Pending>();
  #nextId = 1;
  readonly #connection: RpcConnection;
  /** Most requests awaited at once. */
  readonly #maxInFlight: number;
  /** Largest frame sent, header included. */
  readonly #maxPayload: number;
  /** Sends a frame, or drops it once the connection can no longer send. */
  readonly #send: (frame: Uint8Array) => void;
  /** Told each time a request leaves: graceful shutdown waits for the table to empty. */
  readonly #settled: () => void;

  constructor(
    connection: RpcConnection,
    maxInFlight: number,
    maxPayload: number,
    send: (frame: Uint8Array) => void,
    settled: () => void,
  ) {
    this.#connection = connection;
    this.#maxInFlight = maxInFlight;
    this.#maxPayload = maxPayload;
    this.#send = send;
    this.#settled = settled;
  }

  /** Requests awaiting their response. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request, which times out after `timeout` ms (0 or Infinity: never) and is cancelled
   * when `signal` or `parent` aborts, and resolves with the response. The session's own state
   * (closed, shutting down) is the caller's to check.
   */
  request(
    data: RpcSendData,
    timeout: number,
    signal: AbortSignal | undefined,
    parent: AbortSignal | undefined,
  ): Promise<RpcData> {
    if (this.#pending.size >= this.#maxInFlight) {
      return Promise.reject(
        new RpcError("RPC_ERR_TOO_MANY", `${this.#maxInFlight} requests are already in flight`),
      );
    }
    const id = this.#allocate();
    let frame: Uint8Array;
    try {
      frame = encodeRpcFrame({ kind: "request", id, data });
    } catch (err) {
      return Promise.reject(err);
    }
    if (frame.length > this.#maxPayload) {
      return Promise.reject(
        new RpcError(
          "RPC_ERR_TOO_BIG",
          `a request frame of ${frame.length} bytes is over the limit of ${this.#maxPayload}`,
        ),
      );
    }
    return new Promise<RpcData>((resolve, reject) => {
      // Registered before sending: a connection may deliver the response synchronously.
      this.#add(id, resolve, reject, timeout, signal, parent);
      try {
        this.#connection.sendBinary(frame);
      } catch (err) {
        this.settle(id)?.reject(
          new RpcError("RPC_ERR_CLOSED", "the request could not be sent", { cause: err }),
        );
      }
    });
  }

  #allocate(): number {
    let id = this.#nextId;
    // Skipping ids still pending keeps ids unique after the counter wraps around.
    while (this.#pending.has(id)) id = id === MAX_ID ? 1 : id + 1;
    this.#nextId = id === MAX_ID ? 1 : id + 1;
    return id;
  }

  #add(
    id: number,
    resolve: (data: RpcData) => void,
    reject: (error: RpcError) => void,
    timeout: number,
    signal: AbortSignal | undefined,
    parent: AbortSignal | undefined,
  ): void {
    const entry: Pending = { resolve, reject, timer: undefined, aborts: [] };
    this.#pending.set(id, entry);
    const delay = timerDelay(timeout);
    if (delay !== undefined) {
      entry.timer = setTimeout(() => {
        this.cancel(id, new RpcError("RPC_ERR_TIMEOUT", `no response within ${timeout} ms`));
      }, delay);
    }
    for (const s of [signal, parent]) {
      if (!s) continue;
      const listener = () => this.cancel(id, abortedError(s));
      s.addEventListener("abort", listener, { once: true });
      entry.aborts.push({ signal: s, listener });
    }
  }

  /** Forgets a pending request and its timer and abort listeners; returns it if it was pending. */
  settle(id: number): Pending | undefined {
    const entry = this.#pending.get(id);
    if (!entry) return undefined;
    this.#pending.delete(id);
    clearTimeout(entry.timer);
    for (const a of entry.aborts) a.signal.removeEventListener("abort", a.listener);
    this.#settled();
    return entry;
  }

  /** Gives up on a request locally and tells the peer, so its responder can stop. */
  cancel(id: number, error: RpcError): void {
    const entry = this.settle(id);
    if (!entry) return;
    entry.reject(error);
    this.#send(encodeRpcFrame({ kind: "cancel", id }));
  }

  /** Fails every pending request with `RPC_ERR_CLOSED` and `message`: the connection is gone. */
  closeAll(message: string): void {
    for (const id of [...this.#pending.keys()]) {
      this.settle(id)?.reject(new RpcError("RPC_ERR_CLOSED", message));
    }
  }
}
