/**
 * The connection-driver interface: what a {@link WS} sends through, and how the driver reports
 * back. Three drivers implement it, each in its own file: `wire.ts` (the WebSocket protocol over a
 * byte stream), `raw.ts` (raw TCP framing over a byte stream) and `native.ts` (a runtime's own
 * upgraded WebSocket). The socket itself keeps the connection's state and its one close path.
 *
 * @module
 */

import type { ProtocolError } from "../errors.ts";
import type { SendCallback } from "../socket_types.ts";

/** A reason to stop reading, one bit each: reading goes on once no reason holds. */
export const PAUSE_USER = 1;
/** A rate limit paused reading until the budget refills. */
export const PAUSE_THROTTLE = 2;

/** What a socket sends through. Every method may assume the socket is open or closing. */
export interface Driver {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes sent and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Bytes handed to the operating system so far: the closing handshake's progress (0: unknown). */
  readonly written: number;
  /** `compress`: force (true) or skip (false) permessage-deflate; by default, by size. */
  sendText(text: string, compress?: boolean): void;
  sendBinary(data: Uint8Array, compress?: boolean): void;
  sendFragment(data: Uint8Array, isBinary: boolean, fin: boolean): void;
  sendPing(payload?: Uint8Array): void;
  sendPong(payload?: Uint8Array): void;
  /** A frame encoded once for many sockets, and its payload for drivers that frame by themselves. */
  sendEncoded(chunks: readonly Uint8Array[], payload: string | Uint8Array): void;
  /** A frame encoded once for many sockets into `buf[start..end]` (see `Protocol.sendRange`). */
  sendRange(buf: Uint8Array, start: number, end: number, payload: string | Uint8Array): void;
  /** Starts the closing handshake (`code` undefined: a close frame without a status code). */
  sendClose(code: number | undefined, reason: string): void;
  /** Drops the connection at once; `DriverSink._closed` follows. */
  terminate(): void;
  /**
   * What was just sent goes out at the end of the turn (or of the chunk being read), in one write
   * with everything else sent meanwhile; `callback` runs once it is written.
   */
  flush(callback?: SendCallback): void;
  /** Writes this turn's output now if it is large (see `WS._overHighWaterMark`). */
  flushLarge(): void;
  /** Stops reading for `reason` (a `PAUSE_*` bit); a driver that cannot pause ignores it. */
  pause(reason: number): void;
  /** `reason` no longer holds reading back. */
  resume(reason: number): void;
  /** The socket is open and its handler ran: `rest`, what followed the handshake, is read now. */
  start(rest?: Uint8Array): void;
  /** The socket closed: send callbacks still waiting for a write fail (`WS_ERR_NOT_OPEN`). */
  abandon(): void;
}

/** What a driver reports to its socket: one small interface, implemented by `WS`. */
export interface DriverSink {
  /** Outgoing bytes above which the driver stops reading until they drain. */
  readonly highWaterMark: number;
  /** Bytes handed to the transport (frames with their headers). */
  _bytesOut: number;
  /** Whether to count `_bytesOut` (not on a server with `stats: false`). */
  readonly _counting: boolean;
  /** `bytes` arrived from the peer (0: a control frame of a driver that does not count bytes). */
  _received(bytes: number): void;
  _message(data: string | Uint8Array, isBinary: boolean): void;
  _control(kind: "ping" | "pong", payload: Uint8Array): void;
  /** The peer's close frame arrived, or the protocol failed (with `error`). */
  _closing(error?: ProtocolError): void;
  /** The outgoing buffer drained. */
  _drain(): void;
  /** Reading stopped because the outgoing buffer is over the high-water mark. */
  _backpressure(): void;
  /** The connection is gone: how it ended. Nothing follows. */
  _closed(code: number, reason: string, wasClean: boolean): void;
}
