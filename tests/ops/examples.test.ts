/** The README's operations examples run as complete programs and exit 0. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";

function run(file: string): Promise<{ code: number | null; out: string }> {
  const rt = thisRuntime();
  const [cmd, ...args] = rt === "bun"
    ? [join(ROOT, "node_modules", ".bin", "bun"), file]
    : [join(ROOT, "node_modules", ".bin", "deno"), "run", "-A", file];
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
  child.stderr!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
  return withTimeout(
    new Promise<{ code: number | null; out: string }>((resolve) =>
      child.on("exit", (code) => resolve({ code, out }))
    ),
    60_000,
    `${file} to exit`,
  ).finally(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
}

describe("operations examples", () => {
  // The examples import mod.ts: Deno and Bun run them as they are (Node has no TypeScript).
  const skip = thisRuntime() === "node" && "runs under deno and bun";
  it("examples/ops_stats.ts", { skip, timeout: 60_000 }, async () => {
    const { code, out } = await run("examples/ops_stats.ts");
    assert.equal(code, 0, out);
    assert.match(out, /^open 127\.0\.0\.1 \/echo$/m);
    assert.match(out, /^wsdriver_messages_received_total\{resource="\/echo"\} 3$/m);
  });
  it("examples/ops_limits.ts", { skip, timeout: 60_000 }, async () => {
    const { code, out } = await run("examples/ops_limits.ts");
    assert.equal(code, 0, out);
    assert.match(out, /^limited: messages pause 127\.0\.0\.1$/m);
    assert.match(out, /^4th connection: 429$/m);
  });
});
