/**
 * Unit tests of src/protocol/mask.ts: RFC 6455 §5.3 masking.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyMask, maskInto } from "../../src/protocol/mask.ts";
import { simdMask } from "../../src/protocol/mask_simd.ts";
import { mulberry32, randomBytes } from "../_helpers.ts";

/** Naive byte-by-byte reference: a new array, the input untouched. */
function reference(data: Uint8Array, key: Uint8Array, keyOffset = 0): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ key[(keyOffset + i) % 4];
  return out;
}

const SEED = 0x5eed1;

/**
 * Masks a view of `len` random bytes at `byteOffset` of a larger buffer from key phase
 * `keyOffset`: the view must match the reference, the guard bytes around it must not change, and
 * masking again must give the buffer back.
 */
function checkView(
  rand: () => number,
  len: number,
  byteOffset: number,
  keyOffset: number,
  msg: string,
): void {
  const key = randomBytes(rand, 4);
  const big = randomBytes(rand, byteOffset + len + 8);
  const bigBefore = big.slice();
  const view = big.subarray(byteOffset, byteOffset + len);
  const expected = reference(view, key, keyOffset);
  applyMask(view, key, keyOffset);
  assert.ok(equal(view, expected), msg);
  assert.ok(equal(big.subarray(0, byteOffset), bigBefore.subarray(0, byteOffset)), msg);
  assert.ok(
    equal(big.subarray(byteOffset + len), bigBefore.subarray(byteOffset + len)),
    `guard bytes after the view, ${msg}`,
  );
  applyMask(view, key, keyOffset);
  assert.ok(equal(big, bigBefore), `round trip, ${msg}`);
}

/** `data` masked in random pieces of 1 to `maxPiece` bytes, each continuing the key phase. */
function maskInPieces(
  data: Uint8Array,
  key: Uint8Array,
  rand: () => number,
  maxPiece: number,
): Uint8Array {
  const out = data.slice();
  let pos = 0, keyOffset = 0;
  while (pos < out.length) {
    const n = Math.min(out.length - pos, 1 + Math.floor(rand() * maxPiece));
    applyMask(out.subarray(pos, pos + n), key, keyOffset);
    keyOffset = (keyOffset + n) & 3;
    pos += n;
  }
  return out;
}

/** Byte equality without deepEqual's per-element report (slow on 200 KB arrays). */
function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("applyMask", () => {
  it("matches the RFC 6455 §5.7 example (masked 'Hello')", () => {
    const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    const data = new TextEncoder().encode("Hello");
    applyMask(data, key);
    assert.deepEqual([...data], [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    applyMask(data, key);
    assert.equal(new TextDecoder().decode(data), "Hello");
  });

  it("leaves an empty array alone", () => {
    const data = new Uint8Array(0);
    applyMask(data, new Uint8Array([1, 2, 3, 4]));
    assert.equal(data.length, 0);
  });

  it("an all-zero key is the identity", () => {
    const data = new Uint8Array(100).map((_, i) => i);
    applyMask(data, new Uint8Array(4));
    assert.deepEqual([...data], [...new Uint8Array(100).map((_, i) => i)]);
  });

  it("matches the reference and round-trips for lengths 0..300", () => {
    const rand = mulberry32(SEED);
    for (let len = 0; len <= 300; len++) {
      const key = randomBytes(rand, 4);
      const original = randomBytes(rand, len);
      const data = original.slice();
      applyMask(data, key);
      assert.deepEqual(data, reference(original, key), `seed ${SEED} len ${len}`);
      applyMask(data, key);
      assert.deepEqual(data, original, `round trip, seed ${SEED} len ${len}`);
    }
  });

  it("matches the reference for every byteOffset 0..7 and keyOffset 0..3 (subarrays)", () => {
    const rand = mulberry32(SEED + 1);
    const lengths = [0, 1, 3, 4, 5, 7, 8, 31, 32, 33, 35, 36, 63, 64, 65, 100, 257, 300];
    for (const len of lengths) {
      for (let byteOffset = 0; byteOffset < 8; byteOffset++) {
        for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
          const msg = `seed ${SEED + 1} len ${len} byteOffset ${byteOffset} keyOffset ${keyOffset}`;
          checkView(rand, len, byteOffset, keyOffset, msg);
        }
      }
    }
  });

  it("accepts a key that is itself a subarray at an odd offset", () => {
    const rand = mulberry32(SEED + 2);
    const keyBuf = randomBytes(rand, 9);
    const key = keyBuf.subarray(3, 7);
    const original = randomBytes(rand, 77);
    const data = original.slice();
    applyMask(data, key, 2);
    assert.deepEqual(data, reference(original, key, 2), `seed ${SEED + 2}`);
  });

  it("masking a payload in pieces with a running keyOffset equals masking it whole", () => {
    const rand = mulberry32(SEED + 3);
    for (let run = 0; run < 50; run++) {
      const key = randomBytes(rand, 4);
      const original = randomBytes(rand, 1 + Math.floor(rand() * 200));
      const whole = original.slice();
      applyMask(whole, key);
      const pieces = maskInPieces(original, key, rand, 40);
      assert.deepEqual(pieces, whole, `seed ${SEED + 3} run ${run}`);
    }
  });
});

describe("applyMask on large payloads (WebAssembly SIMD where available)", () => {
  it("has WebAssembly SIMD on Node, Deno and Bun", () => {
    const data = new Uint8Array(48).fill(0x0f);
    assert.equal(simdMask(data, new Uint8Array([1, 2, 3, 4]), 1), true);
    assert.deepEqual([...data.subarray(0, 8)], [0x0d, 0x0c, 0x0b, 0x0e, 0x0d, 0x0c, 0x0b, 0x0e]);
  });

  it("matches the reference around the SIMD threshold and the 64 KiB block edge", () => {
    const rand = mulberry32(SEED + 5);
    const lengths = [1023, 1024, 1025, 1039, 1040, 4099, 65535, 65536, 65537, 65551, 200_003];
    for (const len of lengths) {
      for (const byteOffset of [0, 1, 3, 8]) {
        for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
          const msg = `seed ${SEED + 5} len ${len} byteOffset ${byteOffset} keyOffset ${keyOffset}`;
          checkView(rand, len, byteOffset, keyOffset, msg);
        }
      }
    }
  });

  it("masking a large payload in pieces with a running keyOffset equals masking it whole", () => {
    const rand = mulberry32(SEED + 6);
    for (let run = 0; run < 10; run++) {
      const key = randomBytes(rand, 4);
      const original = randomBytes(rand, 70_000 + Math.floor(rand() * 70_000));
      const whole = original.slice();
      applyMask(whole, key);
      const pieces = maskInPieces(original, key, rand, 20_000);
      assert.ok(equal(pieces, whole), `seed ${SEED + 6} run ${run}`);
    }
  });
});

describe("maskInto", () => {
  it("copies masked bytes to dst at dstOffset and leaves the source untouched", () => {
    const rand = mulberry32(SEED + 4);
    for (const len of [0, 1, 5, 31, 32, 33, 100, 300]) {
      for (const dstOffset of [0, 1, 2, 3, 6]) {
        const msg = `seed ${SEED + 4} len ${len} dstOffset ${dstOffset}`;
        const key = randomBytes(rand, 4);
        const src = randomBytes(rand, len);
        const srcBefore = src.slice();
        const dst = new Uint8Array(dstOffset + len + 3).fill(0xaa);
        maskInto(src, key, dst, dstOffset);
        assert.deepEqual(src, srcBefore, `source modified, ${msg}`);
        assert.deepEqual(dst.subarray(dstOffset, dstOffset + len), reference(src, key), msg);
        assert.ok(dst.subarray(0, dstOffset).every((b) => b === 0xaa), `prefix, ${msg}`);
        assert.ok(dst.subarray(dstOffset + len).every((b) => b === 0xaa), `suffix, ${msg}`);
      }
    }
  });

  it("unmasking its output with applyMask gives the source back", () => {
    const key = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    const src = new TextEncoder().encode("the quick brown fox jumps over the lazy dog");
    const dst = new Uint8Array(src.length + 2);
    maskInto(src, key, dst, 2);
    const view = dst.subarray(2);
    applyMask(view, key);
    assert.deepEqual(view, src);
  });
});
