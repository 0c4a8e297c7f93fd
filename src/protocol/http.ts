/**
 * Just enough HTTP/1.1 for the opening handshake: finding the end of a head in a byte stream and
 * parsing a request or response head into a `Headers` object. No bodies, no keep-alive.
 *
 * @module
 */

import { DEFAULTS } from "../defaults.ts";

/** Default limit on the size of an HTTP head: 16 KiB. */
export const DEFAULT_MAX_HEAD_SIZE: number = DEFAULTS.server.maxHeadSize;

/** A parsed request head. */
export interface RequestHead<H extends HeaderLookup = Headers> {
  /** Request method, e.g. `GET`. */
  method: string;
  /** The request target as sent, e.g. `/chat?room=1`. */
  target: string;
  /** e.g. `HTTP/1.1`. */
  version: string;
  /** Header fields. */
  headers: H;
}

/** A parsed response head. */
export interface ResponseHead {
  /** HTTP version, e.g. `HTTP/1.1`. */
  version: string;
  /** Status code. */
  status: number;
  /** Reason phrase. */
  statusText: string;
  /** Header fields. */
  headers: Headers;
}

/** Result of {@link HeadReader.push}. */
export type HeadResult =
  | { done: false }
  | { done: true; head: string; rest: Uint8Array }
  | { done: true; error: "too-large" };

/**
 * Accumulates bytes until the blank line that ends an HTTP head, up to a size limit.
 *
 * @example
 * ```ts
 * const reader = new HeadReader();
 * const r = reader.push(chunk);
 * if (r.done && "head" in r) console.log(parseRequestHead(r.head));
 * ```
 */
export class HeadReader {
  #buf: Uint8Array | undefined;
  #max: number;

  /** A reader that refuses heads over `maxSize` bytes. */
  constructor(maxSize = DEFAULT_MAX_HEAD_SIZE) {
    this.#max = maxSize;
  }

  /**
   * The head, when `chunk` holds all of it within `maxSize` bytes (the usual first read of a
   * request): no reader and no result object to make. One char per byte, so the bytes after it
   * start at the head's length + 4. Undefined otherwise: then a reader takes the chunk.
   *
   * @example
   * ```ts
   * const head = HeadReader.whole(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
   * // "GET / HTTP/1.1\r\nHost: a"
   * ```
   */
  static whole(chunk: Uint8Array, maxSize = DEFAULT_MAX_HEAD_SIZE): string | undefined {
    const end = findHeadEnd(chunk, 0);
    return end < 0 || end > maxSize ? undefined : latin1(chunk, end - 4);
  }

  /** Adds bytes; says whether the head is complete, too large, or needs more. */
  push(chunk: Uint8Array): HeadResult {
    let buf: Uint8Array;
    let from = 0;
    if (this.#buf === undefined) {
      buf = chunk;
    } else {
      from = Math.max(0, this.#buf.length - 3);
      buf = new Uint8Array(this.#buf.length + chunk.length);
      buf.set(this.#buf);
      buf.set(chunk, this.#buf.length);
    }
    const end = findHeadEnd(buf, from);
    if (end < 0) {
      if (buf.length > this.#max) return { done: true, error: "too-large" };
      this.#buf = buf === chunk ? chunk.slice() : buf;
      return { done: false };
    }
    this.#buf = undefined;
    if (end > this.#max) return { done: true, error: "too-large" };
    // Usually nothing follows the head in its read: no view of nothing.
    const rest = end === buf.length ? NO_REST : buf.subarray(end);
    return { done: true, head: latin1(buf, end - 4), rest };
  }
}

const NO_REST = new Uint8Array(0);

/** Index just past `\r\n\r\n`, or -1. */
function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = from; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i + 4;
  }
  return -1;
}

/**
 * WHATWG's "latin1" is windows-1252: it differs from ISO-8859-1 only in bytes 0x80-0x9F, most of
 * which it maps above U+00FF. Native decoding is 1.5-4× faster than `String.fromCharCode` (measured
 * on Node, Deno and Bun), so a head is decoded so and only redone byte by byte if one of those
 * bytes showed.
 */
const windows1252 = new TextDecoder("latin1");
const ABOVE_LATIN1 = /[\u0100-\uffff]/;

function latin1(buf: Uint8Array, end: number): string {
  // Exactly the head's bytes: a server keeps the head for the connection's life, and a string
  // cut from a longer one keeps that one too, plus 32 bytes of its own (V8's sliced strings).
  const s = windows1252.decode(end === buf.length ? buf : buf.subarray(0, end));
  if (ABOVE_LATIN1.test(s)) return exactLatin1(buf, end);
  return s;
}

function exactLatin1(buf: Uint8Array, end: number): string {
  let s = "";
  for (let i = 0; i < end; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

/** An HTTP head that cannot be parsed. */
export class HttpParseError extends Error {
  /** Makes a parse error. */
  constructor(message: string) {
    super(message);
    this.name = "HttpParseError";
  }
}

/** A NUL, or a CR or LF that is not part of a CRLF line end. */
const STRAY = /\0|\r(?!\n)|(?<!\r)\n/;

/** 1 for the characters of an RFC 9110 token (`tchar`), by char code below 128. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c < 58; c++) TCHAR[c] = 1;
for (let c = 65; c < 91; c++) TCHAR[c] = TCHAR[c + 32] = 1;

/**
 * Where the header fields of `head` are, from index `from` (the start of the first header line):
 * for each field, the start and end of its name and of its value, four numbers written into `at`
 * from index 0; returns how many numbers. Values lose their optional whitespace (spaces and tabs,
 * RFC 9110 §5.5) at both ends. Throws HttpParseError for a line that is not a field.
 */
function indexFields(head: string, from: number, at: number[]): number {
  const end = head.length;
  // No header lines: the head ends with its first line, not with a CRLF (an empty line).
  if (from === end && head.charCodeAt(end - 1) !== 10) return 0;
  let n = 0;
  for (let pos = from;;) {
    let eol = head.indexOf("\r\n", pos);
    if (eol < 0) eol = end;
    let colon = pos;
    for (let c; colon < eol && (c = head.charCodeAt(colon)) !== 58; colon++) {
      if (c > 127 || TCHAR[c] === 0) throw new HttpParseError(`invalid header name`);
    }
    if (colon === pos || colon === eol) throw new HttpParseError(`malformed header line`);
    let a = colon + 1, b = eol;
    while (a < b && isOws(head.charCodeAt(a))) a++;
    while (b > a && isOws(head.charCodeAt(b - 1))) b--;
    at[n] = pos;
    at[n + 1] = colon;
    at[n + 2] = a;
    at[n + 3] = b;
    n += 4;
    if (eol === end) return n;
    pos = eol + 2;
  }
}

function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return s.length > 0;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/** Header lookup by lower-case name, as `Headers` does it. */
export interface HeaderLookup {
  /** The field's value (repeated fields joined with `, `), or null. */
  get(name: string): string | null;
  /** True if the field is present. */
  has(name: string): boolean;
}

/**
 * The field index of the request head parsed last, shared: a server parses a head and makes its
 * few lookups before it parses the next, so no head needs an index of its own (with that, tokens
 * compared in place and the URL built on demand, a Node handshake allocates 3.3 KB instead of
 * 3.8). `indexedCount` numbers of it are valid.
 */
const indexed: number[] = [];
let indexedCount = 0;
/** Whose fields {@link indexed} holds. */
let indexedFor: HeaderFields | undefined;
/**
 * The most numbers {@link indexed} keeps (256 fields): a head with more fields gets an index of its
 * own, so that one large head does not keep a large index for the life of the process.
 */
const SHARED_INDEX_MAX = 1024;
/** How many numbers of the index that `#index` returned last are valid. */
let indexLength = 0;

/**
 * Header fields as the peer sent them, looked up in the head's text: a server answers an upgrade
 * with a few lookups, so neither a handshake nor an idle connection pays for a `Headers` object or
 * a string per field. Where the fields are is kept in one index that all heads share (see
 * {@link indexed}); a head whose index was overwritten is indexed again when next looked up.
 * {@link HeaderFields.toHeaders} builds a `Headers` when it is wanted.
 *
 * @example
 * ```ts
 * const { headers } = parseRequestFields("GET /chat HTTP/1.1\r\nHost: example.com");
 * headers.get("host"); // "example.com"
 * ```
 */
export class HeaderFields implements HeaderLookup {
  readonly #text: string;
  /** Where the first header line starts in `#text`. */
  readonly #from: number;
  /** The index of a head with more fields than the shared one keeps. */
  #own: number[] | undefined;

  private constructor(text: string, from: number) {
    this.#text = text;
    this.#from = from;
  }

  /** @internal The fields of `head` from index `from` on; throws HttpParseError. */
  static _parse(head: string, from: number): HeaderFields {
    indexedFor = undefined;
    const fields = new HeaderFields(head, from);
    fields.#reindex();
    return fields;
  }

  /**
   * Fields from a list of names and values, e.g. `node:http`'s `rawHeaders`. A field whose name is
   * not a token or whose value has a CR or LF is left out (Node's parser lets none through).
   *
   * @example
   * ```ts
   * HeaderFields.fromList(["Host", "example.com"]).get("host"); // "example.com"
   * ```
   */
  static fromList(list: readonly string[]): HeaderFields {
    let text = "";
    for (let i = 0; i + 1 < list.length; i += 2) {
      const name = list[i], value = list[i + 1];
      if (!isToken(name) || value.includes("\r") || value.includes("\n")) continue;
      text += `${text === "" ? "" : "\r\n"}${name}:${value}`;
    }
    return new HeaderFields(text, 0);
  }

  /** Indexes the fields into the shared index, or into one of this head's own if they are many. */
  #reindex(): void {
    const n = indexFields(this.#text, this.#from, indexed);
    if (n > SHARED_INDEX_MAX) {
      this.#own = indexed.slice(0, n);
      indexed.length = SHARED_INDEX_MAX;
      indexedFor = undefined;
    } else {
      indexedCount = n;
      indexedFor = this;
    }
  }

  /**
   * This head's index, its length in `indexLength`: its own, or the shared one, indexed again if
   * another head's took it over (the fields were checked already: indexing cannot throw).
   */
  #index(): number[] {
    if (this.#own === undefined && indexedFor !== this) this.#reindex();
    const own = this.#own;
    if (own !== undefined) {
      indexLength = own.length;
      return own;
    }
    indexLength = indexedCount;
    return indexed;
  }

  /** The value of header `name` (lower case); repeated headers are joined with `", "`. */
  get(name: string): string | null {
    const at = this.#index(), n = indexLength, text = this.#text;
    let value: string | null = null;
    for (let i = 0; i < n; i += 4) {
      if (!isName(text, at[i], at[i + 1], name)) continue;
      const v = text.slice(at[i + 2], at[i + 3]);
      value = value === null ? v : `${value}, ${v}`;
    }
    return value;
  }

  /** True if header `name` (lower case) is present. */
  has(name: string): boolean {
    return this._valueStart(name) >= 0;
  }

  /**
   * True if the list in header `name` (lower case; repeated headers count as one list) has the
   * token `token` (lower case), compared without regard to ASCII case: {@link hasToken} without
   * cutting the value out.
   */
  hasToken(name: string, token: string): boolean {
    const at = this.#index(), n = indexLength, text = this.#text;
    for (let i = 0; i < n; i += 4) {
      if (isName(text, at[i], at[i + 1], name) && tokenIn(text, at[i + 2], at[i + 3], token)) {
        return true;
      }
    }
    return false;
  }

  /** @internal Where the value of the first field `name` (lower case) starts in the head, or -1. */
  _valueStart(name: string): number {
    const at = this.#index(), n = indexLength, text = this.#text;
    for (let i = 0; i < n; i += 4) if (isName(text, at[i], at[i + 1], name)) return at[i + 2];
    return -1;
  }

  /** True if header `name` (lower case) appears once, with exactly `value` as its value. */
  is(name: string, value: string): boolean {
    const at = this.#index(), n = indexLength, text = this.#text;
    let found = false;
    for (let i = 0; i < n; i += 4) {
      if (!isName(text, at[i], at[i + 1], name)) continue;
      if (found || at[i + 3] - at[i + 2] !== value.length || !text.startsWith(value, at[i + 2])) {
        return false;
      }
      found = true;
    }
    return found;
  }

  /** The fields as a new `Headers` object. */
  toHeaders(): Headers {
    const at = this.#index(), n = indexLength, text = this.#text;
    const headers = new Headers();
    for (let i = 0; i < n; i += 4) {
      headers.append(text.slice(at[i], at[i + 1]), text.slice(at[i + 2], at[i + 3]));
    }
    return headers;
  }
}

/** True if `text[from..to)` is `name` (lower case), compared without regard to ASCII case. */
function isName(text: string, from: number, to: number, name: string): boolean {
  if (to - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    const c = text.charCodeAt(from + i);
    if ((c >= 65 && c <= 90 ? c | 32 : c) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** True if the comma-separated list `text[from..to)` has `token` (see {@link hasToken}). */
function tokenIn(text: string, from: number, to: number, token: string): boolean {
  for (;;) {
    let end = text.indexOf(",", from);
    if (end < 0 || end > to) end = to;
    let a = from, b = end;
    while (a < b && isOws(text.charCodeAt(a))) a++;
    while (b > a && isOws(text.charCodeAt(b - 1))) b--;
    if (isName(text, a, b, token)) return true;
    if (end === to) return false;
    from = end + 1;
  }
}

function checkHead(head: string): void {
  if (STRAY.test(head)) throw new HttpParseError("stray CR, LF or NUL in the head");
}

/** The status line, matched on the whole head up to its CRLF: no copy of a line. */
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: ([^\r]*))?(?:\r\n|$)/;
/** A character of `\S` above U+00FF (a latin1 head has none). */
const SPACE = /\s/;

/**
 * Where the request line `METHOD SP target SP HTTP/d.d` ends (before its CRLF, or at the end of the
 * head), with `method` upper-case letters and `target` without white space (`\S`); -1 if it is
 * not such a line. Scanned by hand: a regular expression's match array and captures were a
 * twentieth of a handshake's garbage on Node.
 */
function requestLineEnd(head: string, sp1: number, sp2: number): number {
  if (sp1 <= 0 || sp2 <= sp1 + 1) return -1;
  for (let i = 0; i < sp1; i++) {
    const c = head.charCodeAt(i);
    if (c < 65 || c > 90) return -1;
  }
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = head.charCodeAt(i);
    if ((c >= 9 && c <= 13) || c === 32 || c === 160 || (c > 255 && SPACE.test(head[i]))) return -1;
  }
  const end = sp2 + 9;
  if (
    !head.startsWith("HTTP/", sp2 + 1) || !isDigit(head.charCodeAt(sp2 + 6)) ||
    head.charCodeAt(sp2 + 7) !== 46 || !isDigit(head.charCodeAt(sp2 + 8)) ||
    (end !== head.length && !head.startsWith("\r\n", end))
  ) return -1;
  return end;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Parses a request head (without the final blank line), with its headers as {@link HeaderFields}.
 *
 * @example
 * ```ts
 * parseRequestFields("GET /chat HTTP/1.1\r\nHost: example.com").headers.get("host");
 * ```
 */
export function parseRequestFields(head: string): RequestHead<HeaderFields> {
  checkHead(head);
  const sp1 = head.indexOf(" "), sp2 = sp1 < 0 ? -1 : head.indexOf(" ", sp1 + 1);
  const end = requestLineEnd(head, sp1, sp2);
  if (end < 0) throw new HttpParseError("malformed request line");
  return {
    // The usual method and version as constants: no string cut for them.
    method: sp1 === 3 && head.startsWith("GET") ? "GET" : head.slice(0, sp1),
    target: head.slice(sp1 + 1, sp2),
    version: head.startsWith("HTTP/1.1", sp2 + 1) ? "HTTP/1.1" : head.slice(sp2 + 1, end),
    headers: HeaderFields._parse(head, end === head.length ? end : end + 2),
  };
}

/**
 * Parses a request head (without the final blank line).
 *
 * @example
 * ```ts
 * parseRequestHead("GET /chat HTTP/1.1\r\nHost: example.com");
 * ```
 */
export function parseRequestHead(head: string): RequestHead {
  const r = parseRequestFields(head);
  return { method: r.method, target: r.target, version: r.version, headers: r.headers.toHeaders() };
}

/**
 * Parses a response head (without the final blank line).
 *
 * @example
 * ```ts
 * parseResponseHead("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket");
 * ```
 */
export function parseResponseHead(head: string): ResponseHead {
  checkHead(head);
  const m = STATUS_LINE.exec(head);
  if (!m) throw new HttpParseError("malformed status line");
  return {
    version: m[1],
    status: Number(m[2]),
    statusText: m[3] ?? "",
    headers: HeaderFields._parse(head, m[0].length).toHeaders(),
  };
}

/** The parts of a request's URL that a server uses. */
export interface RequestUrl {
  /** e.g. `ws://example.com/chat?room=1` */
  href: string;
  /** e.g. `/chat` */
  pathname: string;
  /** e.g. `?room=1`, or `""` */
  search: string;
}

/** Path and query characters that the URL parser keeps as they are, without dot segments. */
const PLAIN_TARGET = /^\/(?!\/)[!$%&(-;=@-Z_a-z~]*(?:\?[!$%&(-;=?-Z_a-z~]*)?$/;
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:[/?]|$)/i;
/** A host the URL parser keeps as it is: a lower-case name or canonical IPv4, a non-default port. */
const PLAIN_HOST =
  /^(?:[a-z](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z](?:[a-z0-9-]*[a-z0-9])?)*|(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?::[1-9]\d{0,4})?$/;

/**
 * The URL of a request: `target` resolved against `scheme://host`, as the WHATWG URL parser does
 * it. Common targets and hosts are taken as they are, without building a `URL`. Throws a
 * TypeError for a target or host that makes no URL.
 *
 * @example
 * ```ts
 * requestUrl("ws", "example.com:8080", "/chat?room=1").pathname; // "/chat"
 * ```
 */
export function requestUrl(scheme: string, host: string | null, target: string): RequestUrl {
  if (isPlainUrl(host, target)) {
    return {
      href: plainHref(scheme, host, target),
      pathname: targetPath(target),
      search: targetSearch(target),
    };
  }
  const url = new URL(target, `http://${host ?? "invalid"}`);
  url.protocol = `${scheme}:`;
  return { href: url.href, pathname: url.pathname, search: url.search };
}

/**
 * True if {@link requestUrl} takes `host` and `target` as they are: then the URL's path and query
 * are {@link targetPath} and {@link targetSearch} of `target`, and its `href` is
 * {@link plainHref}, which a server builds only if something asks for it.
 */
export function isPlainUrl(host: string | null, target: string): host is string {
  if (
    host === null || !PLAIN_HOST.test(host) || !PLAIN_TARGET.test(target) ||
    DOT_SEGMENT.test(target)
  ) return false;
  const port = host.lastIndexOf(":");
  if (port < 0) return true;
  const p = host.slice(port + 1);
  return Number(p) <= 65535 && p !== "80" && p !== "443";
}

/** The URL of a request whose host and target are plain (see {@link isPlainUrl}). */
export function plainHref(scheme: string, host: string, target: string): string {
  return `${scheme}://${host}${target}`;
}

/** The path of a request target: up to its `?`. */
export function targetPath(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

/** The query of a request target with its `?`, or `""` if it has none or an empty one. */
export function targetSearch(target: string): string {
  const q = target.indexOf("?");
  return q < 0 || q === target.length - 1 ? "" : target.slice(q);
}

/**
 * True if a comma-separated header value contains `token` (lower case), compared case-insensitively
 * (ASCII case: a token is ASCII) and in place: no list to split and no lower-cased copies.
 */
export function hasToken(value: string | null, token: string): boolean {
  return value !== null && tokenIn(value, 0, value.length, token);
}

/** Reason phrases of the registered statuses (RFC 9110 and its registry); others go without. */
const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  102: "Processing",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  208: "Already Reported",
  226: "IM Used",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  305: "Use Proxy",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  423: "Locked",
  424: "Failed Dependency",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  506: "Variant Also Negotiates",
  507: "Insufficient Storage",
  508: "Loop Detected",
  510: "Not Extended",
  511: "Network Authentication Required",
};

/**
 * Serializes a response head, and a body if given (with `Content-Length`, and `Connection: close`
 * for any status but 101).
 *
 * @example
 * ```ts
 * encodeResponse(404, new Headers(), "no such resource");
 * ```
 */
export function encodeResponse(
  status: number,
  headers: Headers,
  body?: string | Uint8Array,
): Uint8Array {
  // An unregistered status goes without a phrase (RFC 9112: the space stays, the phrase may be empty).
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}\r\n`;
  const bodyBytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  if (status !== 101) {
    // One response per connection (no keep-alive), and the length is always ours.
    if (!headers.has("connection")) head += "Connection: close\r\n";
    if (typeof body === "string" && !headers.has("content-type")) {
      head += "Content-Type: text/plain; charset=utf-8\r\n";
    }
    head += `Content-Length: ${bodyBytes?.length ?? 0}\r\n`;
    headers = new Headers(headers);
    for (const h of ["content-length", "transfer-encoding", "keep-alive"]) headers.delete(h);
  }
  headers.forEach((value, name) => {
    head += `${name}: ${value}\r\n`;
  });
  head += "\r\n";
  const headBytes = new TextEncoder().encode(head);
  if (!bodyBytes || bodyBytes.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.length);
  return out;
}
