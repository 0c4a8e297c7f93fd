/**
 * Frames of the fuzz test: a client frame with every header field under control (right or wrong),
 * and arbitraries of frames and messages: valid traffic (recording the messages sent), broken
 * frames of every kind, fragmented and compressed messages, close frames.
 */

import fc from "fast-check";
import * as zlib from "node:zlib";
import { badText, bytes, concat, pick, split, text } from "./_fuzz_bytes.ts";

const payload: fc.Arbitrary<Uint8Array> = pick(
  [5, text(60)],
  [4, bytes(0, 125)],
  [2, badText],
  [1, bytes(126, 4000)],
  [1, bytes(60_000, 70_000)],
);

/** How a frame states its payload length. */
type LengthMode =
  | "exact" // the minimal encoding
  | "wide16" // 16-bit form for any length (not minimal)
  | "wide64" // 64-bit form for any length
  | "shorter" // claims fewer bytes than follow: the rest parses as the next frame
  | "longer" // claims more bytes than follow: the server waits for the rest
  | "topbit" // 64-bit length with its top bit set
  | "huge"; // 64-bit length far over any maxPayload

interface FrameSpec {
  opcode: number;
  fin: boolean;
  rsv: number;
  mask: boolean;
  payload: Uint8Array;
  length: LengthMode;
  key: number;
}

/** Encodes a frame as a client would, with every field as specified (right or wrong). */
export function encodeFrame(f: FrameSpec): Uint8Array {
  const n = f.payload.length;
  let stated: bigint = BigInt(n);
  if (f.length === "shorter") stated = BigInt(Math.floor(n / 2));
  else if (f.length === "longer") stated = BigInt(n + 1 + (f.key & 0xff));
  else if (f.length === "topbit") stated = (1n << 63n) | BigInt(n);
  else if (f.length === "huge") stated = 1n << 40n;
  const wide = f.length === "wide64" || f.length === "topbit" || f.length === "huge"
    ? 8
    : f.length === "wide16" || stated > 125n
    ? (stated > 0xffffn ? 8 : 2)
    : 0;
  const head = 2 + wide + (f.mask ? 4 : 0);
  const out = new Uint8Array(head + n);
  const view = new DataView(out.buffer);
  out[0] = (f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0f);
  out[1] = (f.mask ? 0x80 : 0) | (wide === 0 ? Number(stated) : wide === 2 ? 126 : 127);
  if (wide === 2) view.setUint16(2, Number(stated & 0xffffn));
  if (wide === 8) view.setBigUint64(2, stated);
  const key = [f.key >>> 24, (f.key >>> 16) & 0xff, (f.key >>> 8) & 0xff, f.key & 0xff];
  if (f.mask) out.set(key, 2 + wide);
  for (let i = 0; i < n; i++) out[head + i] = f.mask ? f.payload[i] ^ key[i & 3] : f.payload[i];
  return out;
}

const key = fc.integer({ min: 0, max: 0xffffffff });
const usually = (p: number) => pick([p, fc.constant(true)], [1, fc.constant(false)]);
const lengthMode: fc.Arbitrary<LengthMode> = pick(
  [20, fc.constant("exact" as const)],
  [1, fc.constantFrom<LengthMode>("wide16", "wide64", "shorter", "longer", "topbit", "huge")],
);
const rsv = pick([12, fc.constant(0)], [1, fc.integer({ min: 1, max: 7 })]);

/** Any single frame: data, continuation, control or reserved opcode, any header bits. */
const frame: fc.Arbitrary<Uint8Array> = fc.record({
  opcode: pick(
    [6, fc.constantFrom(1, 2)],
    [2, fc.constant(0)],
    [2, fc.constantFrom(9, 10)],
    [1, fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15)],
  ),
  fin: usually(6),
  rsv,
  mask: usually(20),
  payload,
  length: lengthMode,
  key,
}).map(encodeFrame);

/** Close codes: valid, reserved, unassigned and out of range. */
const closeCode = pick(
  [4, fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999)],
  [2, fc.constantFrom(0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2999, 5000, 65535)],
  [1, fc.integer({ min: 0, max: 65535 })],
);

/** A close frame: empty, one byte, or a code with a reason (valid or not, maybe over 125 bytes). */
const closeFrame: fc.Arbitrary<Uint8Array> = fc.record({
  shape: pick([1, fc.constant("empty")], [1, fc.constant("one")], [8, fc.constant("code")]),
  code: closeCode,
  reason: pick([4, text(30)], [1, badText], [1, bytes(100, 140)]),
  fin: usually(20),
  mask: usually(20),
  key,
}).map(({ shape, code, reason, fin, mask, key }) => {
  const p = shape === "empty"
    ? new Uint8Array(0)
    : shape === "one"
    ? new Uint8Array([code & 0xff])
    : new Uint8Array([code >> 8, code & 0xff, ...reason]);
  return encodeFrame({ opcode: 8, fin, rsv: 0, mask, payload: p, length: "exact", key });
});

/**
 * A fragmented message (text fragments may cut UTF-8 sequences, as RFC 6455 allows), with pings
 * and pongs between the fragments; `rsv1` marks the first frame compressed.
 */
function fragmented(
  message: fc.Arbitrary<[opcode: number, body: Uint8Array]>,
  rsv1: boolean,
  encode: (body: Uint8Array) => Uint8Array = (b) => b,
): fc.Arbitrary<Sent> {
  return fc.record({
    message,
    parts: fc.integer({ min: 1, max: 12 }),
    seed: fc.integer(),
    controls: fc.array(fc.tuple(fc.nat(), fc.constantFrom(9, 10), bytes(0, 125)), {
      maxLength: 3,
    }),
    key,
  }).map(({ message: [opcode, body], parts, seed, controls, key }) => {
    const frames = split(encode(body), parts, seed).map((piece, i, all) =>
      encodeFrame({
        opcode: i === 0 ? opcode : 0,
        fin: i === all.length - 1,
        rsv: i === 0 && rsv1 ? 4 : 0,
        mask: true,
        payload: piece,
        length: "exact",
        key: (key + i) >>> 0,
      })
    );
    for (const [at, op, p] of controls) {
      const f = encodeFrame({
        opcode: op,
        fin: true,
        rsv: 0,
        mask: true,
        payload: p,
        length: "exact",
        key,
      });
      frames.splice(at % (frames.length + 1), 0, f);
    }
    return { bytes: concat(frames), messages: [{ opcode, body }] };
  });
}

/** Bytes to send, and the data messages in them (bodies uncompressed). */
interface Sent {
  bytes: Uint8Array;
  messages: SentMessage[];
}

/** A data message a script sends. */
export interface SentMessage {
  opcode: number;
  body: Uint8Array;
}

const unknownMessages = (bytes: Uint8Array): Sent => ({ bytes, messages: [] });

/** A valid masked close frame with code 1000. */
export const CLOSE_1000: Uint8Array = encodeFrame({
  opcode: 8,
  fin: true,
  rsv: 0,
  mask: true,
  payload: new Uint8Array([0x03, 0xe8]),
  length: "exact",
  key: 0x01020304,
});

/** Raw deflate with a sync flush, its `00 00 ff ff` tail removed (RFC 7692 §7.2.1). */
function compress(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(
    zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  );
  const n = out.length;
  const tail = n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff &&
    out[n - 1] === 0xff;
  return tail ? out.subarray(0, n - 4) : out;
}

/**
 * Compressed message bodies: real ones, ones with a byte flipped (corrupt streams), and bombs
 * (a few KiB that inflate past any sensible maxPayload).
 */
const compressedBody: fc.Arbitrary<Uint8Array> = pick(
  [6, pick<Uint8Array>([3, text(200)], [1, bytes(0, 3000)]).map(compress)],
  [
    2,
    fc.tuple(text(200).map(compress), fc.nat(), fc.integer({ min: 1, max: 255 })).map(
      ([c, at, x]) => {
        const out = c.slice();
        if (out.length > 0) out[at % out.length] ^= x;
        return out;
      },
    ),
  ],
  [1, fc.integer({ min: 300_000, max: 2_000_000 }).map((n) => compress(new Uint8Array(n)))],
);

/** A text message (valid UTF-8) or a binary one: opcode and body. */
const message: fc.Arbitrary<[number, Uint8Array]> = pick(
  [2, fc.tuple(fc.constantFrom(1, 2), text(200))],
  [1, fc.tuple(fc.constant(2), bytes(0, 3000))],
);

/** A frame or message a well-behaved client could send (compressed too, when `deflate`). */
function validFrames(deflate: boolean): fc.Arbitrary<Sent> {
  const data = fc.record({ m: message, key }).map(({ m: [opcode, body], key }) => ({
    bytes: encodeFrame({
      opcode,
      fin: true,
      rsv: 0,
      mask: true,
      payload: body,
      length: "exact",
      key,
    }),
    messages: [{ opcode, body }],
  }));
  const control = fc.record({ opcode: fc.constantFrom(9, 10), p: bytes(0, 125), key }).map((f) =>
    unknownMessages(
      encodeFrame({
        ...f,
        fin: true,
        rsv: 0,
        mask: true,
        payload: f.p,
        length: "exact",
        key: f.key,
      }),
    )
  );
  const kinds: Array<[number, fc.Arbitrary<Sent>]> = [
    [4, data],
    [1, control],
    [2, fragmented(message, false)],
  ];
  if (deflate) kinds.push([4, fragmented(message, true, compress)]);
  return pick(...kinds);
}

/** Anything: broken frames and messages (or valid ones by chance). */
function anyFrames(deflate: boolean): fc.Arbitrary<Uint8Array> {
  const anyMessage = pick<[number, Uint8Array]>(
    [3, message],
    [1, fc.tuple(fc.constant(1), pick([1, badText], [1, bytes(1, 300)]))],
  );
  const kinds: Array<[number, fc.Arbitrary<Uint8Array>]> = [
    [8, frame],
    [2, closeFrame],
    [3, fragmented(anyMessage, false).map((f) => f.bytes)],
  ];
  if (deflate) {
    const compressed = fragmented(fc.tuple(fc.constantFrom(1, 2), compressedBody), true);
    kinds.push([8, compressed.map((f) => f.bytes)]);
  }
  return pick(...kinds);
}

/**
 * The frames after the prelude: valid traffic, then (in half of the streams) a few frames of
 * anything, where most streams break, then more valid traffic, which the server must not take as
 * part of a broken frame. `valid`: no frames of anything; `messages`: the data messages sent.
 */
export function frames(
  deflate: boolean,
): fc.Arbitrary<{ bytes: Uint8Array; valid: boolean; messages: SentMessage[] }> {
  return fc.tuple(
    fc.array(validFrames(deflate), { maxLength: 8 }),
    pick<Uint8Array[]>([1, fc.constant([])], [
      1,
      fc.array(anyFrames(deflate), { minLength: 1, maxLength: 3 }),
    ]),
    fc.array(validFrames(deflate), { maxLength: 4 }),
  ).map(([a, b, c]) => ({
    bytes: concat([...a.map((s) => s.bytes), ...b, ...c.map((s) => s.bytes)]),
    valid: b.length === 0,
    messages: [...a, ...c].flatMap((s) => s.messages),
  }));
}
