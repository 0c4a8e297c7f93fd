/**
 * RFC 6455 §5.3 masking: XOR with a 4-byte key, the same operation both ways.
 *
 * @module
 */

import { keyWord, simdMask } from "./mask_simd.ts";

/** From this length on, WebAssembly SIMD masks faster than JavaScript on every runtime. */
const SIMD_MIN = 1024;

/**
 * XORs `data` in place with `key`, starting at byte `keyOffset` of the key (a frame whose payload
 * arrives in several reads continues where the previous piece stopped).
 *
 * @example
 * ```ts
 * const data = new Uint8Array([1, 2, 3]);
 * applyMask(data, new Uint8Array([9, 9, 9, 9]));
 * ```
 */
export function applyMask(data: Uint8Array, key: Uint8Array, keyOffset = 0): void {
  const len = data.length;
  if (len >= SIMD_MIN && simdMask(data, key, keyOffset)) return;
  let i = 0;
  const k0 = key[keyOffset & 3], k1 = key[(keyOffset + 1) & 3];
  const k2 = key[(keyOffset + 2) & 3], k3 = key[(keyOffset + 3) & 3];
  // Word-at-a-time needs a 4-byte aligned start and an Int32Array view, which costs as much as
  // masking ~128 bytes one at a time.
  if (len >= 128) {
    const lead = (4 - (data.byteOffset & 3)) & 3;
    for (; i < lead; i++) data[i] ^= key[(keyOffset + i) & 3];
    const word = keyWord(key, keyOffset + lead);
    const words = (len - lead) >>> 2;
    const view = new Int32Array(data.buffer, data.byteOffset + lead, words);
    for (let w = 0; w < words; w++) view[w] ^= word;
    i = lead + (words << 2);
    for (; i < len; i++) data[i] ^= key[(keyOffset + i) & 3];
    return;
  }
  for (; i + 3 < len; i += 4) {
    data[i] ^= k0;
    data[i + 1] ^= k1;
    data[i + 2] ^= k2;
    data[i + 3] ^= k3;
  }
  for (; i < len; i++) data[i] ^= key[(keyOffset + i) & 3];
}

/**
 * Copies `src` into `dst` at `dstOffset`, masked with `key` from byte `keyOffset` of the key, in one
 * pass: the caller's buffer is not modified (a client's frames), or the bytes are wanted elsewhere
 * anyway (a message's pieces, joined).
 *
 * @example
 * ```ts
 * const out = new Uint8Array(3);
 * maskInto(new Uint8Array([1, 2, 3]), new Uint8Array([9, 9, 9, 9]), out, 0);
 * ```
 */
export function maskInto(
  src: Uint8Array,
  key: Uint8Array,
  dst: Uint8Array,
  dstOffset: number,
  keyOffset = 0,
): void {
  const len = src.length;
  const to = dst.subarray(dstOffset, dstOffset + len);
  if (len >= SIMD_MIN && simdMask(src, key, keyOffset, to)) return;
  to.set(src);
  applyMask(to, key, keyOffset);
}
