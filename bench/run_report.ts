/**
 * The benchmark's results (the JSON) and their report: the markdown tables and the SVG chart.
 *
 * @module
 */

import { type ChartPanel, ratioChart } from "./chart.ts";
import type { Sample } from "./run_measure.ts";
import {
  CHART_LABELS,
  type Scenario,
  SCENARIOS,
  SPREAD,
  STATS_COST_MARGIN,
  targetOf,
} from "./run_scenarios.ts";
import type { Runtime, ServerSpec } from "./run_servers.ts";

export interface RuntimeResult {
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

export interface Results {
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

export function fmt(x: number | undefined): string {
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

function fmtRatio(r: number | undefined, digits = 2): string {
  return r === undefined ? "–" : `${r >= 10 ? r.toFixed(1) : r.toFixed(digits)}×`;
}

function meets(better: Scenario["better"], r: number | undefined, target: number | undefined) {
  if (r === undefined || target === undefined) return "";
  return (better === "higher" ? r >= target : r <= target) ? "✓" : "✗";
}

/** "≥ 2×" or "≤ 0.5×"; "–" without a target. */
function bound(better: Scenario["better"], target: number | undefined): string {
  return target === undefined ? "–" : `${better === "higher" ? "≥" : "≤"} ${target}×`;
}

/** Slowest ÷ fastest of a server's runs of SPREAD.of (undefined under two runs). */
function spreadOf(samples: Sample[] | undefined): number | undefined {
  const xs = (samples ?? []).flatMap((s) =>
    s.error === undefined && s.value !== undefined && s.value > 0 ? [s.value] : []
  );
  return xs.length < 2 ? undefined : Math.max(...xs) / Math.min(...xs);
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

/**
 * Who the report compares with whom: wsdriver (or, with `--floor`, the minimal JavaScript server)
 * with the peers, a baseline build, or itself with stats off.
 */
export interface View {
  statsCost: boolean;
  floor: boolean;
  peers: ServerSpec[];
  titles: Record<Runtime, string>;
}

/** The server measured against the peer on `rt`: wsdriver, or the floor with `--floor`. */
function oursOf(view: View, rt: Runtime): string {
  return view.floor ? `floor-${rt}` : `wsdriver-${rt}`;
}

function peerOf(view: View, rt: Runtime): ServerSpec {
  return view.peers.find((s) => s.runtime === rt)!;
}

/** The summary's columns in the layout of issue 15's targets; "spread" is SPREAD's figure. */
const SUMMARY: Array<[string, string[]]> = [
  ["1 conn ×64 in flight", ["pipelined"]],
  ["100 conns", ["conns100"]],
  ["64 KiB / 1 MiB", ["bin64k", "bin1m"]],
  ["1 MiB run-to-run spread", ["spread"]],
  ["handshakes/s", ["handshakes"]],
  ["idle KiB/conn", ["idle"]],
  ["broadcast 500 subs", ["broadcast"]],
  ["deflate msgs/s / KiB/conn", ["deflate", "deflate-mem"]],
  ["TLS 100 conns / 1 MiB", ["tls100", "tls1m"]],
];

function intro(view: View): string[] {
  if (view.statsCost) {
    return [
      "# wsdriver: what the stats cost",
      "",
      "Generated by `deno run -A bench/run.ts --stats-cost`; see the method below. Each " +
      "runtime's wsdriver server against the same build with `stats: false` (no counters, " +
      "neither the server's nor its sockets'), in the same run. Ratios are stats on ÷ stats off; ✓: the counters cost " +
      `under ${STATS_COST_MARGIN * 100} % (throughput ≥ ${1 - STATS_COST_MARGIN}×, latency ` +
      `and memory ≤ ${1 + STATS_COST_MARGIN}×).`,
      "",
    ];
  }
  if (view.floor) {
    return [
      "# The floor: what any JavaScript server reaches",
      "",
      "Generated by `deno run -A bench/run.ts --floor`; see the method below. Each runtime's " +
      "minimal JavaScript WebSocket server (`bench/servers/floor.mjs`: the protocol work every " +
      "server pays for, on the runtime's own sockets, and nothing else) against the runtime's " +
      "usual server, in the same run. Ratios are minimal JS ÷ peer against issue 15's " +
      "targets: ✓ shows that a JavaScript server on that runtime can meet the target on this " +
      "machine; ✗ that the least a server can do misses it too (a floor only where nothing " +
      "faster is known: compare wsdriver's own figure in RESULTS.md). With permessage-deflate it " +
      "compresses as `Bun.serve` does (no context takeover either way, level 6: each message " +
      "on its own, with the fastest one-shot call of the runtime, libdeflate on Bun).",
      "",
    ];
  }
  return [
    "# wsdriver benchmarks",
    "",
    "Generated by `npm run bench` (`deno run -A bench/run.ts`); see the method below. Each " +
    "runtime's section says when it was measured. Ratios are wsdriver / peer, measured in " +
    "the same run; for latency and memory lower is better. Targets are issue 15's.",
    "",
  ];
}

function summary(res: Results, scenarios: Scenario[], view: View): string[] {
  const out: string[] = [];
  const rts = (["node", "deno", "bun"] as const).filter((r) => res.runtimes[r]);
  const digits = view.statsCost ? 3 : 2; // a 3 % question needs a third digit
  // Every scenario for issue 16's summary.
  const cols: Array<[string, string[]]> = view.statsCost
    ? scenarios.map((sc) => [CHART_LABELS[sc.id] ?? sc.id, [sc.id]])
    : SUMMARY;
  out.push(
    view.statsCost
      ? `## Summary: stats on ÷ stats off (✓: under ${STATS_COST_MARGIN * 100} %)`
      : "## Summary: ratio against the peer (issue 15's target in brackets)",
    "",
  );
  out.push(`| runtime | ${cols.map((c) => c[0]).join(" | ")} |`);
  out.push(`|---|${cols.map(() => "---").join("|")}|`);
  for (const rt of rts) {
    const r = res.runtimes[rt]!;
    const cells = cols.map(([, ids]) => {
      if (ids[0] === "spread") {
        const w = spreadOf(r.samples[oursOf(view, rt)]?.[SPREAD.of]);
        return `${fmtRatio(w)} ${meets("lower", w, SPREAD.target)} (≤ ${SPREAD.target}×)`;
      }
      const found = ids.map((id) => SCENARIOS.find((s) => s.id === id)!);
      const ratios = found.map((sc) => {
        if (!scenarios.includes(sc)) return "–";
        const w = summarize(r.samples[oursOf(view, rt)]?.[sc.id]);
        const p = summarize(r.samples[peerOf(view, rt).id]?.[sc.id]);
        const q = ratio(w.value, p.value);
        return `${fmtRatio(q, digits)} ${meets(sc.better, q, targetOf(rt, sc, view.statsCost))}`
          .trim();
      }).join(" / ");
      if (view.statsCost) return ratios;
      const bounds = found.map((sc) => bound(sc.better, targetOf(rt, sc, false)));
      return `${ratios} (${bounds.filter((v, i, a) => a.indexOf(v) === i).join(" / ")})`;
    });
    out.push(`| ${view.titles[rt]} | ${cells.join(" | ")} |`);
  }
  out.push("");
  return out;
}

function runtimeSection(rt: Runtime, r: RuntimeResult, scenarios: Scenario[], view: View) {
  const out: string[] = [];
  const peer = peerOf(view, rt);
  const digits = view.statsCost ? 3 : 2;
  out.push(`## ${view.titles[rt]}`, "");
  out.push(
    `Measured ${r.date}${r.quick ? " (**quick run**: 1 short run, not for comparison)" : ""}` +
      `, ${r.runs} run${r.runs > 1 ? "s" : ""} of ${r.warmup} s warm-up + ${r.duration} s` +
      `, medians. Load average at start / end: ${r.loadavg.start} / ${r.loadavg.end}.`,
    "",
  );
  for (const n of r.notes ?? []) out.push(`- ${n}`);
  if (r.notes?.length) out.push("");
  const ours = view.statsCost ? "stats on" : view.floor ? "minimal JS" : "wsdriver";
  out.push(
    `| scenario | unit | ${ours} | ${peer.label} | ratio | target | ` +
      `CPU % ${ours} run | CPU % ${peer.label} run |`,
  );
  out.push("|---|---|---|---|---|---|---|---|");
  for (const sc of scenarios) {
    const w = summarize(r.samples[oursOf(view, rt)]?.[sc.id]);
    const p = summarize(r.samples[peer.id]?.[sc.id]);
    const q = ratio(w.value, p.value);
    const t = targetOf(rt, sc, view.statsCost);
    out.push(
      `| ${sc.label} | ${sc.unit} | ${cell(sc, w)} | ${cell(sc, p)} | ${fmtRatio(q, digits)} | ` +
        `${bound(sc.better, t)} ${meets(sc.better, q, t)} | ${cpus(w)} | ${cpus(p)} |`,
    );
    if (sc.id === SPREAD.of && !view.statsCost) {
      const ws = spreadOf(r.samples[oursOf(view, rt)]?.[sc.id]);
      const ps = spreadOf(r.samples[peer.id]?.[sc.id]);
      out.push(
        `| ${sc.label}: slowest ÷ fastest run (the target is wsdriver's own) | × | ` +
          `${fmtRatio(ws)} | ${fmtRatio(ps)} | – | ≤ ${SPREAD.target}× ` +
          `${meets("lower", ws, SPREAD.target)} | | |`,
      );
    }
  }
  out.push("");
  const further: string[] = [];
  for (const sc of scenarios.filter((s) => s.keep || s.rss)) {
    for (const spec of [oursOf(view, rt), peer.id]) {
      const info = (r.samples[spec]?.[sc.id] ?? []).flatMap((s) => s.info ? [s.info] : []);
      const keys = [...new Set(info.flatMap((i) => Object.keys(i)))];
      if (!keys.length) continue;
      const figures = keys.map((k) =>
        `${k} ${fmt(median(info.flatMap((i) => i[k] === undefined ? [] : [i[k]])))}`
      );
      further.push(`- ${sc.id}, ${spec}: ${figures.join(", ")}`);
    }
  }
  if (further.length) out.push("Further figures (medians):", "", ...further, "");
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
  return out;
}

function headroom(res: Results, scenarios: Scenario[], view: View): string[] {
  const ref = res.runtimes.ref;
  if (!ref) return [];
  const rts = (["node", "deno", "bun"] as const).filter((r) => res.runtimes[r]);
  const out: string[] = [];
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
    // Memory, and what the C server does not speak (TLS, permessage-deflate).
    if (sc.args[0] === "idle" || sc.of || sc.without?.includes("ref-c")) continue;
    const c = summarize(ref.samples["ref-c"]?.[sc.id]);
    let best: number | undefined, bestName = "";
    for (const rt of rts) {
      for (const id of [oursOf(view, rt), peerOf(view, rt).id]) {
        const v = summarize(res.runtimes[rt]!.samples[id]?.[sc.id]).value;
        if (v === undefined) continue;
        if (best === undefined || (sc.better === "higher" ? v > best : v < best)) {
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
  return out;
}

/** The report as markdown: summary, a section per runtime, headroom, machine and method. */
export function render(res: Results, scenarios: Scenario[], view: View): string {
  const rts = (["node", "deno", "bun"] as const).filter((r) => res.runtimes[r]);
  const out = [...intro(view), ...summary(res, scenarios, view)];
  for (const rt of rts) out.push(...runtimeSection(rt, res.runtimes[rt]!, scenarios, view));
  out.push(...headroom(res, scenarios, view));
  out.push("## Machine and versions", "");
  for (const [k, v] of Object.entries(res.machine)) out.push(`- ${k}: ${v}`);
  for (const [k, v] of Object.entries(res.versions)) out.push(`- ${k}: ${v}`);
  out.push("", "## Method", "");
  for (const [k, v] of Object.entries(res.method)) out.push(`- **${k}**: ${v}`);
  out.push("");
  return out.join("\n");
}

/** The scenarios `res` has figures for, in the suite's order. */
export function shownScenarios(res: Results): Scenario[] {
  return SCENARIOS.filter((sc) =>
    Object.values(res.runtimes).some((r) =>
      Object.values(r?.samples ?? {}).some((m) => m?.[sc.id]?.length)
    )
  );
}

/** The ratios of `res` as an SVG chart (see chart.ts). */
export function chart(res: Results, scenarios: Scenario[], view: View): string {
  const rts = (["node", "deno", "bun"] as const).filter((r) => res.runtimes[r]);
  const panels: ChartPanel[] = rts.map((rt) => {
    const r = res.runtimes[rt]!;
    return {
      title: view.titles[rt].replace(/`/g, ""),
      bars: scenarios.map((sc) => ({
        label: CHART_LABELS[sc.id] ?? sc.id,
        ratio: ratio(
          summarize(r.samples[oursOf(view, rt)]?.[sc.id]).value,
          summarize(r.samples[peerOf(view, rt).id]?.[sc.id]).value,
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
