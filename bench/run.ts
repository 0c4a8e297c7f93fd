/**
 * The wsdriver benchmark suite (issue 7): wsdriver against the WebSocket server each runtime is
 * usually compared with (`ws` on Node, `Deno.upgradeWebSocket` on Deno, `Bun.serve` on Bun), on
 * the same machine in the same run, driven by a load generator written in C (`loadgen.c`).
 *
 * ```sh
 * npm run bench                          # build the npm package, then the full suite
 * deno run -A bench/run.ts               # full suite: 3 runs, medians -> bench/RESULTS.md
 * deno run -A bench/run.ts --quick       # 1 short run -> bench/.build/RESULTS.quick.md
 * deno run -A bench/run.ts --only node   # rerun one runtime (deno, bun, node, ref; a,b)
 * ```
 *
 * Options: `--quick`, `--only LIST`, `--scenarios LIST` (ids below), `--runs N`,
 * `--duration S`, `--warmup S`, `--out FILE` (markdown; the JSON goes next to it),
 * `--no-ref` (skip the C reference server), `--build-npm` (run `npm run build` first),
 * `--profile` (run the Node servers with `node --cpu-prof`, one directory per measurement
 * under bench/.build/profiles/; summarise with `deno run -A bench/profile.ts DIR_OR_FILE`;
 * Deno 2.9 and Bun have no `--cpu-prof`), `--render-only` (rewrite the markdown and the chart
 * from the JSON, measuring nothing), `--baseline DIR` (instead of the peers, measure the wsdriver
 * of another checkout in DIR, e.g. an older commit with its npm build, to compare two builds),
 * `--stats-cost` (instead of the peers, measure this build with `stats: false`, the servers told by
 * `WSDRIVER_BENCH_STATS=off`: what the server's counters cost, issue 16 -> bench/STATS_COST.md).
 *
 * A full run also draws the ratios as an SVG chart next to the markdown (`bench/chart.svg`).
 *
 * Every server runs in a fresh process per measurement, pinned to core 0 with `taskset`, and the
 * load generator to core 1. Every child process is killed at the end, also on error or Ctrl-C.
 *
 * @module
 */

import { type ChartPanel, ratioChart } from "./chart.ts";

const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
const BENCH = `${ROOT}/bench`;
const BUILD = `${BENCH}/.build`;
const DENO = `${ROOT}/node_modules/.bin/deno`;
const BUN = `${ROOT}/node_modules/.bin/bun`;
const NODE = "node";
/**
 * A copy of npm/esm taken at the start, in a temporary directory removed at the end: the Node
 * servers run on it, whatever happens to npm/ meanwhile (and bench/ gets no JavaScript to check).
 */
let NPM_SNAPSHOT = "";

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  quick: boolean;
  runs: number;
  warmup: number;
  duration: number;
  only: Set<string>;
  scenarios: Set<string> | undefined;
  ref: boolean;
  buildNpm: boolean;
  profile: boolean;
  renderOnly: boolean;
  out: string | undefined;
  baseline: string | undefined;
  statsCost: boolean;
}

const USAGE = `usage: deno run -A bench/run.ts [--quick] [--only deno,bun,node,ref]
  [--scenarios ID,...] [--runs N] [--duration S] [--warmup S] [--out FILE] [--no-ref]
  [--build-npm] [--profile] [--render-only] [--baseline DIR | --stats-cost]`;

function parseOptions(args: string[]): Options {
  const o: Options = {
    quick: false,
    runs: 3,
    warmup: 0.5,
    duration: 2.5,
    only: new Set(["deno", "bun", "node", "ref"]),
    scenarios: undefined,
    ref: true,
    buildNpm: false,
    profile: false,
    renderOnly: false,
    out: undefined,
    baseline: undefined,
    statsCost: false,
  };
  let runs: number | undefined, warmup: number | undefined, duration: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      if (i + 1 >= args.length) usage(`${a} needs a value`);
      return args[++i];
    };
    const num = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n <= 0) usage(`${a} needs a positive number`);
      return n;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--no-ref") o.ref = false;
    else if (a === "--build-npm") o.buildNpm = true;
    else if (a === "--profile") o.profile = true;
    else if (a === "--render-only") o.renderOnly = true;
    else if (a === "--runs") runs = Math.round(num());
    else if (a === "--warmup") warmup = num();
    else if (a === "--duration") duration = num();
    else if (a === "--out") o.out = value();
    else if (a === "--baseline") o.baseline = Deno.realPathSync(value());
    else if (a === "--stats-cost") o.statsCost = true;
    else if (a === "--only") {
      o.only = new Set(value().split(",").map((s) => s.trim()).filter(Boolean));
      for (const r of o.only) {
        if (!["deno", "bun", "node", "ref"].includes(r)) usage(`unknown runtime ${r}`);
      }
    } else if (a === "--scenarios") {
      o.scenarios = new Set(value().split(",").map((s) => s.trim()).filter(Boolean));
      for (const s of o.scenarios) {
        if (!SCENARIOS.some((x) => x.id === s)) usage(`unknown scenario ${s}`);
      }
    } else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      console.log(`scenarios: ${SCENARIOS.map((s) => s.id).join(", ")}`);
      Deno.exit(0);
    } else usage(`unknown argument ${a}`);
  }
  if (o.quick) {
    o.runs = 1;
    o.warmup = 0.2;
    o.duration = 1;
  }
  o.runs = runs ?? o.runs;
  o.warmup = warmup ?? o.warmup;
  o.duration = duration ?? o.duration;
  if (o.baseline && o.statsCost) usage("--baseline and --stats-cost exclude each other");
  // Two wsdriver builds (or settings) are compared: the C server's ceiling is beside the point.
  if (!o.ref || o.baseline || o.statsCost) o.only.delete("ref");
  return o;
}

function usage(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  Deno.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Servers and scenarios

type Runtime = "deno" | "bun" | "node";

interface ServerSpec {
  id: string;
  label: string;
  runtime: Runtime | "ref";
  role: "wsdriver" | "peer" | "ref";
  cmd: (profileDir?: string) => string[];
  env?: () => Record<string, string>;
}

const SERVERS: ServerSpec[] = [
  {
    id: "wsdriver-deno",
    label: "wsdriver",
    runtime: "deno",
    role: "wsdriver",
    cmd: () => [DENO, "run", "-A", `${BENCH}/servers/wsdriver.ts`],
  },
  {
    id: "deno-native",
    label: "Deno.upgradeWebSocket",
    runtime: "deno",
    role: "peer",
    cmd: () => [DENO, "run", "-A", `${BENCH}/servers/deno_native.ts`],
  },
  {
    id: "wsdriver-bun",
    label: "wsdriver",
    runtime: "bun",
    role: "wsdriver",
    cmd: () => [BUN, `${BENCH}/servers/wsdriver.ts`],
  },
  {
    id: "bun-native",
    label: "Bun.serve (uWS)",
    runtime: "bun",
    role: "peer",
    cmd: () => [BUN, `${BENCH}/servers/bun_native.ts`],
  },
  {
    id: "wsdriver-node",
    label: "wsdriver",
    runtime: "node",
    role: "wsdriver",
    cmd: (p) => [NODE, ...cpuProf(p), `${BENCH}/servers/wsdriver_node.mjs`],
    env: () => ({ WSDRIVER_MODULE: `file://${NPM_SNAPSHOT}/mod.js` }),
  },
  {
    id: "ws-node",
    label: "ws",
    runtime: "node",
    role: "peer",
    cmd: (p) => [NODE, ...cpuProf(p), `${BENCH}/servers/ws_node.mjs`],
  },
  {
    id: "ref-c",
    label: "C reference (ceiling)",
    runtime: "ref",
    role: "ref",
    cmd: () => [`${BUILD}/refserver`],
  },
];

/** The wsdriver servers of another checkout in `dir`, standing in for the peers. */
function baselineServers(dir: string): ServerSpec[] {
  const label = "wsdriver (baseline)";
  return [
    {
      id: "baseline-deno",
      label,
      runtime: "deno",
      role: "peer",
      cmd: () => [DENO, "run", "-A", `${dir}/bench/servers/wsdriver.ts`],
    },
    {
      id: "baseline-bun",
      label,
      runtime: "bun",
      role: "peer",
      cmd: () => [BUN, `${dir}/bench/servers/wsdriver.ts`],
    },
    {
      id: "baseline-node",
      label,
      runtime: "node",
      role: "peer",
      cmd: (p) => [NODE, ...cpuProf(p), `${BENCH}/servers/wsdriver_node.mjs`],
      env: () => ({ WSDRIVER_MODULE: `file://${dir}/npm/esm/mod.js` }),
    },
  ];
}

/** This build's wsdriver servers with `stats: false`, standing in for the peers. */
function statsOffServers(): ServerSpec[] {
  return SERVERS.filter((s) => s.role === "wsdriver").map((s) => ({
    ...s,
    id: `stats-off-${s.runtime}`,
    label: "stats off",
    role: "peer",
    env: () => ({ ...s.env?.(), WSDRIVER_BENCH_STATS: "off" }),
  }));
}

function cpuProf(dir: string | undefined): string[] {
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

const RUNTIME_TITLE: Record<Runtime, string> = {
  node: "Node vs `ws`",
  deno: "Deno vs native",
  bun: "Bun vs native (uWS)",
};

interface Scenario {
  id: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
  /** Load generator arguments (echo, handshake, broadcast) or the idle procedure. */
  args: string[];
  /** The figure compared, from the load generator's JSON. */
  metric: (r: Record<string, number>) => number;
  /** A second figure shown next to it (p99 latency). */
  extra?: (r: Record<string, number>) => number;
  /** Environment for the server process (e.g. BENCH_DEFLATE=1: accept permessage-deflate). */
  serverEnv?: Record<string, string>;
}

const SCENARIOS: Scenario[] = [
  {
    id: "latency",
    label: "1 conn, 32 B text, one at a time: round trip p50 / p99",
    unit: "µs",
    better: "lower",
    args: ["echo", "--conns", "1", "--inflight", "1", "--size", "32"],
    metric: (r) => r.p50_us,
    extra: (r) => r.p99_us,
  },
  {
    id: "pipelined",
    label: "1 conn × 64 in flight, 32 B text",
    unit: "msgs/s",
    better: "higher",
    args: ["echo", "--conns", "1", "--inflight", "64", "--size", "32"],
    metric: (r) => r.msgs_per_s,
  },
  {
    id: "conns100",
    label: "100 conns × 8 in flight, 32 B text",
    unit: "msgs/s",
    better: "higher",
    args: ["echo", "--conns", "100", "--inflight", "8", "--size", "32"],
    metric: (r) => r.msgs_per_s,
  },
  {
    id: "conns100x1",
    label: "100 conns × 1 in flight, 32 B text",
    unit: "msgs/s",
    better: "higher",
    args: ["echo", "--conns", "100", "--inflight", "1", "--size", "32"],
    metric: (r) => r.msgs_per_s,
  },
  {
    id: "bin64k",
    label: "64 KiB binary, 1 conn × 4 in flight",
    unit: "MB/s",
    better: "higher",
    args: ["echo", "--conns", "1", "--inflight", "4", "--size", "65536", "--binary"],
    metric: (r) => r.mb_per_s,
  },
  {
    id: "bin1m",
    label: "1 MiB binary, 1 conn × 2 in flight",
    unit: "MB/s",
    better: "higher",
    args: ["echo", "--conns", "1", "--inflight", "2", "--size", "1048576", "--binary"],
    metric: (r) => r.mb_per_s,
  },
  {
    id: "handshakes",
    label: "handshakes (connect, upgrade, close handshake), 16 in parallel",
    unit: "/s",
    better: "higher",
    args: ["handshake", "--parallel", "16"],
    metric: (r) => r.handshakes_per_s,
  },
  {
    id: "broadcast",
    label: "broadcast 64 B text to 500 subscribers (1 sender, ≤ 32 in flight)",
    unit: "deliveries/s",
    better: "higher",
    args: ["broadcast", "--conns", "500", "--inflight", "32", "--size", "64"],
    metric: (r) => r.deliveries_per_s,
  },
  {
    id: "idle",
    label: "memory per idle connection (10,000 connections)",
    unit: "KiB",
    better: "lower",
    args: ["idle", "--conns", "10000", "--warm", "100"],
    metric: (r) => r.kib_per_conn,
  },
  {
    id: "idle-deflate",
    label: "memory per idle connection with permessage-deflate negotiated (10,000)",
    unit: "KiB",
    better: "lower",
    args: ["idle", "--conns", "10000", "--warm", "100", "--deflate"],
    serverEnv: { BENCH_DEFLATE: "1" },
    metric: (r) => r.kib_per_conn,
  },
];

/** Issue 7's targets: ratio wsdriver / peer, at least (higher is better) or at most (lower). */
const TARGETS: Record<Runtime, Record<string, number>> = {
  node: {
    pipelined: 2.0,
    conns100: 5,
    bin64k: 2.0,
    bin1m: 2.0,
    handshakes: 2.0,
    idle: 0.8,
    broadcast: 15,
  },
  deno: {
    pipelined: 2.0,
    conns100: 4.5,
    bin64k: 1.0,
    bin1m: 1.0,
    handshakes: 0.9,
    idle: 0.35,
    broadcast: 15,
  },
  bun: {
    pipelined: 0.9,
    conns100: 0.75,
    bin64k: 0.8,
    bin1m: 0.8,
    handshakes: 0.9,
    idle: 2,
    broadcast: 0.8,
  },
};

/** Whether this is `--stats-cost`'s report: wsdriver with its counters on ÷ off. */
let statsCost = false;

/** Issue 16: the counters cost under 3 % in every scenario. */
const STATS_COST_MARGIN = 0.03;

/** The ratio `sc` must reach on `rt`: issue 7's target, or with `--stats-cost` issue 16's. */
function targetOf(rt: Runtime, sc: Scenario): number | undefined {
  if (statsCost) return sc.better === "higher" ? 1 - STATS_COST_MARGIN : 1 + STATS_COST_MARGIN;
  return TARGETS[rt][sc.id];
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and killed at the end, whatever happens

const children = new Set<Deno.ChildProcess>();

function killAll(): void {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(sig, () => {
    console.error(`\nbench: ${sig}, stopping every child process`);
    killAll();
    if (NPM_SNAPSHOT) {
      try {
        Deno.removeSync(NPM_SNAPSHOT.replace(/\/npm-esm$/, ""), { recursive: true });
      } catch { /* already gone */ }
    }
    Deno.exit(130);
  });
}

let fdLimit = 1024;
let hasTaskset = false;

/** Spawns `cmd` with the open-file limit raised to the hard limit, pinned to `cpu` if possible. */
function spawn(
  cmd: string[],
  cpu: number | undefined,
  stdin: "piped" | "null" = "null",
  env: Record<string, string> = {},
): Deno.ChildProcess {
  const pin = hasTaskset && cpu !== undefined ? ["taskset", "-c", String(cpu)] : [];
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null; exec "$@"',
      "sh",
      ...pin,
      ...cmd,
    ],
    cwd: ROOT,
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1", ...env },
  }).spawn();
  children.add(child);
  child.status.then(() => children.delete(child));
  return child;
}

/** Reads a stream line by line; keeps the last few KiB of everything for error messages. */
class LineReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  #lines: string[] = [];
  #done = false;
  tail = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, or null at the end of the stream or after `ms`. */
  async next(ms: number): Promise<string | null> {
    const deadline = Date.now() + ms;
    while (this.#lines.length === 0 && !this.#done) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left));
      const read = this.#pending ??= this.#reader.read();
      const got = await Promise.race([read, timeout]);
      clearTimeout(timer);
      if (got === "timeout") return null;
      this.#pending = undefined;
      if (got.done) {
        this.#done = true;
        if (this.#buf) this.#lines.push(this.#buf);
        break;
      }
      this.tail = (this.tail + got.value).slice(-4096);
      this.#buf += got.value;
      const parts = this.#buf.split("\n");
      this.#buf = parts.pop()!;
      this.#lines.push(...parts);
    }
    return this.#lines.shift() ?? null;
  }

  #pending: Promise<ReadableStreamReadResult<string>> | undefined;

  /** Reads (and keeps the tail of) everything until the stream ends, in the background. */
  drain(): Promise<void> {
    return (async () => {
      while (await this.next(3_600_000) !== null) {
        // keep reading
      }
    })();
  }
}

async function run(cmd: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  try {
    const o = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd, stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { code: o.code, out: (dec.decode(o.stdout) + dec.decode(o.stderr)).trim() };
  } catch (err) {
    return { code: -1, out: String(err) };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Sample {
  value?: number;
  extra?: number;
  /** The load generator's CPU use during the measured window, % of one core. */
  loadgenCpu?: number;
  /** CPU used by other processes on the machine meanwhile, % of one core (noise indicator). */
  otherCpu?: number;
  /** The server's CPU use during the measured window, % of one core (all its threads). */
  serverCpu?: number;
  error?: string;
}

interface RunningServer {
  child: Deno.ChildProcess;
  port: number;
  pid: number;
  exited: () => boolean;
  stderr: LineReader;
  stop: () => Promise<void>;
}

async function startServer(
  spec: ServerSpec,
  profileDir?: string,
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const child = spawn(spec.cmd(profileDir), 0, "null", { ...spec.env?.(), ...env });
  let exited = false;
  child.status.then(() => exited = true);
  const out = new LineReader(child.stdout);
  const err = new LineReader(child.stderr);
  err.drain();
  const deadline = Date.now() + 20_000;
  let port = 0;
  while (Date.now() < deadline && !exited) {
    const line = await out.next(deadline - Date.now());
    if (line === null) break;
    const m = /listening on (\d+)/.exec(line);
    if (m) {
      port = Number(m[1]);
      break;
    }
  }
  if (!port) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw new Error(`${spec.id} did not start: ${(out.tail + err.tail).trim().slice(-600)}`);
  }
  out.drain();
  const stop = async () => {
    if (exited) return;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await child.status;
    clearTimeout(t);
  };
  return { child, port, pid: child.pid, exited: () => exited, stderr: err, stop };
}

function readRssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error("no VmRSS");
  return Number(m[1]);
}

/** Busy jiffies of the whole machine, and of one process (all its threads). */
function machineBusy(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: irq and softirq are left out, as most of
  // that is the loopback traffic of the measurement itself, charged to no process.
  return f[0] + f[1] + f[2] + f[7];
}

function processBusy(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime stime
  } catch {
    return 0;
  }
}

const HZ = 100; // USER_HZ on Linux

async function measure(
  spec: ServerSpec,
  sc: Scenario,
  o: Options,
  profileDir?: string,
): Promise<Sample> {
  let server: RunningServer | undefined;
  try {
    try {
      server = await startServer(spec, profileDir, sc.serverEnv);
    } catch {
      // One retry: e.g. another process was rebuilding npm/ at that moment.
      await sleep(2000);
      server = await startServer(spec, profileDir, sc.serverEnv);
    }
    let args = [...sc.args];
    if (sc.args[0] === "idle") {
      const conns = Math.max(100, Math.min(10_000, fdLimit - 400));
      args = ["idle", "--conns", String(conns), "--warm", "100", ...sc.args.slice(5)];
    }
    const common = [
      "--port",
      String(server.port),
      "--warmup",
      String(o.warmup),
      "--duration",
      String(o.duration),
      "--timeout",
      "90",
    ];
    const busy0 = machineBusy(), srv0 = processBusy(server.pid), t0 = performance.now();
    const lg = spawn([`${BUILD}/loadgen`, ...args, ...common], 1, "piped");
    const lgOut = new LineReader(lg.stdout);
    const lgErr = new LineReader(lg.stderr);
    lgErr.drain();
    const killer = setTimeout(() => {
      try {
        lg.kill("SIGKILL");
      } catch { /* gone */ }
    }, (o.warmup + o.duration + 100) * 1000);
    const writer = lg.stdin.getWriter();
    const enc = new TextEncoder();
    const results: Record<string, number> = {};
    try {
      if (sc.args[0] === "idle") {
        const warm = await lgOut.next(60_000);
        if (!warm?.startsWith("warm")) throw new Error(`loadgen: ${warm ?? "no output"}`);
        await sleep(500);
        const before = readRssKiB(server.pid);
        await writer.write(enc.encode("go\n"));
        const ready = await lgOut.next(90_000);
        if (!ready?.startsWith("ready")) throw new Error(`loadgen: ${ready ?? "no output"}`);
        await sleep(1000);
        const after = readRssKiB(server.pid);
        const conns = Number(ready.split(" ")[1]);
        results.kib_per_conn = (after - before) / conns;
        results.rss_before_kib = before;
        results.rss_after_kib = after;
        await writer.write(enc.encode("done\n"));
      }
      await writer.close().catch(() => {});
      let win: [number, number] | undefined;
      for (;;) {
        const line = await lgOut.next(120_000);
        if (line === null) break;
        if (line.startsWith("{")) Object.assign(results, JSON.parse(line));
        else if (line === "measuring") win = [processBusy(server.pid), performance.now()];
        else if (line === "measured" && win) {
          const secs = (performance.now() - win[1]) / 1000;
          results.server_cpu_pct = (processBusy(server.pid) - win[0]) / HZ / secs * 100;
        }
      }
      const status = await lg.status;
      if (!status.success) {
        throw new Error(
          `loadgen failed (${status.code || status.signal}): ${lgErr.tail.trim().slice(-600)}`,
        );
      }
    } finally {
      clearTimeout(killer);
    }
    const wall = (performance.now() - t0) / 1000;
    const busy = (machineBusy() - busy0) / HZ, srv = (processBusy(server.pid) - srv0) / HZ;
    if (server.exited()) {
      throw new Error(`${spec.id} exited during the run: ${server.stderr.tail.slice(-600)}`);
    }
    const otherCpu = Math.max(0, (busy - srv - (results.cpu_total_s ?? 0)) / wall * 100);
    return {
      value: sc.metric(results),
      extra: sc.extra?.(results),
      loadgenCpu: results.loadgen_cpu_pct,
      serverCpu: results.server_cpu_pct,
      otherCpu,
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await server?.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Results

interface RuntimeResult {
  date: string;
  quick: boolean;
  runs: number;
  warmup: number;
  duration: number;
  loadavg: { start: string; end: string };
  /** samples[serverId][scenarioId] */
  samples: Record<string, Record<string, Sample[]>>;
  /** Later reruns of some scenarios only (`--scenarios`), merged into `samples`. */
  notes?: string[];
}

interface Results {
  versions: Record<string, string>;
  machine: Record<string, string>;
  method: Record<string, string>;
  runtimes: Partial<Record<Runtime | "ref", RuntimeResult>>;
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Summary {
  value?: number;
  extra?: number;
  serverCpu?: number;
  loadgenCpu?: number;
  otherCpu?: number;
  n: number;
  errors: string[];
}

function summarize(samples: Sample[] | undefined): Summary {
  const ok = (samples ?? []).filter((s) => s.error === undefined && s.value !== undefined);
  const pick = (f: (s: Sample) => number | undefined) =>
    median(ok.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x)));
  return {
    value: pick((s) => s.value),
    extra: pick((s) => s.extra),
    serverCpu: pick((s) => s.serverCpu),
    loadgenCpu: pick((s) => s.loadgenCpu),
    otherCpu: pick((s) => s.otherCpu),
    n: ok.length,
    errors: (samples ?? []).flatMap((s) => s.error ? [s.error] : []),
  };
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "–";
  let s: string;
  if (x >= 100_000) s = `${(x / 1000).toFixed(0)}k`;
  else if (x >= 10_000) s = `${(x / 1000).toFixed(1)}k`;
  else if (x >= 100) s = x.toFixed(0);
  else if (x >= 10) s = x.toFixed(1);
  else s = x.toFixed(2);
  return s;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

function fmtRatio(r: number | undefined): string {
  // A 3 % question needs a third digit.
  return r === undefined ? "–" : `${r >= 10 ? r.toFixed(1) : r.toFixed(statsCost ? 3 : 2)}×`;
}

function meets(sc: Scenario, r: number | undefined, target: number | undefined): string {
  if (r === undefined || target === undefined) return "";
  return (sc.better === "higher" ? r >= target : r <= target) ? "✓" : "✗";
}

/** "server / load generator / other" CPU %, rounded. */
function cpus(s: Summary): string {
  const r = (x: number | undefined) => x === undefined ? "–" : Math.round(x).toString();
  return `${r(s.serverCpu)} / ${r(s.loadgenCpu)} / ${r(s.otherCpu)}`;
}

function cell(sc: Scenario, s: Summary): string {
  if (s.value === undefined) return s.errors.length ? "error" : "–";
  const v = sc.extra ? `${fmt(s.value)} / ${fmt(s.extra)}` : fmt(s.value);
  return s.errors.length ? `${v} (${s.errors.length} failed)` : v;
}

function render(res: Results, scenarios: Scenario[]): string {
  const out: string[] = [];
  const rts = (["node", "deno", "bun"] as const).filter((r) => res.runtimes[r]);
  const ref = res.runtimes.ref;
  if (statsCost) {
    out.push("# wsdriver: what the stats cost", "");
    out.push(
      "Generated by `deno run -A bench/run.ts --stats-cost`; see the method below. Each " +
        "runtime's wsdriver server against the same build with `stats: false` (no counters, " +
        "neither the server's nor its sockets'), in the same run. Ratios are stats on ÷ stats off; ✓: the counters cost " +
        `under ${STATS_COST_MARGIN * 100} % (throughput ≥ ${1 - STATS_COST_MARGIN}×, latency ` +
        `and memory ≤ ${1 + STATS_COST_MARGIN}×).`,
      "",
    );
  } else {
    out.push("# wsdriver benchmarks", "");
    out.push(
      "Generated by `npm run bench` (`deno run -A bench/run.ts`); see the method below. Each " +
        "runtime's section says when it was measured. Ratios are wsdriver / peer, measured in " +
        "the same run; for latency and memory lower is better.",
      "",
    );
  }

  // Summary in the layout of issue 7's targets, or every scenario for issue 16's.
  const cols: Array<[string, string[]]> = statsCost
    ? scenarios.map((sc) => [CHART_LABELS[sc.id] ?? sc.id, [sc.id]])
    : [
      ["1 conn ×64 in flight", ["pipelined"]],
      ["100 conns", ["conns100"]],
      ["64 KiB / 1 MiB", ["bin64k", "bin1m"]],
      ["handshakes/s", ["handshakes"]],
      ["idle KiB/conn", ["idle"]],
      ["broadcast 500 subs", ["broadcast"]],
    ];
  out.push(
    statsCost
      ? `## Summary: stats on ÷ stats off (✓: under ${STATS_COST_MARGIN * 100} %)`
      : "## Summary: ratio against the peer (target in brackets)",
    "",
  );
  out.push(`| runtime | ${cols.map((c) => c[0]).join(" | ")} |`);
  out.push(`|---|${cols.map(() => "---").join("|")}|`);
  for (const rt of rts) {
    const r = res.runtimes[rt]!;
    const cells = cols.map(([, ids]) => {
      const ratios = ids.map((id) => {
        const sc = SCENARIOS.find((s) => s.id === id)!;
        if (!scenarios.includes(sc)) return "–";
        const w = summarize(r.samples[`wsdriver-${rt}`]?.[id]);
        const p = summarize(r.samples[peerOf(rt)]?.[id]);
        const q = ratio(w.value, p.value);
        return `${fmtRatio(q)} ${meets(sc, q, targetOf(rt, sc))}`.trim();
      }).join(" / ");
      if (statsCost) return ratios;
      return `${ratios} (${
        ids.map((id) => {
          const sc = SCENARIOS.find((s) => s.id === id)!;
          return `${sc.better === "higher" ? "≥" : "≤"} ${targetOf(rt, sc)}×`;
        }).filter((v, i, a) => a.indexOf(v) === i).join(" / ")
      })`;
    });
    out.push(`| ${RUNTIME_TITLE[rt]} | ${cells.join(" | ")} |`);
  }
  out.push("");

  for (const rt of rts) {
    const r = res.runtimes[rt]!;
    const peer = peerSpec(rt);
    out.push(`## ${RUNTIME_TITLE[rt]}`, "");
    out.push(
      `Measured ${r.date}${r.quick ? " (**quick run**: 1 short run, not for comparison)" : ""}` +
        `, ${r.runs} run${r.runs > 1 ? "s" : ""} of ${r.warmup} s warm-up + ${r.duration} s` +
        `, medians. Load average at start / end: ${r.loadavg.start} / ${r.loadavg.end}.`,
      "",
    );
    for (const n of r.notes ?? []) out.push(`- ${n}`);
    if (r.notes?.length) out.push("");
    const ours = statsCost ? "stats on" : "wsdriver";
    out.push(
      `| scenario | unit | ${ours} | ${peer.label} | ratio | target | ` +
        `CPU % ${ours} run | CPU % ${peer.label} run |`,
    );
    out.push("|---|---|---|---|---|---|---|---|");
    for (const sc of scenarios) {
      const w = summarize(r.samples[`wsdriver-${rt}`]?.[sc.id]);
      const p = summarize(r.samples[peer.id]?.[sc.id]);
      const q = ratio(w.value, p.value);
      const t = targetOf(rt, sc);
      const target = t === undefined
        ? ""
        : `${sc.better === "higher" ? "≥" : "≤"} ${t}× ${meets(sc, q, t)}`;
      out.push(
        `| ${sc.label} | ${sc.unit} | ${cell(sc, w)} | ${cell(sc, p)} | ${fmtRatio(q)} | ` +
          `${target} | ${cpus(w)} | ${cpus(p)} |`,
      );
    }
    out.push("");
    const errors = [
      ...Object.entries(r.samples).flatMap(([srv, m]) =>
        Object.entries(m).flatMap(([id, ss]) =>
          ss.flatMap((s) => s.error ? [`${srv} ${id}: ${s.error}`] : [])
        )
      ),
    ];
    if (errors.length) {
      out.push("Failed measurements:", "", ...errors.map((e) => `- ${e.replace(/\n/g, " ")}`), "");
    }
  }

  if (ref) {
    out.push("## Load generator headroom", "");
    out.push(
      `Measured ${ref.date}. \`bench/refserver.c\`, a minimal C server (epoll, one write per ` +
        "connection per batch of events), served by the same load generator: the rates it " +
        "reaches are the ceiling of this harness on this machine. Where it is close to the " +
        "fastest JavaScript server (handshakes, one message per read), the kernel's TCP work " +
        'bounds both; the "loadgen" CPU figures above show the load generator\'s core was not ' +
        "the saturated one.",
      "",
    );
    out.push(
      "| scenario | unit | C reference | best JS server | C ÷ best (>1: C faster) | " +
        "CPU % C run |",
    );
    out.push("|---|---|---|---|---|---|");
    for (const sc of scenarios) {
      if (sc.args[0] === "idle") continue;
      const c = summarize(ref.samples["ref-c"]?.[sc.id]);
      let best: number | undefined, bestName = "";
      for (const rt of rts) {
        for (const id of [`wsdriver-${rt}`, peerOf(rt)]) {
          const v = summarize(res.runtimes[rt]!.samples[id]?.[sc.id]).value;
          if (v === undefined) continue;
          if (
            best === undefined || (sc.better === "higher" ? v > best : v < best)
          ) {
            best = v;
            bestName = id;
          }
        }
      }
      const q = sc.better === "higher" ? ratio(c.value, best) : ratio(best, c.value);
      out.push(
        `| ${sc.label} | ${sc.unit} | ${cell(sc, c)} | ${fmt(best)}${
          bestName ? ` (${bestName})` : ""
        } | ${fmtRatio(q)} | ${cpus(c)} |`,
      );
    }
    out.push("");
  }

  out.push("## Machine and versions", "");
  for (const [k, v] of Object.entries(res.machine)) out.push(`- ${k}: ${v}`);
  for (const [k, v] of Object.entries(res.versions)) out.push(`- ${k}: ${v}`);
  out.push("", "## Method", "");
  for (const [k, v] of Object.entries(res.method)) out.push(`- **${k}**: ${v}`);
  out.push("");
  return out.join("\n");
}

/** The ratios of `res` as an SVG chart (see chart.ts). */
function chart(res: Results, scenarios: Scenario[]): string {
  const rts = (["node", "deno", "bun"] as const).filter((r) => res.runtimes[r]);
  const panels: ChartPanel[] = rts.map((rt) => {
    const r = res.runtimes[rt]!;
    return {
      title: RUNTIME_TITLE[rt].replace(/`/g, ""),
      bars: scenarios.map((sc) => ({
        label: CHART_LABELS[sc.id] ?? sc.id,
        ratio: ratio(
          summarize(r.samples[`wsdriver-${rt}`]?.[sc.id]).value,
          summarize(r.samples[peerOf(rt)]?.[sc.id]).value,
        ),
        better: sc.better,
      })),
    };
  });
  const dates = rts.map((rt) => res.runtimes[rt]!.date.slice(0, 10));
  return ratioChart(
    panels,
    `latency and memory as peer ÷ wsdriver, the rest wsdriver ÷ peer; medians of ` +
      `${res.runtimes[rts[0]]?.runs ?? 0} interleaved runs, ${[...new Set(dates)].join(", ")}`,
  );
}

/** Short scenario names for the chart. */
const CHART_LABELS: Record<string, string> = {
  latency: "latency p50 (1 conn)",
  pipelined: "1 conn × 64 in flight",
  conns100: "100 conns × 8",
  conns100x1: "100 conns × 1",
  bin64k: "64 KiB binary",
  bin1m: "1 MiB binary",
  handshakes: "handshakes/s",
  broadcast: "broadcast to 500",
  idle: "memory per idle conn",
  "idle-deflate": "idle conn, deflate",
};

/** Who wsdriver is compared with: the peers, or a baseline build (`--baseline`). */
let peers: ServerSpec[] = SERVERS.filter((s) => s.role === "peer");

function peerSpec(rt: Runtime): ServerSpec {
  return peers.find((s) => s.runtime === rt)!;
}

function peerOf(rt: Runtime): string {
  return peerSpec(rt).id;
}

// ---------------------------------------------------------------------------------------------
// Main

async function versions(): Promise<Record<string, string>> {
  const first = (s: string) => s.split("\n")[0].trim();
  const ws = JSON.parse(await Deno.readTextFile(`${ROOT}/node_modules/ws/package.json`)).version;
  const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const head = (await run(["git", "rev-parse", "--short", "HEAD"])).out;
  const dirty = (await run(["git", "status", "--porcelain", "--", "src", "mod.ts"])).out;
  return {
    wsdriver: `${denoJson.version} (git ${head}${
      dirty ? ", with uncommitted changes in src/" : ""
    })`,
    node: first((await run([NODE, "--version"])).out),
    deno: first((await run([DENO, "--version"])).out),
    bun: first((await run([BUN, "--version"])).out),
    ws: ws,
    gcc: first((await run(["gcc", "--version"])).out),
    kernel: first((await run(["uname", "-r"])).out),
  };
}

async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const mem = /MemTotal:\s+(\d+)/.exec(await Deno.readTextFile("/proc/meminfo"))?.[1];
  return {
    cores: (await run(["nproc"])).out,
    cpu: model,
    memory: mem ? `${(Number(mem) / 1024 / 1024).toFixed(1)} GiB` : "unknown",
    "open files limit": String(fdLimit),
    pinning: hasTaskset ? "taskset: server on core 0, load generator on core 1" : "none",
  };
}

function method(o: Options): Record<string, string> {
  const compared: Record<string, string> = o.statsCost
    ? {
      "compared": "`--stats-cost`: each runtime's wsdriver server twice, the second started with " +
        "`WSDRIVER_BENCH_STATS=off`, which passes `stats: false` to `serve`: no counters in " +
        "the server (per resource, refusals, limits) and none in its sockets (their counts of " +
        "messages and bytes, `ws.traffic()`): the ratio is what all the counters cost.",
    }
    : {};
  return {
    ...compared,
    "servers":
      "`bench/servers/`: wsdriver (`heartbeat: false`) on each runtime, Node on the npm build " +
      "(`npm/esm/mod.js`); peers `ws` " +
      "(no native addons: `WS_NO_BUFFER_UTIL=1`, `WS_NO_UTF_8_VALIDATE=1`, compression off), " +
      "`Deno.serve` + `Deno.upgradeWebSocket` (`idleTimeout: 0`), `Bun.serve` (compression " +
      "off, `idleTimeout: 0`). `/` echoes each message as the same type; `/broadcast` relays " +
      "every message to every client on it (wsdriver: `ws.subscribe` + `server.publish`, " +
      "which frames once; Bun: `server.publish`; `ws` and Deno: a loop over the sockets). A " +
      "fresh server process per measurement.",
    "load generator":
      "`bench/loadgen.c`, one thread, epoll (edge-triggered), non-blocking sockets, built " +
      "with `gcc -O2`. It does the opening handshake itself (fixed key; checks the 101, " +
      "`Upgrade`, `Connection` and the accept value), masks every frame with a fresh key, and " +
      "validates every frame it receives: no RSV bits, no mask, minimal lengths, no " +
      "fragmentation, the opcode (text stays text, binary binary), the exact payload and the " +
      "order (each payload carries its sequence number). Any error fails the measurement. " +
      "It writes once per connection per batch of events.",
    "scenarios":
      "echo 32 B text one at a time on 1 connection (round trip p50/p99 over the measured " +
      "window); 1 connection keeping 64 messages in flight; 100 connections keeping 8 (and 1) " +
      "in flight each; 64 KiB and 1 MiB binary on 1 connection (4 and 2 in flight; MB/s of " +
      "echoed payload); handshakes: 16 parallel loops of connect, upgrade, close frame 1000, " +
      "wait for the server's close frame and FIN, close; broadcast: 500 connections on " +
      "`/broadcast`, connection 0 sends 64 B text messages keeping at most 32 not yet " +
      "received by all 500, and every connection (the sender too) must receive every message " +
      "in order (deliveries/s counts frames received); idle memory: open 100 connections, " +
      "read the server's VmRSS (/proc/PID/status), open 10,000 more, wait 1 s, read it " +
      "again: KiB per connection = difference / 10,000.",
    "timing": `each measurement: ${o.warmup} s warm-up, then ${o.duration} s measured; ${o.runs} ` +
      "run(s), interleaved (for each run, each scenario: wsdriver and its peer back to back, " +
      "in alternating order), medians per cell.",
    "CPU columns":
      '"server / loadgen / other", in % of one core, medians: the server process (all its ' +
      "threads, from /proc/PID/stat) and the load generator (getrusage) over the measured " +
      "window, and the rest of the machine over the whole measurement (busy time in /proc/stat " +
      "minus those two, without irq/softirq time, which is mostly the loopback traffic itself). A server " +
      'near 100 with the load generator well below it is server-bound, as intended; "other" ' +
      "above ~10 means another program disturbed that measurement (the machine is shared), " +
      "except in the idle row, where it includes the load generator closing 10,100 sockets " +
      "as it exits.",
  };
}

/** Copies npm/esm (mod.js and src/) to NPM_SNAPSHOT and checks that Node can import it. */
async function snapshotNpm(): Promise<boolean> {
  NPM_SNAPSHOT = `${await Deno.makeTempDir({ prefix: "wsdriver-bench-" })}/npm-esm`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) await sleep(3000);
    await Deno.remove(NPM_SNAPSHOT, { recursive: true }).catch(() => {});
    await Deno.mkdir(NPM_SNAPSHOT, { recursive: true });
    const cp = await run([
      "cp",
      "-r",
      `${ROOT}/npm/esm/mod.js`,
      `${ROOT}/npm/esm/src`,
      NPM_SNAPSHOT,
    ]);
    if (cp.code !== 0) continue;
    const ok = await run([
      NODE,
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(`file://${NPM_SNAPSHOT}/mod.js`)}); ` +
      `if (typeof m.serve !== "function") process.exit(1);`,
    ]);
    if (ok.code === 0) return true;
  }
  return false;
}

function shownScenarios(res: Results): Scenario[] {
  return SCENARIOS.filter((sc) =>
    Object.values(res.runtimes).some((r) =>
      Object.values(r?.samples ?? {}).some((m) => m?.[sc.id]?.length)
    )
  );
}

async function writeReport(
  res: Results,
  mdPath: string,
  jsonPath: string,
  chartPath?: string,
): Promise<void> {
  await Deno.writeTextFile(jsonPath, JSON.stringify(res, null, 1) + "\n");
  await Deno.writeTextFile(mdPath, render(res, shownScenarios(res)));
  if (chartPath) await Deno.writeTextFile(chartPath, chart(res, shownScenarios(res)));
  // Formatted as `deno fmt` wants them (npm run check checks every file in the repository).
  const f = await run([DENO, "fmt", "--quiet", mdPath, jsonPath, ...chartPath ? [chartPath] : []]);
  if (f.code !== 0) console.error(`bench: deno fmt: ${f.out}`);
}

async function main(): Promise<number> {
  const o = parseOptions(Deno.args);
  const report = o.statsCost ? "STATS_COST" : "RESULTS";
  const mdPath = o.out ??
    (o.baseline
      ? `${BUILD}/BASELINE.md`
      : o.quick
      ? `${BUILD}/${report}.quick.md`
      : `${BENCH}/${report}.md`);
  const jsonPath = mdPath.replace(/\.md$/, "") + ".json";
  // bench/RESULTS.md's chart is bench/chart.svg; other reports get theirs next to them, but for
  // the stats' cost, whose ratios are all about 1: its table says it.
  const chartPath = o.statsCost
    ? undefined
    : mdPath === `${BENCH}/RESULTS.md`
    ? `${BENCH}/chart.svg`
    : mdPath.replace(/\.md$/, "") + ".svg";
  if (o.baseline) {
    peers = baselineServers(o.baseline);
    for (const rt of ["node", "deno", "bun"] as const) {
      RUNTIME_TITLE[rt] = `${rt}: this build vs the baseline`;
    }
  } else if (o.statsCost) {
    statsCost = true;
    peers = statsOffServers();
    for (const [rt, name] of [["node", "Node"], ["deno", "Deno"], ["bun", "Bun"]] as const) {
      RUNTIME_TITLE[rt] = `${name}: stats on ÷ off`;
    }
  }
  if (o.renderOnly) {
    const res = JSON.parse(await Deno.readTextFile(jsonPath)) as Results;
    res.method = method({ ...o, ...res.runtimes.node ?? res.runtimes.deno ?? res.runtimes.bun });
    await writeReport(res, mdPath, jsonPath, chartPath);
    console.error(`bench: wrote ${mdPath} from ${jsonPath}`);
    return 0;
  }
  await Deno.mkdir(BUILD, { recursive: true });
  hasTaskset = (await run(["sh", "-c", "command -v taskset"])).code === 0 &&
    navigator.hardwareConcurrency >= 2;
  const hard = (await run(["sh", "-c", "ulimit -Hn"])).out;
  fdLimit = hard === "unlimited" ? 65536 : Number(hard) || 1024;
  if (fdLimit < 10_500) {
    console.error(`bench: open files hard limit is ${fdLimit}: the idle scenario uses fewer`);
  }

  for (const name of ["loadgen", "refserver"]) {
    const b = await run(["gcc", "-O2", "-o", `${BUILD}/${name}`, `${BENCH}/${name}.c`]);
    if (b.code !== 0) {
      console.error(`bench: building ${name} failed:\n${b.out}`);
      return 1;
    }
  }

  if (o.only.has("node")) {
    if (o.buildNpm) {
      console.error("bench: npm run build");
      const b = await run([DENO, "run", "-A", `${ROOT}/scripts/build_npm.ts`]);
      if (b.code !== 0) {
        console.error(`bench: the npm build failed:\n${b.out}`);
        return 1;
      }
    }
    try {
      const built = Deno.statSync(`${ROOT}/npm/esm/mod.js`).mtime?.getTime() ?? 0;
      let newest = Deno.statSync(`${ROOT}/mod.ts`).mtime?.getTime() ?? 0;
      const walk = (dir: string) => {
        for (const e of Deno.readDirSync(dir)) {
          const p = `${dir}/${e.name}`;
          if (e.isDirectory) walk(p);
          else newest = Math.max(newest, Deno.statSync(p).mtime?.getTime() ?? 0);
        }
      };
      walk(`${ROOT}/src`);
      if (newest > built) {
        console.error(
          "bench: warning: npm/esm is older than src/: Node measures the last build " +
            "(run `npm run build`, or pass --build-npm)",
        );
      }
    } catch {
      console.error("bench: npm/esm/mod.js is missing: run `npm run build` (or --build-npm)");
      return 1;
    }
    if (!await snapshotNpm()) {
      console.error("bench: could not copy a complete npm/esm (is something rebuilding it?)");
      return 1;
    }
  }

  const scenarios = SCENARIOS.filter((s) => !o.scenarios || o.scenarios.has(s.id));
  const rts = (["node", "deno", "bun", "ref"] as const).filter((r) => o.only.has(r));
  const all = o.baseline || o.statsCost
    ? [...SERVERS.filter((s) => s.role === "wsdriver"), ...peers]
    : SERVERS;
  const servers = all.filter((s) => rts.includes(s.runtime));
  const profileDir = o.profile ? `${BUILD}/profiles` : undefined;
  if (profileDir) await Deno.mkdir(profileDir, { recursive: true });

  const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  const started = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const avgStart = loadavg();
  const samples: Record<string, Record<string, Sample[]>> = {};
  const total = o.runs * scenarios.length * servers.length -
    (rts.includes("ref") && scenarios.some((s) => s.id === "idle") ? o.runs : 0);
  let done = 0, failures = 0;
  console.error(
    `bench: ${total} measurements (${o.runs} run(s) × ${scenarios.length} scenarios × ` +
      `${servers.length} servers), ~${
        Math.ceil(total * (o.warmup + o.duration + 2.5) / 60)
      } min; load average ${avgStart}`,
  );
  for (let run = 0; run < o.runs; run++) {
    for (const sc of scenarios) {
      for (const rt of rts) {
        let pair = servers.filter((s) => s.runtime === rt);
        if (run % 2 === 1) pair = pair.reverse();
        for (const spec of pair) {
          // The C server is a throughput ceiling; its memory use says nothing about the harness.
          if (spec.role === "ref" && sc.args[0] === "idle") continue;
          const dir = profileDir && `${profileDir}/${spec.id}.${sc.id}.${run + 1}`;
          const s = await measure(spec, sc, o, dir);
          ((samples[spec.id] ??= {})[sc.id] ??= []).push(s);
          done++;
          if (s.error) failures++;
          const shown = s.error
            ? `ERROR ${s.error.split("\n")[0].slice(0, 300)}`
            : `${fmt(s.value)}${s.extra !== undefined ? ` / ${fmt(s.extra)}` : ""} ${sc.unit}` +
              ` (CPU % server ${fmt(s.serverCpu)}, loadgen ${fmt(s.loadgenCpu)}, ` +
              `other ${fmt(s.otherCpu)})`;
          console.error(
            `[${String(done).padStart(3)}/${total}] run ${run + 1} ${sc.id.padEnd(10)} ` +
              `${spec.id.padEnd(14)} ${shown}`,
          );
        }
      }
    }
  }
  const avgEnd = loadavg();

  // Merge with earlier results for the runtimes not rerun now (full runs only).
  let res: Results = { versions: {}, machine: {}, method: {}, runtimes: {} };
  try {
    const old = JSON.parse(await Deno.readTextFile(jsonPath)) as Results;
    if (!o.quick) res.runtimes = old.runtimes ?? {};
  } catch {
    // first run
  }
  res = { ...res, versions: await versions(), machine: await machine(), method: method(o) };
  for (const rt of rts) {
    const old = res.runtimes[rt];
    if (o.scenarios && old) {
      // Some scenarios rerun: replace those, keep the others.
      for (const spec of servers.filter((s) => s.runtime === rt)) {
        Object.assign(old.samples[spec.id] ??= {}, samples[spec.id]);
      }
      (old.notes ??= []).push(
        `${started}: reran ${[...o.scenarios].join(", ")} (${o.runs} runs, load average ` +
          `${avgStart} / ${avgEnd})`,
      );
      continue;
    }
    const mine: Record<string, Record<string, Sample[]>> = {};
    for (const spec of servers.filter((s) => s.runtime === rt)) mine[spec.id] = samples[spec.id];
    res.runtimes[rt] = {
      date: started,
      quick: o.quick,
      runs: o.runs,
      warmup: o.warmup,
      duration: o.duration,
      loadavg: { start: avgStart, end: avgEnd },
      samples: mine,
    };
  }
  await writeReport(res, mdPath, jsonPath, chartPath);
  console.log(await Deno.readTextFile(mdPath));
  console.error(`bench: wrote ${mdPath} and ${jsonPath}`);
  if (profileDir) console.error(`bench: CPU profiles in ${profileDir}`);
  if (failures) console.error(`bench: ${failures} measurement(s) failed`);
  return failures ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  killAll();
  if (NPM_SNAPSHOT) await Deno.remove(NPM_SNAPSHOT.replace(/\/npm-esm$/, ""), { recursive: true });
}
Deno.exit(code);
