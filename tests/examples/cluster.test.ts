/** examples/cluster.ts: two workers on one port (reusePort) share a topic through Redis. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";
import { Collector } from "../backplane/_collector.ts";
import { redisAvailable, RedisServer } from "../backplane/_redis.ts";
import { freePort } from "../_helpers.ts";

describe("cluster example", () => {
  // The example runs from source (Deno, Bun); Node would run a compiled copy with node:cluster.
  const skip = thisRuntime() === "node" ? "runs under deno and bun" : !redisAvailable();
  it(
    "serves one port from two processes, one topic across both",
    { skip, timeout: 30_000 },
    async () => {
      const redis = await RedisServer.start();
      const port = await freePort();
      const runtime = thisRuntime();
      const script = join(ROOT, "examples", "cluster.ts");
      const bin = join(ROOT, "node_modules", ".bin", runtime);
      const child = spawn(bin, runtime === "deno" ? ["run", "-A", script] : [script], {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), REDIS_URL: redis.url, WORKERS: "2" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "", err = "";
      child.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
      child.stderr!.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
      const exited = new Promise((r) => child.on("exit", r));
      const clients: Collector[] = [];
      try {
        await withTimeout(
          (async () => {
            for (let i = 0; i < 400; i++) {
              const listening = out.match(/listening on/g)?.length ?? 0;
              const up = err.match(/redis up/g)?.length ?? 0;
              if (listening === 2 && up === 2) return;
              await new Promise((r) => setTimeout(r, 50));
            }
          })(),
          20_000,
          "two workers",
        );
        assert.equal(out.match(new RegExp(`listening on ws://127.0.0.1:${port}`, "g"))?.length, 2);
        for (let i = 0; i < 8; i++) {
          clients.push(
            await Collector.open(`ws://127.0.0.1:${port}/room`),
          );
        }
        // Subscribing is asynchronous: repeat until every client, on either worker, has one.
        for (let i = 0; i < 100; i++) {
          clients[0].ws.send(`hello ${i}`);
          const all = clients.map((c) => c.until((m) => m.length > 0, "a message", 50));
          if (await Promise.all(all).then(() => true, () => false)) break;
        }
        for (const c of clients) assert.ok(c.messages.length > 0, "every client got the message");
      } finally {
        for (const c of clients) c.close();
        child.kill("SIGTERM");
        await withTimeout(exited, 10_000, "the example to exit");
        await redis.stop();
      }
    },
  );
});
