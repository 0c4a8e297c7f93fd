/**
 * The soak test's server (run by `bench/soak.ts`), the same on Deno, Bun and Node: wsdriver from
 * `WSDRIVER_MODULE` (`mod.ts` on Deno and Bun, the npm build on Node), heartbeats on with a short
 * interval. `/bulk` clients subscribe to the topic `all` and get their messages echoed; `/probe`
 * clients only get echoes. Every `SOAK_PUBLISH_MS` the server publishes a 64-byte text message to
 * `all`.
 *
 * Prints `listening on PORT`, then one `stats {json}` line a second (RSS, heap, clients, the
 * longest event-loop lag in that second). A `gc` line on stdin collects garbage (where the runtime
 * lets a program do so) and answers with a `gc {json}` line of the same figures.
 *
 * ```sh
 * WSDRIVER_MODULE=file://$PWD/mod.ts deno run -A --v8-flags=--expose-gc bench/soak_server.mjs
 * ```
 *
 * @module
 */

import process from "node:process";

const { serve } = await import(
  process.env.WSDRIVER_MODULE ?? new URL("../npm/esm/mod.js", import.meta.url).href
);

/** Server-side closes by code and errors by code, since the start: why clients went. */
const closeCodes = {}, errorCodes = {};
const count = (table, key) => (table[key] = (table[key] ?? 0) + 1);

const heartbeat = Number(process.env.SOAK_HEARTBEAT_MS ?? 2000);
const publishEvery = Number(process.env.SOAK_PUBLISH_MS ?? 500);

const server = await serve(
  {
    port: 0,
    hostname: "127.0.0.1",
    // 0 turns heartbeats off: only to tell their cost apart (the soak itself runs with them).
    heartbeat: heartbeat > 0 ? { interval: heartbeat, timeout: heartbeat } : false,
  },
  (ws) => {
    if (ws.request?.path === "/bulk") ws.subscribe("all");
    ws.on("error", (e) => count(errorCodes, e?.code ?? "untyped"));
    ws.on("close", (code) => count(closeCodes, code));
    ws.on("message", (data) => {
      if (ws.readyState === "open") ws.send(data);
    });
  },
);

let published = 0, deliveries = 0, publishMsMax = 0;
const publisher = setInterval(() => {
  const text = `b${published++} `.padEnd(64, "x");
  const t = performance.now();
  deliveries += server.publish("all", text);
  // One publish writes to every subscriber in one go: the loop is blocked meanwhile.
  publishMsMax = Math.max(publishMsMax, performance.now() - t);
}, publishEvery);

// Event-loop lag: how late a 10 ms timer fires, the worst in each second.
let lagMax = 0, last = performance.now();
const lagTimer = setInterval(() => {
  const t = performance.now();
  lagMax = Math.max(lagMax, t - last - 10);
  last = t;
}, 10);

function figures() {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    clients: server.clients.size,
    published,
    deliveries,
    lagMaxMs: Math.round(lagMax * 10) / 10,
    publishMsMax: Math.round(publishMsMax * 10) / 10,
    closeCodes,
    errorCodes,
  };
}

const statsTimer = setInterval(() => {
  console.log(`stats ${JSON.stringify(figures())}`);
  lagMax = 0;
}, 1000);

function collectGarbage() {
  const g = globalThis;
  if (typeof g.Bun?.gc === "function") g.Bun.gc(true);
  else if (typeof g.gc === "function") {
    // Twice: the first pass may only queue finalizers and weak callbacks.
    g.gc();
    g.gc();
  }
}

let input = "";
process.stdin.on("data", (chunk) => {
  input += new TextDecoder().decode(chunk);
  let nl;
  while ((nl = input.indexOf("\n")) >= 0) {
    const line = input.slice(0, nl).trim();
    input = input.slice(nl + 1);
    if (line === "gc") {
      collectGarbage();
      console.log(
        `gc ${
          JSON.stringify({
            ...figures(),
            gc: typeof globalThis.gc === "function" || typeof globalThis.Bun?.gc === "function",
          })
        }`,
      );
    }
  }
});

console.log(`listening on ${server.port}`);
process.on("SIGTERM", () => {
  clearInterval(publisher);
  clearInterval(lagTimer);
  clearInterval(statsTimer);
  process.exit(0);
});
