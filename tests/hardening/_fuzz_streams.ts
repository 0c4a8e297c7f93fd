/**
 * fast-check arbitraries for the fuzz test: what one hostile (or merely clumsy) client sends over
 * one TCP connection. A {@link ConnScript} is a byte stream (an opening handshake or garbage,
 * then frames, valid and invalid), the points where it is cut into separate writes, the pauses
 * between them, and how the client ends (half-close, close, reset, or nothing at all).
 *
 * Payloads are made from a length and a seed rather than from arrays of arbitrary bytes, so large
 * payloads are cheap to generate and a script prints short.
 */

import fc from "fast-check";
import * as zlib from "node:zlib";
import { mulberry32, randomBytes } from "../_helpers.ts";

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
  /** The bytes, in order: the prelude, then the frames. */
  stream: Uint8Array;
  /** Write boundaries, taken modulo the stream length (duplicates and 0 are ignored). */
  cuts: number[];
  /** Milliseconds to wait before each write (cycled). */
  delays: number[];
  ending: Ending;
}

const encoder = new TextEncoder();

/** A weighted choice. */
function pick<T>(...choices: Array<[number, fc.Arbitrary<T>]>): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/** `n` seeded random bytes, `n` between `min` and `max`. */
function bytes(min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min, max }), fc.integer()).map(([n, seed]) =>
    randomBytes(mulberry32(seed), n)
  );
}

/** Valid UTF-8 text of up to `max` code units; some of it starts with `pub:` (see the server). */
function text(max: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.boolean(), fc.string({ unit: "binary", maxLength: max })).map((
    [pub, s],
  ) => encoder.encode(pub ? `pub:${s}` : s));
}

/** Byte sequences no UTF-8 text contains (overlong, surrogate, over U+10FFFF, stray, cut off). */
const BAD_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [
  0xe2,
  0x82,
]];

/** Valid text with one invalid sequence spliced in somewhere. */
const badText: fc.Arbitrary<Uint8Array> = fc.tuple(
  text(40),
  fc.constantFrom(...BAD_UTF8),
  fc.nat(),
).map(([t, bad, at]) => {
  const i = t.length === 0 ? 0 : at % (t.length + 1);
  const out = new Uint8Array(t.length + bad.length);
  out.set(t.subarray(0, i));
  out.set(bad, i);
  out.set(t.subarray(i), i + bad.length);
  return out;
});

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

/** Splits `p` into `parts` pieces at seeded points (pieces may be empty). */
function split(p: Uint8Array, parts: number, seed: number): Uint8Array[] {
  const rand = mulberry32(seed);
  const at = Array.from({ length: parts - 1 }, () => Math.floor(rand() * (p.length + 1)));
  return cutAt(p, at.sort((a, b) => a - b));
}

/** `b` cut at the ascending offsets `at`. */
function cutAt(b: Uint8Array, at: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, b.length]) {
    out.push(b.subarray(from, c));
    from = c;
  }
  return out;
}

/**
 * A fragmented message (text fragments may cut UTF-8 sequences, as RFC 6455 allows), with pings
 * and pongs between the fragments; `rsv1` marks the first frame compressed.
 */
function fragmented(
  message: fc.Arbitrary<[opcode: number, body: Uint8Array]>,
  rsv1: boolean,
): fc.Arbitrary<Uint8Array> {
  return fc.record({
    message,
    parts: fc.integer({ min: 1, max: 12 }),
    seed: fc.integer(),
    controls: fc.array(fc.tuple(fc.nat(), fc.constantFrom(9, 10), bytes(0, 125)), {
      maxLength: 3,
    }),
    key,
  }).map(({ message: [opcode, body], parts, seed, controls, key }) => {
    const frames = split(body, parts, seed).map((piece, i, all) =>
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
    return concat(frames);
  });
}

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

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

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
function validFrames(deflate: boolean): fc.Arbitrary<Uint8Array> {
  const data = fc.record({ m: message, key }).map(({ m: [opcode, body], key }) =>
    encodeFrame({ opcode, fin: true, rsv: 0, mask: true, payload: body, length: "exact", key })
  );
  const control = fc.record({ opcode: fc.constantFrom(9, 10), p: bytes(0, 125), key }).map((f) =>
    encodeFrame({ ...f, fin: true, rsv: 0, mask: true, payload: f.p, length: "exact", key: f.key })
  );
  const kinds: Array<[number, fc.Arbitrary<Uint8Array>]> = [
    [4, data],
    [1, control],
    [2, fragmented(message, false)],
  ];
  if (deflate) {
    const compressed = message.map(([op, body]): [number, Uint8Array] => [op, compress(body)]);
    kinds.push([4, fragmented(compressed, true)]);
  }
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
    [3, fragmented(anyMessage, false)],
  ];
  if (deflate) kinds.push([8, fragmented(fc.tuple(fc.constantFrom(1, 2), compressedBody), true)]);
  return pick(...kinds);
}

/**
 * The frames after the prelude: valid traffic, then (in half of the streams) a few frames of
 * anything, where most streams break, then more valid traffic, which the server must not take as
 * part of a broken frame. `valid`: no frames of anything.
 */
function frames(deflate: boolean): fc.Arbitrary<{ bytes: Uint8Array; valid: boolean }> {
  return fc.tuple(
    fc.array(validFrames(deflate), { maxLength: 8 }),
    pick<Uint8Array[]>([1, fc.constant([])], [
      1,
      fc.array(anyFrames(deflate), { minLength: 1, maxLength: 3 }),
    ]),
    fc.array(validFrames(deflate), { maxLength: 4 }),
  ).map(([a, b, c]) => ({ bytes: concat([...a, ...b, ...c]), valid: b.length === 0 }));
}

const KEY_B64 = "dGhlIHNhbXBsZSBub25jZQ==";

/** Offers of permessage-deflate: valid ones, and ones a server must decline or refuse. */
const goodOffer: fc.Arbitrary<string> = fc.constantFrom(
  "permessage-deflate",
  "permessage-deflate; client_max_window_bits",
  "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
  "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
  "x-webkit-deflate-frame, permessage-deflate",
);
const badOffer: fc.Arbitrary<string> = fc.constantFrom(
  "permessage-deflate; server_max_window_bits=7",
  "permessage-deflate; client_max_window_bits=16",
  "permessage-deflate; foo=bar, permessage-deflate",
  "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
  'permessage-deflate; client_max_window_bits="10"',
);

function upgradeHead(path: string, extra: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY_B64}\r\nSec-WebSocket-Version: 13\r\n` +
    `${extra}\r\n`;
}

/** A valid opening handshake (offering deflate when `deflate`), and whether all of it is usual. */
function upgrade(deflate: boolean): fc.Arbitrary<{ head: Uint8Array; usual: boolean }> {
  return fc.record({
    path: pick([4, fc.constantFrom("/", "/a/b?c=d")], [
      1,
      fc.constantFrom("/%00", "*", "/?" + "q".repeat(300)),
    ]),
    offer: deflate
      ? pick([4, goodOffer.map((o): [string, boolean] => [o, true])], [
        1,
        badOffer.map((o): [string, boolean] => [o, false]),
      ])
      : fc.constant(undefined),
    proto: fc.boolean(),
  }).map(({ path, offer, proto }) => ({
    head: encoder.encode(
      upgradeHead(
        path,
        (offer ? `Sec-WebSocket-Extensions: ${offer[0]}\r\n` : "") +
          (proto ? "Sec-WebSocket-Protocol: chat, superchat\r\n" : ""),
      ),
    ),
    usual: path.startsWith("/") && path.length < 20 && path !== "/%00" && (offer?.[1] ?? true),
  }));
}

/** A handshake with 1-4 random byte edits (replace, insert, delete) or cut short. */
const mutatedUpgrade: fc.Arbitrary<Uint8Array> = fc.tuple(
  upgrade(false).map((u) => u.head),
  fc.array(fc.tuple(fc.constantFrom("replace", "insert", "delete", "cut"), fc.nat(), fc.nat(255)), {
    minLength: 1,
    maxLength: 4,
  }),
).map(([head, edits]) => {
  const b = Array.from(head);
  for (const [op, at, v] of edits) {
    const i = at % b.length;
    if (op === "replace") b[i] = v;
    else if (op === "insert") b.splice(i, 0, v);
    else if (op === "delete") b.splice(i, 1);
    else b.length = Math.max(1, i);
  }
  return new Uint8Array(b);
});

/** Header lines of a valid handshake, by name, and odd values for each. */
const ODD_VALUES: Record<string, string[]> = {
  Host: ["", "127.0.0.1:99999", "a b", "[::1", "x".repeat(300)],
  Upgrade: ["WebSocket", "websocket, h2c", "h2c", "", "web socket"],
  Connection: ["keep-alive, Upgrade", "upgrade", "close", "Upgrade,,", "keep-alive"],
  "Sec-WebSocket-Key": [
    "",
    "short",
    "!!!!!!!!!!!!!!!!!!!!!!==",
    "dGhlIHNhbXBsZSBub25jZQ",
    `${KEY_B64}, ${KEY_B64}`,
    "AAAAAAAAAAAAAAAAAAAAAAAA",
  ],
  "Sec-WebSocket-Version": ["8", "13, 8", "", "013", "13 ", "-1"],
};

/** Header lines a handshake does not need, some of them malformed. */
const ODD_LINES = [
  "Content-Length: 5",
  "Content-Length: -1",
  "Transfer-Encoding: chunked",
  "X-Empty:",
  "X-Fold: a\r\n b",
  "NoColon",
  ": no name",
  "X-Nul: a\u0000b",
  "X-Utf8: \u00e9\u00e8",
  "X Space: v",
  "Sec-WebSocket-Protocol: ,,,",
  "Sec-WebSocket-Protocol: chat, chat",
  'Sec-WebSocket-Extensions: permessage-deflate; x="',
  "Sec-WebSocket-Extensions: ;;;",
  "Origin: null",
  `X-Long: ${"v".repeat(7000)}`,
  Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}`).join("\r\n"),
];

/**
 * A handshake built from parts with odd choices: request lines, header values, duplicated or
 * missing headers, extra (malformed) lines, bare LF line ends. Some are still valid.
 */
const oddUpgrade: fc.Arbitrary<Uint8Array> = fc.record({
  method: pick([6, fc.constant("GET")], [1, fc.constantFrom("get", "POST", "HEAD", "GET ", "")]),
  target: pick(
    [4, fc.constant("/")],
    [1, fc.constantFrom("http://127.0.0.1/", "//x", "/a b", "/\u00e9", "", "/#f", "%")],
  ),
  version: pick(
    [6, fc.constant("HTTP/1.1")],
    [1, fc.constantFrom("HTTP/1.0", "HTTP/2", "http/1.1", "HTTP/1.10", "HTTP/1.1 x")],
  ),
  headers: fc.array(
    fc.tuple(
      fc.constantFrom(...Object.keys(ODD_VALUES)),
      fc.constantFrom("keep", "odd", "drop", "twice", "case"),
      fc.nat(),
    ),
    { minLength: 1, maxLength: 4 },
  ),
  extra: fc.array(fc.constantFrom(...ODD_LINES), { maxLength: 3 }),
  eol: pick([6, fc.constant("\r\n")], [1, fc.constant("\n")]),
}).map(({ method, target, version, headers, extra, eol }) => {
  const base: Record<string, string> = {
    Host: "Host: 127.0.0.1",
    Upgrade: "Upgrade: websocket",
    Connection: "Connection: Upgrade",
    "Sec-WebSocket-Key": `Sec-WebSocket-Key: ${KEY_B64}`,
    "Sec-WebSocket-Version": "Sec-WebSocket-Version: 13",
  };
  const lines = new Map(Object.entries(base).map(([name, line]) => [name, [line]]));
  for (const [name, how, n] of headers) {
    const line = base[name];
    const odd = ODD_VALUES[name][n % ODD_VALUES[name].length];
    if (how === "odd") lines.set(name, [`${name}: ${odd}`]);
    else if (how === "drop") lines.set(name, []);
    else if (how === "twice") lines.set(name, [line, `${name}: ${odd}`]);
    else if (how === "case") lines.set(name, [n % 2 ? line.toUpperCase() : line.toLowerCase()]);
  }
  const all = [`${method} ${target} ${version}`, ...[...lines.values()].flat(), ...extra];
  return encoder.encode(all.join(eol) + eol + eol);
});

/** What a connection starts with: its name, bytes, and whether it is a usual valid handshake. */
function prelude(deflate: boolean): fc.Arbitrary<[string, Uint8Array, boolean]> {
  const named = (name: string, a: fc.Arbitrary<Uint8Array>) =>
    a.map((b): [string, Uint8Array, boolean] => [name, b, false]);
  const bigHead = encoder.encode(upgradeHead("/", `X-Big: ${"b".repeat(20_000)}\r\n`));
  return pick(
    [12, upgrade(deflate).map((u): [string, Uint8Array, boolean] => ["upgrade", u.head, u.usual])],
    [2, named("mutated", mutatedUpgrade)],
    [3, named("odd-upgrade", oddUpgrade)],
    [1, named("garbage", bytes(1, 600))],
    [1, named("plain-http", fc.constant(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))],
    [1, named("big-head", fc.constant(bigHead))],
    [1, named("nothing", fc.constant(new Uint8Array(0)))],
  );
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
