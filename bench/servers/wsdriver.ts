/**
 * wsdriver bench server for Deno and Bun (Node: `wsdriver_node.mjs`, the same on the npm build).
 * `/` echoes each message as the same type; `/broadcast` relays every message to every client on
 * `/broadcast` through `server.publish`, which encodes the frame once. Prints `listening on PORT`.
 * `BENCH_DEFLATE=1` accepts permessage-deflate; `BENCH_TLS_CERT` and `BENCH_TLS_KEY` (PEM files)
 * serve `wss:`.
 *
 * ```sh
 * deno run -A bench/servers/wsdriver.ts [port]
 * bun bench/servers/wsdriver.ts [port]
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { serve, type Server } from "../../mod.ts";

const port = Number(process.argv[2] ?? 0);
// `run.ts` serves wss: for its TLS scenarios (a self-signed certificate it makes per run).
const cert = process.env.BENCH_TLS_CERT, key = process.env.BENCH_TLS_KEY;
const server: Server = await serve(
  {
    port,
    hostname: "127.0.0.1",
    heartbeat: false,
    deflate: process.env.BENCH_DEFLATE === "1",
    tls: cert && key
      ? { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") }
      : undefined,
    // `run.ts --stats-cost` measures this build against itself with its counters off.
    stats: process.env.WSDRIVER_BENCH_STATS !== "off",
  },
  (ws) => {
    if (ws.request?.path === "/broadcast") {
      ws.subscribe("b");
      ws.on("message", (data) => server.publish("b", data));
    } else {
      ws.on("message", (data) => ws.send(data));
    }
  },
);
console.log(`listening on ${server.port}`);
// Exit cleanly on SIGTERM (the runner stops servers so), so that --cpu-prof writes its profile.
process.on("SIGTERM", () => process.exit(0));
