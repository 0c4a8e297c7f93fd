/**
 * wsdriver bench server for Node, on the npm build (`npm run build` writes `npm/esm/mod.js`);
 * the same server as `wsdriver.ts` (the same environment switches). Prints `listening on PORT`.
 *
 * ```sh
 * node bench/servers/wsdriver_node.mjs [port]
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

// Imported by URL so that type checking and linting bench/ need no npm build. The runner points
// WSDRIVER_MODULE at its own snapshot of the build, so that a rebuild meanwhile cannot disturb it.
const { serve } = await import(
  process.env.WSDRIVER_MODULE ?? new URL("../../npm/esm/mod.js", import.meta.url).href
);

const port = Number(process.argv[2] ?? 0);
const cert = process.env.BENCH_TLS_CERT, key = process.env.BENCH_TLS_KEY;
const server = await serve(
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
