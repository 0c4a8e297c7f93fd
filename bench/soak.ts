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
 * Options: `--duration D` (measured load per runtime, after the ramp-up: `600`, `30s`, `10m`;
 * default 10m), `--connections N` (default 10000), `--only deno,bun,node`, `--churn N`
 * (connections replaced a second, default 0.5 % of N), `--echo-rate N` (echo messages a second
 * over the bulk connections, default 1000), `--probes N` (latency probe connections, default 10),
 * `--heartbeat MS` (server heartbeat interval and timeout, default 5000; 0 turns them off, to tell their cost apart), `--publish MS` (server
 * broadcast period, default 1000), `--driver deno|bun` (runtime of the load drivers, default bun),
 * `--pin` (server on core 0, bulk driver on core 1, with `taskset`: for a quiet machine),
 * `--out FILE` (default bench/SOAK.md; the figures also go to the `.json` next to it, and
 * `--only` keeps the other runtimes' figures there).
 *
 * Per runtime: the server (`soak_server.mjs`) runs in its own process, and two driver processes
 * (`soak_driver.ts`): `probe` measures the echo round trip, first 10 s against the idle server
 * (the machine's floor), then while `bulk` opens its connections (the ramp), then for `--duration`
 * seconds of load once all are open; `bulk` holds the connections, with churn and echo traffic.
 * The runner samples `/proc/PID/fd` and the server's own memory figures every second, and asks
 * the server to collect garbage before the baseline and the final sample.
 *
 * Pass criteria (exit code 1 if any fails): after the load stops and every client is gone, open
 * fds within {@link FD_MARGIN} of the baseline and heap within {@link HEAP_MARGIN}; probe p99
 * round trip under {@link P99_LIMIT_MS} during the load; the server still running; all
 * connections opened within {@link RAMP_LIMIT_S} s; no healthy connection dropped by the server,
 * no handshake refused, every connection closed by the end.
 *
 * @module
 */

import {
  countFds,
  killChildrenOnSignals,
  machineBusy,
  Proc,
  processBusy,
  sh,
  ULIMIT,
} from "./soak_proc.ts";
import { type DriverSummary, MiB, render, type Runtime, type SoakResult } from "./soak_report.ts";

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
/** Longest wait for every bulk connection to be open before the measured load starts anyway. */
const RAMP_LIMIT_S = 180;
/** Probe echo round trip p99 limit. */
const P99_LIMIT_MS = 20;

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
  pin: boolean;
  out: string;
}

const USAGE = `usage: deno run -A bench/soak.ts [--duration 10m] [--connections 10000]
  [--only deno,bun,node] [--churn N] [--echo-rate N] [--probes N] [--heartbeat MS]
  [--publish MS] [--driver deno|bun] [--pin] [--out FILE]`;

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
    heartbeat: 5000,
    publish: 1000,
    driver: "bun",
    pin: false,
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
    else if (a === "--pin") o.pin = true;
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
// One runtime

interface ServerFigures {
  rss: number;
  heapUsed: number;
  clients: number;
  lagMaxMs: number;
  publishMsMax: number;
  deliveries: number;
  closeCodes: Record<string, number>;
  errorCodes: Record<string, number>;
  gc?: boolean;
}

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
  const v = (await sh(`${bin} --version`)).split("\n")[0];
  return v.startsWith(rt) ? v : `${rt} ${v}`;
}

async function soak(rt: Runtime, o: Options): Promise<SoakResult> {
  const churn = o.churn ?? Math.max(1, Math.round(o.connections * 0.005));
  const loadavg1 = Deno.loadavg()[0];
  const { cmd, env } = serverCommand(rt);
  const server = new Proc(cmd, o.pin ? 0 : undefined, {
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

    const driver = (role: string, conns: number, cpu: number | undefined) => {
      const script = `${BENCH}/soak_driver.ts`;
      const argv = [
        ...["--port", String(port), "--role", role, "--conns", String(conns)],
        ...["--churn", String(churn), "--echo-rate", String(o.echoRate)],
      ];
      const c = o.driver === "deno" ? [DENO, "run", "-A", script, ...argv] : [BUN, script, ...argv];
      const p = new Proc(c, cpu);
      procs.push(p);
      return p;
    };

    const peak = { fds: base.fds, heapUsed: 0, rss: 0, clients: 0, lagMaxMs: 0, publishMsMax: 0 };
    const summaries = new Map<Proc, DriverSummary>();
    let lastBulk: Record<string, number> = {}, lastProbe: Record<string, number> = {};
    const started = Date.now();
    let nextReport = started + 10_000;
    const every = Math.max(10_000, o.duration * 100);
    /** Samples everything once a second for `seconds`, or until `until()` holds. */
    const watch = async (seconds: number, until: () => boolean = () => false) => {
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end && !until()) {
        await new Promise((r) => setTimeout(r, 1000));
        peak.fds = Math.max(peak.fds, countFds(server.pid));
        for (const line of server.take()) onStats(line);
        if (latest) {
          peak.heapUsed = Math.max(peak.heapUsed, latest.heapUsed);
          peak.rss = Math.max(peak.rss, latest.rss);
          peak.clients = Math.max(peak.clients, latest.clients);
          peak.lagMaxMs = Math.max(peak.lagMaxMs, latest.lagMaxMs);
          peak.publishMsMax = Math.max(peak.publishMsMax, latest.publishMsMax);
        }
        for (const p of procs.slice(1)) {
          for (const line of p.take()) {
            const stats = line.startsWith("stats ") ? JSON.parse(line.slice(6)) : undefined;
            if (stats && p !== probe) lastBulk = stats;
            else if (stats) lastProbe = stats;
            else if (line.startsWith("summary ")) summaries.set(p, JSON.parse(line.slice(8)));
          }
        }
        if (server.exited) throw new Error(`the ${rt} server exited: ${server.errTail}`);
        if (Date.now() >= nextReport) {
          nextReport += every;
          console.log(
            `  ${Math.round((Date.now() - started) / 1000)} s: ${lastBulk.open ?? 0} open ` +
              `(${lastBulk.opened ?? 0} opened), server: ${latest?.clients} clients, ` +
              `${countFds(server.pid)} fds, heap ${MiB(latest?.heapUsed ?? 0)}, RSS ` +
              `${MiB(latest?.rss ?? 0)}, lag ≤ ${latest?.lagMaxMs} ms; echo p99 ` +
              `${lastProbe.p99} ms (probe, this phase), ${lastBulk.p99 ?? "-"} ms (bulk)`,
          );
        }
      }
    };

    // The probe starts alone (the machine's floor); it is not pinned, so that it does not queue
    // behind the bulk driver. Then the bulk load ramps up; the measured load starts once every
    // connection is open.
    const probe = driver("probe", o.probes, undefined);
    await watch(IDLE_S);
    await probe.write("phase ramp");
    const bulk = driver("bulk", o.connections, o.pin ? 1 : undefined);
    const rampStart = Date.now();
    await watch(RAMP_LIMIT_S, () => (lastBulk.open ?? 0) >= o.connections);
    const rampS = Math.round((Date.now() - rampStart) / 100) / 10;
    const ramped = (lastBulk.open ?? 0) >= o.connections;
    console.log(`  ramp: ${lastBulk.open} of ${o.connections} open after ${rampS} s`);
    await probe.write("phase load");
    const cpu0 = [processBusy(server.pid), processBusy(bulk.pid) + processBusy(probe.pid)];
    const machine0 = machineBusy(), load0 = Date.now();
    await watch(o.duration);
    const secs = (Date.now() - load0) / 1000;
    const pct = (jiffies: number) => Math.round(jiffies / secs);
    const cpu = {
      server: pct(processBusy(server.pid) - cpu0[0]),
      drivers: pct(processBusy(bulk.pid) + processBusy(probe.pid) - cpu0[1]),
      machine: pct(machineBusy() - machine0),
      cores: navigator.hardwareConcurrency,
    };
    for (const p of [bulk, probe]) await p.write("stop");
    await watch(60, () => summaries.size === 2);
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
        what: `all ${o.connections} connections open within ${RAMP_LIMIT_S} s`,
        ok: ramped,
        detail: `${rampS} s`,
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
      serverCloses: f.closeCodes ?? {},
      serverErrors: f.errorCodes ?? {},
      rampS,
      cpu,
      loadavg: loadavg1,
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

const o = parseOptions(Deno.args);
killChildrenOnSignals();
const hasTaskset = (await sh("command -v taskset")) !== "" && navigator.hardwareConcurrency >= 2;
if (o.pin && !hasTaskset) usage("--pin needs taskset and two cores");
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
  // As `deno fmt` would write them, so that `npm run check` passes with the results committed.
  await new Deno.Command(DENO, { args: ["fmt", "-q", o.out, jsonPath] }).output();
}
console.log(`soak: results in ${o.out}`);
Deno.exit(failed ? 1 : 0);
