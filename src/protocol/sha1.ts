/**
 * SHA-1 of an ASCII string, in JavaScript: the opening handshake's accept key is the SHA-1 of 60
 * ASCII characters, and Deno's `node:crypto` hash costs 2.3 µs a call where this costs 0.65 µs
 * (Node's and Bun's native hash, 0.3 µs, beat it: they keep theirs, see `platform.ts`). SHA-1 is
 * used for nothing else here, and nothing here relies on it for security (RFC 6455 §1.3: the key
 * only proves that the server read the request).
 *
 * @module
 */

/** The message schedule, reused: one call at a time, and nothing in a call waits. */
const W = new Int32Array(80);
const BASE64 = new Uint8Array(64);
for (let i = 0; i < 64; i++) {
  BASE64[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i);
}
/** The 28 characters of a digest in base64. */
const OUT: number[] = new Array(28).fill(0);

/**
 * Base64 of the SHA-1 digest of `text`, or undefined if `text` has a character above U+007F (its
 * UTF-8 bytes are then not its characters: hash it with a library that encodes).
 *
 * @example
 * ```ts
 * sha1Base64Ascii("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
 * // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (RFC 6455 §1.3)
 * ```
 */
export function sha1Base64Ascii(text: string): string | undefined {
  const n = text.length;
  let h0 = 0x67452301, h1 = 0xefcdab89 | 0, h2 = 0x98badcfe | 0, h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  // The message, a 0x80 byte, zeros, and the length in bits in the last 8 bytes of the last block.
  const blocks = ((n + 8) >> 6) + 1;
  for (let b = 0; b < blocks; b++) {
    const base = b << 6;
    for (let i = 0; i < 16; i++) {
      let w = 0;
      for (let k = 0; k < 4; k++) {
        const p = base + (i << 2) + k;
        const c = p < n ? text.charCodeAt(p) : p === n ? 0x80 : 0;
        if (c > 0x7f && p < n) return undefined;
        w = (w << 8) | c;
      }
      W[i] = w;
    }
    if (b === blocks - 1) {
      W[14] = (n / 0x20000000) | 0;
      W[15] = (n << 3) | 0;
    }
    for (let i = 16; i < 80; i++) {
      const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
      W[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, bb = h1, c = h2, d = h3, e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number, k: number;
      if (i < 20) {
        f = (bb & c) | (~bb & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = bb ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (bb & c) | (bb & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = bb ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + W[i]) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  // 20 bytes in base64: six groups of three bytes, then two bytes and "=".
  let o = 0, acc = 0, bits = 0;
  for (let i = 0; i < 20; i++) {
    const h = i < 4 ? h0 : i < 8 ? h1 : i < 12 ? h2 : i < 16 ? h3 : h4;
    acc = (acc << 8) | ((h >>> (24 - ((i & 3) << 3))) & 0xff);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      OUT[o++] = BASE64[(acc >>> bits) & 63];
    }
    acc &= (1 << bits) - 1;
  }
  OUT[o++] = BASE64[(acc << (6 - bits)) & 63];
  OUT[o] = 61;
  return String.fromCharCode.apply(null, OUT);
}
