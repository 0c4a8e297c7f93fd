/** The README's client examples run on their own (each starts its own server) and exit 0. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";

const runtime = thisRuntime();
// The examples import ../mod.ts: TypeScript, which Deno and Bun run as is.
const skip = runtime === "node" && "runs under deno test and bun test";

function run(file: string): Promise<{ code: number | null; out: string; err: string }> {
  const bin = join(ROOT, "node_modules", ".bin", runtime === "bun" ? "bun" : "deno");
  const args = runtime === "bun" ? [file] : ["run", "-A", file];
  const child = spawn(bin, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
  child.stderr!.on("data", (b: Uint8Array) => (err += new TextDecoder().decode(b)));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, out, err }))
  );
  return withTimeout(done, 30_000, `${file} to exit`).finally(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
}

const examples: Array<[string, RegExp[]]> = [
  ["examples/reconnecting.ts", [
    /token-1: subscribe\ntoken-1: one\ntoken-2: resubscribe\ntoken-2: two\ntoken-2: three/,
    /attempt 2 in \d+ ms/,
  ]],
  ["examples/websocket_standard.ts", [
    /open, protocol: chat/,
    /message: hello/,
    /close: 1000 {1,2}true/,
  ]],
  ["examples/streams.ts", [/HELLO STREAMS/, /closeCode: 1000/, /"ONE", "TWO", "4194304"/]],
];

describe("client examples", { skip }, () => {
  for (const [file, expected] of examples) {
    it(`${file} exits 0 with the output the README shows`, { timeout: 40_000 }, async () => {
      const { code, out, err } = await run(file);
      assert.equal(code, 0, `exit ${code}; stderr: ${err}`);
      for (const re of expected) assert.match(out, re);
    });
  }
});
