/**
 * What a {@link Protocol} keeps of the frame and the message it is receiving: made with its frame
 * parser on the first bytes received, so that an idle connection holds none of it.
 *
 * @module
 */

import { FrameParser, type FrameSink } from "./frame.ts";
import type { Utf8Validator } from "./utf8.ts";

/** The receiving side of one connection: its parser, and the message in progress. */
export class Incoming {
  readonly parser: FrameParser;
  /** Opcode of the frame being parsed. */
  frameOpcode = 0;
  frameFin = false;
  /** Opcode of the data message in progress (0: none). */
  msgOpcode = 0;
  /**
   * Payload of the message in progress while it is one piece: a view of the input, no copy (most
   * messages are one piece).
   */
  msgFirst: Uint8Array | undefined = undefined;
  /**
   * Payload of the message in progress once it has more than one piece, copied into one growing
   * buffer: kept as views, a message of a million 1-byte fragments would hold a million views and
   * the chunks behind them (over 100 bytes each), whatever `maxPayload` says.
   */
  msgBuf: Uint8Array | undefined = undefined;
  /** `msgFirst` is a view of memory shared with other connections: copied when delivered. */
  msgFirstShared = false;
  /** The chunk being parsed is shared with other connections (see `Protocol.receive`). */
  shared = false;
  /** The message in progress is compressed (RSV1 on its first frame). */
  msgCompressed = false;
  msgLen = 0;
  /** The message's length once the data frame being read is complete. */
  msgEnd = 0;
  utf8: Utf8Validator | undefined = undefined;
  /** The control frame's payload so far: its one part (the usual case), or its parts. */
  ctrl: Uint8Array | Uint8Array[] | undefined = undefined;

  /** Frames parsed go to `sink`; `requireMask`: see {@link FrameParser}. */
  constructor(sink: FrameSink, requireMask: boolean) {
    this.parser = new FrameParser(sink, { requireMask });
  }
}
