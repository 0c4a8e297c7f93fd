/**
 * The conformance case catalogue, organised and numbered like the Autobahn|Testsuite cases
 * (1.1.1 … 13.7.18, and wsdriver's own 13.8.x … 13.11.x), so results can be set beside published
 * reports.
 * The cases are written from Autobahn's public case descriptions; every expected outcome is
 * strict (one exact outcome: the echo, the pong, the close code, or "fail the connection" = our
 * close frame with the code and then the TCP connection closed, nothing else in between). Where
 * Autobahn accepts several outcomes (NON-STRICT, INFORMATIONAL, "1002 or 1007", "normal or
 * echoed code"), one is chosen here; see README.md in this directory for the list.
 *
 * A case only talks to the peer through the {@link Fuzzer}; it does not know whether the peer is a
 * server or a client, so the same catalogue runs in both directions.
 */

import process from "node:process";
import {
  type AcceptFunction,
  autobahnAccept,
  autobahnAcceptFallback,
  autobahnOffer,
  describeParams,
  expectedServerAgreement,
  honoursAgreement,
  windowAccept,
} from "./compression.ts";
import {
  CaseFailure,
  closePayload,
  concatBytes,
  describeEvent,
  encoder,
  type FrameSpec,
  type Fuzzer,
  isUtf8,
  repeatTo,
  toBytes,
} from "./fuzzer.ts";
import { Slicer, type TestData, testData } from "./testdata.ts";

/** One case. `run` resolves if the peer behaved exactly as expected, else throws. */
export interface Case {
  /** Autobahn's case id, e.g. "6.4.1". */
  id: string;
  /** Top-level group, e.g. 6. */
  group: number;
  /** Autobahn's sub-category name, e.g. "Fail-fast on invalid UTF-8". */
  category: string;
  description: string;
  expectation: string;
  /** Deadline for the whole case in ms (default {@link DEFAULT_CASE_TIMEOUT}). */
  timeout?: number;
  /** permessage-deflate negotiation (groups 12 and 13): the peer under test must enable it. */
  compression?: CaseCompression;
  run(f: Fuzzer): Promise<void>;
}

/** How a compression case negotiates permessage-deflate. */
export interface CaseCompression {
  /** The fuzzing client's `Sec-WebSocket-Extensions` offer (Autobahn's client offers). */
  offer: string;
  /** The fuzzing server's answer to a client's offers (Autobahn's server accept function). */
  accept: AcceptFunction;
}

/** Deadline of one case unless it says otherwise. */
export const DEFAULT_CASE_TIMEOUT = 15_000;

/** Group names, as in Autobahn's reports. */
export const GROUPS: Readonly<Record<number, string>> = {
  1: "Framing",
  2: "Pings/Pongs",
  3: "Reserved bits",
  4: "Opcodes",
  5: "Fragmentation",
  6: "UTF-8 handling",
  7: "Close handling",
  9: "Limits/performance",
  10: "Auto-fragmentation",
  12: "WebSocket Compression (different payloads)",
  13: "WebSocket Compression (different parameters)",
};

/**
 * Counts of the group 9 (limits/performance) cases. Message sizes are always Autobahn's (up to
 * 16 MiB, 4 MiB in fragments of 64 bytes up, 1 MiB in chops of 64 bytes up); what is scaled down
 * by default is the number of sequential round trips of 9.7.x/9.8.x, from 1000 to 100 messages per
 * case, so the suite stays fast in `npm test` on every runtime. Set `WSDRIVER_CONFORMANCE=full`
 * (or pass `--full` to scripts/conformance.ts) for Autobahn's counts.
 */
export interface Limits {
  /** 9.7.x/9.8.x: messages per case (Autobahn: 1000). */
  roundTrips: number;
  /** 12.x/13.x: compressed messages per case, one at a time (Autobahn: 1000). */
  compressedMessages: number;
}

/** Autobahn's counts. */
export const FULL_LIMITS: Limits = { roundTrips: 1000, compressedMessages: 1000 };

/** The default, scaled-down counts (see {@link Limits}). */
export const SCALED_LIMITS: Limits = { roundTrips: 100, compressedMessages: 5 };

/** The limits selected by the environment (`WSDRIVER_CONFORMANCE=full` for Autobahn's). */
export function limitsFromEnv(): Limits {
  let mode: string | undefined;
  try {
    mode = process.env.WSDRIVER_CONFORMANCE;
  } catch {
    mode = undefined; // no permission to read the environment
  }
  return mode === "full" ? FULL_LIMITS : SCALED_LIMITS;
}

const TEXT = 1, BINARY = 2, CONT = 0, CLOSE = 8, PING = 9, PONG = 10;
const PROTOCOL_ERROR = 1002, INVALID_PAYLOAD = 1007;

/** Bytes from hex. */
function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fromHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A text payload for large messages: multi-byte code points at every offset class. */
const TEXT_PATTERN = encoder.encode("BAsd7&jh23-µ@ßöä-κόσμε-€-😀|");

/** A binary pattern with a prime period and all byte values. */
const BINARY_PATTERN = (() => {
  const b = new Uint8Array(4099);
  let x = 0x2545f491;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
})();

/** A valid text payload of exactly `n` bytes: the pattern, a cut code point replaced by "*". */
function textOf(n: number): Uint8Array {
  const b = repeatTo(TEXT_PATTERN, n);
  if (isUtf8(b)) return b;
  let start = n;
  for (let k = 0; k < 3 && start > 0 && (b[start - 1] & 0xc0) === 0x80; k++) start--;
  if (start > 0 && b[start - 1] >= 0xc0) start--;
  b.fill(0x2a, start, n);
  return b;
}

const KB = 2 ** 10, MB = 2 ** 20;

function sizeName(n: number): string {
  return n >= MB && n % MB === 0
    ? `${n / MB} MiB`
    : n >= KB && n % KB === 0
    ? `${n / KB} KiB`
    : `${n}`;
}

/** Fails the case: `ev` is not what was expected. */
function unexpected(what: string, ev: Parameters<typeof describeEvent>[0]): never {
  throw new CaseFailure(`expected ${what}; got ${describeEvent(ev)}`);
}

/**
 * Fail-fast (6.4.x): sends `chops` one at a time. After each chop before `bad` nothing may
 * arrive (a quiet period); right after chop `bad` (the one with the first invalid byte) the peer's
 * close frame with 1007 must arrive within the fail-fast limit, before the next chop is sent, and
 * then the TCP connection must close.
 */
async function failFast(f: Fuzzer, chops: Uint8Array[], bad: number): Promise<void> {
  for (let i = 0; i < chops.length; i++) {
    await f.write(chops[i]);
    if (i < bad) {
      await f.expectQuiet(f.timing.quiet, `after valid chop ${i + 1} of ${chops.length}`);
      continue;
    }
    const what = `a close frame with 1007 right after chop ${i + 1} (the first invalid byte)`;
    const ev = await f.next(f.timing.failFast);
    if (ev === undefined) {
      // Not fail-fast. For the report: does it fail at all once the rest has arrived?
      for (const c of chops.slice(i + 1)) await f.write(c);
      const late = await f.next(f.timing.event);
      throw new CaseFailure(
        `expected ${what}; nothing arrived within ${f.timing.failFast} ms (not fail-fast); ` +
          `after the remaining chops: ${late ? describeEvent(late) : "still nothing"}`,
      );
    }
    if (ev.type !== "close" || ev.code !== INVALID_PAYLOAD) unexpected(what, ev);
    await f.expectTcpClose("the TCP connection closed after close code 1007");
    return;
  }
}

/**
 * The UTF-8 test sequences of Markus Kuhn's UTF-8-test.txt as Autobahn uses them for cases
 * 6.5.x … 6.23.x: [sub-category, [valid, bytes][]] in Autobahn's order.
 */
export function utf8Sequences(): Array<[string, Array<[boolean, Uint8Array]>]> {
  const seq: Array<[string, Array<[boolean, Uint8Array]>]> = [];
  const vss = hex("cebae1bdb9cf83cebcceb5");
  seq.push(["Some valid UTF-8 sequences", [
    [true, hex("68656c6c6f24776f726c64")],
    [true, hex("68656c6c6fc2a2776f726c64")],
    [true, hex("68656c6c6fe282ac776f726c64")],
    [true, hex("68656c6c6ff0a4ada2776f726c64")],
    [true, vss],
  ]]);
  const prefixes: Array<[boolean, Uint8Array]> = [];
  for (let i = 1; i <= vss.length; i++) {
    prefixes.push([isUtf8(vss.subarray(0, i)), vss.slice(0, i)]);
  }
  seq.push([
    "All prefixes of a valid UTF-8 string that contains multi-byte code points",
    prefixes,
  ]);
  seq.push(["First possible sequence of a certain length", [
    [true, hex("00")],
    [true, hex("c280")],
    [true, hex("e0a080")],
    [true, hex("f0908080")],
  ]]);
  seq.push(["First possible sequence length 5/6 (invalid codepoints)", [
    [false, hex("f888808080")],
    [false, hex("fc8480808080")],
  ]]);
  seq.push(["Last possible sequence of a certain length", [
    [true, hex("7f")],
    [true, hex("dfbf")],
    [true, hex("efbfbf")],
    [true, hex("f48fbfbf")],
  ]]);
  seq.push(["Last possible sequence length 4/5/6 (invalid codepoints)", [
    [false, hex("f7bfbfbf")],
    [false, hex("fbbfbfbfbf")],
    [false, hex("fdbfbfbfbfbf")],
  ]]);
  seq.push(["Other boundary conditions", [
    [true, hex("ed9fbf")],
    [true, hex("ee8080")],
    [true, hex("efbfbd")],
    [true, hex("f48fbfbf")],
    [false, hex("f4908080")],
  ]]);
  const cont: Array<[boolean, Uint8Array]> = [
    [false, hex("80")],
    [false, hex("bf")],
    [false, hex("80bf")],
    [false, hex("80bf80")],
    [false, hex("80bf80bf")],
    [false, hex("80bf80bf80")],
    [false, hex("80bf80bf80bf")],
  ];
  const all = new Uint8Array(0xbf - 0x80);
  for (let i = 0; i < all.length; i++) all[i] = 0x80 + i;
  cont.push([false, all]);
  seq.push(["Unexpected continuation bytes", cont]);
  const lonely: Array<[boolean, Uint8Array]> = [];
  for (const [lo, hi] of [[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [0xfc, 0xfd]]) {
    const b: number[] = [];
    for (let i = lo; i < hi; i++) b.push(i, 0x20);
    lonely.push([false, new Uint8Array(b)]);
  }
  seq.push(["Lonely start characters", lonely]);
  const missing = [
    "c0",
    "e080",
    "f08080",
    "f8808080",
    "fc80808080",
    "df",
    "efbf",
    "f7bfbf",
    "fbbfbfbf",
    "fdbfbfbfbf",
  ].map(hex);
  seq.push([
    "Sequences with last continuation byte missing",
    missing.map((b) => [false, b] as [boolean, Uint8Array]),
  ]);
  seq.push(["Concatenation of incomplete sequences", [[false, concatBytes(missing)]]]);
  seq.push(["Impossible bytes", [
    [false, hex("fe")],
    [false, hex("ff")],
    [false, hex("fefeffff")],
  ]]);
  seq.push(["Examples of an overlong ASCII character", [
    [false, hex("c0af")],
    [false, hex("e080af")],
    [false, hex("f08080af")],
    [false, hex("f8808080af")],
    [false, hex("fc80808080af")],
  ]]);
  seq.push(["Maximum overlong sequences", [
    [false, hex("c1bf")],
    [false, hex("e09fbf")],
    [false, hex("f08fbfbf")],
    [false, hex("f887bfbfbf")],
    [false, hex("fc83bfbfbfbf")],
  ]]);
  seq.push(["Overlong representation of the NUL character", [
    [false, hex("c080")],
    [false, hex("e08080")],
    [false, hex("f0808080")],
    [false, hex("f880808080")],
    [false, hex("fc8080808080")],
  ]]);
  seq.push(["Single UTF-16 surrogates", [
    [false, hex("eda080")],
    [false, hex("edadbf")],
    [false, hex("edae80")],
    [false, hex("edafbf")],
    [false, hex("edb080")],
    [false, hex("edbe80")],
    [false, hex("edbfbf")],
  ]]);
  seq.push(["Paired UTF-16 surrogates", [
    [false, hex("eda080edb080")],
    [false, hex("eda080edbfbf")],
    [false, hex("edadbfedb080")],
    [false, hex("edadbfedbfbf")],
    [false, hex("edae80edb080")],
    [false, hex("edae80edbfbf")],
    [false, hex("edafbfedb080")],
    [false, hex("edafbfedbfbf")],
  ]]);
  const nonChars: Array<[boolean, Uint8Array]> = [[true, hex("efbfbe")], [true, hex("efbfbf")]];
  for (const z1 of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const z2 of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (z1 === 0xf4 && z2 !== 0x8f) continue; // above U+10FFFF
      for (const z3 of [0xbe, 0xbf]) {
        if (z1 === 0xf0 && z2 === 0x8f) continue; // overlong
        nonChars.push([true, new Uint8Array([z1, z2, 0xbf, z3])]);
      }
    }
  }
  seq.push(["Non-character code points (valid UTF-8)", nonChars]);
  seq.push(["Unicode specials (i.e. replacement char)", [
    [true, hex("efbfb9")],
    [true, hex("efbfba")],
    [true, hex("efbfbb")],
    [true, hex("efbfbc")],
    [true, hex("efbfbd")],
    [true, hex("efbfbe")],
    [true, hex("efbfbf")],
  ]]);
  return seq;
}

/** Builds the catalogue with the given group 9 sizes. */
export function buildCases(limits: Limits = SCALED_LIMITS): Case[] {
  const cases: Case[] = [];
  const add = (
    id: string,
    category: string,
    description: string,
    expectation: string,
    run: (f: Fuzzer) => Promise<void>,
    timeout?: number,
  ) => {
    cases.push({
      id,
      group: Number(id.split(".")[0]),
      category,
      description,
      expectation,
      run,
      timeout,
    });
  };
  const FAIL_1002 = "The connection is failed: close frame with 1002, then TCP closed.";
  const ECHO_CLOSE = "The message is echoed back; then a clean close with 1000.";

  // ---------------------------------------------------------------------------------------------
  // 1 Framing
  const SIZES = [0, 125, 126, 127, 128, 65535, 65536];
  for (const [sub, binary] of [[1, false], [2, true]] as const) {
    const kind = binary ? "binary" : "text";
    const category = binary ? "Binary Messages" : "Text Messages";
    const payloadOf = (n: number) => repeatTo(binary ? new Uint8Array([0xfe]) : "*", n);
    SIZES.forEach((n, i) => {
      add(
        `1.${sub}.${i + 1}`,
        category,
        `Send a ${kind} message with a payload of length ${n}.`,
        ECHO_CLOSE,
        async (f) => {
          const p = payloadOf(n);
          await f.send({ opcode: binary ? BINARY : TEXT, payload: p });
          await f.expectMessage(p, binary);
          await f.closeNormally();
        },
      );
    });
    add(
      `1.${sub}.8`,
      category,
      `Send a ${kind} message with a payload of length 65536, in chops of 997 octets.`,
      ECHO_CLOSE,
      async (f) => {
        const p = payloadOf(65536);
        await f.send({ opcode: binary ? BINARY : TEXT, payload: p }, { chop: 997 });
        await f.expectMessage(p, binary);
        await f.closeNormally();
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // 2 Pings/Pongs
  const PONG_CLOSE = "A pong with the ping's payload; then a clean close with 1000.";
  const pingCase = (id: string, desc: string, payload: Uint8Array | string, chop?: number) =>
    add(id, "Pings/Pongs", desc, PONG_CLOSE, async (f) => {
      await f.send({ opcode: PING, payload }, { chop });
      await f.expectPong(payload);
      await f.closeNormally();
    });
  pingCase("2.1", "Send a ping without payload.", "");
  pingCase("2.2", "Send a ping with a small text payload.", "Hello, world!");
  pingCase("2.3", "Send a ping with a small binary (non UTF-8) payload.", hex("00fffefdfcfb00ff"));
  pingCase("2.4", "Send a ping with a binary payload of 125 octets.", repeatTo(hex("fe"), 125));
  add(
    "2.5",
    "Pings/Pongs",
    "Send a ping with a binary payload of 126 octets.",
    `${FAIL_1002} (Control frames carry at most 125 octets.)`,
    async (f) => {
      await f.send({ opcode: PING, payload: repeatTo(hex("fe"), 126) });
      await f.expectFail(PROTOCOL_ERROR);
    },
  );
  pingCase(
    "2.6",
    "Send a ping with a binary payload of 125 octets, in octet-wise chops.",
    repeatTo(hex("fe"), 125),
    1,
  );
  const NOTHING_CLOSE = "Nothing comes back before the close frame echoing 1000; clean close.";
  add(
    "2.7",
    "Pings/Pongs",
    "Send an unsolicited pong without payload.",
    NOTHING_CLOSE,
    async (f) => {
      await f.send({ opcode: PONG });
      await f.closeNormally();
    },
  );
  add(
    "2.8",
    "Pings/Pongs",
    "Send an unsolicited pong with payload.",
    NOTHING_CLOSE,
    async (f) => {
      await f.send({ opcode: PONG, payload: "unsolicited pong payload" });
      await f.closeNormally();
    },
  );
  add(
    "2.9",
    "Pings/Pongs",
    "Send an unsolicited pong with payload, then a ping with payload.",
    "Nothing in reply to the pong; a pong for the ping; then a clean close with 1000.",
    async (f) => {
      await f.send([
        { opcode: PONG, payload: "unsolicited pong payload" },
        { opcode: PING, payload: "ping payload" },
      ]);
      await f.expectPong("ping payload");
      await f.closeNormally();
    },
  );
  for (const [id, chop] of [["2.10", undefined], ["2.11", 1]] as const) {
    add(
      id,
      "Pings/Pongs",
      `Send 10 pings with payload${chop ? ", in octet-wise chops" : ""}.`,
      "10 pongs with the 10 payloads, in order; then a clean close with 1000.",
      async (f) => {
        const pings = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
        await f.send(pings.map((p) => ({ opcode: PING, payload: p })), { chop });
        for (const p of pings) await f.expectPong(p);
        await f.closeNormally();
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // 3 Reserved bits
  add(
    "3.1",
    "Reserved Bits",
    "Send a small text message with RSV = 1.",
    FAIL_1002,
    async (f) => {
      await f.send({ opcode: TEXT, payload: "Hello, world!", rsv: 1 });
      await f.expectFail(PROTOCOL_ERROR);
    },
  );
  for (
    const [id, rsv, how, opts] of [
      ["3.2", 2, "", {}],
      ["3.3", 3, " Frame-wise chops.", { sync: true }],
      ["3.4", 4, " Octet-wise chops.", { chop: 1 }],
    ] as const
  ) {
    add(
      id,
      "Reserved Bits",
      `Send a small text message, then again with RSV = ${rsv}, then a ping.${how}`,
      "The first message is echoed; then the connection is failed (1002, TCP closed); no pong.",
      async (f) => {
        await f.send([
          { opcode: TEXT, payload: "Hello, world!" },
          { opcode: TEXT, payload: "Hello, world!", rsv },
          { opcode: PING },
        ], opts);
        await f.expectMessage("Hello, world!", false);
        await f.expectFail(PROTOCOL_ERROR);
      },
    );
  }
  add(
    "3.5",
    "Reserved Bits",
    "Send a small binary message with RSV = 5.",
    FAIL_1002,
    async (f) => {
      await f.send({ opcode: BINARY, payload: hex("00fffefdfcfb00ff"), rsv: 5 });
      await f.expectFail(PROTOCOL_ERROR);
    },
  );
  add("3.6", "Reserved Bits", "Send a ping with RSV = 6.", FAIL_1002, async (f) => {
    await f.send({ opcode: PING, payload: "Hello, world!", rsv: 6 });
    await f.expectFail(PROTOCOL_ERROR);
  });
  add("3.7", "Reserved Bits", "Send a close with RSV = 7.", FAIL_1002, async (f) => {
    await f.send({ opcode: CLOSE, rsv: 7 });
    await f.expectFail(PROTOCOL_ERROR);
  });

  // ---------------------------------------------------------------------------------------------
  // 4 Opcodes
  for (const [sub, kind, base] of [[1, "non-control", 3], [2, "control", 11]] as const) {
    const category = sub === 1 ? "Non-control Opcodes" : "Control Opcodes";
    add(
      `4.${sub}.1`,
      category,
      `Send a frame with the reserved ${kind} opcode ${base}.`,
      FAIL_1002,
      async (f) => {
        await f.send({ opcode: base });
        await f.expectFail(PROTOCOL_ERROR);
      },
    );
    add(
      `4.${sub}.2`,
      category,
      `Send a frame with the reserved ${kind} opcode ${base + 1} and a non-empty payload.`,
      FAIL_1002,
      async (f) => {
        await f.send({ opcode: base + 1, payload: "reserved opcode payload" });
        await f.expectFail(PROTOCOL_ERROR);
      },
    );
    for (const k of [2, 3, 4]) {
      const opcode = base + k;
      const withPayload = k > 2;
      const chop = k === 4 ? 1 : undefined;
      add(
        `4.${sub}.${k + 1}`,
        category,
        `Send a small text message, then a frame with the reserved ${kind} opcode ${opcode}${
          withPayload ? " and a non-empty payload" : ""
        }, then a ping.${chop ? " Octet-wise chops." : ""}`,
        "The message is echoed; then the connection is failed (1002, TCP closed); no pong.",
        async (f) => {
          await f.send([
            { opcode: TEXT, payload: "Hello, world!" },
            { opcode, payload: withPayload ? "Hello, world!" : "" },
            { opcode: PING },
          ], { chop });
          await f.expectMessage("Hello, world!", false);
          await f.expectFail(PROTOCOL_ERROR);
        },
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 5 Fragmentation
  const FRAG = "Fragmentation";
  for (const [id, opcode, name] of [["5.1", PING, "ping"], ["5.2", PONG, "pong"]] as const) {
    add(
      id,
      FRAG,
      `Send a ${name} fragmented into 2 fragments.`,
      `${FAIL_1002} (Control frames must not be fragmented.)`,
      async (f) => {
        await f.send([
          { opcode, fin: false, payload: "fragment1" },
          { opcode: CONT, fin: true, payload: "fragment2" },
        ]);
        await f.expectFail(PROTOCOL_ERROR);
      },
    );
  }
  const HOW = [["", {}], [" Frame-wise chops.", { sync: true }], [" Octet-wise chops.", {
    chop: 1,
  }]] as const;
  HOW.forEach(([how, opts], i) => {
    add(
      `5.${3 + i}`,
      FRAG,
      `Send a text message fragmented into 2 fragments.${how}`,
      ECHO_CLOSE,
      async (f) => {
        await f.send([
          { opcode: TEXT, fin: false, payload: "fragment1" },
          { opcode: CONT, fin: true, payload: "fragment2" },
        ], opts);
        await f.expectMessage("fragment1fragment2", false);
        await f.closeNormally();
      },
    );
  });
  HOW.forEach(([how, opts], i) => {
    add(
      `5.${6 + i}`,
      FRAG,
      `Send a text message fragmented into 2 fragments, one ping with payload in between.${how}`,
      "A pong, then the echoed message; then a clean close with 1000.",
      async (f) => {
        await f.send([
          { opcode: TEXT, fin: false, payload: "fragment1" },
          { opcode: PING, payload: "ping payload" },
          { opcode: CONT, fin: true, payload: "fragment2" },
        ], opts);
        await f.expectPong("ping payload");
        await f.expectMessage("fragment1fragment2", false);
        await f.closeNormally();
      },
    );
  });
  for (const [first, fin] of [[9, true], [12, false]] as const) {
    const chopNames = [" in one chop", " in per-frame chops", " in octet-wise chops"];
    HOW.forEach(([, opts], i) => {
      add(
        `5.${first + i}`,
        FRAG,
        `Send a continuation frame with FIN = ${fin} where there is nothing to continue, then an ` +
          `unfragmented text message,${chopNames[i]}.`,
        `${FAIL_1002} (There is no message to continue.)`,
        async (f) => {
          await f.send([
            { opcode: CONT, fin, payload: "non-continuation payload" },
            { opcode: TEXT, payload: "Hello, world!" },
          ], opts);
          await f.expectFail(PROTOCOL_ERROR);
        },
      );
    });
  }
  add(
    "5.15",
    FRAG,
    "Send a text message in 2 fragments, then a continuation frame with FIN = false where there " +
      "is nothing to continue, then an unfragmented text message, all in one chop.",
    "The first message is echoed; then the connection is failed (1002, TCP closed).",
    async (f) => {
      await f.send([
        { opcode: TEXT, fin: false, payload: "fragment1" },
        { opcode: CONT, fin: true, payload: "fragment2" },
        { opcode: CONT, fin: false, payload: "fragment3" },
        { opcode: TEXT, fin: true, payload: "fragment4" },
      ]);
      await f.expectMessage("fragment1fragment2", false);
      await f.expectFail(PROTOCOL_ERROR);
    },
  );
  for (const [id, fin] of [["5.16", false], ["5.17", true]] as const) {
    add(
      id,
      FRAG,
      `Repeated 2x: a continuation frame with FIN = ${fin} (nothing to continue), then a text ` +
        "message in 2 fragments.",
      `${FAIL_1002} (There is no message to continue.)`,
      async (f) => {
        const round: FrameSpec[] = [
          { opcode: CONT, fin, payload: "fragment1" },
          { opcode: TEXT, fin: false, payload: "fragment2" },
          { opcode: CONT, fin: true, payload: "fragment3" },
        ];
        await f.send([...round, ...round]);
        await f.expectFail(PROTOCOL_ERROR);
      },
    );
  }
  add(
    "5.18",
    FRAG,
    "Send a text message in 2 fragments, both with the text opcode, in one chop.",
    `${FAIL_1002} (Fragments after the first must have opcode 0.)`,
    async (f) => {
      await f.send([
        { opcode: TEXT, fin: false, payload: "fragment1" },
        { opcode: TEXT, fin: true, payload: "fragment2" },
      ]);
      await f.expectFail(PROTOCOL_ERROR);
    },
  );
  for (const [id, sync] of [["5.19", false], ["5.20", true]] as const) {
    add(
      id,
      FRAG,
      "A text message in 5 fragments: after the first 2 fragments a ping; once its pong is " +
        "back, 2 more fragments, another ping, and the last fragment." +
        (sync ? " Frame-wise chops." : ""),
      "The first pong arrives before the rest of the message is sent; then the second pong, " +
        "then the echoed message; then a clean close with 1000.",
      async (f) => {
        const frags = [1, 2, 3, 4, 5].map((i) => `fragment${i}`);
        await f.send([
          { opcode: TEXT, fin: false, payload: frags[0] },
          { opcode: CONT, fin: false, payload: frags[1] },
          { opcode: PING, payload: "pongme 1!" },
        ], { sync });
        await f.expectPong("pongme 1!");
        await f.send([
          { opcode: CONT, fin: false, payload: frags[2] },
          { opcode: CONT, fin: false, payload: frags[3] },
          { opcode: PING, payload: "pongme 2!" },
          { opcode: CONT, fin: true, payload: frags[4] },
        ], { sync });
        await f.expectPong("pongme 2!");
        await f.expectMessage(frags.join(""), false);
        await f.closeNormally();
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // 6 UTF-8 handling
  const FAIL_1007 = "The connection is failed: close frame with 1007, then TCP closed.";
  const echoText = async (f: Fuzzer, frames: FrameSpec[], expected: Uint8Array | string) => {
    await f.send(frames);
    await f.expectMessage(expected, false);
    await f.closeNormally();
  };
  const ZERO = "Valid UTF-8 with zero payload fragments";
  add(
    "6.1.1",
    ZERO,
    "Send a text message of length 0.",
    ECHO_CLOSE,
    (f) => echoText(f, [{ opcode: TEXT, payload: "" }], ""),
  );
  add(
    "6.1.2",
    ZERO,
    "Send a fragmented text message, 3 fragments each of length 0.",
    ECHO_CLOSE,
    (f) =>
      echoText(f, [
        { opcode: TEXT, fin: false },
        { opcode: CONT, fin: false },
        { opcode: CONT, fin: true },
      ], ""),
  );
  add(
    "6.1.3",
    ZERO,
    "Send a fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
    ECHO_CLOSE,
    (f) =>
      echoText(f, [
        { opcode: TEXT, fin: false },
        { opcode: CONT, fin: false, payload: "middle frame payload" },
        { opcode: CONT, fin: true },
      ], "middle frame payload"),
  );
  const VALID = "Valid UTF-8 unfragmented, fragmented on code-points and within code-points";
  const HELLO = "Hello-µ@ßöäüàá-UTF-8!!";
  add(
    "6.2.1",
    VALID,
    `Send a valid UTF-8 text message in one fragment: ${HELLO}`,
    ECHO_CLOSE,
    (f) => echoText(f, [{ opcode: TEXT, payload: HELLO }], HELLO),
  );
  add(
    "6.2.2",
    VALID,
    "Send a valid UTF-8 text message in two fragments, split on a code point boundary.",
    ECHO_CLOSE,
    (f) =>
      echoText(f, [
        { opcode: TEXT, fin: false, payload: "Hello-µ@ßöä" },
        { opcode: CONT, fin: true, payload: "üàá-UTF-8!!" },
      ], HELLO),
  );
  for (
    const [id, payload] of [["6.2.3", toBytes(HELLO)], [
      "6.2.4",
      hex("cebae1bdb9cf83cebcceb5"),
    ]] as const
  ) {
    add(
      id,
      VALID,
      `Send a valid UTF-8 text message in fragments of 1 octet (frames end inside code points): ` +
        `0x${fromHex(payload)}`,
      ECHO_CLOSE,
      async (f) => {
        await f.sendMessage(payload, false, { fragmentSize: 1 });
        await f.expectMessage(payload, false);
        await f.closeNormally();
      },
    );
  }
  const INVALID = hex("cebae1bdb9cf83cebcceb5eda080656469746564"); // invalid at byte 12 (0xa0)
  const INV = "Invalid UTF-8 differently fragmented";
  add(
    "6.3.1",
    INV,
    `Send an invalid UTF-8 text message unfragmented: 0x${fromHex(INVALID)}`,
    FAIL_1007,
    async (f) => {
      await f.send({ opcode: TEXT, payload: INVALID });
      await f.expectFail(INVALID_PAYLOAD);
    },
  );
  add(
    "6.3.2",
    INV,
    "Send the invalid UTF-8 text message of 6.3.1 in fragments of 1 octet.",
    FAIL_1007,
    async (f) => {
      await f.sendMessage(INVALID, false, { fragmentSize: 1 });
      await f.expectFail(INVALID_PAYLOAD);
    },
  );
  // 6.4.x: PART2 is U+110000 in the UTF-8 scheme; the first impossible byte is 0x90 at offset 12.
  const P1 = hex("cebae1bdb9cf83cebcceb5"), P2 = hex("f4908080"), P3 = hex("656469746564");
  const WHOLE = concatBytes([P1, P2, P3]);
  const FF = "Fail-fast on invalid UTF-8";
  const FF_EXPECT = "Nothing after the first part; the close frame with 1007 arrives right " +
    "after the part with the invalid byte, before the third part is sent; then TCP closed.";
  add(
    "6.4.1",
    FF,
    "Send an invalid UTF-8 text message in 3 frames, waiting after each: the first frame valid " +
      `(0x${fromHex(P1)}), the second with the invalid byte (0x${fromHex(P2)}), then the rest ` +
      `(0x${fromHex(P3)}).`,
    FF_EXPECT,
    (f) =>
      failFast(f, [
        f.frame({ opcode: TEXT, fin: false, payload: P1 }),
        f.frame({ opcode: CONT, fin: false, payload: P2 }),
        f.frame({ opcode: CONT, fin: true, payload: P3 }),
      ], 1),
  );
  add(
    "6.4.2",
    FF,
    "As 6.4.1, but the second frame carries only the invalid octet: 0x" +
      `${fromHex(WHOLE.subarray(0, 12))} | 0x${fromHex(WHOLE.subarray(12, 13))} | 0x` +
      fromHex(WHOLE.subarray(13)),
    FF_EXPECT,
    (f) =>
      failFast(f, [
        f.frame({ opcode: TEXT, fin: false, payload: WHOLE.subarray(0, 12) }),
        f.frame({ opcode: CONT, fin: false, payload: WHOLE.subarray(12, 13) }),
        f.frame({ opcode: CONT, fin: true, payload: WHOLE.subarray(13) }),
      ], 1),
  );
  for (
    const [id, cut1, cut2, like] of [["6.4.3", 11, 15, "6.4.1"], [
      "6.4.4",
      12,
      13,
      "6.4.2",
    ]] as const
  ) {
    add(
      id,
      FF,
      `As ${like}, but the parts are 3 chops of one frame (the frame header goes with the first).`,
      FF_EXPECT,
      (f) => {
        const frame = f.frame({ opcode: TEXT, payload: WHOLE });
        const h = frame.length - WHOLE.length;
        return failFast(f, [
          frame.subarray(0, h + cut1),
          frame.subarray(h + cut1, h + cut2),
          frame.subarray(h + cut2),
        ], 1);
      },
    );
  }
  let sub = 5;
  for (const [category, vectors] of utf8Sequences()) {
    vectors.forEach(([valid, payload], j) => {
      add(
        `6.${sub}.${j + 1}`,
        category,
        `Send a text message with a payload which is ${valid ? "" : "not "}valid UTF-8, in one ` +
          `fragment: 0x${fromHex(payload)}`,
        valid ? ECHO_CLOSE : FAIL_1007,
        async (f) => {
          await f.send({ opcode: TEXT, payload });
          if (valid) {
            await f.expectMessage(payload, false);
            await f.closeNormally();
          } else {
            await f.expectFail(INVALID_PAYLOAD);
          }
        },
      );
    });
    sub++;
  }

  // ---------------------------------------------------------------------------------------------
  // 7 Close handling
  const BASIC = "Basic close behavior (fuzzer initiated)";
  const CLOSE_ONLY = "The close frame echoing 1000 and nothing else; then TCP closed.";
  const closeFrame = (code?: number, reason: Uint8Array | string = ""): FrameSpec => ({
    opcode: CLOSE,
    payload: closePayload(code, reason),
  });
  add(
    "7.1.1",
    BASIC,
    "Send a message followed by a close frame.",
    "The echoed message, then the close frame echoing 1000; then TCP closed.",
    async (f) => {
      await f.send({ opcode: TEXT, payload: "Hello World!" });
      await f.expectMessage("Hello World!", false);
      await f.closeNormally();
    },
  );
  const afterClose = (id: string, desc: string, frames: FrameSpec[]) =>
    add(id, BASIC, desc, CLOSE_ONLY, async (f) => {
      await f.send(frames);
      await f.expectClose(1000);
      await f.finishClose();
    });
  afterClose("7.1.2", "Send two close frames.", [closeFrame(1000), closeFrame()]);
  afterClose("7.1.3", "Send a ping after a close frame.", [closeFrame(1000), { opcode: PING }]);
  afterClose("7.1.4", "Send a text message after a close frame.", [
    closeFrame(1000),
    { opcode: TEXT, payload: "Hello World!" },
  ]);
  afterClose("7.1.5", "Send a message's first fragment, a close frame, then the last fragment.", [
    { opcode: TEXT, fin: false, payload: "fragment1" },
    closeFrame(1000),
    { opcode: CONT, fin: true, payload: "fragment2" },
  ]);
  add(
    "7.1.6",
    BASIC,
    "Send a 256 KiB text message, a small text message, a close frame and a ping, back to back.",
    "Both messages echoed in order, then the close frame echoing 1000, no pong; then TCP closed.",
    async (f) => {
      const big = repeatTo("BAsd7&jh23", 256 * KB);
      await f.send([
        { opcode: TEXT, payload: big },
        { opcode: TEXT, payload: "Hello World!" },
        closeFrame(1000),
        { opcode: PING },
      ]);
      await f.expectMessage(big, false);
      await f.expectMessage("Hello World!", false);
      await f.expectClose(1000);
      await f.finishClose();
    },
  );
  const LEN = "Close frame structure: payload length (fuzzer initiated)";
  add(
    "7.3.1",
    LEN,
    "Send a close frame with payload length 0 (no close code, no close reason).",
    "An empty close frame in reply (the absent code echoed); then TCP closed.",
    async (f) => {
      await f.send(closeFrame());
      await f.expectClose(null);
      await f.finishClose();
    },
  );
  add("7.3.2", LEN, "Send a close frame with payload length 1.", FAIL_1002, async (f) => {
    await f.send({ opcode: CLOSE, payload: "a" });
    await f.expectFail(PROTOCOL_ERROR);
  });
  add(
    "7.3.3",
    LEN,
    "Send a close frame with payload length 2 (a code, 1000).",
    CLOSE_ONLY,
    (f) => f.closeNormally(1000),
  );
  for (
    const [id, reason, desc] of [
      ["7.3.4", "Hello World!", "a close code and a close reason"],
      ["7.3.5", "*".repeat(123), "a close code and a close reason of maximum length (123)"],
    ] as const
  ) {
    afterClose(id, `Send a close frame with ${desc}.`, [closeFrame(1000, reason)]);
  }
  add(
    "7.3.6",
    LEN,
    "Send a close frame with a close code and a close reason which is too long (124): total " +
      "frame payload 126 octets.",
    FAIL_1002,
    async (f) => {
      await f.send(closeFrame(1000, "*".repeat(124)));
      await f.expectFail(PROTOCOL_ERROR);
    },
  );
  add(
    "7.5.1",
    "Close frame structure: payload value (fuzzer initiated)",
    `Send a close frame with code 1000 and an invalid UTF-8 reason 0x${fromHex(INVALID)}.`,
    FAIL_1007,
    async (f) => {
      await f.send(closeFrame(1000, INVALID));
      await f.expectFail(INVALID_PAYLOAD);
    },
  );
  [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach(
    (code, i) => {
      add(
        `7.7.${i + 1}`,
        "Close frame structure: valid close codes (fuzzer initiated)",
        `Send a close frame with the valid close code ${code}.`,
        `The close frame echoing ${code}; then TCP closed.`,
        async (f) => {
          await f.send(closeFrame(code));
          await f.expectClose(code);
          await f.finishClose();
        },
      );
    },
  );
  [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => {
    add(
      `7.9.${i + 1}`,
      "Close frame structure: invalid close codes (fuzzer initiated)",
      `Send a close frame with the invalid close code ${code}.`,
      FAIL_1002,
      async (f) => {
        await f.send(closeFrame(code));
        await f.expectFail(PROTOCOL_ERROR);
      },
    );
  });
  [5000, 65535].forEach((code, i) => {
    add(
      `7.13.${i + 1}`,
      "Informational close information (fuzzer initiated)",
      `Send a close frame with close code ${code}.`,
      `${FAIL_1002} (Codes above 4999 are not valid; Autobahn leaves this informational.)`,
      async (f) => {
        await f.send(closeFrame(code));
        await f.expectFail(PROTOCOL_ERROR);
      },
    );
  });

  // ---------------------------------------------------------------------------------------------
  // 9 Limits/performance
  const payload9 = (binary: boolean, n: number) => binary ? repeatTo(BINARY_PATTERN, n) : textOf(n);
  const BIG_TIMEOUT = 60_000;
  const bigEcho = async (
    f: Fuzzer,
    binary: boolean,
    n: number,
    opts: { fragmentSize?: number; chop?: number },
  ) => {
    const p = payload9(binary, n);
    if (opts.chop !== undefined) {
      await f.send({ opcode: binary ? BINARY : TEXT, payload: p }, { chop: opts.chop });
    } else {
      await f.sendMessage(p, binary, { fragmentSize: opts.fragmentSize });
    }
    await f.expectMessage(p, binary, BIG_TIMEOUT / 2);
    await f.closeNormally();
  };
  for (const [sub, binary] of [[1, false], [2, true]] as const) {
    const kind = binary ? "binary" : "text";
    [64 * KB, 256 * KB, MB, 4 * MB, 8 * MB, 16 * MB].forEach((n, i) => {
      add(
        `9.${sub}.${i + 1}`,
        `${binary ? "Binary" : "Text"} Message (increasing size)`,
        `Send a ${kind} message with a payload of length ${sizeName(n)}.`,
        "The message is echoed byte for byte; then a clean close with 1000.",
        (f) => bigEcho(f, binary, n, {}),
        BIG_TIMEOUT,
      );
    });
  }
  for (const [sub, binary] of [[3, false], [4, true]] as const) {
    const kind = binary ? "binary" : "text";
    const n = 4 * MB;
    [64, 256, KB, 4 * KB, 16 * KB, 64 * KB, 256 * KB, MB, 4 * MB].forEach((size, i) => {
      add(
        `9.${sub}.${i + 1}`,
        `Fragmented ${binary ? "Binary" : "Text"} Message (fixed size, increasing fragment size)`,
        `Send a fragmented ${kind} message of ${sizeName(n)} in fragments of ${sizeName(size)}.`,
        "The message is echoed byte for byte; then a clean close with 1000.",
        (f) => bigEcho(f, binary, n, { fragmentSize: size }),
        BIG_TIMEOUT,
      );
    });
  }
  for (const [sub, binary] of [[5, false], [6, true]] as const) {
    const kind = binary ? "binary" : "text";
    const n = MB;
    [64, 128, 256, 512, 1024, 2048].forEach((chop, i) => {
      add(
        `9.${sub}.${i + 1}`,
        `${binary ? "Binary" : "Text"} Message (fixed size, increasing chop size)`,
        `Send a ${kind} message of ${sizeName(n)} in chops of ${chop} octets.`,
        "The message is echoed byte for byte; then a clean close with 1000.",
        (f) => bigEcho(f, binary, n, { chop }),
        BIG_TIMEOUT,
      );
    });
  }
  for (const [sub, binary] of [[7, false], [8, true]] as const) {
    const kind = binary ? "binary" : "text";
    const count = limits.roundTrips;
    [0, 16, 64, 256, 1024, 4096].forEach((n, i) => {
      add(
        `9.${sub}.${i + 1}`,
        `${binary ? "Binary" : "Text"} Message Roundtrip Time (fixed number, increasing size)`,
        `Send ${count} ${kind} messages of ${n} bytes, one at a time, each after the previous ` +
          "echo.",
        "Every message is echoed byte for byte, in order; then a clean close with 1000.",
        async (f) => {
          const p = payload9(binary, n);
          for (let k = 0; k < count; k++) {
            await f.send({ opcode: binary ? BINARY : TEXT, payload: p });
            await f.expectMessage(p, binary);
          }
          await f.closeNormally();
        },
        BIG_TIMEOUT,
      );
    });
  }

  // ---------------------------------------------------------------------------------------------
  // 10 Auto-fragmentation
  add(
    "10.1.1",
    "Auto-Fragmentation",
    "Send a text message of 65536 octets auto-fragmented into frames of 1300 octets (50 full " +
      "frames and one of 536).",
    ECHO_CLOSE,
    async (f) => {
      const p = repeatTo("*", 65536);
      await f.sendMessage(p, false, { fragmentSize: 1300 });
      await f.expectMessage(p, false);
      await f.closeNormally();
    },
  );

  // ---------------------------------------------------------------------------------------------
  // 12, 13 WebSocket compression (permessage-deflate, RFC 7692)
  cases.push(...compressionCases(limits));

  return cases;
}

/**
 * The messages wsdriver sends uncompressed: those shorter than its default `threshold` (1024
 * bytes). The compression cases expect every echo of at least this size compressed and every
 * shorter one not (when permessage-deflate was agreed).
 */
export const WSDRIVER_THRESHOLD = 1024;

/**
 * Autobahn's MSG_SIZES of 12.x/13.x: (payload length, auto-fragment size (0: one frame), its case
 * timeout in seconds for 1000 messages).
 */
const COMPRESSION_SIZES: ReadonlyArray<readonly [number, number, number]> = [
  [16, 0, 60],
  [64, 0, 60],
  [256, 0, 120],
  [1024, 0, 240],
  [4096, 0, 480],
  [8192, 0, 480],
  [16384, 0, 480],
  [32768, 0, 480],
  [65536, 0, 480],
  [131072, 0, 480],
  [8192, 256, 480],
  [16384, 256, 480],
  [32768, 256, 480],
  [65536, 256, 480],
  [131072, 256, 480],
  [131072, 1024, 480],
  [131072, 4096, 480],
  [131072, 32768, 480],
];

/**
 * Checks the agreement of the opening handshake. With the fuzzer as the client (the peer is the
 * server under test), the response must honour what {@link expectedServerAgreement} says for the
 * offer (see {@link honoursAgreement}: the same, with both `no_context_takeover` parameters added
 * as wsdriver on Deno does, its `node:zlib` lacking preset dictionaries, or with smaller windows as
 * wsdriver's server defaults to), or be absent where every offer must be declined. With the fuzzer as the server,
 * it answered itself and the client under test had to take the answer (it fails the case by
 * failing the connection).
 */
function checkAgreement(f: Fuzzer, offer: string): void {
  if (f.role !== "client") return;
  const want = expectedServerAgreement(offer);
  const got = f.deflate?.agreement;
  const response = f.negotiation.response;
  if (want === undefined) {
    if (response !== undefined) {
      throw new CaseFailure(
        `expected the server to decline ${JSON.stringify(offer)} (no Sec-WebSocket-Extensions: ` +
          `no offer it can honour); it answered ${JSON.stringify(response)}`,
      );
    }
    return;
  }
  if (!got) {
    throw new CaseFailure(
      `expected the server to accept ${JSON.stringify(offer)} with ${describeParams(want)}; ` +
        "it declined (no Sec-WebSocket-Extensions)",
    );
  }
  if (!honoursAgreement(got, want)) {
    throw new CaseFailure(
      `expected the server to accept ${JSON.stringify(offer)} with ${describeParams(want)} ` +
        `(or both no_context_takeover added, or smaller windows); it answered ` +
        `${JSON.stringify(response)}: ` +
        describeParams(got),
    );
  }
}

/**
 * Sends `count` consecutive slices of `data` of `len` bytes, one at a time, each compressed when
 * permessage-deflate was agreed and cut into `frag`-byte frames (0: one frame), and expects each
 * echo byte for byte, compressed exactly when it is at least {@link WSDRIVER_THRESHOLD} bytes and
 * the peer can compress (its window is 9 bits or more); then a clean close.
 */
async function compressedEcho(
  f: Fuzzer,
  offer: string,
  data: TestData,
  sizes: ReadonlyArray<readonly [number, number]>,
  count: number,
): Promise<void> {
  checkAgreement(f, offer);
  const slicer = new Slicer(data);
  const d = f.deflate;
  const peerCompresses = d !== undefined && d.peerWindowBits >= 9;
  for (let k = 0; k < count; k++) {
    const [len, frag] = sizes[k % sizes.length];
    const msg = slicer.next(len);
    await f.sendMessage(msg, data.binary, {
      compress: d?.out !== undefined,
      fragmentSize: frag > 0 ? frag : undefined,
    });
    await f.expectMessage(
      msg,
      data.binary,
      f.timing.event,
      peerCompresses && len >= WSDRIVER_THRESHOLD,
    );
  }
  await f.closeNormally();
}

/** Groups 12 and 13 (see README.md in this directory for the data and the scaling). */
function compressionCases(limits: Limits): Case[] {
  const cases: Case[] = [];
  const data = testData();
  const count = limits.compressedMessages;
  /** Autobahn's timeout for its 1000 messages, scaled to `count`, at least 60 s. */
  const timeout = (secs: number) => Math.max(60_000, (secs * count) | 0);
  const kind = (d: TestData) =>
    `${d.desc} (${d.binary ? "binary" : "utf8"}, ${d.bytes.length} bytes, generated)`;
  const ECHO = "Every message is echoed byte for byte, in order, as the same type; an echo of " +
    `${WSDRIVER_THRESHOLD} bytes or more compressed (RSV1 on its first frame only), a shorter ` +
    "one not; then a clean close with 1000.";

  // 12.x: Autobahn's default offer and accept, every data set, every size.
  const defaultOffer = autobahnOffer(false, 0);
  const defaultAccept = autobahnAccept(false, 0);
  ["json_data1", "lena512", "gutenberg_faust", "html_data1", "ooms"].forEach((key, j) => {
    const d = data[key];
    COMPRESSION_SIZES.forEach(([len, frag, secs], i) => {
      cases.push({
        id: `12.${j + 1}.${i + 1}`,
        group: 12,
        category: kind(d),
        description: `Send ${count} compressed messages each of payload size ${len}, ` +
          `auto-fragment to ${frag} octets. Use default permessage-deflate offer ` +
          `(${JSON.stringify(defaultOffer)}).`,
        expectation: `The server agrees to the offer as asked. ${ECHO}`,
        timeout: timeout(secs),
        compression: { offer: defaultOffer, accept: defaultAccept },
        run: (f) => compressedEcho(f, defaultOffer, d, [[len, frag]], count),
      });
    });
  });

  // 13.1–13.7: Autobahn's offer/accept combinations, the JSON data, every size.
  const combos: Array<[Array<[boolean, number]>, AcceptFunction, string]> = [
    [[[false, 0]], autobahnAccept(false, 0), "[(False, 0)]"],
    [[[true, 0]], autobahnAccept(true, 0), "[(True, 0)]"],
    [[[false, 8]], autobahnAccept(false, 8), "[(False, 8)]"],
    [[[false, 15]], autobahnAccept(false, 15), "[(False, 15)]"],
    [[[true, 8]], autobahnAccept(true, 8), "[(True, 8)]"],
    [[[true, 15]], autobahnAccept(true, 15), "[(True, 15)]"],
    [
      [[true, 8], [true, 0], [false, 0]],
      autobahnAcceptFallback(),
      "[(True, 8), (True, 0), (False, 0)]",
    ],
  ];
  const json = data.json_data1;
  combos.forEach(([offers, accept, acceptDesc], j) => {
    const offer = offers.map(([nct, bits]) => autobahnOffer(nct, bits)).join(", ");
    const offerDesc = `[${offers.map(([n, b]) => `(${n ? "True" : "False"}, ${b})`).join(", ")}]`;
    const declined = expectedServerAgreement(offer) === undefined;
    const category = `${kind(json)} - client offers (requestNoContextTakeover, ` +
      `requestMaxWindowBits): ${offerDesc} / server accept (requestNoContextTakeover, ` +
      `requestMaxWindowBits): ${acceptDesc}`;
    COMPRESSION_SIZES.forEach(([len, frag, secs], i) => {
      cases.push({
        id: `13.${j + 1}.${i + 1}`,
        group: 13,
        category,
        description: `Send ${count} compressed messages each of payload size ${len}, ` +
          `auto-fragment to ${frag} octets. Use permessage-deflate client offers ` +
          `${
            JSON.stringify(offer)
          }; a fuzzing server answers with Autobahn's accept ${acceptDesc}.`,
        expectation: declined
          ? "A server declines the offers (zlib cannot compress with a 256-byte window) and " +
            "echoes every message uncompressed; a client takes client_max_window_bits=8 and " +
            "sends every echo uncompressed (no zlib window is that small). Byte for byte, in " +
            "order; then a clean close with 1000."
          : `The server agrees to the first offer as asked. ${ECHO}` +
            (j === 6 ? " (A client takes client_max_window_bits=8: echoes uncompressed.)" : ""),
        timeout: timeout(secs),
        compression: { offer, accept },
        run: (f) => compressedEcho(f, offer, json, [[len, frag]], count),
      });
    });
  });

  // 13.8–13.11 (wsdriver's additions): every window size 9 … 15 in both directions, with each
  // combination of context takeover.
  const mixed: ReadonlyArray<readonly [number, number]> = [[16384, 0], [65536, 4096], [1024, 0]];
  const takeovers: Array<[boolean, boolean, string]> = [
    [false, false, "context takeover both ways"],
    [true, false, "server_no_context_takeover"],
    [false, true, "client_no_context_takeover"],
    [true, true, "no context takeover either way"],
  ];
  takeovers.forEach(([snct, cnct, what], j) => {
    for (let bits = 9; bits <= 15; bits++) {
      const offer = `permessage-deflate${snct ? "; server_no_context_takeover" : ""}${
        cnct ? "; client_no_context_takeover" : ""
      }; server_max_window_bits=${bits}; client_max_window_bits=${bits}`;
      cases.push({
        id: `13.${8 + j}.${bits - 8}`,
        group: 13,
        category: `${kind(json)} - window sizes 9 … 15 both ways, ${what} (not in Autobahn)`,
        description: `Send ${count} compressed messages of 16384, 65536 (in 4096-octet frames) ` +
          `and 1024 bytes in turn, with ${bits}-bit windows both ways and ${what}: the client ` +
          `offers ${JSON.stringify(offer)}; a fuzzing server answers with server_max_window_bits=` +
          `${bits}, client_max_window_bits=${bits}${snct ? ", server_no_context_takeover" : ""}` +
          `${cnct ? ", client_no_context_takeover" : ""}.`,
        expectation: `The server agrees to the offer as asked. ${ECHO} The peer's messages ` +
          "inflate within the agreed window (and without earlier messages where it agreed to no " +
          "context takeover).",
        timeout: timeout(480),
        compression: { offer, accept: windowAccept(bits, snct, cnct) },
        run: (f) => compressedEcho(f, offer, json, mixed, count),
      });
    }
  });
  return cases;
}

/** The catalogue with the sizes selected by the environment (see {@link limitsFromEnv}). */
export const CASES: readonly Case[] = buildCases(limitsFromEnv());

/** Compares Autobahn-style ids numerically ("6.10.1" after "6.9.2"). */
export function compareIds(a: string, b: string): number {
  const x = a.split(".").map(Number), y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Cases whose id equals one of `filters` or starts with it followed by a dot ("6.4" → 6.4.x). */
export function selectCases(filters: readonly string[], cases: readonly Case[] = CASES): Case[] {
  if (filters.length === 0) return [...cases];
  return cases.filter((c) => filters.some((p) => c.id === p || c.id.startsWith(`${p}.`)));
}
