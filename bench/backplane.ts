/**
 * Cross-process broadcast through the Redis backplane (issue 13): a publisher on one relay process,
 * subscribers on three others, against the same subscribers on the publisher's own process
 * without Redis. Deliveries per second (windowed, so the subscribers keep up) and publish→receive
 * latency p50/p99 (one message at a time), written to bench/BACKPLANE.md.
 *
 * ```sh
 * npm run bench:backplane                                 # npm build, then relays on each runtime
 * deno run -A bench/backplane.ts --runtime bun --subs 20  # Bun relays only, 20 subscribers each
 * ```
 *
 * Needs `redis-server` (apt-get install redis-server). The clients run in this (Deno) process.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "../src/client.ts";
import type { WS } from "../src/ws.ts";

const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
const flags = new Map<string, string>();
for (let i = 0; i + 1 < Deno.args.length; i += 2) {
  flags.set(Deno.args[i].slice(2), Deno.args[i + 1]);
}
const RUNTIMES = (flags.get("runtime") ?? "deno,bun,node").split(",");
const SUBS = Number(flags.get("subs") ?? 50);
const MESSAGES = Number(flags.get("messages") ?? 2000);
const WINDOW = Number(flags.get("window") ?? 32);
const LATENCY_SAMPLES = Number(flags.get("samples") ?? 300);
const OUT = flags.get("out") ?? `${ROOT}/bench/BACKPLANE.md`;

const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
};
Deno.addSignalListener("SIGINT", () => {
  cleanup();
  Deno.exit(130);
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitFor(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function relay(runtime: string, redis?: string): Promise<string> {
  const cli = runtime === "node" ? [`${ROOT}/npm/esm/cli.js`] : [`${ROOT}/cli.ts`];
  const cmd = runtime === "deno"
    ? [`${ROOT}/node_modules/.bin/deno`, "run", "-A", ...cli]
    : runtime === "bun"
    ? [`${ROOT}/node_modules/.bin/bun`, ...cli]
    : ["node", ...cli];
  const args = [...cmd.slice(1), "relay", "--port", "0", ...(redis ? ["--redis", redis] : [])];
  const child = spawn(cmd[0], args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "", err = "";
  child.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
  child.stderr!.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
  await waitFor("a relay", () => /listening on/.test(out) && (!redis || /redis up/.test(err)));
  return out.match(/listening on (\S+)/)![1];
}

async function open(url: string, onMessage?: (data: Uint8Array) => void): Promise<WS> {
  const ws = connect(url);
  if (onMessage) ws.on("message", (d) => onMessage(d as Uint8Array));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return ws;
}

interface Result {
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  subscribers: number;
}

/** One measurement: the publisher on `pubUrl`, SUBS subscribers on each of `subUrls`. */
async function measure(pubUrl: string, subUrls: string[]): Promise<Result> {
  const counts: number[] = [];
  const latencies: number[] = [];
  let sampling = false;
  const subs: WS[] = [];
  for (const url of subUrls) {
    for (let i = 0; i < SUBS; i++) {
      const k = counts.push(0) - 1;
      subs.push(
        await open(`${url}/bench`, (d) => {
          counts[k]++;
          if (sampling) {
            latencies.push(performance.now() - new DataView(d.buffer, d.byteOffset).getFloat64(0));
          }
        }),
      );
    }
  }
  const pub = await open(`${pubUrl}/bench`);
  const msg = () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setFloat64(0, performance.now());
    return b;
  };
  // Every subscriber is subscribed on Redis once each has received something.
  await waitFor("subscriptions", () => {
    pub.send(msg());
    return counts.every((c) => c > 0);
  });
  await new Promise((r) => setTimeout(r, 200));
  const base = counts.map((c) => c);
  const least = () => Math.min(...counts.map((c, i) => c - base[i]));
  const t0 = performance.now();
  for (let sent = 0; sent < MESSAGES;) {
    while (sent < MESSAGES && sent - least() < WINDOW) {
      pub.send(msg());
      sent++;
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  await waitFor("every delivery", () => least() >= MESSAGES, 120_000);
  const elapsed = (performance.now() - t0) / 1000;
  const deliveriesPerSecond = (MESSAGES * counts.length) / elapsed;
  sampling = true;
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const before = counts.reduce((a, b) => a + b, 0);
    pub.send(msg());
    await waitFor(
      "a latency sample",
      () => counts.reduce((a, b) => a + b, 0) >= before + counts.length,
    );
  }
  sampling = false;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  for (const ws of [...subs, pub]) ws.terminate();
  return { deliveriesPerSecond, p50: q(0.5), p99: q(0.99), subscribers: counts.length };
}

const redisPort = freePort();
const dir = Deno.makeTempDirSync({ prefix: "wsdriver-bench-redis-" });
const redis = spawn("redis-server", [
  "--port",
  String(redisPort),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "no",
  "--dir",
  dir,
], { stdio: "ignore" });
children.push(redis);
const redisUrl = `redis://127.0.0.1:${redisPort}`;
try {
  await new Promise((r) => setTimeout(r, 300));
  const fmt = (n: number) => n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
  const row = (runtime: string, name: string, r: Result) =>
    `| ${runtime} | ${name} | ${r.subscribers} | ${fmt(r.deliveriesPerSecond)} | ${
      r.p50.toFixed(2)
    } / ${r.p99.toFixed(2)} |`;
  const rows: string[] = [];
  for (const runtime of RUNTIMES) {
    console.log(`relays on ${runtime}, ${SUBS} subscribers per process`);
    const local = await relay(runtime);
    const single = await measure(local, [local, local, local]);
    console.log("single process", single);
    const relays = await Promise.all([0, 1, 2, 3].map(() => relay(runtime, redisUrl)));
    const cross = await measure(relays[0], relays.slice(1));
    console.log("cross process", cross);
    rows.push(row(runtime, "one process, no Redis", single));
    rows.push(row(runtime, "publisher on relay 1, subscribers on relays 2–4, via Redis", cross));
    // This runtime's relays go; Redis stays for the next.
    for (const c of children.splice(1)) c.kill("SIGKILL");
  }
  const node = new TextDecoder().decode(
    new Deno.Command("node", { args: ["--version"] }).outputSync().stdout,
  ).trim();
  const bun = new TextDecoder().decode(
    new Deno.Command(`${ROOT}/node_modules/.bin/bun`, { args: ["--version"] }).outputSync().stdout,
  ).trim();
  const versions = `Deno ${Deno.version.deno}, Bun ${bun}, Node ${node}`;
  const cpu = (Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/) ?? [])[1];
  const md = `# Backplane benchmark

Generated by \`npm run bench:backplane\` (\`deno run -A bench/backplane.ts\`) on
${new Date().toISOString()}: ${versions}; redis-server ${
    new TextDecoder().decode(
      new Deno.Command("redis-server", { args: ["--version"] }).outputSync().stdout,
    ).match(/v=(\S+)/)?.[1]
  }; ${navigator.hardwareConcurrency} cores (${cpu}), shared with other work. The clients (the
publisher and every subscriber) run in the benchmark's own Deno process, so on a small machine they
compete with the relays for the CPU: read the figures as a comparison, not a ceiling.

16-byte binary messages. Throughput: ${MESSAGES} messages with at most ${WINDOW} ahead of the slowest
subscriber. Latency: ${LATENCY_SAMPLES} messages one at a time, publish → receive at every subscriber.

| relays on | setup | subscribers | deliveries/s | latency p50 / p99 (ms) |
| --------- | ----- | ----------- | ------------ | ---------------------- |
${rows.join("\n")}

Through Redis a message costs the publishing process one envelope and one \`PUBLISH\`, Redis one
write per subscribed process, and each receiving process one decode and one frame encoding for all
its subscribers: the per-subscriber cost is the same as in one process; the added latency is the
two hops through Redis.
`;
  Deno.writeTextFileSync(OUT, md);
  // Formatted as the repository's check wants it.
  new Deno.Command(`${ROOT}/node_modules/.bin/deno`, { args: ["fmt", "-q", OUT] }).outputSync();
  console.log(`wrote ${OUT}`);
} finally {
  cleanup();
  Deno.removeSync(dir, { recursive: true });
}
Deno.exit(0);
