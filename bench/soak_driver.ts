/**
 * The soak test's load driver (run by `bench/soak.ts`, one process per role): a minimal WebSocket
 * client over `node:net`, written here so that the load does not depend on the code under test.
 *
 * - `--role bulk`: keeps `--conns` connections on `/bulk` (subscribed to the server's broadcasts),
 *   replaces `--churn` of them a second (clean close, FIN or reset, at random), lets a `--mute`
 *   fraction ignore pings (the server's heartbeat must drop them), answers every other ping, and
 *   sends `--echo-rate` echo messages a second spread over random connections.
 * - `--role probe`: `--conns` connections on `/probe`, each sending one 32-byte message, waiting
 *   for its echo, pausing about `--interval` ms, again: the echo round-trip latency, measured by a
 *   process that has nothing else to do. Its round trips are kept by phase: a `phase NAME` line on
 *   its stdin starts a new one (the runner sends `ramp` when the bulk load starts and `load` once
 *   every bulk connection is open; before that, `idle`: the machine's own floor). It also records
 *   how late its own timers fire, the driver's share of a slow round trip.
 *
 * Prints a `stats {json}` line a second and, after a `stop` line on stdin (or `--duration`
 * seconds), closes every connection and prints `summary {json}` (counts and round-trip
 * percentiles) before exiting.
 *
 * ```sh
 * deno run -A bench/soak_driver.ts --port 8080 --role bulk --conns 10000 --duration 600
 * ```
 *
 * @module
 */

import * as net from "node:net";
import process from "node:process";

interface Args {
  port: number;
  role: "bulk" | "probe";
  conns: number;
  duration: number;
  churn: number;
  echoRate: number;
  mute: number;
  interval: number;
  ramp: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    port: 0,
    role: "bulk",
    conns: 100,
    duration: 86_400,
    churn: 50,
    echoRate: 1000,
    mute: 0.002,
    interval: 100,
    ramp: 256,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === "--role") a.role = v === "probe" ? "probe" : "bulk";
    else if (k === "--echo-rate") a.echoRate = Number(v);
    else {
      const key = k.replace(/^--/, "") as keyof Args;
      if (!(key in a) || !Number.isFinite(Number(v))) throw new Error(`bad argument ${k} ${v}`);
      (a as unknown as Record<string, number>)[key] = Number(v);
    }
  }
  if (!a.port) throw new Error("--port is required");
  return a;
}

const args = parseArgs(process.argv.slice(2));
const encoder = new TextEncoder();
const utf8 = new TextDecoder();
const latin1 = new TextDecoder("latin1");
const HANDSHAKE = encoder.encode(
  `GET /${args.role} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
);
/** A close frame with code 1000, masked with the all-zero key (the payload goes as it is). */
const CLOSE_FRAME = new Uint8Array([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

/** A masked client frame (zero key) of a short payload. */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  out.set(payload, 6);
  return out;
}

/** Round-trip times in a histogram of 0.05 ms buckets up to 10 s (exact enough for p99). */
class Latency {
  #buckets = new Uint32Array(200_000);
  count = 0;
  max = 0;
  add(ms: number): void {
    this.count++;
    this.max = Math.max(this.max, ms);
    this.#buckets[Math.min(this.#buckets.length - 1, Math.floor(ms * 20))]++;
  }
  percentile(p: number): number {
    const want = Math.ceil(this.count * p);
    if (want === 0) return 0;
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i];
      if (seen >= want) return Math.min(this.max, (i + 1) / 20);
    }
    return this.max;
  }
  summary(): Record<string, number> {
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      samples: this.count,
      p50: r(this.percentile(0.5)),
      p99: r(this.percentile(0.99)),
      p999: r(this.percentile(0.999)),
      max: r(this.max),
    };
  }
}

const counts = {
  opened: 0,
  closedByUs: 0,
  droppedMute: 0,
  unexpectedCloses: 0,
  handshakeFailures: 0,
  echoSent: 0,
  echoRecv: 0,
  echoLost: 0,
  broadcasts: 0,
  pings: 0,
};
/** Round trips, by phase (see the module comment); `latency` is the current phase's. */
const phases: Record<string, Latency> = { idle: new Latency() };
let latency = phases.idle;
process.stdin.on("data", (chunk: Uint8Array) => {
  for (const line of new TextDecoder().decode(chunk).split("\n")) {
    const m = /^phase (\w+)/.exec(line.trim());
    if (m) latency = phases[m[1]] ??= new Latency();
    else if (line.trim() === "stop") stop();
  }
});
/** How late this process's own 10 ms timer fires: the driver's share of a slow round trip. */
const ownLag = new Latency();
/** Send times of echo messages in flight, by sequence number. */
const inFlight = new Map<number, number>();
let seq = 0;
const started = performance.now();

class Conn {
  readonly socket: net.Socket;
  state: "handshake" | "open" | "closing" | "closed" = "handshake";
  /** Ignores pings, so that the server's heartbeat drops it. */
  readonly mute: boolean;
  index = -1;
  #head = "";
  #buf: Uint8Array = new Uint8Array(0);
  onClose: (c: Conn) => void = () => {};
  onOpen: (c: Conn) => void = () => {};
  onEcho: (c: Conn) => void = () => {};

  constructor(mute: boolean) {
    this.mute = mute;
    this.socket = net.connect({ port: args.port, host: "127.0.0.1" });
    this.socket.setNoDelay(true);
    this.socket.on("connect", () => this.socket.write(HANDSHAKE));
    this.socket.on("data", (b: Uint8Array) => this.#data(b));
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      const was = this.state;
      this.state = "closed";
      if (was === "handshake") counts.handshakeFailures++;
      else if (was === "open") {
        if (this.mute) counts.droppedMute++;
        else counts.unexpectedCloses++;
      }
      this.onClose(this);
    });
  }

  #data(b: Uint8Array): void {
    if (this.state === "handshake") {
      this.#head += latin1.decode(b);
      const end = this.#head.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!this.#head.startsWith("HTTP/1.1 101")) {
        this.socket.destroy();
        return;
      }
      this.state = "open";
      counts.opened++;
      const rest = encoder.encode(this.#head.slice(end + 4));
      this.#head = "";
      this.onOpen(this);
      if (rest.length === 0) return;
      b = rest;
    }
    let buf = b;
    if (this.#buf.length > 0) {
      buf = new Uint8Array(this.#buf.length + b.length);
      buf.set(this.#buf);
      buf.set(b, this.#buf.length);
    }
    let p = 0;
    while (p + 2 <= buf.length) {
      let len = buf[p + 1] & 0x7f, h = 2;
      if (len === 126) {
        if (p + 4 > buf.length) break;
        len = (buf[p + 2] << 8) | buf[p + 3];
        h = 4;
      } else if (len === 127) {
        if (p + 10 > buf.length) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset + p + 2, 8).getBigUint64(0));
        h = 10;
      }
      if (p + h + len > buf.length) break;
      this.#frame(buf[p] & 0x0f, buf.subarray(p + h, p + h + len));
      p += h + len;
    }
    this.#buf = p === buf.length ? new Uint8Array(0) : buf.slice(p);
  }

  #frame(opcode: number, payload: Uint8Array): void {
    if (opcode === 0x9) {
      counts.pings++;
      if (!this.mute && this.state === "open") this.socket.write(frame(0xa, payload));
    } else if (opcode === 0x8) {
      if (this.state === "open") this.socket.write(CLOSE_FRAME);
      this.state = "closing";
      this.socket.end();
    } else if (opcode === 0x1 && payload[0] === 0x62 /* b */) {
      counts.broadcasts++;
    } else if (opcode === 0x1 && payload[0] === 0x65 /* e */) {
      const n = Number(utf8.decode(payload.subarray(1, payload.indexOf(0x20))));
      const t0 = inFlight.get(n);
      if (t0 !== undefined) {
        inFlight.delete(n);
        counts.echoRecv++;
        latency.add(performance.now() - t0);
        this.onEcho(this);
      }
    }
  }

  sendEcho(): void {
    if (this.state !== "open") return;
    const n = seq++;
    inFlight.set(n, performance.now());
    counts.echoSent++;
    this.socket.write(frame(0x1, encoder.encode(`e${n} `.padEnd(32, "."))));
  }

  /** Ends the connection the way `how` says; `close` and `onClose` follow. */
  end(how: "close" | "fin" | "reset"): void {
    if (this.state === "closed") return;
    if (this.state === "open" || this.state === "handshake") counts.closedByUs++;
    const wasOpen = this.state === "open";
    this.state = "closing";
    if (how === "close" && wasOpen) {
      this.socket.write(CLOSE_FRAME);
      // A server that never answers is cut off after 10 s (counted in the summary as a leak).
      setTimeout(() => this.socket.destroy(), 10_000).unref?.();
    } else if (how === "reset") {
      const s = this.socket as net.Socket & { resetAndDestroy?: () => void };
      if (typeof s.resetAndDestroy === "function") s.resetAndDestroy();
      else this.socket.destroy();
    } else this.socket.destroy();
  }
}

/** Open connections, for picking one at random (each knows its index). */
const open: Conn[] = [];
const all = new Set<Conn>();
let handshaking = 0;
let stopping = false;

const jitter = () => args.interval * (0.5 + Math.random());

function add(): void {
  const c = new Conn(args.role === "bulk" && Math.random() < args.mute);
  all.add(c);
  handshaking++;
  c.onOpen = () => {
    handshaking--;
    c.index = open.length;
    open.push(c);
    if (args.role === "probe") setTimeout(() => c.sendEcho(), jitter());
  };
  if (args.role === "probe") c.onEcho = () => setTimeout(() => c.sendEcho(), jitter());
  c.onClose = () => {
    all.delete(c);
    if (c.index < 0) {
      handshaking--;
      return;
    }
    const last = open.pop()!;
    if (last !== c) {
      open[c.index] = last;
      last.index = c.index;
    }
    c.index = -1;
  };
}

/** Opens connections up to the target, at most `ramp` handshakes at once. */
function fill(): void {
  while (!stopping && all.size < args.conns && handshaking < args.ramp) add();
}

const timers: ReturnType<typeof setInterval>[] = [];
let lagFrom = performance.now();
timers.push(setInterval(() => {
  const t = performance.now();
  ownLag.add(Math.max(0, t - lagFrom - 10));
  lagFrom = t;
}, 10));
timers.push(setInterval(fill, 20));
if (args.role === "bulk") {
  let churnDebt = 0, echoDebt = 0;
  timers.push(setInterval(() => {
    churnDebt += args.churn / 10;
    for (; churnDebt >= 1 && open.length > 0; churnDebt--) {
      const c = open[Math.floor(Math.random() * open.length)];
      const r = Math.random();
      c.end(r < 0.5 ? "close" : r < 0.75 ? "fin" : "reset");
    }
    echoDebt += args.echoRate / 10;
    for (; echoDebt >= 1 && open.length > 0; echoDebt--) {
      open[Math.floor(Math.random() * open.length)].sendEcho();
    }
  }, 100));
}
// Echo messages unanswered for 10 s are lost (their connection closed, or the server dropped them).
timers.push(setInterval(() => {
  const t = performance.now() - 10_000;
  for (const [n, sent] of inFlight) {
    if (sent < t) {
      inFlight.delete(n);
      counts.echoLost++;
    }
  }
}, 1000));
timers.push(setInterval(() => {
  console.log(`stats ${
    JSON.stringify({
      t: Math.round((performance.now() - started) / 1000),
      open: open.length,
      handshaking,
      ...counts,
      ...latency.summary(),
    })
  }`);
}, 1000));

/** Closes every connection (half with a close frame, half with a FIN), prints the summary, exits. */
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  let i = 0;
  for (const c of [...all]) c.end(i++ % 2 === 0 ? "close" : "fin");
  const deadline = performance.now() + 20_000;
  while (all.size > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const t of timers) clearInterval(t);
  console.log(
    `summary ${
      JSON.stringify({
        ...counts,
        notClosed: all.size,
        latency: latency.summary(),
        phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.summary()])),
        ownLag: ownLag.summary(),
      })
    }`,
  );
  process.exit(0);
}

timers.push(setTimeout(stop, args.duration * 1000));
