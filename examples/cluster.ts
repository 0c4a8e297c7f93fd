/**
 * One process per core on one port, sharing topics through Redis: a relay where a client on
 * `/NAME` joins topic NAME and every message it sends reaches every member of NAME, whichever
 * process the kernel gave each connection to. Deno and Bun share the port with `reusePort`
 * (SO_REUSEPORT, Linux); Node with `node:cluster` (run the npm build's copy of this file there).
 *
 * ```sh
 * redis-server --port 6379 &
 * PORT=8080 REDIS_URL=redis://127.0.0.1:6379 deno run -A examples/cluster.ts
 * PORT=8080 bun examples/cluster.ts
 * ```
 *
 * @module
 */

import { spawn } from "node:child_process";
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { serve } from "../mod.ts";
import { redisBackplane } from "../redis.ts";

const port = Number(process.env.PORT ?? 8080);
const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const workers = Number(process.env.WORKERS ?? availableParallelism());
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const isWorker = runtime === "node" ? cluster.isWorker : process.env.WSDRIVER_WORKER !== undefined;

if (!isWorker) {
  // The primary only starts the workers and stops them when it is stopped.
  const stops: Array<() => void> = [];
  for (let i = 0; i < workers; i++) {
    if (runtime === "node") {
      const w = cluster.fork();
      stops.push(() => w.kill("SIGTERM"));
    } else {
      const script = fileURLToPath(import.meta.url);
      const args = runtime === "deno" ? ["run", "-A", script] : [script];
      const child = spawn(process.execPath, args, {
        env: { ...process.env, WSDRIVER_WORKER: String(i) },
        stdio: "inherit",
      });
      stops.push(() => child.kill("SIGTERM"));
    }
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      for (const stop of stops) stop();
      process.exit(0);
    });
  }
} else {
  const backplane = redisBackplane({ url: redis });
  backplane.on("down", () => console.error(`worker ${process.pid}: redis down, local only`));
  backplane.on("up", () => console.error(`worker ${process.pid}: redis up`));
  const server = await serve({
    port,
    hostname: "127.0.0.1",
    reusePort: runtime !== "node",
    backplane,
  }, (ws) => {
    const topic = ws.request!.path.slice(1) || "lobby";
    ws.subscribe(topic);
    ws.on("message", (data) => server.publish(topic, data));
  });
  process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
  console.log(`worker ${process.pid} listening on ${server.url}`);
}
