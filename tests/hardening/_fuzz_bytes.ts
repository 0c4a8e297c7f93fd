/**
 * Byte helpers and basic fast-check arbitraries of the fuzz test: weighted choices, seeded bytes,
 * text (valid and not), cutting and joining byte arrays.
 *
 * Payloads are made from a length and a seed rather than from arrays of arbitrary bytes, so large
 * payloads are cheap to generate and a script prints short.
 */

import fc from "fast-check";
import { mulberry32, randomBytes } from "../_helpers.ts";

export const encoder: TextEncoder = new TextEncoder();

/** A weighted choice. */
export function pick<T>(...choices: Array<[number, fc.Arbitrary<T>]>): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/** `n` seeded random bytes, `n` between `min` and `max`. */
export function bytes(min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min, max }), fc.integer()).map(([n, seed]) =>
    randomBytes(mulberry32(seed), n)
  );
}

/** Valid UTF-8 text of up to `max` code units; some of it starts with `pub:` (see the server). */
export function text(max: number): fc.Arbitrary<Uint8Array> {
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
export const badText: fc.Arbitrary<Uint8Array> = fc.tuple(
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

/** Splits `p` into `parts` pieces at seeded points (pieces may be empty). */
export function split(p: Uint8Array, parts: number, seed: number): Uint8Array[] {
  const rand = mulberry32(seed);
  const at = Array.from({ length: parts - 1 }, () => Math.floor(rand() * (p.length + 1)));
  return cutAt(p, at.sort((a, b) => a - b));
}

/** `b` cut at the ascending offsets `at`. */
export function cutAt(b: Uint8Array, at: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, b.length]) {
    out.push(b.subarray(from, c));
    from = c;
  }
  return out;
}

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
