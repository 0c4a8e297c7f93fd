/**
 * What the protocol core needs from its host and cannot do in plain JavaScript synchronously:
 * SHA-1 (the handshake's accept key) and raw deflate with a preset dictionary (permessage-deflate).
 * `src/protocol/` asks for them here instead of importing `node:*`, so it loads in a browser or a
 * worker (where only frames, masking, UTF-8 and the close payload are used, or a host installs
 * its own with {@link setPlatform}). On Node (20.16+), Deno and Bun the default comes from
 * `node:crypto` and `node:zlib` via `process.getBuiltinModule`, looked up on first use.
 *
 * @module
 */

import { sha1Base64Ascii } from "../protocol/sha1.ts";

/** Options of {@link Platform.deflateRaw}. */
export interface DeflateRawOptions {
  /** Compression level, 0-9. */
  level: number;
  /** Memory level, 1-9. */
  memLevel: number;
  /** LZ77 window size in bits, 8-15. */
  windowBits: number;
  /** Preset dictionary: the previous messages' last window (context takeover). */
  dictionary?: Uint8Array;
}

/** Options of {@link Platform.inflateRaw}. */
export interface InflateRawOptions {
  /** LZ77 window size in bits, 8-15. */
  windowBits: number;
  /** Preset dictionary: the previous messages' last window (context takeover). */
  dictionary?: Uint8Array;
  /** Most output bytes; over it the call throws an error with code `ERR_BUFFER_TOO_LARGE`. */
  maxOutputLength: number;
}

/** The host functions the protocol core uses. */
export interface Platform {
  /** Base64 of the SHA-1 digest of `text` (UTF-8). */
  sha1Base64(text: string): string;
  /** Raw deflate of `data`, ending with a sync flush. */
  deflateRaw(data: Uint8Array, options: DeflateRawOptions): Uint8Array;
  /** Raw inflate of `data` (which ends with a sync flush). */
  inflateRaw(data: Uint8Array, options: InflateRawOptions): Uint8Array;
}

/** The slices of `node:crypto` and `node:zlib` used, typed here so nothing imports `node:*`. */
interface NodeCrypto {
  createHash(algorithm: string): {
    update(data: string): { digest(encoding: "base64"): string };
  };
  /** One-shot digest (Node 20.12+, Bun): no Hash object per call. */
  hash?(algorithm: string, data: string, encoding: "base64"): string;
}
interface NodeZlib {
  constants: { Z_SYNC_FLUSH: number };
  deflateRawSync(data: Uint8Array, options: object): Uint8Array;
  inflateRawSync(data: Uint8Array, options: object): Uint8Array;
}

let current: Platform | undefined;

/** Deno's `node:crypto` hash costs 2.3 µs a call, the JavaScript SHA-1 0.65 (see `sha1.ts`). */
const slowNativeHash = typeof (globalThis as { Deno?: unknown }).Deno === "object";

/** The host's built-in modules, on runtimes that have `process.getBuiltinModule`. */
function builtin(): Platform {
  const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  if (typeof proc?.getBuiltinModule !== "function") {
    throw new Error(
      "wsdriver: SHA-1 and deflate need node:crypto and node:zlib (Node 20.16+, Deno, Bun); " +
        "elsewhere call setPlatform() first",
    );
  }
  const crypto = proc.getBuiltinModule("node:crypto") as NodeCrypto;
  const zlib = proc.getBuiltinModule("node:zlib") as NodeZlib;
  const flush = zlib.constants.Z_SYNC_FLUSH;
  return {
    // A third of the time of a Hash object on Node and half on Bun, once per handshake.
    sha1Base64: slowNativeHash
      ? (text) => sha1Base64Ascii(text) ?? crypto.createHash("sha1").update(text).digest("base64")
      : crypto.hash
      ? (text) => crypto.hash!("sha1", text, "base64")
      : (text) => crypto.createHash("sha1").update(text).digest("base64"),
    deflateRaw: (data, o) =>
      zlib.deflateRawSync(data, {
        ...o,
        finishFlush: flush,
        chunkSize: outputChunk((data.length >> 1) + 64, 64),
      }),
    inflateRaw: (data, o) =>
      zlib.inflateRawSync(data, {
        ...o,
        finishFlush: flush,
        chunkSize: outputChunk(data.length * 4, INFLATE_MIN_CHUNK),
      }),
  };
}

/**
 * The sync zlib functions return a slice of an output buffer of `chunkSize` bytes (16 KiB by
 * default), so each message allocated, and its result kept alive, 16 KiB however small it was;
 * sized to the expected output, a message allocates about what it needs (more chunks are added when
 * the guess is short). Measured with 60,000 small messages: RSS growth 116 -> 46 MiB on Deno,
 * 17 -> 8 MiB on Node.
 */
function outputChunk(guess: number, min: number): number {
  return Math.max(min, Math.min(16 * 1024, guess));
}
/**
 * Inflated messages reach the application, so their memory must be their own: below 4 KiB,
 * `Buffer.allocUnsafe` hands out slices of a pool that other connections' data shares.
 */
const INFLATE_MIN_CHUNK = 4096;

/**
 * The platform in use: the one installed with {@link setPlatform}, else the runtime's built-in
 * modules. Throws where neither exists (a browser without `setPlatform`).
 *
 * @example
 * ```ts
 * const accept = platform().sha1Base64("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
 * ```
 */
export function platform(): Platform {
  return current ??= builtin();
}

/**
 * Installs the host functions the protocol core uses, e.g. in a browser or a worker.
 *
 * @example
 * ```ts
 * import { setPlatform } from "@wsdriver/wsdriver/protocol";
 *
 * setPlatform({
 *   sha1Base64: () => { throw new Error("no handshakes here"); },
 *   deflateRaw: () => { throw new Error("no compression here"); },
 *   inflateRaw: () => { throw new Error("no compression here"); },
 * });
 * ```
 */
export function setPlatform(p: Platform): void {
  current = p;
}
