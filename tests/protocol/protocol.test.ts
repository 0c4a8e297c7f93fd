/**
 * Unit tests of src/protocol/protocol.ts: the sans-I/O connection state machine.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError, StateError } from "../../src/errors.ts";
import { encodeFrame, FrameParser, Opcode } from "../../src/protocol/frame.ts";
import {
  DEFAULT_MAX_PAYLOAD,
  Protocol,
  type ProtocolOptions,
} from "../../src/protocol/protocol.ts";
import { mulberry32, randomBytes } from "../_helpers.ts";

const enc = new TextEncoder();
const bytes = (...b: number[]) => new Uint8Array(b);

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const KEY = bytes(0x12, 0x34, 0x56, 0x78);

/** A frame as a client sends it: masked. */
function cf(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  opts: { fin?: boolean; rsv1?: boolean } = {},
): Uint8Array {
  const p = typeof payload === "string" ? enc.encode(payload) : payload;
  return concat(encodeFrame(opcode, p, { ...opts, mask: KEY }));
}

/** A frame as a server sends it: unmasked. */
function sf(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  opts: { fin?: boolean } = {},
): Uint8Array {
  const p = typeof payload === "string" ? enc.encode(payload) : payload;
  return concat(encodeFrame(opcode, p, opts));
}

/** A close payload: code and reason bytes. */
function closePayload(code: number, reason: number[] | string = []): Uint8Array {
  const r = typeof reason === "string" ? [...enc.encode(reason)] : reason;
  return bytes(code >>> 8, code & 0xff, ...r);
}

type Event =
  | ["message", string | number[], boolean]
  | ["ping", number[]]
  | ["pong", number[]]
  | ["close", number, string]
  | ["error", string, number];

/**
 * How a binary message is recorded: its bytes, or for large ones (to keep comparisons of
 * thousands of events cheap) its length and FNV-1a hash.
 */
function binRepr(data: Uint8Array): number[] | string {
  if (data.length <= 1024) return [...data];
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 0x01000193);
  return `${data.length} bytes, fnv1a ${(h >>> 0).toString(16)}`;
}

/** A Protocol whose handler records its calls (binary payloads copied: they are views). */
function setup(options: ProtocolOptions) {
  const events: Event[] = [];
  const errors: ProtocolError[] = [];
  const p = new Protocol(options, {
    message(data, isBinary) {
      events.push(["message", typeof data === "string" ? data : binRepr(data), isBinary]);
      assert.equal(typeof data === "string", !isBinary, "text as string, binary as bytes");
    },
    ping: (payload) => events.push(["ping", [...payload]]),
    pong: (payload) => events.push(["pong", [...payload]]),
    close: (code, reason) => events.push(["close", code, reason]),
    error(error) {
      errors.push(error);
      events.push(["error", error.code, error.closeCode]);
    },
  });
  return { p, events, errors };
}

const server = (opts: Partial<ProtocolOptions> = {}) => setup({ side: "server", ...opts });
const client = (opts: Partial<ProtocolOptions> = {}) => setup({ side: "client", ...opts });

interface OutFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: number[];
}

/** Decodes a Protocol's output; `masked` for a client's output (every frame must be masked). */
function decodeOutput(chunks: Uint8Array[], masked = false): OutFrame[] {
  const frames: OutFrame[] = [];
  let cur: OutFrame | undefined;
  const errors: string[] = [];
  const parser = new FrameParser({
    frameHeader(fin, rsv, opcode) {
      cur = { fin, rsv, opcode, payload: [] };
      frames.push(cur);
      return true;
    },
    frameData(data) {
      cur!.payload.push(...data);
      return true;
    },
    frameEnd: () => true,
    frameError: (code) => void errors.push(code),
  }, { requireMask: masked });
  for (const c of chunks) parser.push(c.slice());
  assert.deepEqual(errors, [], "the output must be well-formed frames");
  return frames;
}

const out = (p: Protocol, masked = false) => decodeOutput(p.takeOutput(), masked);

const closeFrame = (payload: number[]): OutFrame => ({
  fin: true,
  rsv: 0,
  opcode: Opcode.Close,
  payload,
});

describe("Protocol: defaults", () => {
  it("has a 64 MiB default maxPayload, autoPong on, state open", () => {
    assert.equal(DEFAULT_MAX_PAYLOAD, 64 * 1024 * 1024);
    const { p } = server();
    assert.equal(p.side, "server");
    assert.equal(p.maxPayload, DEFAULT_MAX_PAYLOAD);
    assert.equal(p.autoPong, true);
    assert.equal(p.state, "open");
    assert.equal(p.closeSent, false);
    assert.equal(p.closeReceived, false);
    assert.equal(p.failed, false);
    assert.equal(p.closeCode, 1006);
    assert.equal(p.closeReason, "");
    assert.equal(p.shouldCloseTransport, false);
    assert.equal(p.outputBytes, 0);
    assert.deepEqual(p.takeOutput(), []);
  });
});

describe("Protocol (server): data messages", () => {
  it("delivers a text message", () => {
    const { p, events } = server();
    p.receive(cf(Opcode.Text, "héllo 😀"));
    assert.deepEqual(events, [["message", "héllo 😀", false]]);
    assert.deepEqual(p.takeOutput(), []);
  });

  it("delivers a binary message", () => {
    const { p, events } = server();
    p.receive(cf(Opcode.Binary, bytes(0, 1, 0xfe, 0xff)));
    assert.deepEqual(events, [["message", [0, 1, 0xfe, 0xff], true]]);
  });

  it("delivers empty text and binary messages", () => {
    const { p, events } = server();
    p.receive(concat([cf(Opcode.Text), cf(Opcode.Binary)]));
    assert.deepEqual(events, [["message", "", false], ["message", [], true]]);
  });

  it("delivers several messages in one chunk, in order", () => {
    const { p, events } = server();
    p.receive(concat([cf(Opcode.Text, "a"), cf(Opcode.Binary, bytes(1)), cf(Opcode.Text, "b")]));
    assert.deepEqual(events, [
      ["message", "a", false],
      ["message", [1], true],
      ["message", "b", false],
    ]);
  });

  it("delivers a 70000-byte binary message sent in one frame", () => {
    const payload = randomBytes(mulberry32(7), 70000);
    const { p, events } = server();
    p.receive(cf(Opcode.Binary, payload));
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], ["message", binRepr(payload), true]);
    assert.match(events[0][1] as string, /^70000 bytes, fnv1a [0-9a-f]+$/);
  });

  it("keeps a text message that starts with U+FEFF (the BOM must not be stripped)", () => {
    const { p, events } = server();
    p.receive(cf(Opcode.Text, "\ufeffhi"));
    assert.deepEqual(events, [["message", "\ufeffhi", false]]);
  });

  it("fragmented text split inside multi-byte characters, with pings interleaved", () => {
    const text = "aκόσμε😀€z";
    const data = enc.encode(text);
    for (let i = 0; i <= data.length; i++) {
      for (let j = i; j <= data.length; j++) {
        const { p, events } = server();
        p.receive(concat([
          cf(Opcode.Text, data.subarray(0, i), { fin: false }),
          cf(Opcode.Ping, "p1"),
          cf(Opcode.Continuation, data.subarray(i, j), { fin: false }),
          cf(Opcode.Ping),
          cf(Opcode.Continuation, data.subarray(j)),
        ]));
        const msg = `fragments at ${i}, ${j}`;
        assert.deepEqual(events, [
          ["ping", [...enc.encode("p1")]],
          ["ping", []],
          ["message", text, false],
        ], msg);
        assert.deepEqual(out(p), [
          { fin: true, rsv: 0, opcode: Opcode.Pong, payload: [...enc.encode("p1")] },
          { fin: true, rsv: 0, opcode: Opcode.Pong, payload: [] },
        ], msg);
      }
    }
  });

  it("fragmented binary message with a pong interleaved", () => {
    const { p, events } = server();
    p.receive(cf(Opcode.Binary, bytes(1, 2), { fin: false }));
    p.receive(cf(Opcode.Pong, bytes(9)));
    p.receive(cf(Opcode.Continuation, bytes(), { fin: false }));
    p.receive(cf(Opcode.Continuation, bytes(3)));
    assert.deepEqual(events, [["pong", [9]], ["message", [1, 2, 3], true]]);
    assert.deepEqual(p.takeOutput(), [], "no answer to a pong");
  });

  it("answers a ping with a pong carrying the same payload (125 bytes)", () => {
    const payload = randomBytes(mulberry32(125), 125);
    const { p, events } = server();
    p.receive(cf(Opcode.Ping, payload));
    assert.deepEqual(events, [["ping", [...payload]]]);
    assert.deepEqual(out(p), [{ fin: true, rsv: 0, opcode: Opcode.Pong, payload: [...payload] }]);
  });

  it("a ping split over several chunks is answered once, whole", () => {
    const { p, events } = server();
    const frame = cf(Opcode.Ping, "split ping");
    for (let i = 0; i < frame.length; i++) p.receive(frame.subarray(i, i + 1));
    assert.deepEqual(events, [["ping", [...enc.encode("split ping")]]]);
    assert.deepEqual(out(p), [
      { fin: true, rsv: 0, opcode: Opcode.Pong, payload: [...enc.encode("split ping")] },
    ]);
  });

  it("does not answer pings when autoPong is false", () => {
    const { p, events } = server({ autoPong: false });
    assert.equal(p.autoPong, false);
    p.receive(cf(Opcode.Ping, "x"));
    assert.deepEqual(events, [["ping", [0x78]]]);
    assert.deepEqual(p.takeOutput(), []);
  });

  it("control frames do not count towards maxPayload", () => {
    const { p, events } = server({ maxPayload: 4 });
    p.receive(cf(Opcode.Ping, new Uint8Array(100)));
    p.receive(cf(Opcode.Text, "abcd"));
    assert.deepEqual(events, [["ping", [...new Uint8Array(100)]], ["message", "abcd", false]]);
  });

  it("accepts a message of exactly maxPayload bytes, in one frame or in fragments", () => {
    const { p, events } = server({ maxPayload: 10 });
    p.receive(cf(Opcode.Binary, new Uint8Array(10)));
    p.receive(cf(Opcode.Binary, new Uint8Array(6), { fin: false }));
    p.receive(cf(Opcode.Continuation, new Uint8Array(4)));
    assert.deepEqual(events, [
      ["message", [...new Uint8Array(10)], true],
      ["message", [...new Uint8Array(10)], true],
    ]);
    assert.equal(p.failed, false);
  });
});

describe("Protocol (server): random splits", () => {
  function longInput(): Uint8Array {
    const rand = mulberry32(99);
    const big = randomBytes(rand, 70000);
    const text = enc.encode("κόσμε 😀 ".repeat(300));
    return concat([
      cf(Opcode.Text, "first"),
      cf(Opcode.Binary, big.subarray(0, 30000), { fin: false }),
      cf(Opcode.Ping, "mid"),
      cf(Opcode.Continuation, big.subarray(30000, 30001), { fin: false }),
      cf(Opcode.Continuation, big.subarray(30001)),
      cf(Opcode.Text, text.subarray(0, 1001), { fin: false }),
      cf(Opcode.Pong, "pong"),
      cf(Opcode.Continuation, text.subarray(1001, 1002), { fin: false }),
      cf(Opcode.Continuation, text.subarray(1002)),
      cf(Opcode.Binary, new Uint8Array(0)),
      cf(Opcode.Binary, randomBytes(rand, 65536)),
      cf(Opcode.Text, ""),
      cf(Opcode.Binary, randomBytes(rand, 126)),
      cf(Opcode.Ping),
      cf(Opcode.Close, closePayload(1000, "done")),
    ]);
  }

  it("200 seeded random splits give the same events and output as one chunk", () => {
    const input = longInput();
    const whole = server();
    whole.p.receive(input.slice());
    const wholeOut = out(whole.p);
    assert.equal(whole.events.length, 11);
    assert.deepEqual(whole.events.at(-1), ["close", 1000, "done"]);
    assert.deepEqual(wholeOut.map((f) => f.opcode), [Opcode.Pong, Opcode.Pong, Opcode.Close]);
    const seed = 0x5b117;
    const rand = mulberry32(seed);
    for (let run = 0; run < 200; run++) {
      const copy = input.slice();
      const { p, events } = server();
      const cuts: number[] = [];
      let pos = 0;
      while (pos < copy.length) {
        const r = rand();
        const n = r < 0.4
          ? 1 + Math.floor(rand() * 16)
          : r < 0.8
          ? 1 + Math.floor(rand() * 2000)
          : 1 + Math.floor(rand() * 60000);
        cuts.push(n);
        p.receive(copy.subarray(pos, pos + n));
        pos += n;
      }
      const msg = `seed ${seed} run ${run} chunk sizes ${JSON.stringify(cuts)}`;
      assert.deepEqual(events, whole.events, msg);
      assert.deepEqual(out(p), wholeOut, msg);
      assert.equal(p.state, "closed", msg);
    }
  });
});

describe("Protocol (server): malformed input", () => {
  /** A client frame with its first byte replaced (RSV bits, opcode). */
  function withByte0(b0: number, payload: Uint8Array = bytes()): Uint8Array {
    const f = cf(Opcode.Binary, payload);
    f[0] = b0;
    return f;
  }

  interface Case {
    name: string;
    input: Uint8Array;
    closeCode: number;
    code: string;
    options?: Partial<ProtocolOptions>;
    /** Events before the error. */
    before?: Event[];
  }

  const textFrag = cf(Opcode.Text, "frag", { fin: false });
  const CASES: Case[] = [
    { name: "RSV1 set", input: withByte0(0xc1), closeCode: 1002, code: "WS_ERR_UNEXPECTED_RSV_1" },
    { name: "RSV2 set", input: withByte0(0xa2), closeCode: 1002, code: "WS_ERR_UNEXPECTED_RSV_2" },
    { name: "RSV3 set", input: withByte0(0x91), closeCode: 1002, code: "WS_ERR_UNEXPECTED_RSV_3" },
    {
      name: "RSV1 on a ping",
      input: withByte0(0xc9),
      closeCode: 1002,
      code: "WS_ERR_UNEXPECTED_RSV_1",
    },
    ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): Case => ({
      name: `reserved opcode ${op}`,
      input: withByte0(0x80 | op),
      closeCode: 1002,
      code: "WS_ERR_INVALID_OPCODE",
    })),
    {
      name: "reserved opcode 3 inside a fragmented message",
      input: concat([textFrag, withByte0(0x83)]),
      closeCode: 1002,
      code: "WS_ERR_INVALID_OPCODE",
    },
    {
      name: "fragmented ping (fin=0)",
      input: cf(Opcode.Ping, "x", { fin: false }),
      closeCode: 1002,
      code: "WS_ERR_FRAGMENTED_CONTROL",
    },
    {
      name: "fragmented pong (fin=0)",
      input: cf(Opcode.Pong, "", { fin: false }),
      closeCode: 1002,
      code: "WS_ERR_FRAGMENTED_CONTROL",
    },
    {
      name: "fragmented close (fin=0)",
      input: cf(Opcode.Close, closePayload(1000), { fin: false }),
      closeCode: 1002,
      code: "WS_ERR_FRAGMENTED_CONTROL",
    },
    {
      name: "ping with a 126-byte payload",
      input: cf(Opcode.Ping, new Uint8Array(126)),
      closeCode: 1002,
      code: "WS_ERR_CONTROL_TOO_BIG",
    },
    {
      name: "close with a 126-byte payload",
      input: cf(Opcode.Close, closePayload(1000, "a".repeat(124))),
      closeCode: 1002,
      code: "WS_ERR_CONTROL_TOO_BIG",
    },
    {
      name: "continuation with no message in progress",
      input: cf(Opcode.Continuation, "x"),
      closeCode: 1002,
      code: "WS_ERR_UNEXPECTED_CONTINUATION",
    },
    {
      name: "continuation after a finished message",
      input: concat([cf(Opcode.Text, "done"), cf(Opcode.Continuation, "x")]),
      closeCode: 1002,
      code: "WS_ERR_UNEXPECTED_CONTINUATION",
      before: [["message", "done", false]],
    },
    {
      name: "text frame while a fragmented message is in progress",
      input: concat([textFrag, cf(Opcode.Text, "new")]),
      closeCode: 1002,
      code: "WS_ERR_EXPECTED_CONTINUATION",
    },
    {
      name: "binary frame while a fragmented message is in progress",
      input: concat([cf(Opcode.Binary, "b", { fin: false }), cf(Opcode.Binary, "c")]),
      closeCode: 1002,
      code: "WS_ERR_EXPECTED_CONTINUATION",
    },
    {
      name: "invalid UTF-8 text (overlong)",
      input: cf(Opcode.Text, bytes(0x41, 0xc0, 0x80)),
      closeCode: 1007,
      code: "WS_ERR_INVALID_UTF8",
    },
    {
      name: "invalid UTF-8 text (ends inside a character)",
      input: cf(Opcode.Text, bytes(0x41, 0xe2, 0x82)),
      closeCode: 1007,
      code: "WS_ERR_INVALID_UTF8",
    },
    {
      name: "invalid UTF-8 in a continuation",
      input: concat([textFrag, cf(Opcode.Continuation, bytes(0xed, 0xa0, 0x80))]),
      closeCode: 1007,
      code: "WS_ERR_INVALID_UTF8",
    },
    {
      name: "invalid UTF-8 in the first fragment of an unfinished message (fail-fast)",
      input: cf(
        Opcode.Text,
        bytes(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80),
        { fin: false },
      ),
      closeCode: 1007,
      code: "WS_ERR_INVALID_UTF8",
    },
    {
      name: "close with a 1-byte payload",
      input: cf(Opcode.Close, bytes(0x03)),
      closeCode: 1002,
      code: "WS_ERR_INVALID_CLOSE",
    },
    ...[0, 999, 1004, 1005, 1006, 1015, 1100, 2000, 2999, 5000, 65535].map((c): Case => ({
      name: `close with invalid code ${c}`,
      input: cf(Opcode.Close, closePayload(c)),
      closeCode: 1002,
      code: "WS_ERR_INVALID_CLOSE",
    })),
    {
      name: "close with an invalid UTF-8 reason",
      input: cf(Opcode.Close, closePayload(1000, [0x41, 0xff])),
      closeCode: 1007,
      code: "WS_ERR_INVALID_CLOSE",
    },
    {
      name: "unmasked frame",
      input: sf(Opcode.Text, "hi"),
      closeCode: 1002,
      code: "WS_ERR_EXPECTED_MASK",
    },
    {
      name: "64-bit length with the most significant bit set",
      input: bytes(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4),
      closeCode: 1002,
      code: "WS_ERR_INVALID_LENGTH",
    },
    {
      name: "single frame over maxPayload",
      input: cf(Opcode.Binary, new Uint8Array(1001)),
      closeCode: 1009,
      code: "WS_ERR_MESSAGE_TOO_BIG",
      options: { maxPayload: 1000 },
    },
    {
      name: "fragmented message over maxPayload",
      input: concat([
        cf(Opcode.Text, "a".repeat(600), { fin: false }),
        cf(Opcode.Ping),
        cf(Opcode.Continuation, "b".repeat(300), { fin: false }),
        cf(Opcode.Continuation, "c".repeat(101)),
      ]),
      closeCode: 1009,
      code: "WS_ERR_MESSAGE_TOO_BIG",
      options: { maxPayload: 1000 },
      before: [["ping", []]],
    },
    {
      name: "valid frames before the bad frame in the same chunk",
      input: concat([
        cf(Opcode.Text, "one"),
        cf(Opcode.Ping, "p"),
        cf(Opcode.Binary, bytes(7)),
        withByte0(0xc2),
        cf(Opcode.Text, "never"),
      ]),
      closeCode: 1002,
      code: "WS_ERR_UNEXPECTED_RSV_1",
      before: [["message", "one", false], ["ping", [0x70]], ["message", [7], true]],
    },
  ];

  for (const c of CASES) {
    it(`${c.name} → ${c.closeCode} ${c.code}`, () => {
      const { p, events, errors } = server(c.options);
      p.receive(c.input.slice());
      assert.deepEqual(events, [...(c.before ?? []), ["error", c.code, c.closeCode]]);
      assert.ok(errors[0] instanceof ProtocolError);
      assert.equal(errors[0].closeCode, c.closeCode);
      const frames = out(p);
      // Pongs owed before the failure may precede the close frame; nothing may follow it.
      const last = frames.at(-1);
      assert.deepEqual(last, closeFrame([c.closeCode >>> 8, c.closeCode & 0xff]));
      assert.equal(frames.filter((f) => f.opcode === Opcode.Close).length, 1);
      assert.equal(p.state, "closed");
      assert.equal(p.failed, true);
      assert.equal(p.closeSent, true);
      assert.equal(p.closeCode, c.closeCode);
      assert.equal(p.shouldCloseTransport, true);
      // Further input is ignored.
      p.receive(concat([cf(Opcode.Text, "late"), cf(Opcode.Ping, "late")]));
      assert.equal(events.length, (c.before?.length ?? 0) + 1);
      assert.deepEqual(p.takeOutput(), []);
      // And sending is refused.
      assert.throws(
        () => p.sendText("x"),
        (e: unknown) => e instanceof StateError && e.code === "WS_ERR_NOT_OPEN",
      );
    });
  }

  it("fail-fast UTF-8: the error comes before the rest of the first fragment arrives", () => {
    const payload = concat([
      bytes(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80),
      enc.encode("x".repeat(200)),
    ]);
    const frame = cf(Opcode.Text, payload, { fin: false });
    const headerLen = 2 + 2 + 4;
    const bad = headerLen + 12; // index of 0xA0 in the frame
    const { p, events } = server();
    p.receive(frame.subarray(0, bad));
    assert.deepEqual(events, [], "ED alone is a valid prefix");
    p.receive(frame.subarray(bad, bad + 1));
    assert.deepEqual(events, [["error", "WS_ERR_INVALID_UTF8", 1007]]);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xef])]);
  });

  it("a frame over maxPayload is refused as soon as its header arrives", () => {
    const frame = cf(Opcode.Binary, new Uint8Array(1001));
    const { p, events } = server({ maxPayload: 1000 });
    p.receive(frame.subarray(0, 8)); // 2 + 2 (length) + 4 (key): the header only
    assert.deepEqual(events, [["error", "WS_ERR_MESSAGE_TOO_BIG", 1009]]);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xf1])]);
    assert.equal(p.shouldCloseTransport, true);
  });

  it("a 64-bit length far over the default limit is refused from the header alone", () => {
    // 2^40 bytes announced, masked; no payload follows.
    const header = bytes(0x82, 0xff, 0, 0, 0x01, 0, 0, 0, 0, 0, 1, 2, 3, 4);
    const { p, events } = server();
    p.receive(header);
    assert.deepEqual(events, [["error", "WS_ERR_MESSAGE_TOO_BIG", 1009]]);
  });

  it("a fragment that takes the message over maxPayload is refused at its header", () => {
    const { p, events } = server({ maxPayload: 1000 });
    p.receive(cf(Opcode.Binary, new Uint8Array(600), { fin: false }));
    const second = cf(Opcode.Continuation, new Uint8Array(401));
    p.receive(second.subarray(0, 8));
    assert.deepEqual(events, [["error", "WS_ERR_MESSAGE_TOO_BIG", 1009]]);
  });

  it("reports only the first error", () => {
    const { p, events } = server();
    p.receive(concat([withByte0(0xc1), withByte0(0x83)]));
    assert.deepEqual(events, [["error", "WS_ERR_UNEXPECTED_RSV_1", 1002]]);
    assert.equal(decodeOutput(p.takeOutput()).length, 1);
  });

  it("after we sent a close, a failure queues no second close frame", () => {
    const { p, events } = server();
    p.close(1001, "bye");
    p.receive(cf(Opcode.Continuation, "x"));
    assert.deepEqual(events, [["error", "WS_ERR_UNEXPECTED_CONTINUATION", 1002]]);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xe9, ...enc.encode("bye")])]);
    assert.equal(p.state, "closed");
    assert.equal(p.failed, true);
    assert.equal(p.closeCode, 1002);
  });
});

describe("Protocol (server): closing handshake", () => {
  it("peer close(1000, 'bye'): reported, answered with 1000, closed", () => {
    const { p, events } = server();
    p.receive(cf(Opcode.Close, closePayload(1000, "bye")));
    assert.deepEqual(events, [["close", 1000, "bye"]]);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xe8])]);
    assert.equal(p.state, "closed");
    assert.equal(p.closeReceived, true);
    assert.equal(p.closeSent, true);
    assert.equal(p.failed, false);
    assert.equal(p.closeCode, 1000);
    assert.equal(p.closeReason, "bye");
    assert.equal(p.shouldCloseTransport, true, "the server closes TCP first");
  });

  it("peer close with an application code is echoed", () => {
    const { p, events } = server();
    p.receive(cf(Opcode.Close, closePayload(4321, "app")));
    assert.deepEqual(events, [["close", 4321, "app"]]);
    assert.deepEqual(out(p), [closeFrame([0x10, 0xe1])]);
  });

  it("peer empty close: empty reply, code 1005", () => {
    const { p, events } = server();
    p.receive(cf(Opcode.Close));
    assert.deepEqual(events, [["close", 1005, ""]]);
    assert.deepEqual(out(p), [closeFrame([])]);
    assert.equal(p.closeCode, 1005);
    assert.equal(p.state, "closed");
  });

  it("close in the middle of a fragmented message echoes the peer's code (Autobahn 7.1.5)", () => {
    const { p, events } = server();
    p.receive(concat([
      cf(Opcode.Text, "fragment1", { fin: false }),
      cf(Opcode.Close, closePayload(1001)),
      cf(Opcode.Continuation, "fragment2"),
    ]));
    assert.deepEqual(events, [["close", 1001, ""]]);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xe9])]);
    assert.equal(p.state, "closed");
  });

  it("input after the peer's close is ignored", () => {
    const { p, events } = server();
    p.receive(concat([cf(Opcode.Close, closePayload(1000)), cf(Opcode.Ping, "x")]));
    p.receive(cf(Opcode.Text, "late"));
    assert.deepEqual(events, [["close", 1000, ""]]);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xe8])]);
  });

  it("local close() then the peer's close: closing, then closed, one close frame", () => {
    const { p, events } = server();
    p.close(1000, "done");
    assert.equal(p.state, "closing");
    assert.equal(p.closeSent, true);
    assert.equal(p.closeReceived, false);
    assert.equal(p.shouldCloseTransport, false);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xe8, ...enc.encode("done")])]);
    // Data may still arrive while closing.
    p.receive(cf(Opcode.Text, "in flight"));
    p.receive(cf(Opcode.Close, closePayload(1000)));
    assert.deepEqual(events, [["message", "in flight", false], ["close", 1000, ""]]);
    assert.deepEqual(p.takeOutput(), [], "no second close frame");
    assert.equal(p.state, "closed");
    assert.equal(p.closeReceived, true);
    assert.equal(p.closeCode, 1000);
    assert.equal(p.shouldCloseTransport, true);
  });

  it("close() with no code sends an empty close frame", () => {
    const { p } = server();
    p.close();
    assert.deepEqual(out(p), [closeFrame([])]);
  });

  it("close() twice queues one close frame", () => {
    const { p } = server();
    p.close(1000);
    p.close(1001, "again");
    assert.deepEqual(out(p), [closeFrame([0x03, 0xe8])]);
  });

  it("no pong is sent after our close frame", () => {
    const { p, events } = server();
    p.close(1000);
    p.receive(cf(Opcode.Ping, "x"));
    assert.deepEqual(events, [["ping", [0x78]]]);
    assert.deepEqual(out(p), [closeFrame([0x03, 0xe8])]);
  });

  it("close() after the peer's close does nothing more", () => {
    const { p } = server();
    p.receive(cf(Opcode.Close, closePayload(1000)));
    p.takeOutput();
    p.close(1000);
    assert.deepEqual(p.takeOutput(), []);
    assert.equal(p.state, "closed");
  });

  it("close() with a code that may not be sent or a long reason is a RangeError", () => {
    const { p } = server();
    for (const code of [999, 1005, 1006, 2000, 5000]) {
      assert.throws(() => p.close(code), RangeError, `code ${code}`);
    }
    assert.throws(() => p.close(1000, "x".repeat(124)), RangeError);
    assert.equal(p.state, "open", "a refused close() changes nothing");
    assert.equal(p.closeSent, false);
    assert.deepEqual(p.takeOutput(), []);
  });

  it("sending after close() throws StateError WS_ERR_NOT_OPEN", () => {
    const isNotOpen = (e: unknown) =>
      e instanceof StateError && e.code === "WS_ERR_NOT_OPEN" && e.name === "StateError";
    for (const how of ["local", "peer"]) {
      const { p } = server();
      if (how === "local") p.close(1000);
      else p.receive(cf(Opcode.Close, closePayload(1000)));
      p.takeOutput();
      assert.throws(() => p.sendText("x"), isNotOpen, how);
      assert.throws(() => p.sendBinary(bytes(1)), isNotOpen, how);
      assert.throws(() => p.sendFragment(bytes(0x41), false, false), isNotOpen, how);
      assert.throws(() => p.ping(), isNotOpen, how);
      assert.throws(() => p.pong(bytes(1)), isNotOpen, how);
      assert.deepEqual(p.takeOutput(), [], how);
    }
  });

  it("abort() closes without a close frame and ignores later input", () => {
    const { p, events } = server();
    p.abort();
    assert.equal(p.state, "closed");
    assert.equal(p.closeCode, 1006);
    p.receive(cf(Opcode.Text, "x"));
    assert.deepEqual(events, []);
    assert.deepEqual(p.takeOutput(), []);
  });
});

describe("Protocol (server): sending", () => {
  it("frames of two connections queued in turn stay apart, and are never overwritten", () => {
    const a = server().p, b = server().p;
    const want: number[][] = [[], []];
    for (let i = 0; i < 1500; i++) {
      const text = "x".repeat(i % 50) + (i % 7 === 0 ? "é€😀" : "") + "y".repeat(i % 130) + i;
      const p = i % 3 === 0 ? b : a;
      p.sendText(text);
      want[p === a ? 0 : 1].push(...encodeFrame(Opcode.Text, new TextEncoder().encode(text))[0]);
    }
    const got = [a, b].map((p) => p.takeOutput().flatMap((c) => [...c]));
    assert.deepEqual(got, want);
  });

  it("sendText and sendBinary queue unmasked frames", () => {
    const { p } = server();
    p.sendText("hi");
    p.sendBinary(bytes(1, 2, 3));
    assert.equal(p.outputBytes, 4 + 5);
    const chunks = p.takeOutput();
    // Small frames queued in a row are one contiguous chunk: one write, no copy.
    assert.deepEqual(chunks.map((c) => [...c]), [[0x81, 0x02, 0x68, 0x69, 0x82, 0x03, 1, 2, 3]]);
    assert.equal(p.outputBytes, 0);
    assert.deepEqual(p.takeOutput(), []);
  });

  it("outputBytes counts a large frame's header and payload chunks", () => {
    const { p } = server();
    p.sendBinary(new Uint8Array(70000));
    assert.equal(p.outputBytes, 10 + 70000);
    const frames = out(p);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].payload.length, 70000);
  });

  it("sendFragment sends a fragmented message; control frames may interleave", () => {
    const { p } = server();
    p.sendFragment(enc.encode("he"), false, false);
    p.ping(enc.encode("p"));
    p.sendFragment(enc.encode("l"), false, false);
    p.sendFragment(enc.encode("lo"), false, true);
    p.sendFragment(bytes(1), true, false);
    p.sendFragment(bytes(2), true, true);
    p.sendFragment(bytes(3), true, true); // a one-fragment message
    assert.deepEqual(out(p), [
      { fin: false, rsv: 0, opcode: Opcode.Text, payload: [...enc.encode("he")] },
      { fin: true, rsv: 0, opcode: Opcode.Ping, payload: [0x70] },
      { fin: false, rsv: 0, opcode: Opcode.Continuation, payload: [0x6c] },
      { fin: true, rsv: 0, opcode: Opcode.Continuation, payload: [...enc.encode("lo")] },
      { fin: false, rsv: 0, opcode: Opcode.Binary, payload: [1] },
      { fin: true, rsv: 0, opcode: Opcode.Continuation, payload: [2] },
      { fin: true, rsv: 0, opcode: Opcode.Binary, payload: [3] },
    ]);
  });

  it("a whole message cannot be sent while a fragmented one is unfinished", () => {
    const { p } = server();
    p.sendFragment(enc.encode("a"), false, false);
    p.takeOutput();
    const inProgress = (e: unknown) =>
      e instanceof StateError && e.code === "WS_ERR_FRAGMENT_IN_PROGRESS";
    assert.throws(() => p.sendText("x"), inProgress);
    assert.throws(() => p.sendBinary(bytes(1)), inProgress);
    assert.deepEqual(p.takeOutput(), []);
    p.sendFragment(enc.encode("b"), false, true);
    p.sendText("x");
    assert.deepEqual(out(p).map((f) => [f.opcode, f.fin]), [[0, true], [1, true]]);
  });

  it("a fragment must have the type of its message", () => {
    const { p } = server();
    p.sendFragment(bytes(1), true, false);
    p.takeOutput();
    assert.throws(
      () => p.sendFragment(enc.encode("t"), false, true),
      (e: unknown) => e instanceof StateError && e.code === "WS_ERR_FRAGMENT_TYPE",
    );
    assert.deepEqual(p.takeOutput(), []);
    p.sendFragment(bytes(2), true, true);
    assert.deepEqual(out(p), [{ fin: true, rsv: 0, opcode: Opcode.Continuation, payload: [2] }]);
  });

  it("sendEncoded queues pre-encoded chunks as they are", () => {
    const { p } = server();
    const chunks = encodeFrame(Opcode.Binary, new Uint8Array(2000).fill(7));
    assert.equal(chunks.length, 2);
    p.sendEncoded(chunks);
    assert.equal(p.outputBytes, 4 + 2000);
    const queued = p.takeOutput();
    assert.equal(queued.length, 2);
    assert.equal(queued[0], chunks[0], "not copied");
    assert.equal(queued[1], chunks[1], "not copied");
  });

  it("sendEncoded is refused on a client, during a fragmented message and after close", () => {
    const frame = encodeFrame(Opcode.Text, enc.encode("x"));
    assert.throws(() => client().p.sendEncoded(frame), TypeError);
    const { p } = server();
    p.sendFragment(enc.encode("a"), false, false);
    assert.throws(
      () => p.sendEncoded(frame),
      (e: unknown) => e instanceof StateError && e.code === "WS_ERR_FRAGMENT_IN_PROGRESS",
    );
    p.sendFragment(enc.encode("b"), false, true);
    p.close(1000);
    assert.throws(
      () => p.sendEncoded(frame),
      (e: unknown) => e instanceof StateError && e.code === "WS_ERR_NOT_OPEN",
    );
    assert.deepEqual(out(p).map((f) => f.opcode), [Opcode.Text, Opcode.Continuation, Opcode.Close]);
  });

  it("ping and pong payloads over 125 bytes are RangeErrors; 125 is fine", () => {
    const { p } = server();
    assert.throws(() => p.ping(new Uint8Array(126)), RangeError);
    assert.throws(() => p.pong(new Uint8Array(126)), RangeError);
    assert.deepEqual(p.takeOutput(), []);
    p.ping(new Uint8Array(125));
    p.pong();
    assert.deepEqual(out(p), [
      { fin: true, rsv: 0, opcode: Opcode.Ping, payload: [...new Uint8Array(125)] },
      { fin: true, rsv: 0, opcode: Opcode.Pong, payload: [] },
    ]);
  });
});

describe("Protocol (client)", () => {
  /** Checks the mask bit of every frame and that unmasking gives `payloads`. */
  function checkMasked(chunks: Uint8Array[], expected: { opcode: number; payload: number[] }[]) {
    const all = concat(chunks);
    let pos = 0;
    for (const e of expected) {
      assert.equal(all[pos] & 0x0f, e.opcode);
      assert.equal(all[pos + 1] & 0x80, 0x80, `mask bit of opcode ${e.opcode}`);
      let len = all[pos + 1] & 0x7f;
      let p = pos + 2;
      if (len === 126) {
        len = (all[p] << 8) | all[p + 1];
        p += 2;
      } else if (len === 127) {
        len = Number(new DataView(all.buffer, all.byteOffset + p, 8).getBigUint64(0));
        p += 8;
      }
      assert.equal(len, e.payload.length);
      const key = all.subarray(p, p + 4);
      const unmasked = [...all.subarray(p + 4, p + 4 + len)].map((b, i) => b ^ key[i & 3]);
      assert.deepEqual(unmasked, e.payload, `payload of opcode ${e.opcode}`);
      pos = p + 4 + len;
    }
    assert.equal(pos, all.length, "no bytes after the expected frames");
  }

  it("masks every frame it sends", () => {
    const { p } = client();
    const big = randomBytes(mulberry32(3), 300);
    const before = big.slice();
    p.sendText("hello");
    p.sendBinary(big);
    p.sendFragment(bytes(1), true, false);
    p.sendFragment(bytes(2), true, true);
    p.ping(enc.encode("ping"));
    p.pong(bytes());
    p.close(1000, "bye");
    checkMasked(p.takeOutput(), [
      { opcode: Opcode.Text, payload: [...enc.encode("hello")] },
      { opcode: Opcode.Binary, payload: [...before] },
      { opcode: Opcode.Binary, payload: [1] },
      { opcode: Opcode.Continuation, payload: [2] },
      { opcode: Opcode.Ping, payload: [...enc.encode("ping")] },
      { opcode: Opcode.Pong, payload: [] },
      { opcode: Opcode.Close, payload: [0x03, 0xe8, ...enc.encode("bye")] },
    ]);
    assert.deepEqual(big, before, "the caller's buffer is not modified");
  });

  it("receives unmasked frames and answers pings with masked pongs", () => {
    const { p, events } = client();
    p.receive(concat([sf(Opcode.Text, "hi"), sf(Opcode.Ping, "abc")]));
    assert.deepEqual(events, [["message", "hi", false], ["ping", [0x61, 0x62, 0x63]]]);
    checkMasked(p.takeOutput(), [{ opcode: Opcode.Pong, payload: [0x61, 0x62, 0x63] }]);
  });

  it("a server's close: reply queued, closed, but the client does not close TCP", () => {
    const { p, events } = client();
    p.receive(sf(Opcode.Close, closePayload(1001, "restart")));
    assert.deepEqual(events, [["close", 1001, "restart"]]);
    checkMasked(p.takeOutput(), [{ opcode: Opcode.Close, payload: [0x03, 0xe9] }]);
    assert.equal(p.state, "closed");
    assert.equal(p.failed, false);
    assert.equal(p.shouldCloseTransport, false, "the client waits for the server to close TCP");
  });

  it("local close then the server's close: shouldCloseTransport stays false", () => {
    const { p } = client();
    p.close(1000);
    p.takeOutput();
    p.receive(sf(Opcode.Close, closePayload(1000)));
    assert.equal(p.state, "closed");
    assert.deepEqual(p.takeOutput(), []);
    assert.equal(p.shouldCloseTransport, false);
  });

  it("a masked frame from the server fails the connection: masked 1002, close TCP", () => {
    const { p, events } = client();
    p.receive(cf(Opcode.Text, "masked"));
    assert.deepEqual(events, [["error", "WS_ERR_UNEXPECTED_MASK", 1002]]);
    checkMasked(p.takeOutput(), [{ opcode: Opcode.Close, payload: [0x03, 0xea] }]);
    assert.equal(p.failed, true);
    assert.equal(p.state, "closed");
    assert.equal(p.shouldCloseTransport, true);
  });

  it("invalid UTF-8 from the server fails the connection with 1007", () => {
    const { p, events } = client();
    p.receive(sf(Opcode.Text, bytes(0xf5)));
    assert.deepEqual(events, [["error", "WS_ERR_INVALID_UTF8", 1007]]);
    checkMasked(p.takeOutput(), [{ opcode: Opcode.Close, payload: [0x03, 0xef] }]);
    assert.equal(p.shouldCloseTransport, true);
  });
});
