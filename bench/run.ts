/**
 * The wsdriver benchmark suite (issues 7 and 15): wsdriver against the WebSocket server each
 * runtime is usually compared with (`ws` on Node, `Deno.upgradeWebSocket` on Deno, `Bun.serve` on
 * Bun), on the same machine in the same run, driven by a load generator written in C
 * (`loadgen.c`).
 *
 * ```sh
 * npm run bench                          # build the npm package, then the full suite
 * deno run -A bench/run.ts               # full suite: 3 runs, medians -> bench/RESULTS.md
 * deno run -A bench/run.ts --quick       # 1 short run -> bench/.build/RESULTS.quick.md
 * deno run -A bench/run.ts --only node   # rerun one runtime (deno, bun, node, ref; a,b)
 * ```
 *
 * Options: `--quick`, `--only LIST`, `--scenarios LIST` (ids: `--help`), `--runs N`,
 * `--duration S`, `--warmup S`, `--out FILE` (markdown; the JSON goes next to it),
 * `--no-ref` (skip the C reference server), `--build-npm` (run `npm run build` first),
 * `--profile` (run the Node servers with `node --cpu-prof`, one directory per measurement
 * under bench/.build/profiles/; summarise with `deno run -A bench/profile.ts DIR_OR_FILE`;
 * Deno 2.9 and Bun have no `--cpu-prof`), `--render-only` (rewrite the markdown and the chart
 * from the JSON, measuring nothing), `--baseline DIR` (instead of the peers, measure the wsdriver
 * of another checkout in DIR, e.g. an older commit with its npm build, to compare two builds),
 * `--stats-cost` (instead of the peers, measure this build with `stats: false`, the servers told by
 * `WSDRIVER_BENCH_STATS=off`: what the server's counters cost, issue 16 -> bench/STATS_COST.md),
 * `--floor` (instead of wsdriver, measure `servers/floor.mjs`, a minimal JavaScript server: which
 * of issue 15's targets any JavaScript server reaches on each runtime -> bench/FLOOR.md),
 * `--vs-floor` (instead of the peers, measure that minimal server: what wsdriver costs above it).
 *
 * A full run also draws the ratios as an SVG chart next to the markdown (`bench/chart.svg`).
 *
 * This file is the command line and the run's order; the rest is in `run_servers.ts` (the
 * servers), `run_scenarios.ts` (scenarios and targets), `run_proc.ts` (child processes, /proc),
 * `run_measure.ts` (one measurement), `run_report.ts` (results, markdown, chart) and
 * `run_method.ts` (the report's machine, versions and method).
 *
 * Every server runs in a fresh process per measurement, pinned to core 0 with `taskset`, and the
 * load generator to core 1. Every child process is killed at the end, also on error or Ctrl-C.
 *
 * @module
 */

import { measure, type MeasureContext, type Sample } from "./run_measure.ts";
import { machine, method, versions } from "./run_method.ts";
import { host, killAll, run, sleep } from "./run_proc.ts";
import {
  chart,
  fmt,
  render,
  type Results,
  type RuntimeResult,
  shownScenarios,
  type View,
} from "./run_report.ts";
import { measuredFor, rowsOf, SCENARIOS } from "./run_scenarios.ts";
import {
  baselineServers,
  BENCH,
  BUILD,
  DENO,
  floorServers,
  NODE,
  npm,
  ROOT,
  type Runtime,
  RUNTIME_NAME,
  RUNTIME_TITLE,
  SERVERS,
  statsOffServers,
} from "./run_servers.ts";

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
  floor: boolean;
  vsFloor: boolean;
}

const USAGE = `usage: deno run -A bench/run.ts [--quick] [--only deno,bun,node,ref]
  [--scenarios ID,...] [--runs N] [--duration S] [--warmup S] [--out FILE] [--no-ref]
  [--build-npm] [--profile] [--render-only] [--baseline DIR | --stats-cost | --floor | --vs-floor]`;

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
    floor: false,
    vsFloor: false,
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
    else if (a === "--floor") o.floor = true;
    else if (a === "--vs-floor") o.vsFloor = true;
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
  if (Number(!!o.baseline) + Number(o.statsCost) + Number(o.floor) + Number(o.vsFloor) > 1) {
    usage("--baseline, --stats-cost, --floor and --vs-floor exclude each other");
  }
  // Two builds (or settings) are compared, or the floor measured: the C server's ceiling is beside
  // the point.
  if (!o.ref || o.baseline || o.statsCost || o.floor || o.vsFloor) o.only.delete("ref");
  return o;
}

function usage(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  Deno.exit(2);
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(sig, () => {
    console.error(`\nbench: ${sig}, stopping every child process`);
    killAll();
    if (npm.snapshot) {
      try {
        Deno.removeSync(npm.snapshot.replace(/\/npm-esm$/, ""), { recursive: true });
      } catch { /* already gone */ }
    }
    Deno.exit(130);
  });
}

/** Copies npm/esm (mod.js and src/) to npm.snapshot and checks that Node can import it. */
async function snapshotNpm(): Promise<boolean> {
  npm.snapshot = `${await Deno.makeTempDir({ prefix: "wsdriver-bench-" })}/npm-esm`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) await sleep(3000);
    await Deno.remove(npm.snapshot, { recursive: true }).catch(() => {});
    await Deno.mkdir(npm.snapshot, { recursive: true });
    const cp = await run([
      "cp",
      "-r",
      `${ROOT}/npm/esm/mod.js`,
      `${ROOT}/npm/esm/src`,
      npm.snapshot,
    ]);
    if (cp.code !== 0) continue;
    const ok = await run([
      NODE,
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(`file://${npm.snapshot}/mod.js`)}); ` +
      `if (typeof m.serve !== "function") process.exit(1);`,
    ]);
    if (ok.code === 0) return true;
  }
  return false;
}

async function writeReport(
  res: Results,
  view: View,
  mdPath: string,
  jsonPath: string,
  chartPath?: string,
): Promise<void> {
  await Deno.writeTextFile(jsonPath, JSON.stringify(res, null, 1) + "\n");
  await Deno.writeTextFile(mdPath, render(res, shownScenarios(res), view));
  if (chartPath) await Deno.writeTextFile(chartPath, chart(res, shownScenarios(res), view));
  // Formatted as `deno fmt` wants them (npm run check checks every file in the repository).
  const f = await run([DENO, "fmt", "--quiet", mdPath, jsonPath, ...chartPath ? [chartPath] : []]);
  if (f.code !== 0) console.error(`bench: deno fmt: ${f.out}`);
}

/** A self-signed certificate for the TLS scenarios, made once per run. */
async function makeCertificate(): Promise<{ cert: string; key: string } | undefined> {
  const cert = `${BUILD}/tls-cert.pem`, key = `${BUILD}/tls-key.pem`;
  const r = await run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "7",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  if (r.code !== 0) {
    console.error(`bench: openssl could not make a certificate:\n${r.out}`);
    return undefined;
  }
  return { cert, key };
}

async function main(): Promise<number> {
  const o = parseOptions(Deno.args);
  const report = o.statsCost ? "STATS_COST" : o.floor ? "FLOOR" : "RESULTS";
  const mdPath = o.out ??
    (o.baseline
      ? `${BUILD}/BASELINE.md`
      : o.vsFloor
      ? `${BUILD}/VS_FLOOR.md`
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
  // Who is compared with whom: wsdriver (or the floor) with the peers, a baseline build, itself
  // with stats off, or the floor.
  const view: View = {
    statsCost: o.statsCost,
    floor: o.floor,
    peers: SERVERS.filter((s) => s.role === "peer"),
    titles: { ...RUNTIME_TITLE },
  };
  const retitle = (title: (rt: Runtime, name: string) => string) => {
    for (const rt of ["node", "deno", "bun"] as const) {
      view.titles[rt] = title(rt, RUNTIME_NAME[rt]);
    }
  };
  if (o.floor) {
    retitle((rt, name) => `${name}: minimal JS server vs ${RUNTIME_TITLE[rt].split(" vs ")[1]}`);
  } else if (o.vsFloor) {
    view.peers = floorServers("peer");
    retitle((_, name) => `${name}: wsdriver vs the minimal JS server`);
  } else if (o.baseline) {
    view.peers = baselineServers(o.baseline);
    retitle((rt) => `${rt}: this build vs the baseline`);
  } else if (o.statsCost) {
    view.peers = statsOffServers();
    retitle((_, name) => `${name}: stats on ÷ off`);
  }
  if (o.renderOnly) {
    const res = JSON.parse(await Deno.readTextFile(jsonPath)) as Results;
    res.method = method({ ...o, ...res.runtimes.node ?? res.runtimes.deno ?? res.runtimes.bun });
    await writeReport(res, view, mdPath, jsonPath, chartPath);
    console.error(`bench: wrote ${mdPath} from ${jsonPath}`);
    return 0;
  }
  await Deno.mkdir(BUILD, { recursive: true });
  host.hasTaskset = (await run(["sh", "-c", "command -v taskset"])).code === 0 &&
    navigator.hardwareConcurrency >= 2;
  const hard = (await run(["sh", "-c", "ulimit -Hn"])).out;
  host.fdLimit = hard === "unlimited" ? 65536 : Number(hard) || 1024;
  if (host.fdLimit < 10_500) {
    console.error(`bench: open files hard limit is ${host.fdLimit}: the idle scenario uses fewer`);
  }

  // The load generator speaks permessage-deflate (zlib) and TLS (OpenSSL) itself.
  const libs: Record<string, string[]> = { loadgen: ["-lz", "-lssl", "-lcrypto"], refserver: [] };
  for (const [name, lib] of Object.entries(libs)) {
    const b = await run(["gcc", "-O2", "-o", `${BUILD}/${name}`, `${BENCH}/${name}.c`, ...lib]);
    if (b.code !== 0) {
      console.error(`bench: building ${name} failed:\n${b.out}`);
      return 1;
    }
  }

  if (o.only.has("node") && !o.floor) {
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

  const scenarios = measuredFor(o.scenarios);
  const rts = (["node", "deno", "bun", "ref"] as const).filter((r) => o.only.has(r));
  const all = o.floor
    ? [...floorServers("wsdriver"), ...SERVERS.filter((s) => s.role !== "wsdriver")]
    : o.baseline || o.statsCost || o.vsFloor
    ? [...SERVERS.filter((s) => s.role === "wsdriver"), ...view.peers]
    : SERVERS;
  const servers = all.filter((s) => rts.includes(s.runtime));
  // The C server is a throughput ceiling: its memory use says nothing about the harness, and it
  // speaks neither TLS nor permessage-deflate; Deno's own WebSocket has no permessage-deflate.
  const runs = (spec: (typeof servers)[number], sc: (typeof scenarios)[number]) =>
    !(spec.role === "ref" && sc.args[0] === "idle") && !sc.without?.includes(spec.id);
  const profileDir = o.profile ? `${BUILD}/profiles` : undefined;
  if (profileDir) await Deno.mkdir(profileDir, { recursive: true });
  const tls = scenarios.some((sc) => sc.tls) ? await makeCertificate() : undefined;
  if (scenarios.some((sc) => sc.tls) && !tls) return 1;

  const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  const started = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const avgStart = loadavg();
  const samples: Record<string, Record<string, Sample[]>> = {};
  const total = o.runs *
    scenarios.reduce((n, sc) => n + servers.filter((spec) => runs(spec, sc)).length, 0);
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
        let pair = servers.filter((s) => s.runtime === rt && runs(s, sc));
        if (run % 2 === 1) pair = pair.reverse();
        for (const spec of pair) {
          const ctx: MeasureContext = {
            warmup: o.warmup,
            duration: o.duration,
            profileDir: profileDir && `${profileDir}/${spec.id}.${sc.id}.${run + 1}`,
            tls,
          };
          const got = await measure(spec, sc, ctx);
          done++;
          if (got[sc.id].error) failures++;
          for (const row of rowsOf(sc)) {
            const s = got[row.id];
            ((samples[spec.id] ??= {})[row.id] ??= []).push(s);
            const shown = s.error
              ? `ERROR ${s.error.split("\n")[0].slice(0, 300)}`
              : `${fmt(s.value)}${s.extra !== undefined ? ` / ${fmt(s.extra)}` : ""} ` +
                `${row.unit} (CPU % server ${fmt(s.serverCpu)}, loadgen ${fmt(s.loadgenCpu)}, ` +
                `other ${fmt(s.otherCpu)})`;
            console.error(
              `[${String(done).padStart(3)}/${total}] run ${run + 1} ${row.id.padEnd(10)} ` +
                `${spec.id.padEnd(14)} ${shown}`,
            );
            if (s.error) break; // the same error for every row
          }
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
    const mine: RuntimeResult["samples"] = {};
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
  await writeReport(res, view, mdPath, jsonPath, chartPath);
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
  if (npm.snapshot) await Deno.remove(npm.snapshot.replace(/\/npm-esm$/, ""), { recursive: true });
}
Deno.exit(code);
