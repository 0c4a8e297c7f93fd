import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RawFraming, RawProtocol, RawType } from "../../src/protocol/raw.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function make(framing: RawFraming, maxPayload = 1000) {
  const events: unknown[][] = [];
  const p = new RawProtocol({ framing, maxPayload }, {
    message: (d, b) => events.push(["message", d instanceof Uint8Array ? [...d] : d, b]),
    ping: () => events.push(["ping"]),
    pong: () => events.push(["pong"]),
    close: (c, r) => events.push(["close", c, r]),
    error: (e) => events.push(["error", e.code, e.closeCode]),
  });
  return { p, events };
}

function frame(type: number, payload: Uint8Array | string): Uint8Array {
  const b = typeof payload === "string" ? enc.encode(payload) : payload;
  const out = new Uint8Array(5 + b.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, b.length);
  out.set(b, 5);
  return out;
}

function output(p: RawProtocol): Uint8Array {
  const parts = p.takeOutput();
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of parts) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}

/** Every split of `input` into two pieces, and byte by byte. */
function splits(input: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[input], [...input].map((b) => new Uint8Array([b]))];
  for (let i = 1; i < input.length; i++) out.push([input.slice(0, i), input.slice(i)]);
  return out;
}

describe("RawProtocol, line framing", () => {
  it("delivers lines in any split, with or without \\r", () => {
    const input = enc.encode("hello\nwörld\r\n\nlast");
    for (const pieces of splits(input)) {
      const { p, events } = make("line");
      for (const piece of pieces) p.receive(piece.slice());
      p.eof();
      assert.deepEqual(events, [
        ["message", "hello", false],
        ["message", "wörld", false],
        ["message", "", false],
        ["message", "last", false],
      ]);
      assert.equal(p.state, "closed");
      assert.equal(p.closeCode, 1000, "EOF is how a raw peer says goodbye");
    }
  });

  it("sends text and bytes as lines", () => {
    const { p } = make("line");
    p.sendText("one");
    p.sendBinary(enc.encode("two"));
    p.sendEncoded([], "three");
    assert.equal(dec.decode(output(p)), "one\ntwo\nthree\n");
    assert.throws(() => p.ping(), /no ping/);
    assert.throws(() => p.sendFragment(), /fragments/);
  });

  it("fails on invalid UTF-8 with 1007 and tells the peer why", () => {
    const { p, events } = make("line");
    p.receive(new Uint8Array([0x6f, 0x6b, 0x0a, 0xc0, 0xaf, 0x0a, 0x6e, 0x6f, 0x0a]));
    assert.deepEqual(events, [["message", "ok", false], ["error", "WS_ERR_INVALID_UTF8", 1007]]);
    assert.match(dec.decode(output(p)), /^error: line is not valid UTF-8\n$/);
    assert.equal(p.shouldCloseTransport, true);
  });

  it("fails on a line over the limit as soon as it is known, newline or not", () => {
    const { p, events } = make("line", 10);
    p.receive(enc.encode("0123456789"));
    assert.deepEqual(events, []);
    p.receive(enc.encode("x"));
    assert.deepEqual(events, [["error", "WS_ERR_LINE_TOO_LONG", 1009]]);
    p.receive(enc.encode("more\n"));
    assert.equal(events.length, 1, "nothing after the failure");
  });
});

describe("RawProtocol, length framing", () => {
  it("delivers text and binary frames in any split", () => {
    const parts = [
      frame(RawType.Text, "héllo"),
      frame(RawType.Binary, new Uint8Array([0, 1, 255])),
      frame(RawType.Text, ""),
    ];
    const input = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
    let off = 0;
    for (const x of parts) {
      input.set(x, off);
      off += x.length;
    }
    for (const pieces of splits(input)) {
      const { p, events } = make("length");
      for (const piece of pieces) p.receive(piece.slice());
      assert.deepEqual(events, [["message", "héllo", false], ["message", [0, 1, 255], true], [
        "message",
        "",
        false,
      ]]);
    }
  });

  it("encodes sends and closes as the documented layout", () => {
    const { p } = make("length");
    p.sendText("hi");
    p.sendBinary(new Uint8Array([7]));
    p.close(4000, "bye");
    assert.deepEqual([...output(p)], [
      ...frame(RawType.Text, "hi"),
      ...frame(RawType.Binary, new Uint8Array([7])),
      ...frame(RawType.Close, new Uint8Array([0x0f, 0xa0, 0x62, 0x79, 0x65])),
    ]);
    assert.equal(p.state, "closed");
    assert.throws(() => p.sendText("late"), /closing or closed/);
  });

  it("answers the peer's close frame with the same code", () => {
    const { p, events } = make("length");
    p.receive(frame(RawType.Close, new Uint8Array([0x03, 0xe9, 0x78])));
    assert.deepEqual(events, [["close", 1001, "x"]]);
    assert.deepEqual([...output(p)], [...frame(RawType.Close, new Uint8Array([0x03, 0xe9]))]);
    assert.equal(p.closeReceived, true);
  });

  const bad: Array<[string, Uint8Array, string, number]> = [
    ["an unknown type", frame(0x05, "x"), "WS_ERR_RAW_BAD_TYPE", 1002],
    [
      "a length over the limit (from the prefix alone)",
      frame(RawType.Binary, new Uint8Array(1001)).subarray(0, 5),
      "WS_ERR_MESSAGE_TOO_BIG",
      1009,
    ],
    [
      "invalid UTF-8 text",
      frame(RawType.Text, new Uint8Array([0xed, 0xa0, 0x80])),
      "WS_ERR_INVALID_UTF8",
      1007,
    ],
  ];
  for (const [name, input, code, closeCode] of bad) {
    it(`fails on ${name} with ${closeCode}`, () => {
      const { p, events } = make("length");
      p.receive(input.slice());
      assert.deepEqual(events, [["error", code, closeCode]]);
      const out = output(p);
      assert.equal(out[0], RawType.Close, "the peer gets a close frame");
      assert.equal((out[5] << 8) | out[6], closeCode);
    });
  }
});
