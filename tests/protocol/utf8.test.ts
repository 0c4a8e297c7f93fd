/**
 * Unit tests of src/protocol/utf8.ts: incremental, fail-fast UTF-8 validation.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isValidUtf8, Utf8Validator } from "../../src/protocol/utf8.ts";
import { mulberry32 } from "../_helpers.ts";

const enc = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true });

const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * A fast oracle for bulk checks (no exceptions): bytes are valid UTF-8 iff decoding them with
 * replacement characters and encoding the result gives the same bytes back.
 */
function roundTrips(bytes: Uint8Array): boolean {
  const back = enc.encode(lenient.decode(bytes));
  return back.length === bytes.length && back.every((b, i) => b === bytes[i]);
}

function decoderAccepts(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const hex = (bytes: ArrayLike<number>) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

/**
 * Pushes one byte at a time: the index of the first byte whose push returned false, or -1 if all
 * pushes succeeded; `ended` is what end() said in that case.
 */
function failIndex(bytes: number[]): { index: number; ended?: boolean } {
  const v = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) {
    if (!v.push(new Uint8Array([bytes[i]]))) return { index: i };
  }
  return { index: -1, ended: v.end() };
}

const VALID_TEXTS = [
  "",
  "hello, world",
  "\u0000\u007f",
  "\u0080\u07ff",
  "\u0800\ud7ff\ue000\ufffd\uffff",
  "\u{10000}\u{10ffff}",
  "κόσμε",
  "Hello-µ@ßöäüàá-UTF-8!!",
  "€ 𝄞 😀 中文 日本語 한국어",
  "\ufeffBOM at the start",
  "a😀b💩c\u{1f600}\u{10fffd}",
];

describe("Utf8Validator: valid input", () => {
  it("accepts valid texts pushed whole, and end() is true", () => {
    for (const text of VALID_TEXTS) {
      const v = new Utf8Validator();
      assert.equal(v.push(enc.encode(text)), true, JSON.stringify(text));
      assert.equal(v.end(), true, JSON.stringify(text));
      assert.equal(isValidUtf8(enc.encode(text)), true, JSON.stringify(text));
    }
  });

  it("accepts the boundary code points of each sequence length", () => {
    const cases: number[][] = [
      [0x00],
      [0x7f],
      [0xc2, 0x80],
      [0xdf, 0xbf],
      [0xe0, 0xa0, 0x80],
      [0xe0, 0xbf, 0xbf],
      [0xe1, 0x80, 0x80],
      [0xec, 0xbf, 0xbf],
      [0xed, 0x80, 0x80],
      [0xed, 0x9f, 0xbf], // U+D7FF
      [0xee, 0x80, 0x80], // U+E000
      [0xef, 0xbf, 0xbf], // U+FFFF
      [0xf0, 0x90, 0x80, 0x80], // U+10000
      [0xf1, 0x80, 0x80, 0x80],
      [0xf3, 0xbf, 0xbf, 0xbf],
      [0xf4, 0x80, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
    ];
    for (const c of cases) {
      assert.equal(isValidUtf8(new Uint8Array(c)), true, hex(c));
      assert.deepEqual(failIndex(c), { index: -1, ended: true }, hex(c));
    }
  });

  it("accepts text with 4-byte characters split at every byte position across two pushes", () => {
    const text = "a😀bc\u{10ffff}𝄞€é\u{10000}z";
    const bytes = enc.encode(text);
    for (let s = 0; s <= bytes.length; s++) {
      const v = new Utf8Validator();
      assert.equal(v.push(bytes.subarray(0, s)), true, `split at ${s}: first push`);
      assert.equal(v.push(bytes.subarray(s)), true, `split at ${s}: second push`);
      assert.equal(v.end(), true, `split at ${s}: end`);
    }
  });

  it("accepts every valid text pushed one byte at a time", () => {
    for (const text of VALID_TEXTS) {
      const bytes = enc.encode(text);
      const v = new Utf8Validator();
      for (let i = 0; i < bytes.length; i++) {
        assert.equal(v.push(bytes.subarray(i, i + 1)), true, `${JSON.stringify(text)} byte ${i}`);
      }
      assert.equal(v.end(), true, JSON.stringify(text));
    }
  });

  it("end() is false inside a sequence and resets the validator for the next text", () => {
    const v = new Utf8Validator();
    assert.equal(v.push(new Uint8Array([0x41, 0xf0, 0x9f])), true);
    assert.equal(v.end(), false);
    // The partial 4-byte sequence is forgotten: a lone ASCII byte is now valid.
    assert.equal(v.push(new Uint8Array([0x41])), true);
    assert.equal(v.end(), true);
    assert.equal(v.end(), true, "end() of nothing");
  });

  it("reset() forgets a partial sequence", () => {
    const v = new Utf8Validator();
    assert.equal(v.push(new Uint8Array([0xe2, 0x82])), true);
    v.reset();
    assert.equal(v.push(new Uint8Array([0x41])), true);
    assert.equal(v.end(), true);
    // Without the reset, 0x41 would have broken the sequence.
    const w = new Utf8Validator();
    assert.equal(w.push(new Uint8Array([0xe2, 0x82])), true);
    assert.equal(w.push(new Uint8Array([0x41])), false);
  });
});

describe("Utf8Validator: invalid input", () => {
  // [bytes, index of the first byte that must make push() return false]
  const INVALID: [string, number[], number][] = [
    ["overlong 2-byte NUL C0 80", [0xc0, 0x80], 0],
    ["overlong 2-byte C1 BF", [0xc1, 0xbf], 0],
    ["overlong 3-byte E0 80 80", [0xe0, 0x80, 0x80], 1],
    ["overlong 3-byte E0 9F BF", [0xe0, 0x9f, 0xbf], 1],
    ["overlong 4-byte F0 80 80 80", [0xf0, 0x80, 0x80, 0x80], 1],
    ["overlong 4-byte F0 8F BF BF", [0xf0, 0x8f, 0xbf, 0xbf], 1],
    ["surrogate ED A0 80 (U+D800)", [0xed, 0xa0, 0x80], 1],
    ["surrogate ED BF BF (U+DFFF)", [0xed, 0xbf, 0xbf], 1],
    ["surrogate pair in CESU-8", [0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9], 1],
    ["above U+10FFFF F4 90 80 80", [0xf4, 0x90, 0x80, 0x80], 1],
    ["F5 lead", [0xf5, 0x80, 0x80, 0x80], 0],
    ["F7 lead", [0xf7, 0xbf, 0xbf, 0xbf], 0],
    ["F8 lead (5-byte form)", [0xf8, 0x88, 0x80, 0x80, 0x80], 0],
    ["FC lead (6-byte form)", [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80], 0],
    ["FE", [0xfe], 0],
    ["FF", [0xff], 0],
    ["lone continuation 80", [0x80], 0],
    ["lone continuation BF after ASCII", [0x41, 0x42, 0xbf], 2],
    ["extra continuation after a 2-byte char", [0xc3, 0xa9, 0x80], 2],
    ["2-byte lead followed by ASCII", [0xc3, 0x41], 1],
    ["3-byte lead followed by a lead", [0xe2, 0xe2, 0x82, 0xac], 1],
    ["4-byte sequence cut by ASCII", [0xf0, 0x9f, 0x98, 0x41], 3],
    ["valid text then an invalid byte", [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xff], 7],
  ];

  for (const [name, bytes, index] of INVALID) {
    it(`rejects ${name} at byte ${index}`, () => {
      assert.equal(isValidUtf8(new Uint8Array(bytes)), false, hex(bytes));
      assert.deepEqual(failIndex(bytes), { index }, hex(bytes));
      // Pushed whole, the push itself fails (no need to wait for end()).
      assert.equal(new Utf8Validator().push(new Uint8Array(bytes)), false, hex(bytes));
      // Pushed only up to and including the bad byte, the push already fails.
      assert.equal(
        new Utf8Validator().push(new Uint8Array(bytes.slice(0, index + 1))),
        false,
        `prefix of ${hex(bytes)}`,
      );
    });
  }

  const TRUNCATED: [string, number[]][] = [
    ["2-byte lead only", [0xc3]],
    ["3-byte sequence missing 1", [0xe2, 0x82]],
    ["3-byte lead only", [0x41, 0xe2]],
    ["4-byte sequence missing 1", [0xf0, 0x9f, 0x98]],
    ["4-byte sequence missing 2", [0xf4, 0x8f]],
    ["surrogate-range lead ED alone", [0xed]],
  ];
  for (const [name, bytes] of TRUNCATED) {
    it(`pushes of ${name} succeed but end() fails`, () => {
      assert.deepEqual(failIndex(bytes), { index: -1, ended: false }, hex(bytes));
      assert.equal(isValidUtf8(new Uint8Array(bytes)), false, hex(bytes));
    });
  }

  it("fails fast on Autobahn 6.4.1 (κόσμε + ED A0 80) at every split point", () => {
    const bytes = [
      0xce,
      0xba,
      0xe1,
      0xbd,
      0xb9,
      0xcf,
      0x83,
      0xce,
      0xbc,
      0xce,
      0xb5,
      0xed,
      0xa0,
      0x80,
    ];
    const bad = 12; // index of 0xA0, which cannot follow 0xED
    for (let s = 0; s <= bytes.length; s++) {
      const v = new Utf8Validator();
      const first = v.push(new Uint8Array(bytes.slice(0, s)));
      if (s > bad) {
        assert.equal(first, false, `split at ${s}: the first push holds ED A0`);
      } else {
        assert.equal(first, true, `split at ${s}: the first push is a valid prefix`);
        assert.equal(v.push(new Uint8Array(bytes.slice(s))), false, `split at ${s}: second push`);
      }
    }
    // The rest of the message (0x80 and beyond) has not arrived: already false.
    assert.equal(new Utf8Validator().push(new Uint8Array(bytes.slice(0, 13))), false);
    // Three pushes: prefix, ED, A0 — the A0 push fails.
    const v = new Utf8Validator();
    assert.equal(v.push(new Uint8Array(bytes.slice(0, 11))), true);
    assert.equal(v.push(new Uint8Array([0xed])), true);
    assert.equal(v.push(new Uint8Array([0xa0])), false);
  });

  it("fails fast on Autobahn 6.4.2 / 6.4.4 (κόσμε + F4 90 80 80) before the end", () => {
    const prefix = [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5];
    const v = new Utf8Validator();
    assert.equal(v.push(new Uint8Array([...prefix, 0xf4])), true);
    assert.equal(v.push(new Uint8Array([0x90])), false);
    assert.equal(new Utf8Validator().push(new Uint8Array([...prefix, 0xf4, 0x90])), false);
  });
});

describe("isValidUtf8 agrees with TextDecoder({fatal: true})", () => {
  it("on every 2-byte string and every 2 lead bytes + 80 80 (decode/encode round trip)", () => {
    // The fast oracle agrees with the fatal decoder on a sample, so it can stand in for it here.
    for (const c of [[0xc3, 0xa9], [0xc0, 0x80], [0xef, 0xbb, 0xbf], [0xef, 0xbf, 0xbd], [0xed]]) {
      assert.equal(roundTrips(new Uint8Array(c)), decoderAccepts(new Uint8Array(c)), hex(c));
    }
    const two = new Uint8Array(2);
    const four = new Uint8Array([0, 0, 0x80, 0x80]);
    let validFour = 0;
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        two[0] = four[0] = a;
        two[1] = four[1] = b;
        assert.equal(isValidUtf8(two), roundTrips(two), hex(two));
        const ok = roundTrips(four);
        if (ok) validFour++;
        assert.equal(isValidUtf8(four), ok, hex(four));
      }
    }
    // 4-byte: F0 90..BF, F1..F3 80..BF, F4 80..8F; ASCII + E1..EF 80 80 (E0 80 80 is overlong).
    assert.equal(validFour, 48 + 3 * 64 + 16 + 128 * 15);
  });

  it("on a few hundred seeded random byte strings, whole and in random splits", () => {
    const seed = 0xc0ffee;
    const rand = mulberry32(seed);
    let valid = 0, invalid = 0;
    for (let run = 0; run < 600; run++) {
      const len = Math.floor(rand() * 24);
      const bytes = new Uint8Array(len);
      const mode = run % 3;
      for (let i = 0; i < len; i++) {
        const r = rand();
        if (mode === 0) {
          // Mostly ASCII with high bytes.
          bytes[i] = r < 0.6 ? Math.floor(rand() * 0x80) : 0x80 + Math.floor(rand() * 0x80);
        } else if (mode === 1) {
          // Leads and continuations, so that some sequences are valid.
          bytes[i] = r < 0.5
            ? 0x80 + Math.floor(rand() * 0x40)
            : r < 0.85
            ? 0xc0 + Math.floor(rand() * 0x38)
            : Math.floor(rand() * 0x100);
        } else {
          bytes[i] = Math.floor(rand() * 0x100);
        }
      }
      if (mode === 2 && rand() < 0.7) {
        // Valid text from random code points, then maybe one byte changed.
        let s = "";
        const n = Math.floor(rand() * 8);
        for (let k = 0; k < n; k++) {
          let cp = Math.floor(rand() * 0x110000);
          if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
          s += String.fromCodePoint(cp);
        }
        const text = enc.encode(s);
        if (text.length > 0 && rand() < 0.5) {
          text[Math.floor(rand() * text.length)] = Math.floor(rand() * 256);
        }
        checkOne(text, run);
        continue;
      }
      checkOne(bytes, run);
    }

    function checkOne(bytes: Uint8Array, run: number) {
      const expected = decoderAccepts(bytes);
      if (expected) valid++;
      else invalid++;
      const msg = `seed ${seed} run ${run} bytes [${hex(bytes)}]`;
      assert.equal(isValidUtf8(bytes), expected, msg);
      // Streaming in random pieces gives the same answer.
      const v = new Utf8Validator();
      let ok = true, pos = 0;
      while (ok && pos < bytes.length) {
        const n = 1 + Math.floor(rand() * 5);
        ok = v.push(bytes.subarray(pos, pos + n));
        pos += n;
      }
      assert.equal(ok && v.end(), expected, `streamed, ${msg}`);
    }
    // The generator must exercise both outcomes, or the comparison proves little.
    assert.ok(valid > 100 && invalid > 100, `seed ${seed}: ${valid} valid, ${invalid} invalid`);
  });
});
