/**
 * The benchmark's scenarios (what the load generator does, which figure is compared) and the
 * targets they are held to: issue 15's ratios wsdriver ÷ peer, or with `--stats-cost` issue 16's.
 *
 * @module
 */

import type { Runtime } from "./run_servers.ts";

export interface Scenario {
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
  /** The server speaks TLS (a certificate made per run) and the load generator `--tls`. */
  tls?: boolean;
  /** Servers that cannot run it (no permessage-deflate, no TLS): not measured, shown as "–". */
  without?: string[];
  /**
   * Read the server's VmRSS before the load generator connects and once the measured window
   * ends: `kib_per_conn` is the difference ÷ `--conns`.
   */
  rss?: boolean;
  /** Further figures of the load generator kept in each sample (in the JSON, for the record). */
  keep?: string[];
  /** Not measured itself: another figure of scenario `of`'s measurement, in a row of its own. */
  of?: string;
}

export const SCENARIOS: Scenario[] = [
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
  {
    id: "deflate",
    label: "permessage-deflate: 100 conns × 8 in flight, 1–4 KiB JSON-like text",
    unit: "msgs/s",
    better: "higher",
    args: [
      "echo",
      "--conns",
      "100",
      "--inflight",
      "8",
      "--size",
      "1024",
      "--size-max",
      "4096",
      "--json",
      "--deflate",
    ],
    serverEnv: { BENCH_DEFLATE: "1" },
    // Deno's own WebSocket has no permessage-deflate; the C server neither.
    without: ["deno-native", "ref-c"],
    rss: true,
    keep: ["rx_deflated_pct", "server_no_context_takeover", "client_no_context_takeover"],
    metric: (r) => r.msgs_per_s,
  },
  {
    id: "deflate-mem",
    of: "deflate",
    label: "permessage-deflate: server memory per connection, loaded (100 conns)",
    unit: "KiB",
    better: "lower",
    args: [],
    metric: (r) => r.kib_per_conn,
  },
  {
    id: "tls100",
    label: "TLS: 100 conns × 8 in flight, 32 B text",
    unit: "msgs/s",
    better: "higher",
    args: ["echo", "--conns", "100", "--inflight", "8", "--size", "32", "--tls"],
    tls: true,
    without: ["ref-c"],
    metric: (r) => r.msgs_per_s,
  },
  {
    id: "tls1m",
    label: "TLS: 1 MiB binary, 1 conn × 2 in flight",
    unit: "MB/s",
    better: "higher",
    args: ["echo", "--conns", "1", "--inflight", "2", "--size", "1048576", "--binary", "--tls"],
    tls: true,
    without: ["ref-c"],
    metric: (r) => r.mb_per_s,
  },
  {
    id: "latency-load",
    label: "1 conn, 32 B text, one at a time, while broadcasting to 500: round trip p50 / p99",
    unit: "µs",
    better: "lower",
    args: ["broadcast", "--conns", "500", "--inflight", "32", "--size", "64", "--probe"],
    keep: ["deliveries_per_s", "probe_msgs"],
    metric: (r) => r.p50_us,
    extra: (r) => r.p99_us,
  },
];

/** The scenarios measured to show `ids` (a derived row needs its scenario's measurement). */
export function measuredFor(ids: Set<string> | undefined): Scenario[] {
  const wanted = (s: Scenario) =>
    !ids || ids.has(s.id) || SCENARIOS.some((d) => d.of === s.id && ids.has(d.id));
  return SCENARIOS.filter((s) => !s.of && wanted(s));
}

/** The rows read from `sc`'s measurement: itself and the scenarios derived from it. */
export function rowsOf(sc: Scenario): Scenario[] {
  return [sc, ...SCENARIOS.filter((d) => d.of === sc.id)];
}

/** Issue 15's targets: ratio wsdriver / peer, at least (higher is better) or at most (lower). */
const TARGETS: Record<Runtime, Record<string, number>> = {
  node: {
    pipelined: 2.0,
    conns100: 5,
    bin64k: 2.0,
    bin1m: 2.0,
    handshakes: 2.0,
    idle: 0.8,
    broadcast: 25,
    deflate: 2.0,
    "deflate-mem": 0.5,
    tls100: 1.5,
    tls1m: 1.5,
  },
  deno: {
    pipelined: 2.0,
    conns100: 4.5,
    bin64k: 1.2,
    bin1m: 1.2,
    handshakes: 1.0,
    idle: 0.3,
    broadcast: 20,
    tls100: 0.8,
    tls1m: 0.8,
  },
  bun: {
    pipelined: 0.9,
    conns100: 0.8,
    bin64k: 0.9,
    bin1m: 0.8,
    handshakes: 0.9,
    idle: 2,
    broadcast: 1.0,
    deflate: 0.8,
    tls100: 0.8,
    tls1m: 0.8,
  },
};

/**
 * Issue 15: wsdriver's 1 MiB throughput is steady from run to run: its slowest run ÷ its fastest
 * at most this, on every runtime (from the samples of `bin1m`; a figure of wsdriver alone).
 */
export const SPREAD = { of: "bin1m", target: 1.3 } as const;

/** Issue 16: the counters cost under 3 % in every scenario. */
export const STATS_COST_MARGIN = 0.03;

/** The ratio `sc` must reach on `rt`: issue 15's target, or with `--stats-cost` issue 16's. */
export function targetOf(rt: Runtime, sc: Scenario, statsCost: boolean): number | undefined {
  if (statsCost) return sc.better === "higher" ? 1 - STATS_COST_MARGIN : 1 + STATS_COST_MARGIN;
  return TARGETS[rt][sc.id];
}

/** Short scenario names for the chart and the stats' cost summary. */
export const CHART_LABELS: Record<string, string> = {
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
  deflate: "deflate, 100 conns",
  "deflate-mem": "deflate, memory per conn",
  tls100: "TLS, 100 conns × 8",
  tls1m: "TLS, 1 MiB binary",
  "latency-load": "latency p50 under load",
};
