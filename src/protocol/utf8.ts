/**
 * Incremental UTF-8 validation (RFC 3629): bytes may arrive in any split, and the first byte that
 * cannot start or continue a valid sequence is reported at once, so a connection can be failed
 * mid-fragment instead of after the whole message has been buffered.
 *
 * @module
 */

/**
 * A streaming UTF-8 validator.
 *
 * @example
 * ```ts
 * const v = new Utf8Validator();
 * v.push(new Uint8Array([0xe2, 0x82])); // true: a valid prefix
 * v.push(new Uint8Array([0xac]));       // true
 * v.end();                              // true: "€" is complete
 * ```
 */
export class Utf8Validator {
  /** Continuation bytes still expected by the current sequence. */
  #need = 0;
  /** Allowed range of the next continuation byte (narrower right after E0, ED, F0, F4). */
  #lo = 0x80;
  #hi = 0xbf;

  /** Feeds bytes; returns false as soon as they cannot be part of valid UTF-8. */
  push(bytes: Uint8Array): boolean {
    // No optional range parameters: JavaScriptCore runs this loop ten times slower with them.
    const end = bytes.length;
    let i = 0;
    if (this.#need === 0) {
      // ASCII is the common case: a tight loop of its own, before the general one.
      while (i < end && bytes[i] < 0x80) i++;
      if (i === end) return true;
    }
    let need = this.#need, lo = this.#lo, hi = this.#hi;
    while (i < end) {
      const b = bytes[i++];
      if (need === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
          need = 2;
          if (b === 0xe0) lo = 0xa0; // overlong
          else if (b === 0xed) hi = 0x9f; // surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3;
          if (b === 0xf0) lo = 0x90; // overlong
          else if (b === 0xf4) hi = 0x8f; // above U+10FFFF
        } else {
          return this.#fail();
        }
      } else {
        if (b < lo || b > hi) return this.#fail();
        need--;
        lo = 0x80;
        hi = 0xbf;
      }
    }
    this.#need = need;
    this.#lo = lo;
    this.#hi = hi;
    return true;
  }

  /** True if the bytes pushed so far end on a character boundary; resets for the next text. */
  end(): boolean {
    const ok = this.#need === 0;
    this.reset();
    return ok;
  }

  /** Forgets any partial sequence. */
  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
  }

  #fail(): false {
    this.reset();
    return false;
  }
}

/**
 * True if `bytes` is complete, valid UTF-8.
 *
 * @example
 * ```ts
 * isValidUtf8(new TextEncoder().encode("héllo")); // true
 * isValidUtf8(new Uint8Array([0xc0, 0x80]));      // false: overlong
 * ```
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.push(bytes) && v.end();
}
