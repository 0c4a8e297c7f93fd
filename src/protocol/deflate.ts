/**
 * permessage-deflate (RFC 7692): negotiating the extension in the opening handshake, and
 * compressing and decompressing messages.
 *
 * Compression uses `node:zlib`'s one-shot raw deflate with a sync flush, which behaves the same on
 * Deno, Bun and Node and keeps the protocol core synchronous. Context takeover is kept by handing
 * the previous messages' last window of data to zlib as a preset dictionary: that is exactly the
 * window a streaming peer keeps, so the bytes on the wire are standard, and an idle connection
 * holds at most one window per direction instead of two live zlib streams. Only one zlib
 * operation runs at a time in a process (the calls are synchronous), so many sockets cannot pile
 * up zlib memory, and inflating stops as soon as the output would pass the message size limit.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import { platform } from "../platform/platform.ts";

/** Options for permessage-deflate, on a server, a resource or a client. */
export interface DeflateOptions {
  /** Server: never keep context between messages it sends (client: ask for that). */
  serverNoContextTakeover?: boolean;
  /** Ask the client not to keep context between messages it sends (client: promise it). */
  clientNoContextTakeover?: boolean;
  /**
   * Largest LZ77 window the server uses, 9-15. A server uses 12 bits unless told otherwise; a
   * client asks for no limit unless told otherwise.
   */
  serverMaxWindowBits?: number;
  /**
   * Largest LZ77 window the client uses, 9-15. A server limits clients that offer the parameter
   * to 12 bits unless told otherwise; a client offers the parameter without a value unless told
   * otherwise, and the server chooses.
   */
  clientMaxWindowBits?: number;
  /** zlib compression level, 0-9 (default 6). */
  level?: number;
  /** zlib memory level, 1-9 (default 5). */
  memLevel?: number;
  /** Messages shorter than this many bytes are sent uncompressed (default 1024). */
  threshold?: number;
}

/** What both ends agreed on. */
export interface DeflateParams {
  /** The server sends each message with a fresh context. */
  serverNoContextTakeover: boolean;
  /** The client sends each message with a fresh context. */
  clientNoContextTakeover: boolean;
  /** LZ77 window size, in bits, of what the server sends (8-15). */
  serverMaxWindowBits: number;
  /** LZ77 window size, in bits, of what the client sends (8-15). */
  clientMaxWindowBits: number;
}

/**
 * True if this runtime's `node:zlib` honours a preset dictionary for raw inflate, which context
 * takeover needs here (Deno's does not). Without it, a server grants only offers without context
 * takeover (it may always add both `no_context_takeover` parameters) and a client asks for them.
 * Probed on first use with a message that was compressed against its own text as the dictionary.
 */
export function contextTakeover(): boolean {
  return takeover ??= (() => {
    const probe = "wsdriver-probe-dictionary";
    try {
      const out = platform().inflateRaw(new Uint8Array([42, 199, 37, 1, 0, 0, 0, 255, 255]), {
        windowBits: 15,
        dictionary: new TextEncoder().encode(probe),
        maxOutputLength: 1024,
      });
      return new TextDecoder().decode(out) === probe;
    } catch {
      return false;
    }
  })();
}
let takeover: boolean | undefined;

/** The extension's name in `Sec-WebSocket-Extensions`. */
export const EXTENSION_NAME = "permessage-deflate";
/** Default {@link DeflateOptions.threshold}. */
export const DEFAULT_THRESHOLD = 1024;
/** Default {@link DeflateOptions.level}: zlib's own default. */
export const DEFAULT_LEVEL = 6;
/**
 * Default {@link DeflateOptions.memLevel}. zlib's default of 8 sizes its hash table and output
 * buffer for long streams; a WebSocket message is mostly a few KiB, and zlib sets up its state
 * for every message here, so the smaller state (an eighth of the hash table and output buffer) is
 * faster to set up and takes less memory, for about the same output. Python's `websockets` chose 5 too.
 */
export const DEFAULT_MEM_LEVEL = 5;
/**
 * The window a server compresses with, and limits clients to when they let it, unless
 * {@link DeflateOptions.serverMaxWindowBits} and {@link DeflateOptions.clientMaxWindowBits} say
 * otherwise. Context takeover hands zlib the previous window as a preset dictionary for every
 * message, and zlib hashes all of it each time: 4 KiB instead of 32 KiB makes compressing and
 * inflating 1-4 KiB messages several times faster, and it is also the memory each connection
 * keeps per direction. Repetitive messages (JSON with the same keys) still compress about as well,
 * since most of what repeats is within the last message or two. Python's `websockets` server
 * negotiates 12 bits too.
 */
export const SERVER_WINDOW_BITS = 12;
/** What RFC 7692 §7.2.1 strips from every compressed message and §7.2.2 puts back. */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** An extension parameter: its name, and its value or `true` when it has none. */
export type ExtensionParam = [name: string, value: string | true];
/** One extension of a `Sec-WebSocket-Extensions` header: its name and parameters, in order. */
export interface Extension {
  /** Extension token, e.g. `permessage-deflate`. */
  name: string;
  /** Its parameters in order. */
  params: ExtensionParam[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1 grammar, quoted values allowed).
 * Returns undefined if it does not follow the grammar.
 *
 * @example
 * ```ts
 * parseExtensions("permessage-deflate; client_max_window_bits, x-foo");
 * // [{ name: "permessage-deflate", params: [["client_max_window_bits", true]] }, { name: "x-foo", params: [] }]
 * ```
 */
export function parseExtensions(header: string): Extension[] | undefined {
  const out: Extension[] = [];
  // Split on commas and semicolons outside quoted strings.
  const items: string[][] = [[]];
  let cur = "", quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (quoted) {
      if (c === "\\" && i + 1 < header.length) cur += header[++i];
      else if (c === '"') quoted = false;
      else cur += c;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ";") {
      items[items.length - 1].push(cur);
      cur = "";
    } else if (c === ",") {
      items[items.length - 1].push(cur);
      items.push([]);
      cur = "";
    } else cur += c;
  }
  if (quoted) return undefined;
  items[items.length - 1].push(cur);
  for (const item of items) {
    const name = item[0].trim();
    if (name === "" && item.length === 1) continue; // empty list element, allowed by #rule
    if (!TOKEN.test(name)) return undefined;
    const params: ExtensionParam[] = [];
    for (const p of item.slice(1)) {
      const eq = p.indexOf("=");
      const key = (eq < 0 ? p : p.slice(0, eq)).trim();
      if (!TOKEN.test(key)) return undefined;
      if (eq < 0) {
        params.push([key, true]);
        continue;
      }
      const value = p.slice(eq + 1).trim();
      if (!TOKEN.test(value)) return undefined;
      params.push([key, value]);
    }
    out.push({ name, params });
  }
  return out;
}

/** A window-bits value as RFC 7692 §7.1.2 allows it: 8-15, decimal, no leading zero. */
function windowBits(value: string | true): number | undefined {
  if (value === true || !/^(8|9|1[0-5])$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Validates one offer's (or the response's) parameters: known names, each at most once, values as
 * the RFC allows them. `client_max_window_bits` may come without a value in an offer.
 */
function readParams(
  params: ExtensionParam[],
  inOffer: boolean,
): Map<string, string | true> | undefined {
  const seen = new Map<string, string | true>();
  for (const [name, value] of params) {
    if (seen.has(name)) return undefined;
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== true) return undefined;
        break;
      case "server_max_window_bits":
        if (windowBits(value) === undefined) return undefined;
        break;
      case "client_max_window_bits":
        if (!(inOffer && value === true) && windowBits(value) === undefined) return undefined;
        break;
      default:
        return undefined;
    }
    seen.set(name, value);
  }
  return seen;
}

function clampBits(bits: number | undefined): number {
  return Math.min(15, Math.max(9, bits ?? 15));
}

/**
 * Server side: picks the first acceptable permessage-deflate offer of the client's
 * `Sec-WebSocket-Extensions` header and builds the response value; undefined declines (no offer,
 * or none the server can honour: RFC 7692 §5 says to decline offers with unknown or repeated
 * parameters or bad values, and zlib cannot compress with a 256-byte window, so an offer that
 * limits the server to 8 bits is declined too).
 *
 * @example
 * ```ts
 * negotiateDeflate("permessage-deflate; client_max_window_bits", {});
 * // { params: {...}, response: "permessage-deflate; client_max_window_bits=15" }
 * ```
 */
export function negotiateDeflate(
  header: string | null,
  options: DeflateOptions,
): { params: DeflateParams; response: string } | undefined {
  if (header === null) return undefined;
  const offers = parseExtensions(header);
  if (!offers) return undefined;
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    const p = readParams(offer.params, true);
    if (!p) continue;
    const offeredServerBits = p.get("server_max_window_bits");
    const serverBitsLimit = offeredServerBits === undefined ? 15 : windowBits(offeredServerBits)!;
    if (serverBitsLimit < 9) continue;
    const serverBits = Math.min(
      serverBitsLimit,
      clampBits(options.serverMaxWindowBits ?? SERVER_WINDOW_BITS),
    );
    const offeredClientBits = p.get("client_max_window_bits");
    let clientBits = 15;
    if (offeredClientBits !== undefined) {
      clientBits = Math.min(
        offeredClientBits === true ? 15 : windowBits(offeredClientBits)!,
        clampBits(options.clientMaxWindowBits ?? SERVER_WINDOW_BITS),
      );
    }
    const params: DeflateParams = {
      serverNoContextTakeover: p.has("server_no_context_takeover") ||
        !!options.serverNoContextTakeover ||
        !contextTakeover(),
      clientNoContextTakeover: p.has("client_no_context_takeover") ||
        !!options.clientNoContextTakeover ||
        !contextTakeover(),
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    };
    let response = EXTENSION_NAME;
    if (params.serverNoContextTakeover) response += "; server_no_context_takeover";
    if (params.clientNoContextTakeover) response += "; client_no_context_takeover";
    if (offeredServerBits !== undefined || serverBits < 15) {
      response += `; server_max_window_bits=${serverBits}`;
    }
    if (offeredClientBits !== undefined) response += `; client_max_window_bits=${clientBits}`;
    return { params, response };
  }
  return undefined;
}

/**
 * Client side: the `Sec-WebSocket-Extensions` offer for `options`.
 *
 * @example
 * ```ts
 * offerDeflate({}); // "permessage-deflate; client_max_window_bits"
 * ```
 */
export function offerDeflate(options: DeflateOptions): string {
  let offer = EXTENSION_NAME;
  if (options.serverNoContextTakeover || !contextTakeover()) {
    offer += "; server_no_context_takeover";
  }
  if (options.clientNoContextTakeover || !contextTakeover()) {
    offer += "; client_no_context_takeover";
  }
  if (options.serverMaxWindowBits !== undefined) {
    offer += `; server_max_window_bits=${clampBits(options.serverMaxWindowBits)}`;
  }
  offer += options.clientMaxWindowBits !== undefined
    ? `; client_max_window_bits=${clampBits(options.clientMaxWindowBits)}`
    : "; client_max_window_bits";
  return offer;
}

/**
 * Client side: checks the server's `Sec-WebSocket-Extensions` answer to {@link offerDeflate}.
 * Returns the agreed parameters, undefined if the server declined, or a string saying why the
 * answer is invalid (the client must then fail the connection, RFC 7692 §5).
 *
 * @example
 * ```ts
 * acceptDeflateResponse("permessage-deflate; server_no_context_takeover", {});
 * ```
 */
export function acceptDeflateResponse(
  header: string | null,
  options: DeflateOptions,
): DeflateParams | undefined | string {
  if (header === null) return undefined;
  const exts = parseExtensions(header);
  if (!exts) return "malformed Sec-WebSocket-Extensions";
  if (exts.length === 0) return undefined;
  if (exts.length > 1 || exts[0].name !== EXTENSION_NAME) {
    return `server selected an extension that was not offered: ${header}`;
  }
  const p = readParams(exts[0].params, false);
  if (!p) return `invalid permessage-deflate parameters: ${header}`;
  const serverBits = windowBits(p.get("server_max_window_bits") ?? "15")!;
  if (
    options.serverMaxWindowBits !== undefined && serverBits > clampBits(options.serverMaxWindowBits)
  ) {
    return "server_max_window_bits is larger than offered";
  }
  if (
    (options.serverNoContextTakeover || !contextTakeover()) && !p.has("server_no_context_takeover")
  ) {
    return "server_no_context_takeover was requested but not granted";
  }
  const clientBitsValue = p.get("client_max_window_bits");
  const clientBits = clientBitsValue === undefined
    ? clampBits(options.clientMaxWindowBits)
    : windowBits(clientBitsValue)!;
  if (
    options.clientMaxWindowBits !== undefined && clientBits > clampBits(options.clientMaxWindowBits)
  ) {
    return "client_max_window_bits is larger than offered";
  }
  return {
    serverNoContextTakeover: p.has("server_no_context_takeover"),
    clientNoContextTakeover: p.has("client_no_context_takeover") ||
      !!options.clientNoContextTakeover ||
      !contextTakeover(),
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
  };
}

/**
 * The last bytes one direction has carried, up to its window: the preset dictionary of the next
 * message with context takeover. It grows to the window as messages arrive (a connection that
 * sends little keeps little) and then shifts in place, so a message costs one copy of the window
 * and no allocation.
 */
class History {
  #buf: Uint8Array | undefined;
  #length = 0;
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  /** What zlib takes as the dictionary; undefined before the first message. */
  get bytes(): Uint8Array | undefined {
    return this.#buf?.subarray(0, this.#length);
  }

  /** Appends `data`, dropping what falls out of the window. */
  push(data: Uint8Array): void {
    const size = this.#size;
    if (data.length >= size) {
      (this.#buf = this.#grow(size, 0)).set(data.subarray(data.length - size));
      this.#length = size;
      return;
    }
    const keep = Math.min(this.#length, size - data.length);
    const buf = this.#grow(keep + data.length, keep);
    buf.set(data, keep);
    this.#buf = buf;
    this.#length = keep + data.length;
  }

  /** A buffer of at least `need` bytes whose first `keep` bytes are the newest kept ones. */
  #grow(need: number, keep: number): Uint8Array {
    const old = this.#buf, from = this.#length - keep;
    if (old && old.length >= need) {
      if (from > 0) old.copyWithin(0, from, this.#length);
      return old;
    }
    const buf = new Uint8Array(Math.min(this.#size, Math.max(need, 2 * (old?.length ?? 0))));
    if (old && keep > 0) buf.set(old.subarray(from, this.#length));
    return buf;
  }
}

/**
 * One connection's compressor and decompressor.
 *
 * @example
 * ```ts
 * const d = new PerMessageDeflate(params, "server", {});
 * const wire = d.compress(new TextEncoder().encode("hello hello hello"));
 * d.decompress(wire, 1 << 20);
 * ```
 */
export class PerMessageDeflate {
  /** The negotiated parameters. */
  readonly params: DeflateParams;
  /** Messages shorter than this go uncompressed. */
  readonly threshold: number;
  #level: number;
  #memLevel: number;
  #outBits: number;
  /** The window kept of what this side sends, in bytes; 0 without context takeover. */
  #outWindow = 0;
  /** The window kept of what the peer sends, in bytes; 0 without context takeover. */
  #inWindow = 0;
  // Made on the first message: an idle connection holds no window at all.
  #outHistory: History | undefined;
  #inHistory: History | undefined;

  /** Compression for one connection's side with the negotiated parameters. */
  constructor(params: DeflateParams, side: "server" | "client", options: DeflateOptions) {
    this.params = params;
    const server = side === "server";
    this.#outBits = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    // zlib's raw deflate cannot keep to a 256-byte window; RFC 7692 §6 lets every message go
    // uncompressed instead, so an 8-bit window means: never compress.
    this.threshold = this.#outBits < 9 ? Infinity : options.threshold ?? DEFAULT_THRESHOLD;
    this.#level = options.level ?? DEFAULT_LEVEL;
    this.#memLevel = options.memLevel ?? DEFAULT_MEM_LEVEL;
    if (!(server ? params.serverNoContextTakeover : params.clientNoContextTakeover)) {
      this.#outWindow = 1 << this.#outBits;
    }
    if (!(server ? params.clientNoContextTakeover : params.serverNoContextTakeover)) {
      // The peer cannot reach back further than the window it agreed to, except that zlib
      // compresses with 9 bits when 8 are agreed.
      const bits = server ? params.clientMaxWindowBits : params.serverMaxWindowBits;
      this.#inWindow = 1 << Math.max(9, bits);
    }
  }

  /**
   * True if what this side sends does not depend on earlier messages, so one compressed payload
   * can go to every peer that negotiated the same parameters.
   */
  get statelessOut(): boolean {
    return this.#outWindow === 0;
  }

  /** A key shared by connections whose compressed output is interchangeable (when stateless). */
  get outKey(): string {
    return `${this.#outBits}/${this.#level}/${this.#memLevel}`;
  }

  /** Compresses one message's payload; the result is what goes on the wire (RSV1 set). */
  compress(data: Uint8Array): Uint8Array {
    const out = platform().deflateRaw(data, {
      level: this.#level,
      memLevel: this.#memLevel,
      windowBits: this.#outBits,
      dictionary: this.#outHistory?.bytes,
    });
    if (this.#outWindow > 0) (this.#outHistory ??= new History(this.#outWindow)).push(data);
    // Z_SYNC_FLUSH ends with the empty stored block whose 4 bytes RFC 7692 strips.
    const n = out.byteLength;
    const tail = n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff &&
      out[n - 1] === 0xff;
    return new Uint8Array(out.buffer, out.byteOffset, tail ? n - 4 : n);
  }

  /**
   * Decompresses one message's payload, refusing to produce more than `maxSize` bytes. Throws a
   * {@link ProtocolError}: 1009 when the message would be larger, 1007 when it is not valid deflate.
   */
  decompress(data: Uint8Array, maxSize: number): Uint8Array {
    const input = new Uint8Array(data.length + 4);
    input.set(data);
    input.set(TAIL, data.length);
    let out: Uint8Array;
    try {
      out = platform().inflateRaw(input, {
        windowBits: 15,
        dictionary: this.#inHistory?.bytes,
        maxOutputLength: Math.max(1, maxSize),
      });
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        throw new ProtocolError(
          "WS_ERR_MESSAGE_TOO_BIG",
          `inflated message over the limit of ${maxSize} bytes`,
          1009,
        );
      }
      throw new ProtocolError(
        "WS_ERR_INVALID_DEFLATE",
        `invalid compressed data: ${(err as Error).message}`,
        1007,
      );
    }
    if (out.length > maxSize) {
      throw new ProtocolError(
        "WS_ERR_MESSAGE_TOO_BIG",
        `inflated message over the limit of ${maxSize} bytes`,
        1009,
      );
    }
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    if (this.#inWindow > 0) (this.#inHistory ??= new History(this.#inWindow)).push(bytes);
    return bytes;
  }
}
