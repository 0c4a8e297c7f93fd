/**
 * Unit tests of src/protocol/sha1.ts against the runtime's own SHA-1 (node:crypto).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha1Base64Ascii } from "../../src/protocol/sha1.ts";

const reference = (s: string) => createHash("sha1").update(s).digest("base64");

describe("sha1Base64Ascii", () => {
  it("gives RFC 6455's accept key for its sample key", () => {
    assert.equal(
      sha1Base64Ascii("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
      "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    );
  });

  it("matches node:crypto for every length from 0 to 300 (one to six blocks, all paddings)", () => {
    for (let n = 0; n <= 300; n++) {
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(32 + ((i * 7 + n) % 95));
      assert.equal(sha1Base64Ascii(s), reference(s), `length ${n}`);
    }
  });

  it("matches node:crypto for random keys and control characters", () => {
    for (let k = 0; k < 200; k++) {
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      const s = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
      assert.equal(sha1Base64Ascii(s), reference(s), s);
    }
    const controls = "\u0000\u0001\t\r\n\u007f".repeat(20);
    assert.equal(sha1Base64Ascii(controls), reference(controls));
  });

  it("declines text with a character above U+007F, whose UTF-8 bytes differ from its codes", () => {
    for (const s of ["\u0080", "caf\u00e9", "x".repeat(63) + "\u20ac", "\ud83d\ude00"]) {
      assert.equal(sha1Base64Ascii(s), undefined, JSON.stringify(s));
    }
  });
});
