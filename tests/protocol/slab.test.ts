/**
 * Unit tests of src/protocol/slab.ts: the reserve/commit contract of the shared slab, and the frame
 * slab's frames staying intact while later frames fill and replace its buffers.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Slab } from "../../src/protocol/slab.ts";
import {
  encodeFrame,
  encodeIntoSlab,
  encodeTextFrame,
  encodeTextIntoSlab,
  frameSlab,
  Opcode,
} from "../../src/protocol/frame.ts";

/** Writes `bytes` into `slab` as one committed run; returns a view of it. */
function write(slab: Slab, bytes: Uint8Array): Uint8Array {
  const buf = slab.reserve(bytes.length);
  const start = slab.pos;
  buf.set(bytes, start);
  slab.commit(bytes.length);
  assert.equal(slab.pos, start + bytes.length);
  return buf.subarray(start, slab.pos);
}

function run(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i) & 0xff);
}

describe("Slab", () => {
  it("holds no buffer until the first reserve", () => {
    const slab = new Slab(64);
    assert.equal(slab.buf.length, 0);
    assert.equal(slab.pos, 0);
    assert.equal(slab.reserve(1).length, 64);
  });

  it("writes runs back to back in one buffer", () => {
    const slab = new Slab(64);
    const a = write(slab, run(10, 1));
    const b = write(slab, run(20, 2));
    assert.equal(a.buffer, b.buffer);
    assert.equal(b.byteOffset, a.byteOffset + a.length);
    assert.equal(slab.pos, 30);
  });

  it("never rewrites committed bytes, across many replaced buffers", () => {
    const slab = new Slab(100);
    const kept: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 200; i++) {
      const bytes = run(1 + (i * 7) % 45, i);
      kept.push([write(slab, bytes), bytes]);
      // Scribble over the reserved but uncommitted space, as an abandoned writer may.
      const buf = slab.reserve(30);
      buf.fill(0xee, slab.pos, slab.pos + 30);
    }
    for (const [view, bytes] of kept) assert.deepEqual(view, bytes);
  });

  it("replaces a buffer without room, keeping the old one as it was", () => {
    const slab = new Slab(16);
    const first = write(slab, run(12, 3));
    const old = slab.buf;
    const buf = slab.reserve(8); // 4 bytes left: too few
    assert.notEqual(buf, old);
    assert.equal(buf.length, 16);
    assert.equal(slab.pos, 0);
    assert.equal(slab.buf, buf);
    buf.fill(0xff);
    slab.commit(8);
    assert.deepEqual(first, run(12, 3));
    assert.deepEqual(old.subarray(0, 12), run(12, 3));
  });

  it("keeps the buffer when the reservation fits exactly", () => {
    const slab = new Slab(16);
    write(slab, run(12, 4));
    const old = slab.buf;
    assert.equal(slab.reserve(4), old);
    assert.equal(slab.pos, 12);
  });

  it("gives a reservation larger than the slab a buffer of its own", () => {
    const slab = new Slab(16);
    const small = write(slab, run(4, 5));
    const big = write(slab, run(40, 6));
    assert.equal(big.buffer.byteLength, 40);
    assert.equal(big.byteOffset, 0);
    const after = write(slab, run(4, 7)); // the big buffer is full: a slab-sized one follows
    assert.equal(after.buffer.byteLength, 16);
    assert.deepEqual(small, run(4, 5));
    assert.deepEqual(big, run(40, 6));
    assert.deepEqual(after, run(4, 7));
  });

  it("lets a writer commit less than it reserved, and the next writer reuse the rest", () => {
    const slab = new Slab(64);
    const buf = slab.reserve(30);
    buf.fill(1, 0, 30);
    slab.commit(10);
    assert.equal(slab.reserve(20), buf);
    assert.equal(slab.pos, 10);
    const next = write(slab, run(20, 8));
    assert.equal(next.byteOffset, 10);
    assert.deepEqual(buf.subarray(0, 10), new Uint8Array(10).fill(1));
  });

  it("refuses to commit past the buffer or a negative count", () => {
    const slab = new Slab(16);
    slab.reserve(8);
    assert.throws(() => slab.commit(17), RangeError);
    assert.throws(() => slab.commit(-1), RangeError);
    assert.throws(() => slab.commit(NaN), RangeError);
    assert.equal(slab.pos, 0);
    slab.commit(16);
    assert.throws(() => slab.commit(1), RangeError);
    assert.throws(() => new Slab(0), RangeError);
  });
});

describe("the frame slab", () => {
  it("keeps every encoded frame intact while later frames replace its buffers", () => {
    const frames: Array<[Uint8Array, Uint8Array]> = [];
    // Over two 64 KiB buffers of frames, text and binary, short and 16-bit lengths.
    for (let i = 0; i < 800; i++) {
      if (i % 2 === 0) {
        const payload = run(i % 3 === 0 ? 300 + i % 500 : i % 120, i);
        const start = encodeIntoSlab(Opcode.Binary, payload);
        const view = frameSlab.buf.subarray(start, frameSlab.pos);
        frames.push([view, encodeFrame(Opcode.Binary, payload)[0]]);
      } else {
        const text = i % 3 === 0 ? "é".repeat(i % 600) : "x".repeat(i % 100);
        const start = encodeTextIntoSlab(text);
        frames.push([frameSlab.buf.subarray(start, frameSlab.pos), encodeTextFrame(text)]);
      }
    }
    const buffers = new Set(frames.map(([view]) => view.buffer));
    assert.ok(buffers.size > 1, "the frames should span more than one slab buffer");
    for (const [view, expected] of frames) assert.deepEqual(view, expected);
  });
});
