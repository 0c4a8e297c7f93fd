/**
 * The report's "Machine and versions" and "Method" sections: what was measured, on what, how.
 *
 * @module
 */

import { host, run } from "./run_proc.ts";
import { BUN, DENO, NODE, ROOT } from "./run_servers.ts";

export async function versions(): Promise<Record<string, string>> {
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

export async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const mem = /MemTotal:\s+(\d+)/.exec(await Deno.readTextFile("/proc/meminfo"))?.[1];
  return {
    cores: (await run(["nproc"])).out,
    cpu: model,
    memory: mem ? `${(Number(mem) / 1024 / 1024).toFixed(1)} GiB` : "unknown",
    "open files limit": String(host.fdLimit),
    pinning: host.hasTaskset ? "taskset: server on core 0, load generator on core 1" : "none",
  };
}

/** What the method's text depends on. */
export interface MethodOptions {
  statsCost: boolean;
  warmup: number;
  duration: number;
  runs: number;
}

export function method(o: MethodOptions): Record<string, string> {
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
      "fresh server process per measurement. In the permessage-deflate scenarios " +
      "(`BENCH_DEFLATE=1`) wsdriver runs `deflate: true`, `ws` `perMessageDeflate: true` and " +
      "`Bun.serve` `perMessageDeflate: true`, each with its defaults; Deno's own WebSocket has " +
      "no compression, so Deno's deflate row has no peer. In the TLS scenarios every server " +
      "serves `wss:` with the same self-signed P-256 certificate, made by `openssl req` at the " +
      "start of the run: wsdriver with `tls: { cert, key }`, `ws` on `node:https`, " +
      "`Deno.serve({ cert, key })`, `Bun.serve({ tls })`.",
    "load generator":
      "`bench/loadgen.c`, one thread, epoll (edge-triggered), non-blocking sockets, built " +
      "with `gcc -O2`. It does the opening handshake itself (fixed key; checks the 101, " +
      "`Upgrade`, `Connection` and the accept value), masks every frame with a fresh key, and " +
      "validates every frame it receives: no RSV bits, no mask, minimal lengths, no " +
      "fragmentation, the opcode (text stays text, binary binary), the exact payload and the " +
      "order (each payload carries its sequence number). Any error fails the measurement. " +
      "It writes once per connection per batch of events. With permessage-deflate it offers " +
      "`permessage-deflate; client_max_window_bits`, requires the server to accept it, " +
      "compresses every message it sends (zlib level 1, the window allowed, reset after each " +
      "message when told `client_no_context_takeover`) and inflates every compressed message " +
      "it receives (reset after each under `server_no_context_takeover`) before validating it; " +
      "the server may answer any message uncompressed; without context takeover it " +
      "compresses each numbered message once for all connections and inflates each distinct " +
      "compressed message once (comparing the rest byte for byte). With TLS it speaks OpenSSL " +
      "over the same non-blocking sockets and epoll loop (TLS 1.3 ciphers in a browser's " +
      "order, read-ahead), without checking the certificate.",
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
      "again: KiB per connection = difference / 10,000; permessage-deflate: 100 connections " +
      "keeping 8 messages in flight each, text of 1–4 KiB (the size varies per message, the " +
      "same every run) cut from a generated JSON-like event log (records with varied ids, " +
      "names, amounts and tags: compressible as an API's traffic, not trivially), msgs/s, " +
      "and the server's memory per connection under that load: VmRSS when the measured window " +
      "ends minus VmRSS before the load generator connected (0.5 s after the server started), " +
      "÷ 100; TLS: 100 connections × 8 in flight of 32 B text, and 1 MiB binary × 2 in flight " +
      "on 1 connection; latency under load: the broadcast scenario (500 on `/broadcast`, 64 " +
      "B, ≤ 32 in flight) plus one connection on `/` sending 32 B text one at a time, whose " +
      "round trip p50/p99 is the figure (no target yet). The 1 MiB spread is wsdriver's " +
      "slowest run ÷ its fastest (issue 15: ≤ 1.3×; needs at least two runs).",
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
