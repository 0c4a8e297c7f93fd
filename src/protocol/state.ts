/**
 * What every wire protocol keeps besides its framing: where the connection is in its close, and
 * the bytes queued for the transport. Shared by the WebSocket `Protocol` and `RawProtocol`.
 *
 * @module
 */

import { CloseCode } from "./close.ts";

/** Protocol-level connection state; `connecting` lives in the handshake layer above. */
export type ProtocolState = "open" | "closing" | "closed";

/**
 * Close bookkeeping and the output queue.
 *
 * @example
 * ```ts
 * class Echo extends WireState {
 *   receive(chunk: Uint8Array) {
 *     this._push(chunk);
 *   }
 * }
 * ```
 */
export abstract class WireState {
  /** @internal */
  protected _state: ProtocolState = "open";
  /** @internal */
  protected _closeSent = false;
  /** @internal */
  protected _closeReceived = false;
  /** @internal */
  protected _failed = false;
  /** @internal */
  protected _closeCode: number = CloseCode.Abnormal;
  /** @internal */
  protected _closeReason = "";
  /** @internal */
  protected _out: Uint8Array[] | undefined;
  /** @internal */
  protected _outBytes = 0;
  /** A run of contiguous output bytes in a shared buffer, not yet cut out as a view. */
  #runBuf: Uint8Array | undefined;
  #runStart = 0;
  #runEnd = 0;

  /** `open`, `closing` (we sent a close) or `closed` (closed both ways, or failed). */
  get state(): ProtocolState {
    return this._state;
  }
  /** We sent (or queued) a close. */
  get closeSent(): boolean {
    return this._closeSent;
  }
  /** The peer closed. */
  get closeReceived(): boolean {
    return this._closeReceived;
  }
  /** The connection was failed because the peer broke the protocol or a limit. */
  get failed(): boolean {
    return this._failed;
  }
  /** The peer's close code (1005 if it sent none), the code we failed with, or 1006. */
  get closeCode(): number {
    return this._closeCode;
  }
  /** The peer's close reason, if any. */
  get closeReason(): string {
    return this._closeReason;
  }
  /** Number of bytes queued and not yet taken. */
  get outputBytes(): number {
    return this._outBytes;
  }

  /** Bytes queued for the transport, and clears the queue. */
  takeOutput(): Uint8Array[] {
    this.#endRun();
    const out = this._out ?? [];
    this._out = undefined;
    this._outBytes = 0;
    return out;
  }

  /** @internal Queues bytes for the transport. */
  protected _push(chunk: Uint8Array): void {
    this.#endRun();
    (this._out ??= []).push(chunk);
    this._outBytes += chunk.length;
  }

  /**
   * @internal Queues `buf[start..end]`, which nothing will overwrite (see `frameSlab`); ranges that follow
   * each other in one buffer are written as one chunk.
   */
  protected _pushRange(buf: Uint8Array, start: number, end: number): void {
    this._outBytes += end - start;
    if (buf === this.#runBuf && start === this.#runEnd) {
      this.#runEnd = end;
      return;
    }
    this.#endRun();
    this.#runBuf = buf;
    this.#runStart = start;
    this.#runEnd = end;
  }

  #endRun(): void {
    const buf = this.#runBuf;
    if (buf === undefined) return;
    this.#runBuf = undefined;
    (this._out ??= []).push(buf.subarray(this.#runStart, this.#runEnd));
  }
}
