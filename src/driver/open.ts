/**
 * Which driver a socket over a byte stream gets: the raw one for a raw TCP connection, else the
 * wire one, with the settings the socket was made with.
 *
 * @module
 */

import type { PerMessageDeflate } from "../protocol/deflate.ts";
import type { Side } from "../protocol/protocol.ts";
import type { RawFraming } from "../protocol/raw.ts";
import type { Conn } from "../transport/conn.ts";
import type { Driver, DriverSink } from "./driver.ts";
import { RawDriver } from "./raw.ts";
import { WireDriver } from "./wire.ts";

/** What the choice reads from the socket (a `WS`). */
export interface StreamSocket extends DriverSink {
  readonly side: Side;
  readonly maxPayload: number | undefined;
  readonly framing: RawFraming | undefined;
  readonly _deflate: PerMessageDeflate | undefined;
}

/**
 * The driver for `ws` over `conn`, once its handshake is done. It is `conn`'s handler from now on;
 * what followed the handshake goes to its `start`.
 */
export function connDriver(ws: StreamSocket, conn: Conn): Driver {
  const framing = ws.framing;
  if (framing !== undefined) return new RawDriver(ws, conn, framing, ws.maxPayload);
  return new WireDriver(
    ws,
    conn,
    { side: ws.side, maxPayload: ws.maxPayload, deflate: ws._deflate },
  );
}
