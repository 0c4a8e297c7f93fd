/**
 * The conformance "fuzzer": one raw WebSocket connection over `node:net`, after the opening
 * handshake, with full control over every bit that goes out and a strict, independent parser for
 * what comes back. It plays either end: as a client it masks its frames and expects unmasked ones,
 * as a server the reverse. Nothing here uses wsdriver's own code, so a bug there cannot hide
 * itself.
 *
 * Cases (see cases.ts) drive it with `send*` calls and `expect*` calls; an expectation that does
 * not hold throws a {@link CaseFailure} naming what was expected and what arrived. Every wait is
 * bounded in time, every loop in count.
 */

import type * as net from "node:net";
import { type DeflateAgreement, DeflateCodec } from "./compression.ts";

/** Which end of the connection the fuzzer plays. */
export type Role = "client" | "server";

/** Thrown by an expectation that does not hold: the case failed, for the reason in `message`. */
export class CaseFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CaseFailure";
  }
}

/** A frame to send, with every header field under control (Autobahn's `sendFrame`). */
export interface FrameSpec {
  opcode: number;
  /** Payload bytes or text (UTF-8). Default empty. */
  payload?: Uint8Array | string;
  /** FIN bit, default true. */
  fin?: boolean;
  /** The three reserved bits as one number, RSV1 = 4, RSV2 = 2, RSV3 = 1 (Autobahn's `rsv`). */
  rsv?: number;
  /** Mask the payload; default: masked when the fuzzer is the client. */
  mask?: boolean;
  /** Repeat `payload` until the payload is this long (Autobahn's `payload_len`). */
  length?: number;
}

/** How bytes go on the wire. */
export interface SendOptions {
  /** Write in pieces of this many bytes, each written (and handed to the OS) before the next. */
  chop?: number;
  /** Frame-wise: write each frame on its own, each handed to the OS before the next. */
  sync?: boolean;
}

/** What the peer did, in order. */
export type PeerEvent =
  /** A data message; `compressed`: RSV1 was set on its first frame (`data` is inflated). */
  | { type: "message"; data: Uint8Array; binary: boolean; frames: number; compressed: boolean }
  | { type: "ping"; payload: Uint8Array }
  | { type: "pong"; payload: Uint8Array }
  | { type: "close"; code: number | undefined; reason: Uint8Array }
  /** The peer broke RFC 6455; parsing stopped. */
  | { type: "violation"; reason: string }
  /** The peer closed the TCP connection (FIN, or a reset when `reset`). */
  | { type: "eof"; reset: boolean };

/** Time limits of the expectations, in milliseconds. */
export interface Timing {
  /** Waiting for an expected message, pong or close frame. */
  event: number;
  /** Waiting for the TCP connection to close after the closing handshake or a failure. */
  tcpClose: number;
  /** A "nothing happens" period (6.4.x: after a valid chop, before the next one). */
  quiet: number;
  /** Fail-fast: the close frame must arrive this soon after the chop with the invalid byte. */
  failFast: number;
}

/** Default time limits: generous, since they are only ever spent when something is wrong. */
export const DEFAULT_TIMING: Timing = { event: 5000, tcpClose: 3000, quiet: 100, failFast: 1000 };

export const encoder: TextEncoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes of `data`, text as UTF-8. */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Joins byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** `pattern` repeated (and cut) to exactly `length` bytes. */
export function repeatTo(pattern: Uint8Array | string, length: number): Uint8Array {
  const p = toBytes(pattern);
  const out = new Uint8Array(length);
  if (p.length === 0 || length === 0) return out;
  out.set(p.subarray(0, Math.min(p.length, length)));
  // Doubling copies: log2(length) steps.
  for (let filled = Math.min(p.length, length); filled < length; filled *= 2) {
    out.copyWithin(filled, 0, Math.min(filled, length - filled));
  }
  return out;
}

/** True if `bytes` is complete, valid UTF-8. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Index of the first difference, or -1 if equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** XORs `data` in place with `key`, starting at key byte `offset`. */
function xorMask(data: Uint8Array, key: Uint8Array, offset: number): void {
  const n = data.length;
  let i = 0;
  const k0 = key[offset & 3], k1 = key[(offset + 1) & 3];
  const k2 = key[(offset + 2) & 3], k3 = key[(offset + 3) & 3];
  for (; i + 3 < n; i += 4) {
    data[i] ^= k0;
    data[i + 1] ^= k1;
    data[i + 2] ^= k2;
    data[i + 3] ^= k3;
  }
  for (; i < n; i++) data[i] ^= key[(offset + i) & 3];
}

/**
 * Encodes one frame exactly as specified: any opcode, any RSV bits, FIN, masked or not, and a
 * payload of any length (control frames over 125 bytes included).
 */
export function encodeFrame(spec: FrameSpec, defaultMask: boolean): Uint8Array {
  let payload = toBytes(spec.payload ?? new Uint8Array(0));
  if (spec.length !== undefined) payload = repeatTo(payload, spec.length);
  const n = payload.length;
  const masked = spec.mask ?? defaultMask;
  const ext = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const hlen = 2 + ext + (masked ? 4 : 0);
  const out = new Uint8Array(hlen + n);
  out[0] = (spec.fin === false ? 0 : 0x80) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f);
  out[1] = (masked ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  const view = new DataView(out.buffer);
  if (ext === 2) view.setUint16(2, n);
  if (ext === 8) {
    view.setUint32(2, Math.floor(n / 0x100000000));
    view.setUint32(6, n >>> 0);
  }
  out.set(payload, hlen);
  if (masked) {
    const key = crypto.getRandomValues(new Uint8Array(4));
    out.set(key, 2 + ext);
    xorMask(out.subarray(hlen), key, 0);
  }
  return out;
}

/** Builds a close frame payload: a code (2 bytes, any value) and raw reason bytes. */
export function closePayload(code?: number, reason: Uint8Array | string = ""): Uint8Array {
  const r = toBytes(reason);
  if (code === undefined) return r;
  const out = new Uint8Array(2 + r.length);
  out[0] = (code >>> 8) & 0xff;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

const OPCODE_NAMES: Record<number, string> = {
  0: "continuation",
  1: "text",
  2: "binary",
  8: "close",
  9: "ping",
  10: "pong",
};

/** Short printable form of some bytes, for failure messages. */
export function preview(b: Uint8Array, max = 32): string {
  if (isUtf8(b)) {
    // The cut may end inside a code point: decode it leniently.
    const s = new TextDecoder().decode(b.length > max * 4 ? b.subarray(0, max * 4) : b);
    const cut = s.length > max ? `${s.slice(0, max)}…` : s;
    if (/^[\x20-\x7e\u00a0-\uffff]*$/.test(cut)) return JSON.stringify(cut);
  }
  const hex = Array.from(b.subarray(0, max), (x) => x.toString(16).padStart(2, "0")).join("");
  return `0x${hex}${b.length > max ? "…" : ""}`;
}

/** Describes a peer event for failure messages. */
export function describeEvent(ev: PeerEvent): string {
  switch (ev.type) {
    case "message":
      return `${ev.compressed ? "compressed " : ""}${
        ev.binary ? "binary" : "text"
      } message of ${ev.data.length} bytes ${preview(ev.data)}`;
    case "ping":
      return `ping ${preview(ev.payload)}`;
    case "pong":
      return `pong ${preview(ev.payload)}`;
    case "close":
      return ev.code === undefined
        ? "close frame without a code"
        : `close frame with code ${ev.code}${
          ev.reason.length ? ` reason ${preview(ev.reason)}` : ""
        }`;
    case "violation":
      return `a protocol violation by the peer: ${ev.reason}`;
    case "eof":
      return ev.reset ? "a TCP reset" : "the TCP connection closed";
  }
}

/** Valid close codes on the wire (RFC 6455 §7.4, IANA registry). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/**
 * An incremental parser of the peer's frames: any split of the input gives the same events. It is
 * strict: a peer that breaks RFC 6455 produces a `violation` event and parsing stops.
 */
class PeerParser {
  #expectMasked: boolean;
  /** permessage-deflate was agreed: RSV1 may mark a data message's first frame. */
  #deflate: boolean;
  #emit: (ev: PeerEvent) => void;
  #chunks: Uint8Array[] = [];
  #avail = 0;
  #stopped = false;
  // Current frame.
  #inPayload = false;
  #fin = false;
  #opcode = 0;
  #remaining = 0;
  #key: Uint8Array | undefined;
  #keyOffset = 0;
  #framePieces: Uint8Array[] = [];
  // Current message.
  #msgOpcode = 0;
  #msgPieces: Uint8Array[] = [];
  #msgFrames = 0;
  #msgCompressed = false;
  #closed = false;

  constructor(expectMasked: boolean, emit: (ev: PeerEvent) => void, deflate = false) {
    this.#expectMasked = expectMasked;
    this.#emit = emit;
    this.#deflate = deflate;
  }

  push(chunk: Uint8Array): void {
    if (this.#stopped || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#avail += chunk.length;
    // Each iteration consumes a header or a payload piece; bounded by the bytes available.
    for (let guard = 0; guard < 1e7 && !this.#stopped; guard++) {
      if (this.#inPayload) {
        if (this.#remaining > 0) {
          if (this.#avail === 0) return;
          const first = this.#chunks[0];
          const n = Math.min(first.length, this.#remaining);
          const piece = first.subarray(0, n);
          this.#consume(n);
          if (this.#key) {
            xorMask(piece, this.#key, this.#keyOffset);
            this.#keyOffset = (this.#keyOffset + n) & 3;
          }
          this.#framePieces.push(piece);
          this.#remaining -= n;
          continue;
        }
        this.#inPayload = false;
        this.#frameEnd();
        continue;
      }
      if (this.#avail < 2) return;
      const head = this.#peek(2);
      const len7 = head[1] & 0x7f;
      const hlen = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (head[1] & 0x80 ? 4 : 0);
      if (this.#avail < hlen) return;
      const h = this.#peek(hlen);
      this.#consume(hlen);
      this.#header(h);
    }
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let off = 0;
    for (const c of this.#chunks) {
      const take = Math.min(c.length, n - off);
      out.set(c.subarray(0, take), off);
      off += take;
      if (off === n) break;
    }
    return out;
  }

  #consume(n: number): void {
    this.#avail -= n;
    while (n > 0) {
      const first = this.#chunks[0];
      if (first.length <= n) {
        this.#chunks.shift();
        n -= first.length;
      } else {
        this.#chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }

  #violation(reason: string): void {
    this.#stopped = true;
    this.#chunks = [];
    this.#emit({ type: "violation", reason });
  }

  #header(h: Uint8Array): void {
    const fin = (h[0] & 0x80) !== 0;
    const rsv = (h[0] >> 4) & 7;
    const opcode = h[0] & 0x0f;
    const masked = (h[1] & 0x80) !== 0;
    const len7 = h[1] & 0x7f;
    let length = len7;
    let p = 2;
    if (len7 === 126) {
      length = (h[2] << 8) | h[3];
      p = 4;
      if (length < 126) return this.#violation(`16-bit length ${length} is not minimal`);
    } else if (len7 === 127) {
      const hi = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
      const lo = ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
      if (hi >= 0x80000000) return this.#violation("64-bit length with its top bit set");
      length = hi * 0x100000000 + lo;
      p = 10;
      if (length < 0x10000) return this.#violation(`64-bit length ${length} is not minimal`);
    }
    if (this.#closed) {
      return this.#violation(`a ${OPCODE_NAMES[opcode] ?? opcode} frame after close`);
    }
    if (masked !== this.#expectMasked) {
      return this.#violation(
        this.#expectMasked ? "an unmasked frame from a client" : "a masked frame from a server",
      );
    }
    const firstFrame = (opcode === 1 || opcode === 2) && this.#msgOpcode === 0;
    if (rsv !== 0 && !(this.#deflate && rsv === 4 && firstFrame)) {
      if (!this.#deflate) return this.#violation(`RSV bits ${rsv} set without an extension`);
      if (rsv !== 4) return this.#violation(`RSV bits ${rsv} set (permessage-deflate uses RSV1)`);
      return this.#violation(
        `RSV1 on a ${OPCODE_NAMES[opcode] ?? opcode} frame (RFC 7692 §6: only on the first ` +
          "frame of a data message)",
      );
    }
    if (opcode >= 8) {
      if (opcode > 10) return this.#violation(`reserved control opcode ${opcode}`);
      if (!fin) return this.#violation(`fragmented ${OPCODE_NAMES[opcode]} frame`);
      if (length > 125) return this.#violation(`${OPCODE_NAMES[opcode]} frame of ${length} bytes`);
    } else if (opcode === 0) {
      if (this.#msgOpcode === 0) return this.#violation("continuation frame without a message");
    } else if (opcode === 1 || opcode === 2) {
      if (this.#msgOpcode !== 0) return this.#violation("new message inside a fragmented one");
      this.#msgOpcode = opcode;
      this.#msgFrames = 0;
      this.#msgCompressed = rsv === 4;
    } else {
      return this.#violation(`reserved data opcode ${opcode}`);
    }
    this.#fin = fin;
    this.#opcode = opcode;
    this.#key = masked ? h.slice(p, p + 4) : undefined;
    this.#keyOffset = 0;
    this.#remaining = length;
    this.#framePieces = [];
    this.#inPayload = true;
  }

  #frameEnd(): void {
    const payload = concatBytes(this.#framePieces);
    this.#framePieces = [];
    const op = this.#opcode;
    if (op === 9) return this.#emit({ type: "ping", payload });
    if (op === 10) return this.#emit({ type: "pong", payload });
    if (op === 8) {
      if (payload.length === 1) return this.#violation("close frame of 1 byte");
      const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : undefined;
      if (code !== undefined && !validCloseCode(code)) {
        return this.#violation(`close frame with invalid code ${code}`);
      }
      const reason = payload.subarray(Math.min(2, payload.length));
      if (!isUtf8(reason)) return this.#violation("close reason is not UTF-8");
      this.#closed = true;
      return this.#emit({ type: "close", code, reason });
    }
    this.#msgPieces.push(payload);
    this.#msgFrames++;
    if (!this.#fin) return;
    const data = concatBytes(this.#msgPieces);
    const binary = this.#msgOpcode === 2;
    const frames = this.#msgFrames;
    this.#msgPieces = [];
    this.#msgOpcode = 0;
    const compressed = this.#msgCompressed;
    this.#msgCompressed = false;
    // A compressed text message is checked once inflated (Fuzzer).
    if (!binary && !compressed && !isUtf8(data)) {
      return this.#violation("text message is not UTF-8");
    }
    this.#emit({ type: "message", data, binary, frames, compressed });
  }
}

/**
 * One fuzzer connection. Create it once the opening handshake is done, with the bytes that came
 * after the handshake head (if any).
 */
export class Fuzzer {
  readonly role: Role;
  readonly socket: net.Socket;
  readonly timing: Timing;
  #events: PeerEvent[] = [];
  #wake: (() => void) | undefined;
  #parser: PeerParser;
  #eof = false;
  #disposed = false;
  #closed: Promise<void>;
  /** permessage-deflate, when the handshake agreed on it. */
  readonly deflate: DeflateCodec | undefined;
  /** The `Sec-WebSocket-Extensions` values of the opening handshake (absent: not sent). */
  negotiation: { offer?: string; response?: string } = {};
  /** Inflating is asynchronous: with deflate, every event goes through this chain, in order. */
  #pipeline: Promise<void> = Promise.resolve();
  #pipelineStopped = false;

  constructor(
    socket: net.Socket,
    role: Role,
    rest: Uint8Array,
    timing: Partial<Timing> = {},
    deflate?: DeflateAgreement,
  ) {
    this.socket = socket;
    this.role = role;
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.deflate = deflate && new DeflateCodec(deflate, role);
    this.#parser = new PeerParser(
      role === "server",
      (ev) => (this.deflate ? this.#inflateThenPush(ev) : this.#push(ev)),
      deflate !== undefined,
    );
    socket.setNoDelay(true);
    socket.on("data", (b: Uint8Array) => this.#parser.push(new Uint8Array(b)));
    let reset = false;
    socket.on("error", () => (reset = true));
    const eof = () => {
      if (this.#eof) return;
      this.#eof = true;
      const ev: PeerEvent = { type: "eof", reset };
      // Behind any message still being inflated.
      if (this.deflate) this.#pipeline = this.#pipeline.then(() => this.#push(ev));
      else this.#push(ev);
    };
    socket.on("end", eof);
    this.#closed = new Promise((resolve) => {
      socket.once("close", () => {
        eof();
        resolve();
      });
      if (socket.destroyed) resolve();
    });
    if (rest.length > 0) this.#parser.push(rest.slice());
  }

  /** Queues `ev` behind the events before it, inflating a compressed message first. */
  #inflateThenPush(ev: PeerEvent): void {
    this.#pipeline = this.#pipeline.then(async () => {
      if (this.#pipelineStopped) return;
      if (ev.type !== "message" || !ev.compressed) return this.#push(ev);
      let data: Uint8Array;
      try {
        data = await this.deflate!.in.decompress(ev.data);
      } catch (err) {
        this.#pipelineStopped = true;
        return this.#push({
          type: "violation",
          reason: `a compressed message that does not inflate with the agreed parameters ` +
            `(window ${this.deflate!.in.windowBits} bits, ${
              this.deflate!.in.takeover ? "with" : "without"
            } context takeover): ${(err as Error).message}`,
        });
      }
      if (!ev.binary && !isUtf8(data)) {
        this.#pipelineStopped = true;
        return this.#push({ type: "violation", reason: "inflated text message is not UTF-8" });
      }
      this.#push({ ...ev, data });
    });
  }

  #push(ev: PeerEvent): void {
    this.#events.push(ev);
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** True once the peer closed the TCP connection. */
  get peerClosedTcp(): boolean {
    return this.#eof;
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  /** The bytes of a frame, masked by default when the fuzzer is the client. */
  frame(spec: FrameSpec): Uint8Array {
    return encodeFrame(spec, this.role === "client");
  }

  /** Writes bytes; resolves once handed to the OS (or at once if the socket can no longer write). */
  write(bytes: Uint8Array): Promise<void> {
    const s = this.socket;
    if (this.#disposed || s.destroyed || s.writableEnded || bytes.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      s.write(bytes, () => resolve());
    });
  }

  /** Sends frames: in one write, frame-wise (`sync`), or in chops of `chop` bytes per frame. */
  async send(frames: FrameSpec | FrameSpec[], options: SendOptions = {}): Promise<void> {
    const list = Array.isArray(frames) ? frames : [frames];
    const encoded = list.map((f) => this.frame(f));
    if (options.chop !== undefined) {
      for (const bytes of encoded) await this.sendChopped(bytes, options.chop);
    } else if (options.sync) {
      for (const bytes of encoded) await this.write(bytes);
    } else {
      await this.write(concatBytes(encoded));
    }
  }

  /** Writes `bytes` in pieces of `chop` bytes, each handed to the OS before the next. */
  async sendChopped(bytes: Uint8Array, chop: number): Promise<void> {
    const size = Math.max(1, Math.floor(chop));
    for (let off = 0; off < bytes.length; off += size) {
      if (this.#disposed || this.socket.destroyed || this.socket.writableEnded) return;
      await this.write(bytes.subarray(off, off + size));
    }
  }

  /**
   * Sends a message as `fragmentSize`-byte frames (one frame if absent), like Autobahn's
   * `sendMessage`; an empty message is one empty frame. With `compress`, the payload is
   * compressed first (permessage-deflate must be agreed) and RSV1 set on the first frame only;
   * the fragments are then pieces of the compressed payload (Autobahn's auto-fragmentation).
   */
  async sendMessage(
    payload: Uint8Array | string,
    binary: boolean,
    options: SendOptions & { fragmentSize?: number; compress?: boolean } = {},
  ): Promise<void> {
    let data = toBytes(payload);
    if (options.compress) {
      if (!this.deflate?.out) throw new CaseFailure("no permessage-deflate to compress with");
      data = await this.deflate.out.compress(data);
    }
    const size = options.fragmentSize ?? Math.max(1, data.length);
    const frames: FrameSpec[] = [];
    for (let off = 0; off < data.length || frames.length === 0; off += size) {
      frames.push({
        opcode: frames.length === 0 ? (binary ? 2 : 1) : 0,
        payload: data.subarray(off, off + size),
        fin: off + size >= data.length,
        rsv: options.compress && frames.length === 0 ? 4 : 0,
      });
    }
    await this.send(frames, options);
  }

  /** Sends a close frame with any code (or none) and raw reason bytes; no validation at all. */
  sendClose(code?: number, reason: Uint8Array | string = "", rsv = 0): Promise<void> {
    return this.send({ opcode: 8, payload: closePayload(code, reason), rsv });
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving

  /** The next peer event within `ms`, or undefined on timeout. */
  async next(ms: number): Promise<PeerEvent | undefined> {
    const deadline = Date.now() + ms;
    // Each round either finds an event or waits for one (or the deadline): bounded by both.
    for (let round = 0; round < 100_000; round++) {
      const ev = this.#events.shift();
      if (ev) return ev;
      if (this.#disposed) throw new CaseFailure("the case was stopped (deadline or error)");
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return undefined;
  }

  /** The next event, or a failure saying that `what` did not arrive in time. */
  async #expectEvent(what: string, ms = this.timing.event): Promise<PeerEvent> {
    const ev = await this.next(ms);
    if (!ev) throw new CaseFailure(`expected ${what}; nothing arrived within ${ms} ms`);
    return ev;
  }

  #unexpected(what: string, ev: PeerEvent): never {
    throw new CaseFailure(`expected ${what}; got ${describeEvent(ev)}`);
  }

  /**
   * The next event must be this exact message (bytes and type); if `compressed` is given, RSV1
   * must (true) or must not (false) have been set on it.
   */
  async expectMessage(
    data: Uint8Array | string,
    binary: boolean,
    ms = this.timing.event,
    compressed?: boolean,
  ): Promise<void> {
    const want = toBytes(data);
    const how = compressed === undefined ? "" : compressed ? "compressed " : "uncompressed ";
    const what = `the echo: ${how}${binary ? "binary" : "text"} message of ${want.length} bytes ${
      preview(want)
    }`;
    const ev = await this.#expectEvent(what, ms);
    if (ev.type !== "message" || ev.binary !== binary) this.#unexpected(what, ev);
    if (compressed !== undefined && ev.compressed !== compressed) this.#unexpected(what, ev);
    const at = firstDifference(ev.data, want);
    if (at >= 0) {
      throw new CaseFailure(
        `expected ${what}; got ${describeEvent(ev)}, which differs from byte ${at} on`,
      );
    }
  }

  /** The next event must be a pong with exactly this payload. */
  async expectPong(payload: Uint8Array | string = new Uint8Array(0)): Promise<void> {
    const want = toBytes(payload);
    const what = `a pong with payload ${preview(want)}`;
    const ev = await this.#expectEvent(what);
    if (ev.type !== "pong" || firstDifference(ev.payload, want) >= 0) this.#unexpected(what, ev);
  }

  /**
   * The next event must be a close frame with `code` (`null`: an empty close frame), arriving
   * within `ms`. The reason is not checked (it must only be valid UTF-8, which the parser checks).
   */
  async expectClose(code: number | null, ms = this.timing.event, what?: string): Promise<void> {
    const desc = what ??
      (code === null ? "an empty close frame" : `a close frame with code ${code}`);
    const ev = await this.#expectEvent(desc, ms);
    if (ev.type !== "close" || ev.code !== (code ?? undefined)) this.#unexpected(desc, ev);
  }

  /** The next event must be the peer closing TCP, within the TCP close limit. */
  async expectTcpClose(what = "the peer to close the TCP connection"): Promise<void> {
    const ev = await this.#expectEvent(what, this.timing.tcpClose);
    if (ev.type !== "eof") this.#unexpected(what, ev);
  }

  /**
   * The peer must fail the connection: its close frame with `code` next, then the TCP connection
   * closed, with nothing in between.
   */
  async expectFail(code: number): Promise<void> {
    await this.expectClose(
      code,
      this.timing.event,
      `the connection failed with close code ${code}`,
    );
    await this.expectTcpClose(`the TCP connection closed after close code ${code}`);
  }

  /** Nothing may arrive for `ms` (default: the quiet period). */
  async expectQuiet(ms = this.timing.quiet, context = ""): Promise<void> {
    const ev = await this.next(ms);
    if (ev) {
      throw new CaseFailure(
        `expected nothing for ${ms} ms${context ? ` ${context}` : ""}; got ${describeEvent(ev)}`,
      );
    }
  }

  /**
   * Ends the connection after the closing handshake: a server peer must close TCP first; with a
   * client peer, the fuzzer (the server) closes TCP and the client must follow. A client that
   * closed TCP before the server did fails the case (RFC 6455 §7.1.1; best effort: only an EOF
   * that already arrived can be seen).
   */
  async finishClose(): Promise<void> {
    if (this.role === "client") {
      return this.expectTcpClose("the server to close the TCP connection after the handshake");
    }
    const early = this.#events.find((e) => e.type === "eof");
    if (early) {
      throw new CaseFailure("the client closed the TCP connection before the server (§7.1.1)");
    }
    this.socket.end();
    await this.expectTcpClose("the client to close its side of TCP after the server did");
  }

  /** The fuzzer starts the closing handshake with `code`; the peer must echo it and close. */
  async closeNormally(code = 1000): Promise<void> {
    await this.sendClose(code);
    await this.expectClose(code, this.timing.event, `the close frame echoing code ${code}`);
    await this.finishClose();
  }

  /** Stops the connection for good and waits (bounded) until the socket is closed. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    this.#pipelineStopped = true;
    this.deflate?.close();
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
    if (!this.socket.destroyed) this.socket.destroy();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#closed,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
  }
}
