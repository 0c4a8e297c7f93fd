/**
 * Shared test helpers: waiting on events with a bound, raw sockets, and the runtimes' commands.
 * Runs unchanged under deno test, bun test and (compiled) node --test.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect } from "../src/client.ts";
import type { WS } from "../src/ws.ts";
import { machineNode } from "./_node_bin.ts";

/** The repository root: the nearest ancestor of this file with a deno.json. */
export const ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "deno.json"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find the repository root");
})();

/** Directory of test fixtures (TLS certificates). */
export const FIXTURES: string = join(ROOT, "tests", "fixtures");

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

interface OnceTarget {
  // deno-lint-ignore no-explicit-any
  once(event: any, fn: (...args: any[]) => void): unknown;
}

/** Resolves with the arguments of the next `event`, or rejects after `ms`. */
export function once<A extends unknown[] = unknown[]>(
  target: OnceTarget,
  event: string,
  ms = 5000,
): Promise<A> {
  return withTimeout(
    new Promise<A>((resolve) => target.once(event, (...args: unknown[]) => resolve(args as A))),
    ms,
    `event "${event}"`,
  );
}

/**
 * Opens `n` clients to `url`, 250 at a time (a burst of thousands would overflow the listen
 * backlog), pushing each batch into `into` once it is open, so the caller's cleanup sees them all.
 */
export async function openClients(url: string, n: number, into: WS[]): Promise<void> {
  for (let i = 0; i < n; i += 250) {
    const batch: WS[] = [];
    for (let k = i; k < Math.min(n, i + 250); k++) batch.push(connect(url));
    await Promise.all(batch.map((c) => once(c, "open", 10_000)));
    into.push(...batch);
  }
}

/** A raw TCP client that records everything it receives. */
export class RawClient {
  readonly socket: net.Socket;
  #chunks: Uint8Array[] = [];
  #waiters: Array<() => void> = [];
  ended = false;
  closed: Promise<void>;

  /** Wraps a connected socket (e.g. one a test's own server accepted). */
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (b: Uint8Array) => {
      this.#chunks.push(new Uint8Array(b));
      this.#wake();
    });
    socket.on("error", () => {});
    socket.on("end", () => {
      this.ended = true;
      this.#wake();
    });
    this.closed = new Promise((r) =>
      socket.on("close", () => {
        this.ended = true;
        this.#wake();
        r();
      })
    );
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    return withTimeout(
      new Promise((resolve, reject) => {
        const s = net.connect({ port, host }, () => resolve(new RawClient(s)));
        s.once("error", reject);
      }),
      5000,
      "TCP connect",
    );
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** All bytes received so far. */
  get received(): Uint8Array {
    const total = this.#chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  write(data: Uint8Array | string): void {
    this.socket.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }

  /** Waits until `pred(received)` holds, or the socket ended (then checks once more). */
  async waitFor(
    pred: (received: Uint8Array) => boolean,
    ms = 5000,
    what = "data",
  ): Promise<Uint8Array> {
    const deadline = Date.now() + ms;
    while (true) {
      const r = this.received;
      if (pred(r)) return r;
      if (this.ended) throw new Error(`connection ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await withTimeout(new Promise<void>((res) => this.#waiters.push(res)), left, what).catch(
        () => {},
      );
    }
  }

  /** Waits for the peer to close the connection. */
  waitClosed(ms = 5000): Promise<void> {
    return withTimeout(this.closed, ms, "the peer to close");
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A port that was free a moment ago, for a server that must be told its port before it starts. It
 * is taken below the kernel's ephemeral range (32768 and up), where nothing else gets a port by
 * chance: test files run in parallel, and a port-0 listener or an outgoing connection of another
 * file could otherwise take this port before the server binds it.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
  }
  throw new Error("no free port in 20000-31999 after 50 tries");
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** The runtime running this test file. */
export function thisRuntime(): "deno" | "bun" | "node" {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno ? "deno" : g.Bun ? "bun" : "node";
}

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);

/** Command line that runs `cli.ts` on a runtime (Node runs the npm build in npm/). */
export function cliCommand(runtime: "deno" | "bun" | "node"): string[] {
  if (runtime === "deno") return [bin("deno"), "run", "-A", join(ROOT, "cli.ts")];
  if (runtime === "bun") return [bin("bun"), join(ROOT, "cli.ts")];
  // On Node, the Node under test (the LTS runs use other versions than the machine's).
  const node = thisRuntime() === "node" ? process.execPath : machineNode();
  return [node, join(ROOT, "npm", "esm", "cli.js")];
}

/** True if the Node build exists (npm run build). */
export function nodeBuildExists(): boolean {
  return existsSync(resolve(ROOT, "npm", "esm", "cli.js"));
}

/** Sends a valid upgrade request on a raw client and waits for the 101; returns the bytes after it. */
export async function rawUpgrade(client: RawClient, path = "/", extra = ""): Promise<number> {
  client.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  const r = await client.waitFor((b) => headEnd(b) > 0, 5000, "the 101 response");
  const head = new TextDecoder().decode(r.subarray(0, headEnd(r)));
  if (!head.startsWith("HTTP/1.1 101")) throw new Error(`expected 101, got ${head}`);
  return headEnd(r);
}

/** Index just past the first blank line, or -1. */
export function headEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}

/** A frame as sent by a server (unmasked): decoded for assertions. */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** Decodes complete unmasked frames from `b`; an incomplete tail is ignored. */
export function decodeFrames(b: Uint8Array): RawFrame[] {
  const out: RawFrame[] = [];
  let p = 0;
  while (p + 2 <= b.length) {
    let len = b[p + 1] & 0x7f;
    let h = 2;
    if (len === 126) {
      if (p + 4 > b.length) break;
      len = (b[p + 2] << 8) | b[p + 3];
      h = 4;
    } else if (len === 127) {
      if (p + 10 > b.length) break;
      len = Number(new DataView(b.buffer, b.byteOffset + p + 2, 8).getBigUint64(0));
      h = 10;
    }
    if (p + h + len > b.length) break;
    out.push({
      fin: (b[p] & 0x80) !== 0,
      opcode: b[p] & 0x0f,
      payload: b.slice(p + h, p + h + len),
    });
    p += h + len;
  }
  return out;
}

/** Builds a masked client frame with full control over the header bits. */
export function clientFrame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  opts: { fin?: boolean; rsv?: number; mask?: boolean } = {},
): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const n = data.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const masked = opts.mask ?? true;
  const out = new Uint8Array(2 + ext + (masked ? 4 : 0) + n);
  out[0] = (opts.fin === false ? 0 : 0x80) | ((opts.rsv ?? 0) << 4) | opcode;
  out[1] = (masked ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) new DataView(out.buffer).setUint16(2, n);
  if (ext === 8) new DataView(out.buffer).setBigUint64(2, BigInt(n));
  const key = [0x12, 0x34, 0x56, 0x78];
  let p = 2 + ext;
  if (masked) {
    out.set(key, p);
    p += 4;
  }
  for (let i = 0; i < n; i++) out[p + i] = masked ? data[i] ^ key[i & 3] : data[i];
  return out;
}

/** Close frame payload code, or undefined for an empty payload. */
export function closeCodeOf(f: RawFrame): number | undefined {
  return f.payload.length >= 2 ? (f.payload[0] << 8) | f.payload[1] : undefined;
}

/** A child process running the CLI, with its output collected. */
export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Spawns the CLI on `runtime` with `args`. */
export function spawnCli(runtime: "deno" | "bun" | "node", args: string[]): CliProcess {
  const [cmd, ...pre] = cliCommand(runtime);
  const child = spawn(cmd, [...pre, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
  child.stderr!.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until the CLI's stdout matches `re`; returns the match. */
export async function waitOutput(
  p: CliProcess,
  re: RegExp,
  ms = 20_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const m = p.stdout().match(re);
    if (m) return m;
    if (p.child.exitCode !== null) break;
    await withTimeout(
      new Promise<void>((r) => p.child.stdout!.once("data", () => r())),
      Math.max(1, deadline - Date.now()),
      String(re),
    ).catch(() => {});
  }
  throw new Error(`no ${re} in CLI output; stdout: ${p.stdout()} stderr: ${p.stderr()}`);
}

/** Stops a CLI process and waits for it to exit. */
export async function stopCli(p: CliProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
  await withTimeout(p.exited, 10_000, "the CLI to exit");
}

/** A small seeded PRNG (mulberry32): random tests that reproduce from their seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` bytes from `rand`. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}
