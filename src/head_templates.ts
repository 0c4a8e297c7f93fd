/**
 * The request heads that open sockets keep, shared between sockets. One kind of client (a browser
 * version, an app build) sends the same upgrade request every time but for its
 * `Sec-WebSocket-Key`, so a server keeps a socket's key and one copy of the rest of its head, a
 * {@link HeadTemplate}, that all such sockets share.
 *
 * Kept whole, a head was the largest object of an idle socket's own on Node (169 of about 950
 * bytes for a bare request, and browsers send more). Whatever lives as long as a connection is
 * copied by the young generation's collections while connections open, so leaving the head out
 * took 0.4 KiB off each idle connection's memory.
 *
 * @module
 */

/** A request head without its Sec-WebSocket-Key: the text before the key, and after it. */
export class HeadTemplate {
  /** `before` and `after`: strings of their own (see {@link ownCopy}). */
  constructor(readonly before: string, readonly after: string) {}

  /** The head with `key` put back. */
  with(key: string): string {
    return this.before + key + this.after;
  }

  /**
   * True if this is `head` without `head[keyAt..keyEnd)`. Compared natively, with `lastIndexOf` and
   * `indexOf` at one position: V8's `startsWith` took 2.3 ns a character (0.3 µs a handshake).
   */
  matches(head: string, keyAt: number, keyEnd: number): boolean {
    return keyAt === this.before.length && head.length - keyEnd === this.after.length &&
      head.lastIndexOf(this.before, 0) === 0 && head.indexOf(this.after, keyEnd) === keyEnd;
  }
}

/**
 * Templates, and characters of them, kept at most; past either the table starts over, so that a
 * stream of unlike (or large) heads costs no more than the sockets that keep them.
 */
const MAX_TEMPLATES = 256;
const MAX_TEMPLATE_CHARS = 1 << 20;

/** Templates by a hash of their text (see {@link headTemplate}), how many, and their characters. */
const templates = new Map<number, HeadTemplate[]>();
let count = 0;
let chars = 0;
/** The template found or made last: the next head is most often from the same kind of client. */
let last: HeadTemplate | undefined;

/**
 * The template of `head`, whose key is `head[keyAt..keyEnd)`: like heads get the same one. Looking
 * up a known template allocates nothing: the last one is tried first, then those with the same
 * hash of every fourth character and the length (a loop over every character cost 0.2 µs more a
 * handshake on Node), and `matches` decides.
 *
 * @example
 * ```ts
 * const head = "GET / HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nHost: a";
 * const t = headTemplate(head, 35, 59);
 * t.with("dGhlIHNhbXBsZSBub25jZQ==") === head; // true
 * ```
 */
export function headTemplate(head: string, keyAt: number, keyEnd: number): HeadTemplate {
  if (last !== undefined && last.matches(head, keyAt, keyEnd)) return last;
  let h = head.length;
  for (let i = 0; i < keyAt; i += 4) h = Math.imul(h ^ head.charCodeAt(i), 0x01000193);
  for (let i = keyEnd; i < head.length; i += 4) h = Math.imul(h ^ head.charCodeAt(i), 0x01000193);
  const bucket = templates.get(h);
  if (bucket !== undefined) {
    for (let i = 0; i < bucket.length; i++) {
      if (bucket[i].matches(head, keyAt, keyEnd)) return last = bucket[i];
    }
  }
  const size = head.length - (keyEnd - keyAt);
  if (count >= MAX_TEMPLATES || chars + size > MAX_TEMPLATE_CHARS) {
    templates.clear();
    count = chars = 0;
  }
  const template = new HeadTemplate(ownCopy(head.slice(0, keyAt)), ownCopy(head.slice(keyEnd)));
  const list = templates.get(h);
  if (list !== undefined) list.push(template);
  else templates.set(h, [template]);
  count++;
  chars += size;
  return last = template;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
/** Room for the characters of a short string: `String.fromCharCode` makes one of its own. */
const codes: number[] = [];

/**
 * `s` as a string of its own. A slice of 13 characters or more is a view that keeps the string it
 * was cut from alive (on V8), and a concatenation a pair of references: a socket that keeps a key
 * or a path cut from its head would keep the whole head.
 *
 * @example
 * ```ts
 * const head = "GET /chat/lobby-1234 HTTP/1.1";
 * const path = ownCopy(head.slice(4, 20)); // "/chat/lobby-1234", without `head`
 * ```
 */
export function ownCopy(s: string): string {
  const n = s.length;
  // Shorter strings are copied by the slice already.
  if (n < 13) return s;
  if (n > 1024) return utf8Decoder.decode(utf8Encoder.encode(s));
  codes.length = n;
  for (let i = 0; i < n; i++) codes[i] = s.charCodeAt(i);
  return String.fromCharCode.apply(null, codes);
}
