/**
 * permessage-deflate (RFC 7692) on the fuzzer's side: parsing and checking the
 * `Sec-WebSocket-Extensions` negotiation, Autobahn's offers and accept functions, and the
 * fuzzer's own compressor and decompressor. Nothing here uses wsdriver's code: compression goes
 * through `node:zlib`'s streaming objects (`createDeflateRaw`/`createInflateRaw` with
 * `flush(Z_SYNC_FLUSH)`), which keep their LZ77 window across messages by themselves (no preset
 * dictionary, which Deno's `node:zlib` ignores), so the fuzzer does context takeover on every
 * runtime.
 *
 * The decompressor inflates with the window the peer agreed to use and small output chunks, so a
 * peer that reaches further back than its agreed window fails the case ("invalid distance too far
 * back"): zlib can reach back over its window plus the output chunk being produced, so the check
 * is exact for a 32 KiB window and allows at most window/8 bytes more for smaller ones. A peer
 * that agreed to no context takeover is decompressed with a fresh stream per message, so a
 * reference to an earlier message fails the case too.
 */

import * as zlib from "node:zlib";

/** The extension's name. */
export const PMD = "permessage-deflate";

/** One extension of a `Sec-WebSocket-Extensions` value: its name and parameters, in order. */
export interface OfferedExtension {
  name: string;
  params: Array<[string, string | true]>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1, quoted values allowed); a string
 * says why it is malformed.
 */
export function parseExtensions(value: string): OfferedExtension[] | string {
  const out: OfferedExtension[] = [];
  const items: string[][] = [[]];
  let cur = "", quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === "\\" && i + 1 < value.length) cur += value[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ";") {
      items[items.length - 1].push(cur);
      cur = "";
    } else if (c === ",") {
      items[items.length - 1].push(cur);
      items.push([]);
      cur = "";
    } else cur += c;
  }
  if (quoted) return `unterminated quoted string in ${JSON.stringify(value)}`;
  items[items.length - 1].push(cur);
  for (const item of items) {
    const name = item[0].trim();
    if (name === "" && item.length === 1) continue;
    if (!TOKEN.test(name)) return `bad extension name ${JSON.stringify(name)}`;
    const params: Array<[string, string | true]> = [];
    for (const p of item.slice(1)) {
      const eq = p.indexOf("=");
      const key = (eq < 0 ? p : p.slice(0, eq)).trim();
      if (!TOKEN.test(key)) return `bad parameter ${JSON.stringify(p)}`;
      const v = eq < 0 ? true : p.slice(eq + 1).trim();
      if (v !== true && !TOKEN.test(v)) return `bad parameter value ${JSON.stringify(p)}`;
      params.push([key, v]);
    }
    out.push({ name, params });
  }
  return out;
}

/** What both ends agreed on, by direction. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/** The agreement of one connection: the parameters and the header value that set them. */
export interface DeflateAgreement extends DeflateParams {
  /** The server's `Sec-WebSocket-Extensions` value. */
  response: string;
}

/** Short form of parameters for failure messages. */
export function describeParams(p: DeflateParams): string {
  return `server_no_context_takeover=${p.serverNoContextTakeover}, ` +
    `client_no_context_takeover=${p.clientNoContextTakeover}, ` +
    `server_max_window_bits=${p.serverMaxWindowBits}, ` +
    `client_max_window_bits=${p.clientMaxWindowBits}`;
}

function bits(v: string | true): number | undefined {
  return v !== true && /^(8|9|1[0-5])$/.test(v) ? Number(v) : undefined;
}

/**
 * Reads a server's response to `offer` as a client must (RFC 7692 §5, §7.1): exactly one
 * permessage-deflate extension, known parameters once each, valid values, `client_max_window_bits`
 * only if offered, `server_max_window_bits` present and not larger if the accepted offer had one.
 * Returns the agreement, or a string saying why the response is invalid.
 */
export function readResponse(response: string, offer: string): DeflateAgreement | string {
  const exts = parseExtensions(response);
  if (typeof exts === "string") return `malformed Sec-WebSocket-Extensions: ${exts}`;
  if (exts.length !== 1 || exts[0].name !== PMD) {
    return `the response must name exactly permessage-deflate: ${JSON.stringify(response)}`;
  }
  const offers = parseExtensions(offer);
  const offered = typeof offers === "string" ? [] : offers.filter((o) => o.name === PMD);
  const seen = new Map<string, string | true>();
  for (const [k, v] of exts[0].params) {
    if (seen.has(k)) return `parameter ${k} appears twice in ${JSON.stringify(response)}`;
    seen.set(k, v);
    if (k === "server_no_context_takeover" || k === "client_no_context_takeover") {
      if (v !== true) return `${k} has a value in ${JSON.stringify(response)}`;
    } else if (k === "server_max_window_bits" || k === "client_max_window_bits") {
      if (bits(v) === undefined) return `${k} has an invalid value in ${JSON.stringify(response)}`;
    } else return `unknown parameter ${k} in ${JSON.stringify(response)}`;
  }
  if (
    seen.has("client_max_window_bits") &&
    !offered.some((o) => o.params.some(([k]) => k === "client_max_window_bits"))
  ) {
    return "client_max_window_bits in the response, but no offer had it (RFC 7692 §7.1.2.2)";
  }
  const serverBits = seen.has("server_max_window_bits")
    ? bits(seen.get("server_max_window_bits")!)!
    : 15;
  const clientBits = seen.has("client_max_window_bits")
    ? bits(seen.get("client_max_window_bits")!)!
    : 15;
  return {
    response,
    serverNoContextTakeover: seen.has("server_no_context_takeover"),
    clientNoContextTakeover: seen.has("client_no_context_takeover"),
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
  };
}

/**
 * What wsdriver's server must agree to for `offer` (RFC 7692 §5: the first offer it can honour,
 * every request in it honoured): `server_no_context_takeover` and `server_max_window_bits` as
 * requested, the client's `client_no_context_takeover` hint granted, `client_max_window_bits` as
 * offered (15 without a value). An offer limiting the server to 8 bits is declined (zlib cannot
 * compress with a 256-byte raw window); undefined: every offer declined.
 */
export function expectedServerAgreement(offer: string): DeflateParams | undefined {
  const offers = parseExtensions(offer);
  if (typeof offers === "string") return undefined;
  for (const o of offers) {
    if (o.name !== PMD) continue;
    const p = new Map(o.params);
    const serverBits = p.has("server_max_window_bits")
      ? bits(p.get("server_max_window_bits")!)
      : 15;
    if (serverBits === undefined || serverBits < 9) continue;
    const cb = p.get("client_max_window_bits");
    return {
      serverNoContextTakeover: p.has("server_no_context_takeover"),
      clientNoContextTakeover: p.has("client_no_context_takeover"),
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: cb === undefined || cb === true ? 15 : bits(cb) ?? 15,
    };
  }
  return undefined;
}

/**
 * True if `got` honours `want`: the same `no_context_takeover` parameters, or both added (RFC 7692
 * §7.1.1), and windows no larger than `want`'s (a server may always compress with a smaller window
 * than the offer allows, §7.1.2.1, and limit a client that offered `client_max_window_bits`,
 * §7.1.2.2; wsdriver's server uses 12 bits by default).
 */
export function honoursAgreement(got: DeflateParams, want: DeflateParams): boolean {
  const windows = got.serverMaxWindowBits <= want.serverMaxWindowBits &&
    got.clientMaxWindowBits <= want.clientMaxWindowBits;
  const takeover = (a: DeflateParams) =>
    got.serverNoContextTakeover === a.serverNoContextTakeover &&
    got.clientNoContextTakeover === a.clientNoContextTakeover;
  return windows &&
    (takeover(want) ||
      takeover({ ...want, serverNoContextTakeover: true, clientNoContextTakeover: true }));
}

// -------------------------------------------------------------------------------------------------
// Autobahn's offers and accept functions (autobahn/case/case12_x_x.py with autobahn.websocket's
// PerMessageDeflateOffer / PerMessageDeflateOfferAccept), as they appear on the wire.

/**
 * Autobahn's `PerMessageDeflateOffer(requestNoContextTakeover, requestMaxWindowBits)` with its
 * defaults (it accepts no context takeover and a max window from the server): always
 * `client_no_context_takeover; client_max_window_bits`, then the requests.
 */
export function autobahnOffer(requestNoContextTakeover: boolean, requestMaxWindowBits: number) {
  let s = `${PMD}; client_no_context_takeover; client_max_window_bits`;
  if (requestNoContextTakeover) s += "; server_no_context_takeover";
  if (requestMaxWindowBits !== 0) s += `; server_max_window_bits=${requestMaxWindowBits}`;
  return s;
}

/** A client's offer as Autobahn's `PerMessageDeflateOffer.parse` reads it. */
interface AutobahnParsedOffer {
  acceptMaxWindowBits: boolean;
  requestNoContextTakeover: boolean;
  requestMaxWindowBits: number;
}

function autobahnParse(o: OfferedExtension): AutobahnParsedOffer | undefined {
  const p = new Map<string, string | true>();
  for (const [k, v] of o.params) {
    if (p.has(k)) return undefined;
    p.set(k, v);
  }
  const smwb = p.get("server_max_window_bits");
  const requestMaxWindowBits = smwb === undefined ? 0 : bits(smwb);
  if (requestMaxWindowBits === undefined) return undefined;
  return {
    acceptMaxWindowBits: p.has("client_max_window_bits"),
    requestNoContextTakeover: p.has("server_no_context_takeover"),
    requestMaxWindowBits,
  };
}

/** A server's answer: the response header value for the offer it accepts, or undefined. */
export type AcceptFunction = (offers: OfferedExtension[]) => string | undefined;

/**
 * Autobahn's accept for (requestNoContextTakeover, requestMaxWindowBits): the first
 * permessage-deflate offer that allows what is requested (a max window only if the offer has
 * `client_max_window_bits`), answered with the offer's own requests honoured and ours added.
 */
export function autobahnAccept(noContextTakeover: boolean, maxWindowBits: number): AcceptFunction {
  return (offers) => {
    for (const o of offers) {
      if (o.name !== PMD) continue;
      const p = autobahnParse(o);
      if (!p) continue;
      if (maxWindowBits !== 0 && !p.acceptMaxWindowBits) continue;
      let s = PMD;
      if (p.requestNoContextTakeover) s += "; server_no_context_takeover";
      if (p.requestMaxWindowBits !== 0) s += `; server_max_window_bits=${p.requestMaxWindowBits}`;
      if (noContextTakeover) s += "; client_no_context_takeover";
      if (maxWindowBits !== 0) s += `; client_max_window_bits=${maxWindowBits}`;
      return s;
    }
    return undefined;
  };
}

/** Autobahn's `accept7`: (True, 8), else (True, 0), else (False, 0). */
export function autobahnAcceptFallback(): AcceptFunction {
  const tries = [autobahnAccept(true, 8), autobahnAccept(true, 0), autobahnAccept(false, 0)];
  return (offers) => {
    for (const t of tries) {
      const r = t(offers);
      if (r !== undefined) return r;
    }
    return undefined;
  };
}

/**
 * The fuzzing server's accept for the window-size and context-takeover additions (13.8–13.11):
 * the first permessage-deflate offer, its requests honoured (a server MUST include
 * `server_no_context_takeover` if asked and may not exceed a requested `server_max_window_bits`),
 * and `server_max_window_bits=B`, `client_max_window_bits=B` (only if offered) and the
 * `no_context_takeover` parameters of the case added (RFC 7692 lets a server add all of these).
 */
export function windowAccept(
  windowBits: number,
  serverNoContextTakeover: boolean,
  clientNoContextTakeover: boolean,
): AcceptFunction {
  return (offers) => {
    for (const o of offers) {
      if (o.name !== PMD) continue;
      const p = new Map(o.params);
      const requested = p.get("server_max_window_bits");
      const serverBits = Math.min(windowBits, requested === undefined ? 15 : bits(requested) ?? 15);
      let s = PMD;
      if (serverNoContextTakeover || p.has("server_no_context_takeover")) {
        s += "; server_no_context_takeover";
      }
      if (clientNoContextTakeover) s += "; client_no_context_takeover";
      s += `; server_max_window_bits=${serverBits}`;
      if (p.has("client_max_window_bits")) s += `; client_max_window_bits=${windowBits}`;
      return s;
    }
    return undefined;
  };
}

// -------------------------------------------------------------------------------------------------
// Compression

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

type ZStream = zlib.DeflateRaw | zlib.InflateRaw;

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Writes `input` and a sync flush; resolves with everything the stream produced. Errors are
 * seen both ways the runtimes report them: an `error` event (Node, Bun) or the stream being
 * destroyed when the flush callback runs (Deno).
 */
function flushThrough(z: ZStream, input: Uint8Array[], limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0, done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      z.off("data", onData);
      z.off("error", onError);
      if (err) reject(err);
      else resolve(concat(chunks));
    };
    const onData = (c: Uint8Array) => {
      chunks.push(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
      size += c.length;
      if (size > limit) finish(new Error(`output over ${limit} bytes`));
    };
    const onError = (e: Error) => finish(e);
    z.on("data", onData);
    z.on("error", onError);
    for (const b of input) z.write(b);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      const s = z as unknown as { destroyed?: boolean; errored?: Error | null };
      if (s.errored || s.destroyed) finish(s.errored ?? new Error("the zlib stream failed"));
      else finish();
    });
  });
}

/** A zlib stream whose `error` events never go unhandled (they are also seen per call). */
function quiet<T extends ZStream>(z: T): T {
  z.on("error", () => {});
  return z;
}

/**
 * The fuzzer's compressor for the messages it sends: raw deflate with `windowBits`, one stream
 * kept across messages (context takeover) or a fresh one per message.
 */
export class Compressor {
  readonly windowBits: number;
  readonly takeover: boolean;
  #z: zlib.DeflateRaw | undefined;

  constructor(windowBits: number, takeover: boolean) {
    if (windowBits < 9) throw new RangeError("zlib cannot compress with a window under 9 bits");
    this.windowBits = windowBits;
    this.takeover = takeover;
  }

  /** The compressed message payload, without the 4-byte tail RFC 7692 §7.2.1 removes. */
  async compress(data: Uint8Array): Promise<Uint8Array> {
    const z = this.#z ?? quiet(zlib.createDeflateRaw({ windowBits: this.windowBits }));
    if (this.takeover) this.#z = z;
    try {
      const out = await flushThrough(z, data.length > 0 ? [data] : [], Infinity);
      const n = out.length;
      if (
        n < 4 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 0xff || out[n - 1] !== 0xff
      ) {
        throw new Error("zlib's sync flush did not end with 00 00 ff ff");
      }
      return out.subarray(0, n - 4);
    } finally {
      if (!this.takeover) z.close();
    }
  }

  close(): void {
    this.#z?.close();
    this.#z = undefined;
  }
}

/**
 * The fuzzer's decompressor for the peer's messages: raw inflate with the window the peer agreed
 * to use (see the module comment), one stream across messages unless the peer agreed to no
 * context takeover. Rejects with zlib's message on invalid data.
 */
export class Decompressor {
  readonly windowBits: number;
  readonly takeover: boolean;
  #z: zlib.InflateRaw | undefined;

  constructor(windowBits: number, takeover: boolean) {
    this.windowBits = windowBits;
    this.takeover = takeover;
  }

  /** The inflated message, at most `limit` bytes. */
  async decompress(data: Uint8Array, limit = 64 * 2 ** 20): Promise<Uint8Array> {
    const chunkSize = this.windowBits >= 15 ? 16384 : Math.max(64, 2 ** this.windowBits / 8);
    const z = this.#z ?? quiet(zlib.createInflateRaw({ windowBits: this.windowBits, chunkSize }));
    if (this.takeover) this.#z = z;
    try {
      return await flushThrough(z, [data, TAIL], limit);
    } catch (err) {
      this.#z = undefined;
      z.close();
      throw err;
    } finally {
      if (!this.takeover) z.close();
    }
  }

  close(): void {
    this.#z?.close();
    this.#z = undefined;
  }
}

/** The fuzzer's compressor and decompressor for one connection, by its role. */
export class DeflateCodec {
  readonly agreement: DeflateAgreement;
  readonly out: Compressor | undefined;
  readonly in: Decompressor;
  /** The window the peer compresses with (8: it can only send uncompressed, zlib needs 9). */
  readonly peerWindowBits: number;

  constructor(agreement: DeflateAgreement, role: "client" | "server") {
    this.agreement = agreement;
    const client = role === "client";
    const outBits = client ? agreement.clientMaxWindowBits : agreement.serverMaxWindowBits;
    const outNoTakeover = client
      ? agreement.clientNoContextTakeover
      : agreement.serverNoContextTakeover;
    const inBits = client ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits;
    const inNoTakeover = client
      ? agreement.serverNoContextTakeover
      : agreement.clientNoContextTakeover;
    this.out = outBits >= 9 ? new Compressor(outBits, !outNoTakeover) : undefined;
    this.in = new Decompressor(inBits, !inNoTakeover);
    this.peerWindowBits = inBits;
  }

  close(): void {
    this.out?.close();
    this.in.close();
  }
}
