/**
 * The soak test (issue 11): a wsdriver server with heartbeats on, per runtime, under 10k
 * connections with churn, broadcasts and echo traffic for a long time; afterwards its open file
 * descriptors and heap must be back near where they started, and the echo round trip must have
 * stayed fast.
 *
 * ```sh
 * npm run soak                                             # npm build, then 10k conns × 10 min × 3 runtimes
 * deno run -A bench/soak.ts --duration 30s --connections 2000 --only deno
 * ```
 *
 * Options: `--duration D` (per runtime: `600`, `30s`, `10m`; default 10m), `--connections N`
 * (default 10000), `--only deno,bun,node`, `--churn N` (connections replaced a second, default
 * 0.5 % of N), `--echo-rate N` (echo messages a second over the bulk connections, default 1000),
 * `--probes N` (latency probe connections, default 10), `--heartbeat MS` (server heartbeat
 * interval and timeout, default 2000), `--publish MS` (server broadcast period, default 500),
 * `--driver deno|bun` (runtime of the load drivers, default bun), `--out FILE` (default
 * bench/SOAK.md; the figures also go to the `.json` next to it, and `--only` keeps the other
 * runtimes' figures there).
 *
 * Per runtime: the server (`soak_server.mjs`) runs in its own process, pinned to core 0 where
 * `taskset` exists, and two driver processes (`soak_driver.ts`): `bulk` (on core 1) holds the
 * connections, `probe` (unpinned) measures the echo latency, first 10 s against the idle server
 * (the machine's floor), then under the load. The runner samples `/proc/PID/fd` and the
 * server's own memory figures every second, and asks the server to collect garbage before the
 * baseline and the final sample.
 *
 * Pass criteria (exit code 1 if any fails): after the load stops and every client is gone, open
 * fds within {@link FD_MARGIN} of the baseline and heap within {@link HEAP_MARGIN}; probe p99
 * round trip under {@link P99_LIMIT_MS}; the server still running; no healthy connection dropped
 * by the server, no handshake refused, every connection closed by the end.
 *
 * @module
 */

const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
const BENCH = `${ROOT}/bench`;
const DENO = `${ROOT}/node_modules/.bin/deno`;
const BUN = `${ROOT}/node_modules/.bin/bun`;

/** Open fds allowed above the baseline at the end (runtime-internal descriptors come and go). */
const FD_MARGIN = 10;
/** Heap allowed above the baseline at the end, after a forced collection. */
const HEAP_MARGIN = 16 * 1024 * 1024;
/** Seconds the probe measures the idle server before the load starts. */
const IDLE_S = 10;
/** Probe echo round trip p99 limit. */
const P99_LIMIT_MS = 20;

type Runtime = "deno" | "bun" | "node";

interface Options {
  duration: number;
  connections: number;
  only: Runtime[];
  churn: number | undefined;
  echoRate: number;
  probes: number;
  heartbeat: number;
  publish: number;
  driver: "deno" | "bun";
  out: string;
}

const USAGE = `usage: deno run -A bench/soak.ts [--duration 10m] [--connections 10000]
  [--only deno,bun,node] [--churn N] [--echo-rate N] [--probes N] [--heartbeat MS]
  [--publish MS] [--driver deno|bun] [--out FILE]`;

function usage(message: string): never {
  console.error(`soak: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s);
  if (!m) usage(`bad duration ${s}`);
  return Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    duration: 600,
    connections: 10_000,
    only: ["deno", "bun", "node"],
    churn: undefined,
    echoRate: 1000,
    probes: 10,
    heartbeat: 2000,
    publish: 500,
    driver: "bun",
    out: `${BENCH}/SOAK.md`,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`);
    const num = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0) usage(`${a} needs a number`);
      return n;
    };
    if (a === "--duration") o.duration = parseDuration(value());
    else if (a === "--connections") o.connections = Math.round(num());
    else if (a === "--churn") o.churn = num();
    else if (a === "--echo-rate") o.echoRate = num();
    else if (a === "--probes") o.probes = Math.round(num());
    else if (a === "--heartbeat") o.heartbeat = num();
    else if (a === "--publish") o.publish = num();
    else if (a === "--out") o.out = value();
    else if (a === "--driver") {
      const d = value();
      if (d !== "deno" && d !== "bun") usage(`unknown driver runtime ${d}`);
      o.driver = d;
    } else if (a === "--only") {
      o.only = value().split(",").map((s) => s.trim()).filter(Boolean) as Runtime[];
      for (const r of o.only) if (!["deno", "bun", "node"].includes(r)) usage(`unknown ${r}`);
    } else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else usage(`unknown argument ${a}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and killed at the end, whatever happens

const children = new Set<Deno.ChildProcess>();
let hasTaskset = false;

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(sig, () => {
    console.error(`\nsoak: ${sig}, stopping every child process`);
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    Deno.exit(130);
  });
}

/** Raises the open-file limit as far as allowed (root may go past the hard limit). */
const ULIMIT = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null';

/** A child process whose stdout is read line by line. */
class Proc {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  exited = false;
  #lines: string[] = [];
  #wake: (() => void) | undefined;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  errTail = "";

  constructor(cmd: string[], cpu: number | undefined, env: Record<string, string> = {}) {
    const pin = hasTaskset && cpu !== undefined ? ["taskset", "-c", String(cpu)] : [];
    this.child = new Deno.Command("sh", {
      args: ["-c", `${ULIMIT}; exec "$@"`, "sh", ...pin, ...cmd],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    this.pid = this.child.pid;
    children.add(this.child);
    this.#stdin = this.child.stdin.getWriter();
    this.child.status.then(() => {
      this.exited = true;
      children.delete(this.child);
      this.#wake?.();
    });
    this.#read(this.child.stdout, (line) => {
      this.#lines.push(line);
      this.#wake?.();
    });
    this.#read(
      this.child.stderr,
      (line) => (this.errTail = (this.errTail + line + "\n").slice(-2000)),
    );
  }

  async #read(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const p of parts) onLine(p);
    }
    if (buf) onLine(buf);
  }

  /** Lines printed since the last call. */
  take(): string[] {
    return this.#lines.splice(0);
  }

  /** Waits up to `ms` for a line matching `re`, dropping (and passing to `seen`) the others. */
  async waitLine(
    re: RegExp,
    ms: number,
    seen: (l: string) => void = () => {},
  ): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    while (true) {
      for (let line = this.#lines.shift(); line !== undefined; line = this.#lines.shift()) {
        const m = re.exec(line);
        if (m) return m;
        seen(line);
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.exited) {
        throw new Error(
          `no ${re} within ${ms} ms${this.exited ? " (process exited)" : ""}: ${this.errTail}`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  write(line: string): Promise<void> {
    return this.#stdin.write(new TextEncoder().encode(line + "\n"));
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      try {
        this.child.kill("SIGTERM");
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await this.child.status;
      clearTimeout(t);
    }
    await this.#stdin.close().catch(() => {});
  }
}

async function sh(cmd: string): Promise<string> {
  const o = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  return new TextDecoder().decode(o.stdout).trim();
}

function countFds(pid: number): number {
  let n = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  } catch {
    return -1;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// One runtime

interface ServerFigures {
  rss: number;
  heapUsed: number;
  clients: number;
  lagMaxMs: number;
  deliveries: number;
  gc?: boolean;
}

interface DriverSummary {
  opened: number;
  closedByUs: number;
  droppedMute: number;
  unexpectedCloses: number;
  handshakeFailures: number;
  echoSent: number;
  echoRecv: number;
  echoLost: number;
  broadcasts: number;
  pings: number;
  notClosed: number;
  latency: Percentiles;
  idleLatency: Percentiles;
  ownLag: Percentiles;
}

interface Percentiles {
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** The figures of one runtime's soak, as stored in the JSON and rendered in the markdown. */
export interface SoakResult {
  runtime: Runtime;
  version: string;
  date: string;
  params: {
    durationS: number;
    connections: number;
    churnPerS: number;
    echoRate: number;
    probes: number;
    heartbeatMs: number;
    publishMs: number;
    driver: string;
  };
  base: { fds: number; heapUsed: number; rss: number };
  peak: { fds: number; heapUsed: number; rss: number; clients: number; lagMaxMs: number };
  final: { fds: number; heapUsed: number; rss: number; clients: number };
  deliveries: number;
  bulk: DriverSummary;
  probe: DriverSummary;
  gcForced: boolean;
  checks: Array<{ what: string; ok: boolean; detail: string }>;
  pass: boolean;
}

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function serverCommand(rt: Runtime): { cmd: string[]; env: Record<string, string> } {
  const server = `${BENCH}/soak_server.mjs`;
  if (rt === "deno") {
    return {
      cmd: [DENO, "run", "-A", "--v8-flags=--expose-gc", server],
      env: { WSDRIVER_MODULE: `file://${ROOT}/mod.ts` },
    };
  }
  if (rt === "bun") {
    return { cmd: [BUN, server], env: { WSDRIVER_MODULE: `file://${ROOT}/mod.ts` } };
  }
  return {
    cmd: ["node", "--expose-gc", server],
    env: { WSDRIVER_MODULE: `file://${ROOT}/npm/esm/mod.js` },
  };
}

async function runtimeVersion(rt: Runtime): Promise<string> {
  const bin = rt === "deno" ? DENO : rt === "bun" ? BUN : "node";
  return (await sh(`${bin} --version`)).split("\n")[0];
}

async function soak(rt: Runtime, o: Options): Promise<SoakResult> {
  const churn = o.churn ?? Math.max(1, Math.round(o.connections * 0.005));
  const { cmd, env } = serverCommand(rt);
  const server = new Proc(cmd, 0, {
    ...env,
    SOAK_HEARTBEAT_MS: String(o.heartbeat),
    SOAK_PUBLISH_MS: String(o.publish),
  });
  const procs: Proc[] = [server];
  try {
    const port = Number((await server.waitLine(/^listening on (\d+)/, 30_000))[1]);
    let latest: ServerFigures | undefined;
    const onStats = (line: string) => {
      if (line.startsWith("stats ")) latest = JSON.parse(line.slice(6));
    };
    const gcFigures = async (): Promise<ServerFigures> => {
      await server.write("gc");
      return JSON.parse((await server.waitLine(/^gc (.*)$/, 30_000, onStats))[1]);
    };
    await new Promise((r) => setTimeout(r, 2000));
    const b = await gcFigures();
    const base = { fds: countFds(server.pid), heapUsed: b.heapUsed, rss: b.rss };
    console.log(
      `soak ${rt}: server on port ${port}, baseline ${base.fds} fds, heap ${MiB(base.heapUsed)}, ` +
        `RSS ${MiB(base.rss)}; ${o.connections} connections for ${o.duration} s`,
    );

    const driver = (role: string, conns: number, cpu: number | undefined, extra: string[]) => {
      const script = `${BENCH}/soak_driver.ts`;
      const argv = [
        ...["--port", String(port), "--role", role, "--conns", String(conns)],
        ...["--churn", String(churn), "--echo-rate", String(o.echoRate), ...extra],
      ];
      const c = o.driver === "deno" ? [DENO, "run", "-A", script, ...argv] : [BUN, script, ...argv];
      const p = new Proc(c, cpu);
      procs.push(p);
      return p;
    };
    // The probe starts alone: its first IDLE_S seconds measure the machine's floor. It is not
    // pinned, so that it does not queue behind the bulk driver on core 1.
    const probe = driver("probe", o.probes, undefined, [
      ...["--duration", String(o.duration + IDLE_S), "--idle", String(IDLE_S)],
    ]);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const bulk = driver("bulk", o.connections, 1, ["--duration", String(o.duration)]);

    const peak = { fds: base.fds, heapUsed: 0, rss: 0, clients: 0, lagMaxMs: 0 };
    const summaries = new Map<Proc, DriverSummary>();
    let lastBulk: Record<string, number> = {}, lastProbe: Record<string, number> = {};
    const started = Date.now();
    const deadline = started + (o.duration + 60) * 1000;
    let nextReport = started + Math.max(10_000, o.duration * 100);
    while ((!bulk.exited || !probe.exited) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      peak.fds = Math.max(peak.fds, countFds(server.pid));
      for (const line of server.take()) onStats(line);
      if (latest) {
        peak.heapUsed = Math.max(peak.heapUsed, latest.heapUsed);
        peak.rss = Math.max(peak.rss, latest.rss);
        peak.clients = Math.max(peak.clients, latest.clients);
        peak.lagMaxMs = Math.max(peak.lagMaxMs, latest.lagMaxMs);
      }
      for (
        const [p, set] of [[bulk, (x: Record<string, number>) => (lastBulk = x)], [
          probe,
          (x: Record<string, number>) => (lastProbe = x),
        ]] as const
      ) {
        for (const line of p.take()) {
          if (line.startsWith("stats ")) set(JSON.parse(line.slice(6)));
          else if (line.startsWith("summary ")) summaries.set(p, JSON.parse(line.slice(8)));
        }
      }
      if (server.exited) throw new Error(`the ${rt} server exited: ${server.errTail}`);
      if (Date.now() >= nextReport) {
        nextReport += Math.max(10_000, o.duration * 100);
        console.log(
          `  ${Math.round((Date.now() - started) / 1000)} s: ${lastBulk.open} open ` +
            `(${lastBulk.opened} opened), server: ${latest?.clients} clients, ` +
            `${countFds(server.pid)} fds, heap ${MiB(latest?.heapUsed ?? 0)}, RSS ` +
            `${
              MiB(latest?.rss ?? 0)
            }, lag ≤ ${latest?.lagMaxMs} ms; echo p99 ${lastProbe.p99} ms ` +
            `(probe), ${lastBulk.p99} ms (bulk); ${lastBulk.broadcasts} broadcasts received`,
        );
      }
    }
    for (const p of [bulk, probe]) {
      if (!summaries.has(p)) {
        throw new Error(`a driver printed no summary (exited: ${p.exited}): ${p.errTail}`);
      }
    }

    // The load has stopped: wait for the server to let go of every client, then settle.
    const gone = Date.now() + 30_000;
    while (Date.now() < gone && (latest?.clients ?? 1) > 0) {
      await server.waitLine(/^stats /, 5000).then((m) => onStats(m.input));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const f = await gcFigures();
    const final = {
      fds: countFds(server.pid),
      heapUsed: f.heapUsed,
      rss: f.rss,
      clients: f.clients,
    };
    const bulkS = summaries.get(bulk)!, probeS = summaries.get(probe)!;

    const checks = [
      {
        what: `fds back within ${FD_MARGIN} of the baseline`,
        ok: final.fds <= base.fds + FD_MARGIN,
        detail: `${base.fds} → ${final.fds} (peak ${peak.fds})`,
      },
      {
        what: `heap back within ${MiB(HEAP_MARGIN)} of the baseline`,
        ok: final.heapUsed <= base.heapUsed + HEAP_MARGIN,
        detail: `${MiB(base.heapUsed)} → ${MiB(final.heapUsed)} (peak ${MiB(peak.heapUsed)})`,
      },
      {
        what: `probe echo p99 < ${P99_LIMIT_MS} ms`,
        ok: probeS.latency.samples > 0 && probeS.latency.p99 < P99_LIMIT_MS,
        detail: `p99 ${probeS.latency.p99} ms over ${probeS.latency.samples} round trips`,
      },
      {
        what: "every client gone from the server",
        ok: final.clients === 0 && bulkS.notClosed + probeS.notClosed === 0,
        detail: `server.clients ${final.clients}, driver sockets left ${
          bulkS.notClosed + probeS.notClosed
        }`,
      },
      {
        what: "no healthy connection dropped, no handshake refused",
        ok: bulkS.unexpectedCloses + probeS.unexpectedCloses + bulkS.handshakeFailures +
            probeS.handshakeFailures === 0,
        detail: `${bulkS.unexpectedCloses + probeS.unexpectedCloses} dropped, ` +
          `${bulkS.handshakeFailures + probeS.handshakeFailures} handshakes failed`,
      },
    ];
    return {
      runtime: rt,
      version: await runtimeVersion(rt),
      date: new Date().toISOString(),
      params: {
        durationS: o.duration,
        connections: o.connections,
        churnPerS: churn,
        echoRate: o.echoRate,
        probes: o.probes,
        heartbeatMs: o.heartbeat,
        publishMs: o.publish,
        driver: `${o.driver} (${await runtimeVersion(o.driver)})`,
      },
      base,
      peak,
      final,
      deliveries: f.deliveries,
      bulk: bulkS,
      probe: probeS,
      gcForced: f.gc === true,
      checks,
      pass: checks.every((c) => c.ok),
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function render(results: SoakResult[]): string {
  const rows = (f: (r: SoakResult) => string) => results.map(f).join(" | ");
  const line = (label: string, f: (r: SoakResult) => string) => `| ${label} | ${rows(f)} |`;
  const out = [
    "# Soak test",
    "",
    "Written by `bench/soak.ts` (`npm run soak`; see [README.md](README.md#soak-test)). A wsdriver",
    "server with heartbeats on, under many connections with churn (clean closes, FINs, resets,",
    "clients that stop answering pings), broadcasts and echo traffic; the load drivers run in",
    "separate processes. Figures per runtime, each from its own run (date and parameters below).",
    "",
    `| | ${results.map((r) => r.runtime).join(" | ")} |`,
    `| --- | ${results.map(() => "---").join(" | ")} |`,
    line("result", (r) => (r.pass ? "**pass**" : "**FAIL**")),
    line("date (UTC)", (r) => r.date.slice(0, 16).replace("T", " ")),
    line("runtime", (r) => r.version),
    line("duration", (r) => `${r.params.durationS} s`),
    line("connections held", (r) => String(r.params.connections)),
    line("churn", (r) => `${r.params.churnPerS}/s (${r.bulk.opened} opened in all)`),
    line(
      "heartbeat / publish period",
      (r) => `${r.params.heartbeatMs} ms / ${r.params.publishMs} ms`,
    ),
    line("dropped by heartbeat (mute clients)", (r) => String(r.bulk.droppedMute)),
    line(
      "broadcast deliveries (server / received)",
      (r) => `${r.deliveries} / ${r.bulk.broadcasts}`,
    ),
    line("echo messages (bulk, sent / answered)", (r) => `${r.bulk.echoSent} / ${r.bulk.echoRecv}`),
    line(
      "**echo p50 / p99 / max, probe**",
      (r) => `${r.probe.latency.p50} / **${r.probe.latency.p99}** / ${r.probe.latency.max} ms`,
    ),
    line(
      "echo p50 / p99, probe, idle server first (machine floor)",
      (r) => `${r.probe.idleLatency.p50} / ${r.probe.idleLatency.p99} ms`,
    ),
    line(
      "probe's own timer lag p99 / max",
      (r) => `${r.probe.ownLag.p99} / ${r.probe.ownLag.max} ms`,
    ),
    line(
      "echo p50 / p99, bulk (driver-side lag included)",
      (r) => `${r.bulk.latency.p50} / ${r.bulk.latency.p99} ms`,
    ),
    line("server event-loop lag, worst", (r) => `${r.peak.lagMaxMs} ms`),
    line(
      "**fds: baseline → peak → after**",
      (r) => `${r.base.fds} → ${r.peak.fds} → **${r.final.fds}**`,
    ),
    line(
      "**heap: baseline → peak → after**",
      (r) => `${MiB(r.base.heapUsed)} → ${MiB(r.peak.heapUsed)} → **${MiB(r.final.heapUsed)}**`,
    ),
    line(
      "RSS: baseline → peak → after",
      (r) => `${MiB(r.base.rss)} → ${MiB(r.peak.rss)} → ${MiB(r.final.rss)}`,
    ),
    line("driver", (r) => r.params.driver),
    "",
    "Checks (all must hold):",
    "",
  ];
  for (const r of results) {
    out.push(`- ${r.runtime}:`);
    for (const c of r.checks) out.push(`  - ${c.ok ? "ok" : "**FAILED**"}: ${c.what}: ${c.detail}`);
  }
  out.push(
    "",
    "Heap is `process.memoryUsage().heapUsed` after a forced collection (`gc()` with",
    "`--expose-gc` on Node and Deno, `Bun.gc(true)`), fds the entries of `/proc/PID/fd`; both",
    "measured 2 s after the server started (baseline) and 3 s after its last client left. RSS is",
    "shown but not judged: allocators keep freed pages.",
    "",
  );
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------

const o = parseOptions(Deno.args);
hasTaskset = (await sh("command -v taskset")) !== "" && navigator.hardwareConcurrency >= 2;
const limit = Number(await sh(`${ULIMIT}; ulimit -n`)) || 1024;
if (limit < o.connections + 1000) {
  console.error(
    `soak: open files limit ${limit} < ${o.connections} connections + 1000; use --connections ` +
      `${Math.max(100, limit - 1000)} or raise the hard limit`,
  );
  Deno.exit(2);
}
if (o.only.includes("node")) {
  try {
    Deno.statSync(`${ROOT}/npm/esm/mod.js`);
  } catch {
    console.error("soak: Node runs the npm build: run `npm run build` first (npm run soak does)");
    Deno.exit(2);
  }
}

const jsonPath = o.out.replace(/\.md$/, "") + ".json";
let stored: SoakResult[] = [];
try {
  stored = JSON.parse(Deno.readTextFileSync(jsonPath));
} catch { /* first run */ }

let failed = false;
for (const rt of o.only) {
  let r: SoakResult;
  try {
    r = await soak(rt, o);
  } catch (e) {
    console.error(`soak ${rt}: ${(e as Error).message}`);
    failed = true;
    continue;
  }
  for (const c of r.checks) console.log(`  ${c.ok ? "ok" : "FAILED"}: ${c.what}: ${c.detail}`);
  console.log(`soak ${rt}: ${r.pass ? "pass" : "FAIL"}`);
  failed ||= !r.pass;
  stored = [...stored.filter((s) => s.runtime !== rt), r];
  const order: Runtime[] = ["deno", "bun", "node"];
  stored.sort((a, b) => order.indexOf(a.runtime) - order.indexOf(b.runtime));
  Deno.writeTextFileSync(jsonPath, JSON.stringify(stored, null, 2) + "\n");
  Deno.writeTextFileSync(o.out, render(stored));
}
console.log(`soak: results in ${o.out}`);
Deno.exit(failed ? 1 : 0);
