/**
 * One measurement: a fresh server process (pinned to core 0), the load generator against it
 * (core 1), and the figures of every row read from it.
 *
 * @module
 */

import {
  host,
  HZ,
  LineReader,
  machineBusy,
  processBusy,
  readRssKiB,
  sleep,
  spawn,
} from "./run_proc.ts";
import { rowsOf, type Scenario } from "./run_scenarios.ts";
import { BUILD, type ServerSpec } from "./run_servers.ts";

export interface Sample {
  value?: number;
  extra?: number;
  /** The load generator's CPU use during the measured window, % of one core. */
  loadgenCpu?: number;
  /** CPU used by other processes on the machine meanwhile, % of one core (noise indicator). */
  otherCpu?: number;
  /** The server's CPU use during the measured window, % of one core (all its threads). */
  serverCpu?: number;
  /** The figures named by the scenario's `keep`, for the record. */
  info?: Record<string, number>;
  error?: string;
}

/** How to measure: the timing, CPU profiles (Node), the TLS certificate. */
export interface MeasureContext {
  warmup: number;
  duration: number;
  profileDir?: string;
  tls?: { cert: string; key: string };
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

/** Measures `sc` on `spec`: a sample for each of its rows (itself and those derived from it). */
export async function measure(
  spec: ServerSpec,
  sc: Scenario,
  ctx: MeasureContext,
): Promise<Record<string, Sample>> {
  const rows = rowsOf(sc);
  let server: RunningServer | undefined;
  try {
    const env: Record<string, string> = { ...sc.serverEnv };
    if (sc.tls) {
      if (!ctx.tls) throw new Error("no TLS certificate");
      env.BENCH_TLS_CERT = ctx.tls.cert;
      env.BENCH_TLS_KEY = ctx.tls.key;
    }
    try {
      server = await startServer(spec, ctx.profileDir, env);
    } catch {
      // One retry: e.g. another process was rebuilding npm/ at that moment.
      await sleep(2000);
      server = await startServer(spec, ctx.profileDir, env);
    }
    let args = [...sc.args];
    if (sc.args[0] === "idle") {
      const conns = Math.max(100, Math.min(10_000, host.fdLimit - 400));
      args = ["idle", "--conns", String(conns), "--warm", "100", ...sc.args.slice(5)];
    }
    const common = [
      "--port",
      String(server.port),
      "--warmup",
      String(ctx.warmup),
      "--duration",
      String(ctx.duration),
      "--timeout",
      "90",
    ];
    let rssBefore = 0;
    if (sc.rss) {
      // Let the fresh process settle before its baseline.
      await sleep(500);
      rssBefore = readRssKiB(server.pid);
    }
    const busy0 = machineBusy(), srv0 = processBusy(server.pid), t0 = performance.now();
    const lg = spawn([`${BUILD}/loadgen`, ...args, ...common], 1, "piped");
    const lgOut = new LineReader(lg.stdout);
    const lgErr = new LineReader(lg.stderr);
    lgErr.drain();
    const killer = setTimeout(() => {
      try {
        lg.kill("SIGKILL");
      } catch { /* gone */ }
    }, (ctx.warmup + ctx.duration + 100) * 1000);
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
          if (sc.rss) {
            // The connections are still open: the load generator waits for the last replies.
            const after = readRssKiB(server.pid);
            const conns = Number(args[args.indexOf("--conns") + 1]);
            results.kib_per_conn = (after - rssBefore) / conns;
            results.rss_before_kib = rssBefore;
            results.rss_after_kib = after;
          }
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
    if (!Number.isFinite(sc.metric(results))) {
      // e.g. the probe beside a broadcast got no echo back within the window
      throw new Error(`the load generator gave no figure: ${JSON.stringify(results)}`);
    }
    const otherCpu = Math.max(0, (busy - srv - (results.cpu_total_s ?? 0)) / wall * 100);
    const keep = [...sc.keep ?? [], ...sc.rss ? ["rss_before_kib", "rss_after_kib"] : []];
    const info = Object.fromEntries(
      keep.filter((k) => typeof results[k] === "number").map((k) => [k, results[k]]),
    );
    return Object.fromEntries(rows.map((row) => [row.id, {
      value: row.metric(results),
      extra: row.extra?.(results),
      loadgenCpu: results.loadgen_cpu_pct,
      serverCpu: results.server_cpu_pct,
      otherCpu,
      ...row === sc && keep.length ? { info } : {},
    }]));
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return Object.fromEntries(rows.map((row) => [row.id, { error }]));
  } finally {
    await server?.stop();
  }
}
