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
  protected _state: ProtocolState = "open";
  protected _closeSent = false;
  protected _closeReceived = false;
  protected _failed = false;
  protected _closeCode: number = CloseCode.Abnormal;
  protected _closeReason = "";
  protected _out: Uint8Array[] = [];
  protected _outBytes = 0;

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
    const out = this._out;
    this._out = [];
    this._outBytes = 0;
    return out;
  }

  /** Queues bytes for the transport. */
  protected _push(chunk: Uint8Array): void {
    this._out.push(chunk);
    this._outBytes += chunk.length;
  }
}
