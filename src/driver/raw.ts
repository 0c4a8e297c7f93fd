/**
 * The raw driver: a raw TCP framing ({@link RawProtocol}: lines, or length-prefixed messages) over
 * a byte stream, with the same events and methods as a WebSocket.
 *
 * @module
 */

import { DEFAULT_MAX_PAYLOAD } from "../protocol/protocol.ts";
import { type RawFraming, RawProtocol } from "../protocol/raw.ts";
import type { Conn } from "../transport/conn.ts";
import { ConnDriver } from "./conn.ts";
import type { DriverSink } from "./driver.ts";

const NO_CHUNKS: readonly Uint8Array[] = [];

/** A raw connection over `conn` with `framing`, reporting to `sink`. */
export class RawDriver extends ConnDriver<RawProtocol> {
  constructor(sink: DriverSink, conn: Conn, framing: RawFraming, maxPayload: number | undefined) {
    super(sink, conn);
    this.proto = new RawProtocol({ framing, maxPayload: maxPayload ?? DEFAULT_MAX_PAYLOAD }, this);
  }

  /** Raw TCP closes cleanly once either side ended it. */
  protected endedCleanly(proto: RawProtocol): boolean {
    return proto.closeSent || proto.closeReceived;
  }

  /** A raw stream has no closing handshake: the peer may still be sending when we end. */
  protected closesAtOnce(): boolean {
    return false;
  }

  /** A frame slab holds WebSocket frames: a raw connection frames the payload by itself. */
  sendRange(_buf: Uint8Array, _start: number, _end: number, payload: string | Uint8Array): void {
    this.proto.sendEncoded(NO_CHUNKS, payload);
  }
}
