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
  // A head's read usually ends with its blank line: decoding the read whole and cutting the
  // string costs less than a view of the read without those four bytes.
  const whole = buf.length === end + 4;
  const s = windows1252.decode(whole || end === buf.length ? buf : buf.subarray(0, end));
  if (ABOVE_LATIN1.test(s)) return exactLatin1(buf, end);
  return whole ? s.slice(0, end) : s;
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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A NUL, or a CR or LF that is not part of a CRLF line end. */
const STRAY = /\0|\r(?!\n)|(?<!\r)\n/;

/**
 * Header fields as a flat list: lower-cased name, value, name, value, …, from the lines of `head`
 * after index `from` (the start of the first header line). The head is scanned in place: a list of
 * lines and trimmed copies of values were a third of a handshake's garbage from header parsing.
 * Values lose their optional whitespace (spaces and tabs, RFC 9110 §5.5) at both ends.
 */
function parseFields(head: string, from: number): string[] {
  const fields: string[] = [];
  const end = head.length;
  // No header lines: the head ends with its first line, not with a CRLF (an empty line).
  if (from === end && head.charCodeAt(end - 1) !== 10) return fields;
  let pos = from;
  for (;;) {
    let eol = head.indexOf("\r\n", pos);
    if (eol < 0) eol = end;
    const colon = head.indexOf(":", pos);
    if (colon <= pos || colon > eol) throw new HttpParseError(`malformed header line`);
    const name = head.slice(pos, colon);
    if (!TOKEN.test(name)) throw new HttpParseError(`invalid header name`);
    let a = colon + 1, b = eol;
    while (a < b && isOws(head.charCodeAt(a))) a++;
    while (b > a && isOws(head.charCodeAt(b - 1))) b--;
    fields.push(name.toLowerCase(), head.slice(a, b));
    if (eol === end) return fields;
    pos = eol + 2;
  }
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

function fieldsToHeaders(fields: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
  return headers;
}

/** Header lookup by lower-case name, as `Headers` does it. */
export interface HeaderLookup {
  /** The field's value (repeated fields joined with `, `), or null. */
  get(name: string): string | null;
  /** True if the field is present. */
  has(name: string): boolean;
}

/**
 * Header fields as the peer sent them, looked up by scanning: a server answers an upgrade with a
 * few lookups, so neither a handshake nor an idle connection pays for a `Headers` object that
 * nobody reads. {@link HeaderFields.toHeaders} builds one when it is wanted.
 *
 * @example
 * ```ts
 * const { headers } = parseRequestFields("GET /chat HTTP/1.1\r\nHost: example.com");
 * headers.get("host"); // "example.com"
 * ```
 */
export class HeaderFields implements HeaderLookup {
  readonly #fields: readonly string[];

  /** `fields`: lower-case name, value, name, value, … */
  constructor(fields: readonly string[]) {
    this.#fields = fields;
  }

  /** The value of header `name` (lower case); repeated headers are joined with `", "`. */
  get(name: string): string | null {
    const f = this.#fields;
    let value: string | null = null;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] === name) value = value === null ? f[i + 1] : `${value}, ${f[i + 1]}`;
    }
    return value;
  }

  /** True if header `name` (lower case) is present. */
  has(name: string): boolean {
    const f = this.#fields;
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) return true;
    return false;
  }

  /** The fields as a new `Headers` object. */
  toHeaders(): Headers {
    return fieldsToHeaders(this.#fields);
  }
}

function checkHead(head: string): void {
  if (STRAY.test(head)) throw new HttpParseError("stray CR, LF or NUL in the head");
}

/** The request and status lines, matched on the whole head up to their CRLF: no copy of a line. */
const REQUEST_LINE = /^([A-Z]+) (\S+) (HTTP\/\d\.\d)(?:\r\n|$)/;
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: ([^\r]*))?(?:\r\n|$)/;

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
  const m = REQUEST_LINE.exec(head);
  if (!m) throw new HttpParseError("malformed request line");
  return {
    method: m[1],
    target: m[2],
    version: m[3],
    headers: new HeaderFields(parseFields(head, m[0].length)),
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
    headers: fieldsToHeaders(parseFields(head, m[0].length)),
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
  if (
    host !== null && PLAIN_HOST.test(host) && PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)
  ) {
    const port = host.lastIndexOf(":");
    const p = port < 0 ? "" : host.slice(port + 1);
    if (p === "" || (Number(p) <= 65535 && p !== "80" && p !== "443")) {
      const q = target.indexOf("?");
      return {
        href: `${scheme}://${host}${target}`,
        pathname: q < 0 ? target : target.slice(0, q),
        search: q < 0 || q === target.length - 1 ? "" : target.slice(q),
      };
    }
  }
  const url = new URL(target, `http://${host ?? "invalid"}`);
  url.protocol = `${scheme}:`;
  return { href: url.href, pathname: url.pathname, search: url.search };
}

/** True if a comma-separated header value contains `token`, compared case-insensitively. */
export function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  // The usual value is the token alone: no list to split.
  if (value.length === token.length && value.toLowerCase() === token) return true;
  const parts = value.split(",");
  for (let i = 0; i < parts.length; i++) if (parts[i].trim().toLowerCase() === token) return true;
  return false;
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
