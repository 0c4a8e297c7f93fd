/**
 * The soak test's results (`SoakResult`, stored in SOAK.json) and their markdown (SOAK.md).
 *
 * @module
 */

export type Runtime = "deno" | "bun" | "node";

export interface DriverSummary {
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
  /** All of a bulk driver's round trips; a probe's in the `load` phase. */
  latency: Percentiles;
  /** A probe's round trips by phase: `idle` (no load yet), `ramp` (bulk connecting), `load`. */
  phases: Record<string, Percentiles>;
  ownLag: Percentiles;
}

export interface Percentiles {
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
  peak: {
    fds: number;
    heapUsed: number;
    rss: number;
    clients: number;
    lagMaxMs: number;
    /** The longest single `publish` call (to every bulk connection). */
    publishMsMax: number;
  };
  final: { fds: number; heapUsed: number; rss: number; clients: number };
  deliveries: number;
  /** Server-side `close` events by code, and `error` events by error code, over the whole run. */
  serverCloses: Record<string, number>;
  serverErrors: Record<string, number>;
  /** Seconds until every bulk connection was open (the measured load starts then). */
  rampS: number;
  /** CPU during the measured load, % of one core (the machine has `cores` of them). */
  cpu: { server: number; drivers: number; machine: number; cores: number };
  /** The machine's 1-minute load average when the runtime's soak started. */
  loadavg: number;
  bulk: DriverSummary;
  probe: DriverSummary;
  gcForced: boolean;
  checks: Array<{ what: string; ok: boolean; detail: string }>;
  pass: boolean;
}

export const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** `{ a: 1, b: 2 }` as `a × 1, b × 2` (most first); `-` for none or unknown. */
function table(t: Record<string, number> | undefined): string {
  const e = Object.entries(t ?? {}).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? "-" : e.map(([k, n]) => `${k} × ${n}`).join(", ");
}

/** SOAK.md for `results`, one column per runtime. */
export function render(results: SoakResult[]): string {
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
      "healthy clients dropped by the server",
      (r) => String(r.bulk.unexpectedCloses + r.probe.unexpectedCloses),
    ),
    line("server: closes by code", (r) => table(r.serverCloses)),
    line("server: errors by code", (r) => table(r.serverErrors)),
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
      (r) => `${r.probe.phases.idle?.p50} / ${r.probe.phases.idle?.p99} ms`,
    ),
    line(
      "ramp to all connections: time, probe echo p99 meanwhile",
      (r) => `${r.rampS} s, ${r.probe.phases.ramp?.p99} ms`,
    ),
    line(
      "probe's own timer lag p99 / max",
      (r) => `${r.probe.ownLag.p99} / ${r.probe.ownLag.max} ms`,
    ),
    line(
      "echo p50 / p99, bulk (driver-side lag included)",
      (r) => `${r.bulk.latency.p50} / ${r.bulk.latency.p99} ms`,
    ),
    line(
      "server event-loop lag, worst; longest publish to all",
      (r) => `${r.peak.lagMaxMs} ms; ${r.peak.publishMsMax} ms`,
    ),
    line(
      "CPU under load: server / drivers / whole machine (% of a core)",
      (r) => `${r.cpu.server} / ${r.cpu.drivers} / ${r.cpu.machine} of ${r.cpu.cores * 100}`,
    ),
    line("machine load average (1 min) at the start", (r) => r.loadavg.toFixed(2)),
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
