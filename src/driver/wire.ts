/**
 * The wire driver: the WebSocket protocol ({@link Protocol}, permessage-deflate included) over a
 * byte stream.
 *
 * @module
 */

import { Protocol, type ProtocolOptions } from "../protocol/protocol.ts";
import type { Conn } from "../transport/conn.ts";
import { ConnDriver } from "./conn.ts";
import type { DriverSink } from "./driver.ts";

/** A WebSocket connection over `conn`, reporting to `sink`. */
export class WireDriver extends ConnDriver<Protocol> {
  constructor(sink: DriverSink, conn: Conn, options: ProtocolOptions) {
    super(sink, conn);
    this.proto = new Protocol(options, this);
  }

  /** WebSocket closes cleanly after both close frames. */
  protected endedCleanly(proto: Protocol): boolean {
    return proto.closeSent && proto.closeReceived;
  }

  /** RFC 6455 §5.5.1: after the closing handshake, the server closes TCP immediately. */
  protected closesAtOnce(proto: Protocol): boolean {
    return proto.closeSent && proto.closeReceived && !proto.failed;
  }

  sendRange(buf: Uint8Array, start: number, end: number): void {
    this.proto.sendRange(buf, start, end);
  }
}
