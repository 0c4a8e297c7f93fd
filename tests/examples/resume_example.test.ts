/** examples/resume.ts against a private redis-server (REDIS_URL): it resumes after its server restarts. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";
import { redisAvailable, RedisServer } from "../backplane/_redis.ts";

const runtime = thisRuntime();
// The example imports ../mod.ts: TypeScript, which Deno and Bun run as is.
const skip = runtime === "node" ? "runs under deno test and bun test" : !redisAvailable();

describe("resume example", () => {
  it("examples/resume.ts resumes after its server restarts and exits 0", {
    skip,
    timeout: 40_000,
  }, async () => {
    const redis = await RedisServer.start();
    try {
      const bin = join(ROOT, "node_modules", ".bin", runtime);
      const file = join(ROOT, "examples", "resume.ts");
      const child = spawn(bin, runtime === "deno" ? ["run", "-A", file] : [file], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: redis.url },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "", err = "";
      child.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
      child.stderr!.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
      const code = await withTimeout(
        new Promise<number | null>((r) => child.on("exit", r)),
        30_000,
        "examples/resume.ts to exit",
      ).finally(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      assert.equal(code, 0, `exit ${code}; stderr: ${err}`);
      assert.equal(out, "recovered up to offset 5\none two three four five six\n");
    } finally {
      await redis.stop();
    }
  });
});
