/**
 * Unit tests of src/protocol/frame.ts: the frame encoder and the incremental frame parser.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodeFrame,
  encodeMaskedIntoSlab,
  encodeMaskedTextIntoSlab,
  FrameParser,
  type FrameSink,
  frameSlab,
  Opcode,
  randomMask,
  SLAB_FRAME_LIMIT,
} from "../../src/protocol/frame.ts";
import { mulberry32, randomBytes } from "../_helpers.ts";

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

/** Asserts equal bytes; a mismatch names the first differing byte (no huge diff to compute). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, msg = "bytes"): void {
  if (actual.length !== expected.length) {
    assert.fail(`${msg}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${msg}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Short payloads as hex, long ones as length and FNV-1a hash: cheap to compare and print. */
function digest(data: Uint8Array): string {
  if (data.length <= 32) return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 0x01000193);
  return `${data.length} bytes, fnv1a ${(h >>> 0).toString(16)}`;
}

/** Frames with their payloads digested, for deepEqual. */
function summary(frames: Frame[]) {
  return frames.map((f) => ({ ...f, data: digest(f.data) }));
}

/** The frame bytes as one array. */
function frameBytes(...args: Parameters<typeof encodeFrame>): Uint8Array {
  return concat(encodeFrame(...args));
}

function unmask(data: Uint8Array, key: Uint8Array): Uint8Array {
  return data.map((b, i) => b ^ key[i & 3]);
}

/** One parsed frame: its header, its payload pieces joined, and whether frameEnd came. */
interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  length: number;
  data: Uint8Array;
  ended: boolean;
}

interface Recorder extends FrameSink {
  frames: Frame[];
  errors: { code: string; message: string; closeCode: number }[];
  /** Every call in order, for the checks that care about interleaving. */
  calls: string[];
  pieces: Uint8Array[];
}

/** A sink that records frames; `stopAt` makes the named method return false at its n-th call. */
function recorder(stopAt?: { method: "frameHeader" | "frameData" | "frameEnd"; call: number }) {
  let current: { frame: Frame; parts: Uint8Array[] } | undefined;
  const counts = { frameHeader: 0, frameData: 0, frameEnd: 0 };
  const go = (method: keyof typeof counts) => {
    counts[method]++;
    return !(stopAt && stopAt.method === method && stopAt.call === counts[method]);
  };
  const r: Recorder = {
    frames: [],
    errors: [],
    calls: [],
    pieces: [],
    frameHeader(fin, rsv, opcode, length) {
      r.calls.push(`header ${fin} ${rsv} ${opcode} ${length}`);
      assert.equal(current, undefined, "frameHeader before the previous frameEnd");
      current = {
        frame: { fin, rsv, opcode, length, data: new Uint8Array(0), ended: false },
        parts: [],
      };
      r.frames.push(current.frame);
      return go("frameHeader");
    },
    frameData(data) {
      r.calls.push(`data ${data.length}`);
      assert.ok(current, "frameData outside a frame");
      r.pieces.push(data);
      current.parts.push(data.slice());
      return go("frameData");
    },
    frameEnd() {
      r.calls.push("end");
      assert.ok(current, "frameEnd outside a frame");
      current.frame.data = concat(current.parts);
      current.frame.ended = true;
      current = undefined;
      return go("frameEnd");
    },
    frameError(code, message, closeCode) {
      r.calls.push(`error ${code} ${closeCode}`);
      r.errors.push({ code, message, closeCode });
    },
  };
  return r;
}

/** Pushes `stream` (copied first: the parser unmasks in place) cut at the given positions. */
function parseSplit(stream: Uint8Array, cuts: number[], requireMask: boolean): Recorder {
  const copy = stream.slice();
  const r = recorder();
  const parser = new FrameParser(r, { requireMask });
  const points = [...new Set(cuts)].filter((c) => c > 0 && c < copy.length).sort((a, b) => a - b);
  let prev = 0;
  for (const c of [...points, copy.length]) {
    parser.push(copy.subarray(prev, c));
    prev = c;
  }
  return r;
}

describe("Opcode", () => {
  it("has the RFC 6455 values", () => {
    assert.deepEqual(Opcode, {
      Continuation: 0,
      Text: 1,
      Binary: 2,
      Close: 8,
      Ping: 9,
      Pong: 10,
    });
  });
});

describe("encodeFrame", () => {
  it("length 0: 7-bit length, FIN set", () => {
    assert.deepEqual([...frameBytes(Opcode.Text, new Uint8Array(0))], [0x81, 0x00]);
    assert.deepEqual([...frameBytes(Opcode.Close, new Uint8Array(0))], [0x88, 0x00]);
  });

  it("the RFC 6455 §5.7 examples", () => {
    const hello = new TextEncoder().encode("Hello");
    assert.deepEqual(
      [...frameBytes(Opcode.Text, hello)],
      [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
    );
    assert.deepEqual(
      [...frameBytes(Opcode.Text, hello, { mask: new Uint8Array([0x37, 0xfa, 0x21, 0x3d]) })],
      [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
    );
    // A fragmented unmasked text message.
    assert.deepEqual(
      [...frameBytes(Opcode.Text, hello.subarray(0, 3), { fin: false })],
      [0x01, 0x03, 0x48, 0x65, 0x6c],
    );
    assert.deepEqual(
      [...frameBytes(Opcode.Continuation, hello.subarray(3))],
      [0x80, 0x02, 0x6c, 0x6f],
    );
    // Unmasked ping with "Hello".
    assert.deepEqual([...frameBytes(Opcode.Ping, hello)].slice(0, 2), [0x89, 0x05]);
  });

  it("length 125: 7-bit length", () => {
    const payload = new Uint8Array(125).fill(7);
    const bytes = frameBytes(Opcode.Binary, payload);
    assert.equal(bytes.length, 127);
    assert.deepEqual([...bytes.subarray(0, 2)], [0x82, 125]);
    assertBytes(bytes.subarray(2), payload);
  });

  it("length 126: 16-bit length", () => {
    const payload = new Uint8Array(126).fill(9);
    const bytes = frameBytes(Opcode.Binary, payload);
    assert.equal(bytes.length, 130);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x82, 126, 0x00, 0x7e]);
    assertBytes(bytes.subarray(4), payload);
  });

  it("length 65535: 16-bit length", () => {
    const payload = new Uint8Array(65535).fill(1);
    const bytes = frameBytes(Opcode.Binary, payload);
    assert.equal(bytes.length, 4 + 65535);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x82, 126, 0xff, 0xff]);
    assertBytes(bytes.subarray(4), payload);
  });

  it("length 65536: 64-bit length", () => {
    const payload = new Uint8Array(65536).fill(2);
    const bytes = frameBytes(Opcode.Binary, payload);
    assert.equal(bytes.length, 10 + 65536);
    assert.deepEqual([...bytes.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    assertBytes(bytes.subarray(10), payload);
  });

  it("length 70000: 64-bit length", () => {
    const bytes = frameBytes(Opcode.Binary, new Uint8Array(70000));
    assert.deepEqual([...bytes.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
  });

  it("fin false clears the FIN bit", () => {
    assert.deepEqual([...frameBytes(Opcode.Binary, new Uint8Array([5]), { fin: false })], [
      0x02,
      0x01,
      0x05,
    ]);
    assert.deepEqual(
      [...frameBytes(Opcode.Continuation, new Uint8Array(0), { fin: false })],
      [0x00, 0x00],
    );
    assert.deepEqual([...frameBytes(Opcode.Text, new Uint8Array(0), { fin: true })], [0x81, 0]);
  });

  it("rsv1 sets bit 0x40 only", () => {
    assert.deepEqual([...frameBytes(Opcode.Text, new Uint8Array(0), { rsv1: true })], [0xc1, 0]);
    assert.deepEqual(
      [...frameBytes(Opcode.Text, new Uint8Array(0), { rsv1: true, fin: false })],
      [0x41, 0],
    );
    assert.deepEqual([...frameBytes(Opcode.Text, new Uint8Array(0), { rsv1: false })], [0x81, 0]);
  });

  it("masked frames set the mask bit, carry the key and the masked payload", () => {
    const key = new Uint8Array([0x01, 0x80, 0xff, 0x3c]);
    for (const n of [0, 1, 125, 126, 1025, 65535, 65536]) {
      const payload = randomBytes(mulberry32(n), n);
      const before = payload.slice();
      const chunks = encodeFrame(Opcode.Binary, payload, { mask: key });
      assert.equal(chunks.length, 1, `a masked frame is one chunk, n ${n}`);
      const bytes = chunks[0];
      const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
      assert.equal(bytes.length, 2 + ext + 4 + n, `n ${n}`);
      assert.equal(bytes[0], 0x82);
      assert.equal(bytes[1], 0x80 | (ext === 0 ? n : ext === 2 ? 126 : 127), `n ${n}`);
      assert.deepEqual([...bytes.subarray(2 + ext, 6 + ext)], [...key], `n ${n}`);
      assertBytes(unmask(bytes.subarray(6 + ext), key), payload, `n ${n}`);
      assertBytes(payload, before, `the payload must not be modified, n ${n}`);
    }
  });

  it("an unmasked payload up to 1024 bytes is copied into one chunk", () => {
    const payload = new Uint8Array(1024).fill(3);
    const chunks = encodeFrame(Opcode.Binary, payload);
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0].length, 4 + 1024);
    payload[0] = 99;
    assert.equal(chunks[0][4], 3, "a copy, not a view");
  });

  it("an unmasked payload over 1024 bytes is a second chunk, not copied", () => {
    const payload = new Uint8Array(1025).fill(4);
    const chunks = encodeFrame(Opcode.Binary, payload);
    assert.equal(chunks.length, 2);
    assert.deepEqual([...chunks[0]], [0x82, 126, 0x04, 0x01]);
    assert.equal(chunks[1], payload);
  });
});

describe("randomMask", () => {
  it("returns 4-byte keys that vary", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const m = randomMask();
      assert.equal(m.length, 4);
      seen.add([...m].join(","));
    }
    // 3000 random 32-bit keys: a collision is possible but more than a few is not.
    assert.ok(seen.size > 2990, `only ${seen.size} distinct keys`);
  });
});

describe("encodeMaskedIntoSlab", () => {
  it("writes a final masked frame that unmasks to the payload, for every header size", () => {
    for (const n of [0, 1, 3, 125, 126, 255, 256, 257, 1000, SLAB_FRAME_LIMIT - 8]) {
      const payload = randomBytes(mulberry32(n + 1), n);
      const start = encodeMaskedIntoSlab(Opcode.Binary, payload);
      const frame = frameSlab.buf.slice(start, frameSlab.pos);
      const hlen = n < 126 ? 6 : 8;
      assert.equal(frame.length, hlen + n, `length ${n}`);
      assert.equal(frame[0], 0x80 | Opcode.Binary);
      assert.equal(frame[1] & 0x80, 0x80, "mask bit");
      assert.equal(n < 126 ? frame[1] & 0x7f : (frame[2] << 8) | frame[3], n);
      if (n >= 126) assert.equal(frame[1] & 0x7f, 126);
      const key = frame.subarray(hlen - 4, hlen);
      const unmasked = frame.slice(hlen).map((b, i) => b ^ key[i & 3]);
      assert.deepEqual(unmasked, payload, `payload ${n}`);
    }
  });

  it("gives each frame a fresh key, leaves the payload alone, and lays frames end to end", () => {
    const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const keys = new Set<string>();
    let end = -1;
    for (let i = 0; i < 200; i++) {
      const start = encodeMaskedIntoSlab(Opcode.Pong, payload);
      if (end >= 0 && start !== 0) assert.equal(start, end, "right after the previous frame");
      end = frameSlab.pos;
      keys.add([...frameSlab.buf.subarray(start + 2, start + 6)].join(","));
    }
    assert.ok(keys.size > 195, `only ${keys.size} distinct keys`);
    assert.deepEqual([...payload], [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe("encodeMaskedTextIntoSlab", () => {
  it("writes a final masked text frame of the UTF-8, ASCII or not, for every header size", () => {
    const texts = [
      "",
      "hi",
      "a".repeat(41),
      "a".repeat(42),
      "a".repeat(125),
      "a".repeat(126),
      "é".repeat(62),
      "é".repeat(63),
      "x€😀".repeat(50),
      "ab\u0000\u007f",
      "😀".repeat(Math.floor((SLAB_FRAME_LIMIT - 8) / 6)),
      "z".repeat(Math.floor((SLAB_FRAME_LIMIT - 8) / 3)),
    ];
    for (const text of texts) {
      const want = new TextEncoder().encode(text);
      const start = encodeMaskedTextIntoSlab(text);
      const frame = frameSlab.buf.slice(start, frameSlab.pos);
      const n = want.length, hlen = n < 126 ? 6 : 8;
      assert.equal(frame.length, hlen + n, `length of ${text.length} chars`);
      assert.equal(frame[0], 0x81);
      assert.equal(frame[1] & 0x80, 0x80, "mask bit");
      assert.equal(n < 126 ? frame[1] & 0x7f : (frame[2] << 8) | frame[3], n);
      const key = frame.subarray(hlen - 4, hlen);
      assert.deepEqual(frame.slice(hlen).map((b, i) => b ^ key[i & 3]), want);
    }
  });

  it("lays frames end to end in the slab", () => {
    let end = -1;
    for (let i = 0; i < 300; i++) {
      const start = encodeMaskedTextIntoSlab(i % 2 ? "é".repeat(50) : "hello");
      if (end >= 0 && start !== 0) assert.equal(start, end);
      end = frameSlab.pos;
    }
  });
});

describe("FrameParser: splits", () => {
  const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000, 5, 0];

  /** A stream of frames of various sizes, opcodes and bits; also the expected frames. */
  function buildStream(seed: number, masked: boolean) {
    const rand = mulberry32(seed);
    const parts: Uint8Array[] = [];
    const expected: Frame[] = [];
    const headerOffsets: number[] = [];
    let offset = 0;
    SIZES.forEach((n, i) => {
      const payload = randomBytes(rand, n);
      const opcode = [Opcode.Binary, Opcode.Text, Opcode.Continuation, Opcode.Ping][i % 4];
      const fin = i % 3 !== 1;
      const rsv1 = i === 4;
      const bytes = frameBytes(opcode, payload, {
        fin,
        rsv1,
        mask: masked ? randomBytes(rand, 4) : undefined,
      });
      headerOffsets.push(offset);
      offset += bytes.length;
      parts.push(bytes);
      expected.push({
        fin,
        rsv: rsv1 ? 4 : 0,
        opcode,
        length: n,
        data: payload,
        ended: true,
      });
    });
    return { stream: concat(parts), expected, headerOffsets };
  }

  for (const masked of [true, false]) {
    const label = masked ? "masked (server parser)" : "unmasked (client parser)";

    it(`${label}: all at once`, () => {
      const { stream, expected } = buildStream(1, masked);
      const r = parseSplit(stream, [], masked);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(summary(r.frames), summary(expected));
    });

    it(`${label}: one byte at a time`, () => {
      const { stream, expected } = buildStream(2, masked);
      const copy = stream.slice();
      const r = recorder();
      const parser = new FrameParser(r, { requireMask: masked });
      for (let i = 0; i < copy.length; i++) parser.push(copy.subarray(i, i + 1));
      assert.deepEqual(r.errors, []);
      assert.deepEqual(summary(r.frames), summary(expected));
      assert.equal(parser.stopped, false);
    });

    it(`${label}: 200 seeded random splits give identical events`, () => {
      const seed = masked ? 0xa11ce : 0xb0b;
      const { stream, expected, headerOffsets } = buildStream(3, masked);
      const want = summary(expected);
      const reference = parseSplit(stream, [], masked);
      assert.deepEqual(summary(reference.frames), want);
      const rand = mulberry32(seed);
      for (let run = 0; run < 200; run++) {
        const cuts: number[] = [];
        const n = 1 + Math.floor(rand() * 40);
        for (let k = 0; k < n; k++) {
          if (rand() < 0.5) {
            cuts.push(Math.floor(rand() * stream.length));
          } else {
            // Near a header, so that headers (incl. extended lengths and keys) get split.
            const h = headerOffsets[Math.floor(rand() * headerOffsets.length)];
            cuts.push(h + Math.floor(rand() * 18) - 2);
          }
        }
        const r = parseSplit(stream, cuts, masked);
        const msg = `seed ${seed} run ${run} cuts ${JSON.stringify(cuts)}`;
        assert.deepEqual(r.errors, [], msg);
        assert.deepEqual(summary(r.frames), want, msg);
      }
    });
  }

  it("empty chunks are harmless", () => {
    const frame = frameBytes(Opcode.Text, new Uint8Array([0x41]), {
      mask: new Uint8Array([1, 2, 3, 4]),
    });
    const r = recorder();
    const parser = new FrameParser(r, { requireMask: true });
    parser.push(new Uint8Array(0));
    parser.push(frame.subarray(0, 3));
    parser.push(new Uint8Array(0));
    parser.push(frame.subarray(3));
    parser.push(new Uint8Array(0));
    assert.deepEqual(r.calls, ["header true 0 1 1", "data 1", "end"]);
    assert.deepEqual([...r.frames[0].data], [0x41]);
  });

  it("a zero-length frame gives frameHeader then frameEnd, no frameData", () => {
    const r = parseSplit(frameBytes(Opcode.Pong, new Uint8Array(0)), [], false);
    assert.deepEqual(r.calls, ["header true 0 10 0", "end"]);
  });

  it("delivers payload pieces as views of the input, unmasked in place", () => {
    const key = new Uint8Array([9, 8, 7, 6]);
    const payload = new TextEncoder().encode("payload bytes");
    const input = frameBytes(Opcode.Binary, payload, { mask: key });
    const r = recorder();
    new FrameParser(r, { requireMask: true }).push(input);
    assert.equal(r.pieces.length, 1);
    assert.equal(r.pieces[0].buffer, input.buffer, "a view, not a copy");
    assert.equal(r.pieces[0].byteOffset, input.byteOffset + 6);
    assertBytes(input.subarray(6), payload, "unmasked in place");
  });

  it("unmasks pieces of 1 KiB and more into the sink's memory when it offers some", () => {
    const key = new Uint8Array([9, 8, 7, 6]);
    const payload = randomBytes(mulberry32(5), 5000);
    const input = frameBytes(Opcode.Binary, payload, { mask: key });
    const sent = input.slice();
    const r = recorder();
    const target = new Uint8Array(payload.length);
    const asked: number[] = [];
    let at = 0;
    r.frameInto = (length) => {
      asked.push(length);
      if (asked.length === 1) return undefined; // the first piece: a view, unmasked in place
      const view = target.subarray(at, at + length);
      at += length;
      return view;
    };
    const parser = new FrameParser(r, { requireMask: true });
    // Pieces of 1000 (too small to be offered), 1500, 1500 and 1000 payload bytes.
    for (const [from, to] of [[0, 1008], [1008, 2508], [2508, 4008], [4008, input.length]]) {
      parser.push(input.subarray(from, to));
    }
    assert.deepEqual(asked, [1500, 1500]);
    assert.equal(r.pieces[0].buffer, input.buffer, "a small piece stays a view of the input");
    assert.equal(r.pieces[1].buffer, input.buffer, "declined: a view of the input");
    assert.equal(r.pieces[2].buffer, target.buffer, "taken: a view of the sink's memory");
    assertBytes(r.frames[0].data, payload, "payload");
    assertBytes(target.subarray(0, 1500), payload.subarray(2500, 4000), "unmasked into place");
    assertBytes(input.subarray(2508, 4008), sent.subarray(2508, 4008), "input left masked");
  });

  it("reads all three RSV bits and every opcode (validation is the caller's job)", () => {
    const bytes = new Uint8Array([0xf3, 0x00, 0x7f, 0x00, 0x0b, 0x00]);
    const r = parseSplit(bytes, [], false);
    assert.deepEqual(r.calls, [
      "header true 7 3 0",
      "end",
      "header false 7 15 0",
      "end",
      "header false 0 11 0",
      "end",
    ]);
  });

  it("reports the largest exact 64-bit length (2^53 - 1) as announced", () => {
    const bytes = new Uint8Array([0x82, 127, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const r = parseSplit(bytes, [], false);
    assert.deepEqual(r.calls, [`header true 0 2 ${Number.MAX_SAFE_INTEGER}`]);
    assert.deepEqual(r.errors, []);
  });

  it("reads a 64-bit length whose high word is set (2^32 + 5)", () => {
    const bytes = new Uint8Array([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
    const r = parseSplit(bytes, [], false);
    assert.deepEqual(r.calls, [`header true 0 2 ${2 ** 32 + 5}`]);
  });
});

describe("FrameParser: errors", () => {
  it("a 64-bit length with the most significant bit set is a 1002 frameError", () => {
    for (const masked of [false, true]) {
      for (const hi of [0x80, 0xff]) {
        const header = [0x82, 127 | (masked ? 0x80 : 0), hi, 0, 0, 0, 0, 0, 0, 1];
        if (masked) header.push(1, 2, 3, 4);
        for (const oneByteAtATime of [false, true]) {
          const msg = `masked ${masked} hi ${hi} oneByteAtATime ${oneByteAtATime}`;
          const r = recorder();
          const parser = new FrameParser(r, { requireMask: masked });
          const bytes = new Uint8Array([...header, 0, 0, 0]);
          if (oneByteAtATime) {
            for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1));
          } else {
            parser.push(bytes);
          }
          assert.deepEqual(r.calls, ["error WS_ERR_INVALID_LENGTH 1002"], msg);
          assert.equal(r.errors[0].closeCode, 1002, msg);
          assert.equal(parser.stopped, true, msg);
        }
      }
    }
  });

  it("an unmasked frame to a server parser is WS_ERR_EXPECTED_MASK, 1002", () => {
    const r = recorder();
    const parser = new FrameParser(r, { requireMask: true });
    parser.push(frameBytes(Opcode.Text, new TextEncoder().encode("hi")));
    assert.deepEqual(r.calls, ["error WS_ERR_EXPECTED_MASK 1002"]);
    assert.equal(r.errors[0].closeCode, 1002);
    assert.equal(parser.stopped, true);
    // Later input is ignored.
    parser.push(frameBytes(Opcode.Text, new Uint8Array(1), { mask: new Uint8Array(4) }));
    assert.equal(r.calls.length, 1);
  });

  it("a masked frame to a client parser is WS_ERR_UNEXPECTED_MASK, 1002", () => {
    const r = recorder();
    const parser = new FrameParser(r, { requireMask: false });
    const good = frameBytes(Opcode.Binary, new Uint8Array([1, 2]));
    const bad = frameBytes(Opcode.Binary, new Uint8Array([3]), { mask: new Uint8Array(4) });
    parser.push(concat([good, bad, good]));
    assert.deepEqual(r.calls, [
      "header true 0 2 2",
      "data 2",
      "end",
      "error WS_ERR_UNEXPECTED_MASK 1002",
    ]);
    assert.equal(r.errors[0].closeCode, 1002);
    assert.equal(parser.stopped, true);
  });

  it("the mask error is reported when the second header byte arrives", () => {
    const r = recorder();
    const parser = new FrameParser(r, { requireMask: true });
    parser.push(new Uint8Array([0x81]));
    assert.deepEqual(r.calls, []);
    parser.push(new Uint8Array([0x05]));
    assert.deepEqual(r.calls, ["error WS_ERR_EXPECTED_MASK 1002"]);
  });
});

describe("FrameParser: stopping", () => {
  const key = new Uint8Array([1, 2, 3, 4]);
  const stream = () =>
    concat([
      frameBytes(Opcode.Binary, new Uint8Array(10).fill(1), { mask: key }),
      frameBytes(Opcode.Binary, new Uint8Array(20).fill(2), { mask: key }),
      frameBytes(Opcode.Ping, new Uint8Array(0), { mask: key }),
    ]);

  it("runs to the end when every method returns true", () => {
    const r = recorder();
    const parser = new FrameParser(r, { requireMask: true });
    parser.push(stream());
    assert.deepEqual(r.calls, [
      "header true 0 2 10",
      "data 10",
      "end",
      "header true 0 2 20",
      "data 20",
      "end",
      "header true 0 9 0",
      "end",
    ]);
    assert.equal(parser.stopped, false);
  });

  it("false from frameHeader stops it", () => {
    const r = recorder({ method: "frameHeader", call: 2 });
    const parser = new FrameParser(r, { requireMask: true });
    parser.push(stream());
    assert.deepEqual(r.calls, ["header true 0 2 10", "data 10", "end", "header true 0 2 20"]);
    assert.equal(parser.stopped, true);
    parser.push(stream());
    assert.equal(r.calls.length, 4, "later input is ignored");
  });

  it("false from frameHeader of a zero-length frame stops it before frameEnd", () => {
    const r = recorder({ method: "frameHeader", call: 3 });
    const parser = new FrameParser(r, { requireMask: true });
    parser.push(stream());
    assert.equal(r.calls.at(-1), "header true 0 9 0");
    assert.equal(parser.stopped, true);
  });

  it("false from frameData stops it (no frameEnd, no further frames)", () => {
    const r = recorder({ method: "frameData", call: 1 });
    const parser = new FrameParser(r, { requireMask: true });
    const bytes = stream();
    parser.push(bytes.subarray(0, 10)); // header (6) + 4 payload bytes
    assert.deepEqual(r.calls, ["header true 0 2 10", "data 4"]);
    parser.push(bytes.subarray(10));
    assert.deepEqual(r.calls, ["header true 0 2 10", "data 4"]);
    assert.equal(parser.stopped, true);
  });

  it("false from frameEnd stops it", () => {
    const r = recorder({ method: "frameEnd", call: 1 });
    const parser = new FrameParser(r, { requireMask: true });
    parser.push(stream());
    assert.deepEqual(r.calls, ["header true 0 2 10", "data 10", "end"]);
    assert.equal(parser.stopped, true);
  });

  it("stop() stops it", () => {
    const r = recorder();
    const parser = new FrameParser(r, { requireMask: true });
    const bytes = stream();
    parser.push(bytes.subarray(0, 3));
    parser.stop();
    assert.equal(parser.stopped, true);
    parser.push(bytes.subarray(3));
    assert.deepEqual(r.calls, []);
  });
});
