/**
 * What all the counters cost, measured inside one process: this checkout's server against another
 * checkout's (e.g. the commit before the counters), in alternating rounds under the same load,
 * medians. A complement to `run.ts --baseline DIR`, which measures both builds with the load
 * generator in separate processes; here the noise of a shared machine hits both builds alike. And
 * to `run.ts --stats-cost`, which compares this build with itself with `stats: false` in every
 * scenario on every runtime, but so leaves out each socket's own counts (`ws.traffic()`), which
 * are kept either way; this script measures them too.
 *
 * ```sh
 * git worktree add /tmp/base <commit>   # or: git archive <commit> | tar -x -C /tmp/base
 * deno run -A bench/stats_cost.ts /tmp/base [rounds]
 * bun bench/stats_cost.ts /tmp/base [rounds]
 * ```
 *
 * The client is always this checkout's; only the server differs. Rates are per CPU second of the
 * process (client and server together), which a busy machine disturbs far less than wall time.
 *
 * @module
 */

import process from "node:process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as current from "../mod.ts";

type Lib = typeof current;

const [baseDir, roundsArg] = process.argv.slice(2);
if (!baseDir) {
  console.error("usage: deno run -A bench/stats_cost.ts BASELINE_DIR [rounds]");
  process.exit(2);
}
const baseline = await import(pathToFileURL(resolve(baseDir, "mod.ts")).href) as Lib;
const ROUNDS = Number(roundsArg ?? 41);
const MESSAGES = 40_000;
const IN_FLIGHT = 64;
const SUBSCRIBERS = 50;
const PUBLISHES = 2_000;

function open(url: string): Promise<current.WS> {
  const ws = current.connect(url);
  return new Promise((res, rej) => {
    ws.once("open", () => res(ws));
    ws.once("error", rej);
  });
}

/** Echo, 1 connection keeping IN_FLIGHT messages of 32 B in flight: messages per second. */
async function echo(lib: Lib): Promise<number> {
  const server = await lib.serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
    ws.on("message", (m) => ws.send(m));
  });
  const ws = await open(server.url);
  const msg = "x".repeat(32);
  const t0 = cpuNow();
  await new Promise<void>((done) => {
    let sent = 0, got = 0;
    ws.on("message", () => {
      if (++got === MESSAGES) done();
      else if (sent < MESSAGES) sent++, ws.send(msg);
    });
    for (; sent < IN_FLIGHT; sent++) ws.send(msg);
  });
  const rate = MESSAGES / (cpuNow() - t0);
  ws.close();
  await server.close();
  return rate;
}

/** Broadcast of 64 B to SUBSCRIBERS sockets, PUBLISHES times: deliveries per second. */
async function broadcast(lib: Lib): Promise<number> {
  const server = await lib.serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
    ws.subscribe("b");
  });
  const clients = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => open(server.url)));
  const msg = "y".repeat(64);
  const t0 = cpuNow();
  await new Promise<void>((done) => {
    let got = 0, published = 0;
    const total = SUBSCRIBERS * PUBLISHES;
    for (const c of clients) {
      c.on("message", () => {
        if (++got === total) done();
        // Keep a window of publishes in flight, like the load generator does.
        else if (got % SUBSCRIBERS === 0 && published < PUBLISHES) {
          published++;
          server.publish("b", msg);
        }
      });
    }
    for (; published < 32; published++) server.publish("b", msg);
  });
  const rate = SUBSCRIBERS * PUBLISHES / (cpuNow() - t0);
  for (const c of clients) c.close();
  await server.close();
  return rate;
}

/**
 * CPU seconds this process used so far. Rates per CPU second, not per wall second: on a shared
 * machine the wall clock mostly measures the other programs.
 */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
for (const [name, scenario] of [["echo ×64", echo], ["broadcast ×50", broadcast]] as const) {
  await scenario(current); // warm up both builds
  await scenario(baseline);
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternating order, so that neither build always runs right after the other.
    if (i % 2 === 0) a.push(await scenario(current)), b.push(await scenario(baseline));
    else b.push(await scenario(baseline)), a.push(await scenario(current));
  }
  const ma = median(a), mb = median(b);
  // Each round's two measurements ran back to back: their ratio cancels slow drifts of the load.
  const ratios = a.map((x, i) => x / b[i]).sort((x, y) => x - y);
  const paired = median(ratios);
  const q = (p: number) => ratios[Math.round(p * (ratios.length - 1))].toFixed(3);
  console.log(
    `${runtime} ${name}: this build ${Math.round(ma)}, baseline ${Math.round(mb)} per CPU s ` +
      `(medians of ${ROUNDS} rounds), ratio of medians ${(ma / mb).toFixed(3)}, ` +
      `median of paired ratios ${paired.toFixed(3)} (quartiles ${q(0.25)}–${q(0.75)})`,
  );
}
process.exit(0);
