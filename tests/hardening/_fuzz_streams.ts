/**
 * fast-check arbitraries for the fuzz test: what one hostile (or merely clumsy) client sends over
 * one TCP connection. A {@link ConnScript} is a byte stream (an opening handshake or garbage,
 * then frames, valid and invalid), the points where it is cut into separate writes, the pauses
 * between them, and how the client ends (half-close, close, reset, or nothing at all).
 */

import fc from "fast-check";
import { concat, cutAt, pick } from "./_fuzz_bytes.ts";
import { CLOSE_1000, frames, type SentMessage } from "./_fuzz_frames.ts";
import { prelude } from "./_fuzz_handshakes.ts";

/** How the client ends its side after the last write. */
export type Ending =
  /** Nothing: the server has to end the connection (protocol error, heartbeat, timeouts). */
  | "none"
  /** A valid close frame after the stream (which only parses as one if the stream was whole). */
  | "close"
  /** Half-close: FIN, but keep reading. */
  | "end"
  /** Close the socket (FIN, nothing more read). */
  | "destroy"
  /** Abort with a TCP reset (RST) where the runtime can, else like `destroy`. */
  | "reset";

/** One connection's worth of client behaviour. */
export interface ConnScript {
  /** What the stream starts with: `upgrade` is a valid opening handshake, the rest are not. */
  prelude: string;
  /**
   * Only what a well-behaved client sends: a usual handshake (and deflate offer), then valid
   * frames. The server must then admit it and report the close code the ending implies.
   */
  valid: boolean;
  /** The data messages in the stream's valid parts (all of them when `valid`), in order. */
  messages: SentMessage[];
  /** The bytes, in order: the prelude, then the frames. */
  stream: Uint8Array;
  /** Write boundaries, taken modulo the stream length (duplicates and 0 are ignored). */
  cuts: number[];
  /** Milliseconds to wait before each write (cycled). */
  delays: number[];
  ending: Ending;
}

const ending: fc.Arbitrary<Ending> = pick(
  [3, fc.constant("none" as const)],
  [3, fc.constant("close" as const)],
  [2, fc.constant("end" as const)],
  [1, fc.constant("destroy" as const)],
  [1, fc.constant("reset" as const)],
);

/** One connection: a prelude, frames, cuts, pauses and an ending. */
export function connScript(deflate: boolean): fc.Arbitrary<ConnScript> {
  return fc.record({
    prelude: prelude(deflate),
    frames: frames(deflate),
    cuts: fc.array(fc.nat(), { maxLength: 16 }),
    delays: fc.array(pick([3, fc.constant(0)], [2, fc.integer({ min: 1, max: 15 })]), {
      minLength: 1,
      maxLength: 8,
    }),
    ending,
  }).map(({ prelude: [name, head, usual], frames, cuts, delays, ending }) => ({
    prelude: name,
    valid: usual && frames.valid,
    messages: frames.messages,
    stream: concat(ending === "close" ? [head, frames.bytes, CLOSE_1000] : [head, frames.bytes]),
    cuts,
    delays,
    ending,
  }));
}

/** The writes of a script: the stream cut at its cut points. */
export function chunks(s: ConnScript): Uint8Array[] {
  const n = s.stream.length;
  if (n === 0) return [];
  const at = [...new Set(s.cuts.map((c) => c % n).filter((c) => c > 0))].sort((a, b) => a - b);
  return cutAt(s.stream, at);
}

/** A script in a few lines: enough to replay it by hand (the whole stream as hex if short). */
export function describeScript(s: ConnScript): string {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const shown = s.stream.length <= 1024
    ? hex(s.stream)
    : `${hex(s.stream.subarray(0, 1024))}… (${s.stream.length} bytes)`;
  const sizes = chunks(s).map((c) => c.length);
  return `prelude ${s.prelude}${
    s.valid ? " (valid stream)" : ""
  }, ending ${s.ending}, ${s.stream.length} bytes in writes of ` +
    `[${sizes.join(", ")}], pauses [${s.delays.join(", ")}] ms; stream: ${shown}`;
}
