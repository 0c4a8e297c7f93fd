/**
 * Shared machinery of the interop tests (not a test file): the peers, each a child process running
 * a WebSocket implementation no one here wrote; queues of what each side saw; the payloads; and
 * the exchange every pair goes through. The wsdriver side runs in process, so it is tested on the
 * runtime running the test file (deno test, bun test, node --test on the build).
 *
 * A peer echoes every message with its type, reports what it saw as JSON lines on stdout, and obeys
 * text commands (`cmd:close`, `cmd:ping`, `cmd:fragment`): see README.md beside this file.
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { WSError } from "../../src/errors.ts";
import type { WS } from "../../src/ws.ts";
import { ROOT, withTimeout } from "../_helpers.ts";

/** Directory of the peer programs. */
export const PEERS_DIR: string = join(ROOT, "tests", "interop", "peers");
/** Subprotocols the servers (wsdriver's and the peers') speak. */
export const SUPPORTED: string[] = ["interop.v2", "interop.v1"];
/** Subprotocols the clients offer: of these, only `interop.v1` is spoken by the servers. */
export const OFFERED: string[] = ["bogus.v0", "interop.v1"];
/** The subprotocol every handshake must agree on. */
export const PROTOCOL = "interop.v1";
/** Per-test timeout (bun test's default is 5 s). */
export const TEST_TIMEOUT = 60_000;

/** Bound on waiting for one event of an ordinary exchange. */
const T = 10_000;
/** Bound on the 16 MiB echo. */
const T_BIG = 30_000;
const MIB = 1024 * 1024;
/** `INTEROP_TIMING=1` prints how long each step took. */
const TIMING = process.env.INTEROP_TIMING === "1";

// ---------------------------------------------------------------------------------------------
// Peers

/** What a peer's API can do beyond echoing and closing. */
export interface Capabilities {
  /** It can send a ping and observe the pong (`cmd:ping`). */
  ping: boolean;
  /** It reports the pings it receives (all peers answer them). */
  seesPings: boolean;
  /** It can send a message in fragments (`cmd:fragment`). */
  fragments: boolean;
  /** With `cmd:fragment`, it also sends a ping between two fragments of the text message. */
  pingBetweenFragments: boolean;
}

/** A peer program. */
export interface PeerSpec {
  /** Name in test titles, e.g. `Python websockets`. */
  name: string;
  /** Command line up to the mode argument (`client URL` or `server`). */
  argv: string[];
  caps: Capabilities;
  /** Why the peer cannot run on this machine, or undefined. */
  missing: () => string | undefined;
  /** The command that installs what is missing. */
  fix: string;
}

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
/** Debian's Python (the `python3` on PATH may be another one, without `websockets`). */
const PYTHON = process.env.INTEROP_PYTHON || "/usr/bin/python3";
/** Debian's Chromium; browser_driver.mjs reads the same variable. */
const CHROMIUM = process.env.INTEROP_CHROMIUM || "/usr/bin/chromium";
/** How to install the Debian peers. */
export const APT_FIX = "apt-get install -y python3-websockets chromium";

let pythonMissing: string | undefined | null = null;

export const WS_PEER: PeerSpec = {
  name: "ws (npm, Node)",
  argv: ["node", join(PEERS_DIR, "ws_peer.mjs")],
  caps: { ping: true, seesPings: true, fragments: true, pingBetweenFragments: true },
  missing: () =>
    existsSync(join(ROOT, "node_modules", "ws")) ? undefined : "node_modules/ws: run npm install",
  fix: "npm install",
};

export const DENO_PEER: PeerSpec = {
  name: "Deno built-in",
  argv: [bin("deno"), "run", "-A", join(PEERS_DIR, "deno_peer.ts")],
  caps: { ping: false, seesPings: false, fragments: false, pingBetweenFragments: false },
  missing: () => existsSync(bin("deno")) ? undefined : "node_modules/.bin/deno: run npm install",
  fix: "npm install",
};

export const BUN_PEER: PeerSpec = {
  name: "Bun built-in",
  argv: [bin("bun"), join(PEERS_DIR, "bun_peer.ts")],
  caps: { ping: true, seesPings: true, fragments: false, pingBetweenFragments: false },
  missing: () => existsSync(bin("bun")) ? undefined : "node_modules/.bin/bun: run npm install",
  fix: "npm install",
};

export const PYTHON_PEER: PeerSpec = {
  name: "Python websockets",
  argv: [PYTHON, join(PEERS_DIR, "python_peer.py")],
  caps: { ping: true, seesPings: false, fragments: true, pingBetweenFragments: false },
  missing: () => {
    if (pythonMissing !== null) return pythonMissing;
    const r = spawnSync(PYTHON, ["-c", "import websockets; print(websockets.__version__)"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    pythonMissing = r.status === 0
      ? undefined
      : `${PYTHON} cannot import websockets (${(r.error?.message ?? r.stderr ?? "").trim()})`;
    return pythonMissing;
  },
  fix: APT_FIX,
};

export const CHROMIUM_PEER: PeerSpec = {
  name: "Chromium (playwright-core)",
  argv: ["node", join(PEERS_DIR, "browser_driver.mjs")],
  caps: { ping: false, seesPings: false, fragments: false, pingBetweenFragments: false },
  missing: () => {
    if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing`;
    if (!existsSync(join(ROOT, "node_modules", "playwright-core"))) {
      return "node_modules/playwright-core is missing: run npm install";
    }
    return undefined;
  },
  fix: APT_FIX,
};

/**
 * True if `spec` cannot run here: says so loudly and the test returns (skips). Under
 * `CI=true` a missing peer is a failure instead.
 */
export function unavailable(spec: PeerSpec): boolean {
  const why = spec.missing();
  if (why === undefined) return false;
  const msg = `interop peer "${spec.name}" is unavailable: ${why}. Fix: ${spec.fix}`;
  if (process.env.CI === "true") throw new Error(msg);
  console.warn(`\n!!!!!!!! SKIPPING: ${msg} !!!!!!!!\n`);
  return true;
}

/** One JSON line a peer printed. */
export type PeerEvent = Record<string, unknown> & { event: string };

/** A running peer program: its JSON reports, its stderr, and a bounded stop. */
export class PeerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the process exited and its output streams are closed. */
  readonly closed: Promise<{ code: number | null; signal: string | null }>;
  #events: PeerEvent[] = [];
  #lines: string[] = [];
  #stderr = "";
  #url: string | undefined;
  #waiters: Array<() => void> = [];
  #ended = false;

  constructor(spec: PeerSpec, args: string[]) {
    this.name = spec.name;
    const [cmd, ...pre] = spec.argv;
    this.child = spawn(cmd, [...pre, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", PYTHONIOENCODING: "utf-8", PYTHONUNBUFFERED: "1" },
    });
    const out = new TextDecoder();
    const err = new TextDecoder();
    let partial = "";
    this.child.stdout!.on("data", (b: Uint8Array) => {
      partial += out.decode(b, { stream: true });
      const lines = partial.split("\n");
      partial = lines.pop()!;
      for (const line of lines) this.#line(line.trim());
      this.#wake();
    });
    this.child.stderr!.on("data", (b: Uint8Array) => {
      this.#stderr += err.decode(b, { stream: true });
      if (this.#stderr.length > 200_000) this.#stderr = this.#stderr.slice(-100_000);
    });
    this.closed = new Promise((resolve) => {
      this.child.once("error", (e) => {
        this.#stderr += `\nspawn error: ${e.message}`;
      });
      this.child.once("close", (code, signal) => {
        if (partial.trim() !== "") this.#line(partial.trim());
        this.#ended = true;
        this.#wake();
        resolve({ code, signal });
      });
    });
  }

  #line(line: string): void {
    if (line === "") return;
    this.#lines.push(line);
    const m = line.match(/^listening on (ws:\/\/\S+)$/);
    if (m) this.#url = m[1];
    else if (line.startsWith("{")) {
      try {
        this.#events.push(JSON.parse(line) as PeerEvent);
      } catch {
        // not a report: kept in the output shown on failure
      }
    }
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Polls `check` on every output until it returns a value; bounded by `ms`. */
  async #waitFor<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
    const deadline = Date.now() + ms;
    while (true) {
      const v = check();
      if (v !== undefined) return v;
      if (this.#ended) throw new Error(`${this.name} exited before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      }
      await withTimeout(new Promise<void>((r) => this.#waiters.push(r)), left, what).catch(
        () => {},
      );
    }
  }

  /** The `ws://127.0.0.1:PORT` a server peer printed. */
  listening(ms = 20_000): Promise<string> {
    return this.#waitFor(() => this.#url, ms, `"listening on ws://…" from ${this.name}`);
  }

  /** Takes the peer's next report of kind `event` (reports of other kinds stay queued). */
  event(event: string, ms = T): Promise<PeerEvent> {
    return this.#waitFor(
      () => {
        const i = this.#events.findIndex((e) => e.event === event);
        return i < 0 ? undefined : this.#events.splice(i, 1)[0];
      },
      ms,
      `the ${this.name} peer's "${event}" report`,
    );
  }

  /** Reports not taken yet. */
  get pending(): PeerEvent[] {
    return [...this.#events];
  }

  /** Waits for the process to exit on its own; returns its exit code. */
  async exitCode(ms = T): Promise<number | null> {
    const { code } = await withTimeout(this.closed, ms, `${this.name} to exit`);
    return code;
  }

  /** The end of the peer's output, for failure messages. */
  output(): string {
    const lines = this.#lines.slice(-15).map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l));
    const err = this.#stderr.length > 3000 ? `…${this.#stderr.slice(-3000)}` : this.#stderr;
    return `--- ${this.name} stdout (last ${lines.length} of ${this.#lines.length} lines) ---\n` +
      `${lines.join("\n")}\n--- ${this.name} stderr ---\n${err}`;
  }

  /** Stops the peer (SIGTERM, then SIGKILL) and waits until it is gone. */
  async stop(): Promise<void> {
    const kill = (signal: "SIGTERM" | "SIGKILL") => {
      if (this.#ended || this.child.exitCode !== null || this.child.signalCode !== null) return;
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    };
    kill("SIGTERM");
    try {
      await withTimeout(this.closed, 10_000, `${this.name} to exit after SIGTERM`);
    } catch {
      kill("SIGKILL");
      await withTimeout(this.closed, 5000, `${this.name} to exit after SIGKILL`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The wsdriver side

/** A FIFO whose `next` waits, bounded. */
export class Queue<T> {
  #items: T[] = [];
  #waiters: Array<(v: T) => void> = [];

  push(v: T): void {
    const w = this.#waiters.shift();
    if (w) w(v);
    else this.#items.push(v);
  }

  next(ms: number, what: string): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    let waiter!: (v: T) => void;
    const p = new Promise<T>((resolve) => {
      waiter = resolve;
      this.#waiters.push(resolve);
    });
    return withTimeout(p, ms, what).catch((err) => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  get length(): number {
    return this.#items.length;
  }
}

/** Everything a wsdriver `WS` emits, recorded from the start so nothing is missed. */
export class Inbox {
  readonly ws: WS;
  readonly messages: Queue<[string | Uint8Array, boolean]> = new Queue();
  readonly pings: Queue<Uint8Array> = new Queue();
  readonly pongs: Queue<Uint8Array> = new Queue();
  readonly errors: WSError[] = [];
  /** Resolves on `open` (at once for a server's socket); rejects if it closes first. */
  readonly opened: Promise<void>;
  /** The `close` event's arguments. */
  readonly closed: Promise<[number, string, boolean]>;

  constructor(ws: WS) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => this.messages.push([data, isBinary]));
    ws.on("ping", (p) => this.pings.push(p));
    ws.on("pong", (p) => this.pongs.push(p));
    ws.on("error", (e) => this.errors.push(e));
    this.closed = new Promise((r) => ws.once("close", (...args) => r(args)));
    this.opened = ws.readyState === "open" ? Promise.resolve() : new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("close", (code) =>
        reject(
          new Error(`closed (${code}) before open: ${this.errors.map(String).join("; ")}`),
        ));
    });
    this.opened.catch(() => {});
  }

  /** Drops the connection if it is still up and waits for its `close`. */
  async dispose(): Promise<void> {
    if (this.ws.readyState !== "closed") this.ws.terminate();
    await withTimeout(this.closed, 5000, "the wsdriver socket to close").catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** `n` deterministic pseudo-random bytes. */
export function bytes(n: number, seed = n + 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Text of exactly `n` UTF-8 bytes, mixing 1- to 4-byte characters. */
export function text(n: number): string {
  const unit = "aé€😀"; // 1 + 2 + 3 + 4 bytes
  const s = unit.repeat(Math.floor(n / 10)) + "z".repeat(n % 10);
  assert.equal(utf8(s).length, n);
  return s;
}

const encoder = new TextEncoder();
const utf8 = (s: string) => encoder.encode(s);
const bytesOf = (d: string | Uint8Array) => (typeof d === "string" ? utf8(d) : d);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The messages every pair echoes (the 16 MiB one is separate). */
export function payloads(): Array<{ name: string; data: string | Uint8Array }> {
  const list: Array<{ name: string; data: string | Uint8Array }> = [
    { name: "text", data: "hello, interop" },
    { name: "unicode text", data: "ünïcødé ✓ 😀 中文" },
    { name: "binary", data: Uint8Array.of(0, 1, 2, 127, 128, 254, 255) },
    { name: "empty text", data: "" },
    { name: "empty binary", data: new Uint8Array(0) },
  ];
  for (const n of [125, 126, 65535, 65536]) {
    list.push({ name: `${n}-byte text`, data: text(n) });
    list.push({ name: `${n}-byte binary`, data: bytes(n) });
  }
  return list;
}

/** Asserts that `got` is `expected`, byte for byte and of the same type. */
export function assertMessage(
  got: [string | Uint8Array, boolean],
  expected: string | Uint8Array,
  what: string,
): void {
  const [data, isBinary] = got;
  const wantBinary = typeof expected !== "string";
  assert.equal(isBinary, wantBinary, `${what}: isBinary`);
  assert.equal(typeof data, wantBinary ? "object" : "string", `${what}: type of data`);
  const a = bytesOf(data);
  const b = bytesOf(expected);
  if (a.length !== b.length) {
    assert.fail(`${what}: ${a.length} bytes instead of ${b.length}`);
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: first difference at byte ${i}: ${a[i]} != ${b[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The exchange

/** One pair under test. */
export interface Pair {
  /** e.g. `Python websockets client → wsdriver server (deno)`. */
  label: string;
  peer: PeerProcess;
  caps: Capabilities;
  /**
   * The `Sec-WebSocket-Extensions` value both sides must have agreed on: wsdriver's
   * `ws.extensions`, and the peer's report where its API tells (default `""`: none).
   */
  extensions?: string;
}

/** Runs `fn`; a failure names the pair, the step and shows the peer's output. */
export async function step<R>(pair: Pair, name: string, fn: () => Promise<R>): Promise<R> {
  const t0 = Date.now();
  try {
    const r = await fn();
    if (TIMING) console.log(`  [${pair.label}] ${name}: ${Date.now() - t0} ms`);
    return r;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `[${pair.label}] step "${name}" failed: ${e.message}\n${pair.peer.output()}`;
    throw e;
  }
}

/** Checks what the peer reported for a message wsdriver sent. */
async function peerReceived(pair: Pair, sent: string | Uint8Array, what: string, ms = T) {
  const r = await pair.peer.event("message", ms);
  const b = bytesOf(sent);
  assert.deepEqual(
    { binary: r.binary, length: r.length, sha256: r.sha256 },
    { binary: typeof sent !== "string", length: b.length, sha256: sha256(b) },
    `${what}: what the peer received`,
  );
}

/** Sends `data`, checks the echo and the peer's report of it. */
async function echo(pair: Pair, inbox: Inbox, data: string | Uint8Array, what: string, ms = T) {
  const t0 = Date.now();
  inbox.ws.send(data);
  const got = await inbox.messages.next(ms, `the echo of the ${what}`);
  const t1 = Date.now();
  assertMessage(got, data, what);
  const t2 = Date.now();
  await peerReceived(pair, data, what, ms);
  if (TIMING) {
    console.log(`    echo ${t1 - t0} ms, compare ${t2 - t1} ms, report ${Date.now() - t2} ms`);
  }
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The two messages a peer sends for `cmd:fragment` (see the peers). */
export const PEER_FRAGMENTED_TEXT = "frag-ment-ed ü😀";
export const PEER_FRAGMENTED_BINARY: Uint8Array = Uint8Array.from(
  { length: 300 },
  (_, i) => (i * 3 + 1) & 0xff,
);

async function checkOpen(pair: Pair, inbox: Inbox): Promise<void> {
  assert.equal(inbox.ws.readyState, "open");
  assert.equal(inbox.ws.protocol, PROTOCOL, "the subprotocol wsdriver agreed on");
  const open = await pair.peer.event("open");
  // null: the peer's API cannot tell.
  if (open.protocol !== null) {
    assert.equal(open.protocol, PROTOCOL, "the subprotocol the peer agreed on");
  }
  // Without deflate on the wsdriver side, the offers of several clients are declined.
  const want = pair.extensions ?? "";
  assert.equal(inbox.ws.extensions, want, "the extensions wsdriver agreed on");
  if (open.extensions !== null) {
    assert.equal(open.extensions, want, "the extensions the peer agreed on");
  }
}

/**
 * The first connection of a pair: subprotocol, every payload and 16 MiB, fragments both ways,
 * pings both ways, then wsdriver closes with 4002 "wsdriver bye".
 */
export async function connectionOne(pair: Pair, inbox: Inbox): Promise<void> {
  const ws = inbox.ws;
  await step(pair, "subprotocol", () => checkOpen(pair, inbox));
  for (const p of payloads()) {
    await step(pair, `echo ${p.name}`, () => echo(pair, inbox, p.data, p.name));
  }
  await step(pair, "a burst of 200 messages sent at once", async () => {
    const burst = Array.from(
      { length: 200 },
      (_, i) => (i % 2 === 0 ? `burst ${i} ${"ü".repeat(i)}` : bytes(i * 37, i)),
    );
    for (const m of burst) ws.send(m);
    for (const [i, m] of burst.entries()) {
      assertMessage(await inbox.messages.next(T, `echo ${i} of the burst`), m, `burst #${i}`);
    }
    for (const [i, m] of burst.entries()) await peerReceived(pair, m, `burst #${i}`);
  });
  await step(pair, "echo 16 MiB binary", () => {
    const big = bytes(16 * MIB);
    return echo(pair, inbox, big, "16 MiB binary", T_BIG);
  });

  await step(pair, "fragmented text from wsdriver", async () => {
    const pieces = ["Hello, ", "fragmented ", "wörld 😀"];
    pieces.forEach((p, i) => ws.sendFragment(p, i === pieces.length - 1));
    const whole = pieces.join("");
    assertMessage(await inbox.messages.next(T, "the echo"), whole, "fragmented text");
    await peerReceived(pair, whole, "fragmented text");
  });

  await step(pair, "fragmented binary from wsdriver, a ping between fragments", async () => {
    const pieces = [bytes(100, 7), new Uint8Array(0), bytes(200, 8)];
    ws.sendFragment(pieces[0], false);
    ws.ping("between fragments");
    ws.sendFragment(pieces[1], false);
    ws.sendFragment(pieces[2], true);
    assert.equal(decode(await inbox.pongs.next(T, "the pong")), "between fragments", "pong");
    const whole = concat(pieces);
    assertMessage(await inbox.messages.next(T, "the echo"), whole, "fragmented binary");
    await peerReceived(pair, whole, "fragmented binary");
    if (pair.caps.seesPings) {
      assert.equal((await pair.peer.event("ping")).data, "between fragments", "the peer's ping");
    }
  });

  await step(pair, "ping from wsdriver", async () => {
    ws.ping("wsdriver-ping");
    assert.equal(decode(await inbox.pongs.next(T, "the pong")), "wsdriver-ping", "pong payload");
    ws.ping();
    assert.equal((await inbox.pongs.next(T, "the pong")).length, 0, "empty pong payload");
    const longest = text(125); // the largest control frame payload
    ws.ping(longest);
    assert.equal(decode(await inbox.pongs.next(T, "the pong")), longest, "125-byte pong payload");
    if (pair.caps.seesPings) {
      assert.equal((await pair.peer.event("ping")).data, "wsdriver-ping", "the peer's ping");
      assert.equal((await pair.peer.event("ping")).data, "", "the peer's empty ping");
      assert.equal((await pair.peer.event("ping")).data, longest, "the peer's 125-byte ping");
    }
  });

  if (pair.caps.ping) {
    await step(pair, "ping from the peer", async () => {
      ws.send("cmd:ping");
      assert.equal(decode(await inbox.pings.next(T, "the peer's ping")), "peer-ping", "ping");
      assert.equal((await pair.peer.event("pong")).data, "peer-ping", "the peer's pong");
    });
  }

  if (pair.caps.fragments) {
    await step(pair, "fragmented messages from the peer", async () => {
      ws.send("cmd:fragment");
      if (pair.caps.pingBetweenFragments) {
        const ping = await inbox.pings.next(T, "the peer's ping between fragments");
        assert.equal(decode(ping), "peer-between-fragments", "the ping between fragments");
        assert.equal((await pair.peer.event("pong")).data, "peer-between-fragments", "its pong");
      }
      assertMessage(
        await inbox.messages.next(T, "the peer's fragmented text"),
        PEER_FRAGMENTED_TEXT,
        "the peer's fragmented text",
      );
      assertMessage(
        await inbox.messages.next(T, "the peer's fragmented binary"),
        PEER_FRAGMENTED_BINARY,
        "the peer's fragmented binary",
      );
    });
  }

  await wsdriverCloses(pair, inbox);
}

/** wsdriver closes with 4002 "wsdriver bye"; both sides must see exactly that. */
async function wsdriverCloses(pair: Pair, inbox: Inbox): Promise<void> {
  const ws = inbox.ws;
  await step(pair, 'wsdriver closes with 4002 "wsdriver bye"', async () => {
    ws.close(4002, "wsdriver bye");
    const [code, , clean] = await withTimeout(inbox.closed, T, "wsdriver's close event");
    assert.equal(code, 4002, "the code of wsdriver's close event (the peer's answer)");
    assert.equal(clean, true, "wasClean");
    const seen = await pair.peer.event("close");
    assert.equal(seen.code, 4002, "the close code the peer saw");
    assert.equal(seen.reason, "wsdriver bye", "the close reason the peer saw");
    if (seen.clean !== null) assert.equal(seen.clean, true, "the peer's wasClean");
    assert.deepEqual(inbox.errors.map(String), [], "wsdriver error events");
  });
}

/**
 * The messages of the compression exchange: under the 1024-byte threshold both sides default to
 * (sent uncompressed), then compressible text and random (incompressible) binary of 1 KiB,
 * 64 KiB and 1 MiB, and compressible binary.
 */
export function deflatePayloads(): Array<{ name: string; data: string | Uint8Array }> {
  const list: Array<{ name: string; data: string | Uint8Array }> = [
    { name: "100-byte text (under the threshold)", data: text(100) },
    { name: "600-byte random binary (under the threshold)", data: bytes(600) },
  ];
  for (const n of [1024, 65536, MIB]) {
    const size = n >= MIB ? `${n / MIB} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`;
    list.push({ name: `${size} compressible text`, data: text(n) });
    list.push({ name: `${size} random binary`, data: bytes(n) });
  }
  list.push({
    name: "256 KiB compressible binary",
    data: Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i % 251) ^ ((i >> 12) & 0xff)),
  });
  return list;
}

/**
 * The first connection of a pair with permessage-deflate agreed: the extensions on both sides,
 * compressible and random payloads of every size up to 16 MiB (one under the threshold), a burst
 * that makes consecutive messages refer to each other under context takeover, then wsdriver
 * closes with 4002 "wsdriver bye".
 */
export async function connectionDeflate(pair: Pair, inbox: Inbox): Promise<void> {
  const ws = inbox.ws;
  await step(pair, "subprotocol and extensions", () => checkOpen(pair, inbox));
  for (const p of deflatePayloads()) {
    await step(pair, `echo ${p.name}`, () => echo(pair, inbox, p.data, p.name));
  }
  await step(pair, "a burst of 100 similar texts and random binaries sent at once", async () => {
    const burst = Array.from(
      { length: 100 },
      (_, i) => (i % 2 === 0 ? `burst ${i}: ${text(2000 + i)}` : bytes(2000 + i, i)),
    );
    for (const m of burst) ws.send(m);
    for (const [i, m] of burst.entries()) {
      assertMessage(await inbox.messages.next(T, `echo ${i} of the burst`), m, `burst #${i}`);
    }
    for (const [i, m] of burst.entries()) await peerReceived(pair, m, `burst #${i}`);
  });
  await step(pair, "echo 16 MiB compressible text", () => {
    return echo(pair, inbox, text(16 * MIB), "16 MiB compressible text", T_BIG);
  });
  await step(pair, "echo 16 MiB random binary", () => {
    return echo(pair, inbox, bytes(16 * MIB), "16 MiB random binary", T_BIG);
  });
  await wsdriverCloses(pair, inbox);
}

/** The second connection of a pair: the peer closes with 4001 "peer bye". */
export async function connectionTwo(pair: Pair, inbox: Inbox): Promise<void> {
  await step(pair, "subprotocol (second connection)", () => checkOpen(pair, inbox));
  await step(pair, 'the peer closes with 4001 "peer bye"', async () => {
    inbox.ws.send("cmd:close");
    const closed = await withTimeout(inbox.closed, T, "wsdriver's close event");
    assert.deepEqual(closed, [4001, "peer bye", true], "wsdriver's close event");
    const seen = await pair.peer.event("close");
    assert.equal(seen.code, 4001, "the close code the peer got back");
    if (seen.clean !== null) assert.equal(seen.clean, true, "the peer's wasClean");
    assert.deepEqual(inbox.errors.map(String), [], "wsdriver error events");
  });
}
