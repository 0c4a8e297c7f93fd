/**
 * Unit tests of src/protocol/close.ts: close codes and the close frame payload.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CloseCode,
  encodeClosePayload,
  isValidCloseCode,
  parseClosePayload,
} from "../../src/protocol/close.ts";

const enc = new TextEncoder();

/** A close payload: the 2-byte big-endian code, then the reason bytes. */
function payload(code: number, reason: number[] | string = []): Uint8Array {
  const r = typeof reason === "string" ? [...enc.encode(reason)] : reason;
  return new Uint8Array([code >>> 8, code & 0xff, ...r]);
}

describe("CloseCode", () => {
  it("has the registered values", () => {
    assert.deepEqual(CloseCode, {
      Normal: 1000,
      GoingAway: 1001,
      ProtocolError: 1002,
      UnsupportedData: 1003,
      NoStatus: 1005,
      Abnormal: 1006,
      InvalidPayload: 1007,
      PolicyViolation: 1008,
      MessageTooBig: 1009,
      MandatoryExtension: 1010,
      InternalError: 1011,
      ServiceRestart: 1012,
      TryAgainLater: 1013,
      BadGateway: 1014,
    });
  });
});

describe("isValidCloseCode", () => {
  const VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014];
  const VALID_APP = [3000, 3001, 3999, 4000, 4001, 4999];
  const INVALID = [
    0,
    1,
    999,
    1004,
    1005,
    1006,
    1015,
    1016,
    1100,
    2000,
    2999,
    5000,
    65535,
    -1000,
  ];

  for (const code of [...VALID, ...VALID_APP]) {
    it(`${code} is valid`, () => assert.equal(isValidCloseCode(code), true));
  }
  for (const code of INVALID) {
    it(`${code} is invalid`, () => assert.equal(isValidCloseCode(code), false));
  }

  it("is valid exactly on 1000-1003, 1007-1014 and 3000-4999 over 0..65535", () => {
    for (let code = 0; code <= 65535; code++) {
      const expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
        (code >= 3000 && code <= 4999);
      if (isValidCloseCode(code) !== expected) assert.fail(`code ${code}: expected ${expected}`);
    }
  });
});

describe("parseClosePayload", () => {
  it("an empty payload is 1005 with no reason", () => {
    assert.deepEqual(parseClosePayload(new Uint8Array(0)), { ok: true, code: 1005, reason: "" });
  });

  it("a 1-byte payload fails with 1002", () => {
    for (const b of [0x00, 0x03, 0xe8]) {
      const r = parseClosePayload(new Uint8Array([b]));
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.closeCode, 1002, `byte ${b}`);
    }
  });

  it("a valid code without a reason", () => {
    assert.deepEqual(parseClosePayload(new Uint8Array([0x03, 0xe8])), {
      ok: true,
      code: 1000,
      reason: "",
    });
  });

  it("valid codes with a reason", () => {
    for (const code of [1000, 1001, 1003, 1011, 1014, 3000, 4999]) {
      assert.deepEqual(parseClosePayload(payload(code, "bye")), { ok: true, code, reason: "bye" });
    }
    assert.deepEqual(parseClosePayload(payload(4000, "κόσμε 😀")), {
      ok: true,
      code: 4000,
      reason: "κόσμε 😀",
    });
  });

  it("invalid codes fail with 1002", () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
      for (const reason of ["", "x"]) {
        const r = parseClosePayload(payload(code, reason));
        assert.equal(r.ok, false, `code ${code} reason ${JSON.stringify(reason)}`);
        assert.equal(!r.ok && r.closeCode, 1002, `code ${code}`);
        assert.equal(typeof (!r.ok && r.message), "string");
      }
    }
  });

  it("an invalid UTF-8 reason fails with 1007", () => {
    const bad = [
      [0xff],
      [0x41, 0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0x41, 0xe2, 0x82], // truncated
      [0x80],
    ];
    for (const reason of bad) {
      const r = parseClosePayload(payload(1000, reason));
      assert.equal(r.ok, false, `reason ${reason}`);
      assert.equal(!r.ok && r.closeCode, 1007, `reason ${reason}`);
    }
  });

  it("an invalid code is reported before an invalid reason (1002, not 1007)", () => {
    const r = parseClosePayload(payload(1005, [0xff]));
    assert.equal(!r.ok && r.closeCode, 1002);
  });

  it("does not read outside a payload that is a subarray", () => {
    const big = new Uint8Array([0xff, 0x03, 0xe9, 0x68, 0x69, 0xff]);
    assert.deepEqual(parseClosePayload(big.subarray(1, 5)), { ok: true, code: 1001, reason: "hi" });
  });

  it("keeps a reason that starts with U+FEFF (a BOM is a character, not a signature)", () => {
    // TextDecoder strips a leading BOM unless { ignoreBOM: true }: the reason must come back as sent.
    const reason = "\ufeffbye";
    assert.deepEqual(parseClosePayload(payload(1000, reason)), { ok: true, code: 1000, reason });
  });
});

describe("encodeClosePayload", () => {
  it("no code gives an empty payload", () => {
    assert.deepEqual(encodeClosePayload(), new Uint8Array(0));
    assert.deepEqual(encodeClosePayload(undefined, ""), new Uint8Array(0));
  });

  it("a reason without a code is a RangeError", () => {
    assert.throws(() => encodeClosePayload(undefined, "why"), RangeError);
  });

  it("encodes the code big-endian, then the reason in UTF-8", () => {
    assert.deepEqual([...encodeClosePayload(1000)], [0x03, 0xe8]);
    assert.deepEqual([...encodeClosePayload(1000, "bye")], [0x03, 0xe8, 0x62, 0x79, 0x65]);
    assert.deepEqual([...encodeClosePayload(4999, "é")], [0x13, 0x87, 0xc3, 0xa9]);
    assert.deepEqual([...encodeClosePayload(3000, "😀")], [0x0b, 0xb8, 0xf0, 0x9f, 0x98, 0x80]);
  });

  it("round-trips through parseClosePayload", () => {
    for (const [code, reason] of [[1000, ""], [1001, "going"], [1011, "ünïcödé"], [4321, "😀x"]]) {
      assert.deepEqual(parseClosePayload(encodeClosePayload(code as number, reason as string)), {
        ok: true,
        code,
        reason,
      });
    }
  });

  it("accepts a reason of exactly 123 bytes", () => {
    assert.equal(encodeClosePayload(1000, "a".repeat(123)).length, 125);
    // 41 three-byte characters = 123 bytes.
    assert.equal(encodeClosePayload(1000, "€".repeat(41)).length, 125);
    // 30 four-byte characters + 3 ASCII = 123 bytes.
    assert.equal(encodeClosePayload(1000, "😀".repeat(30) + "abc").length, 125);
  });

  it("throws a RangeError for a reason over 123 bytes", () => {
    assert.throws(() => encodeClosePayload(1000, "a".repeat(124)), RangeError);
    assert.throws(() => encodeClosePayload(1000, "é".repeat(62)), RangeError); // 124 bytes
    assert.throws(() => encodeClosePayload(1000, "€".repeat(42)), RangeError); // 126 bytes
    assert.throws(() => encodeClosePayload(1000, "😀".repeat(31)), RangeError); // 124 bytes
    assert.throws(() => encodeClosePayload(1000, "a".repeat(1000)), RangeError);
  });

  it("throws a RangeError for codes that may not be sent", () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 5000, 65535, 1000.5, NaN]) {
      assert.throws(() => encodeClosePayload(code), RangeError, `code ${code}`);
      assert.throws(() => encodeClosePayload(code, "r"), RangeError, `code ${code} with reason`);
    }
  });
});
