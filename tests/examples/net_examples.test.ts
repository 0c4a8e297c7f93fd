/**
 * The README's examples for proxies, redirects, unix sockets and the browser client: each is run
 * as its own process on this file's runtime and must print what it promises and exit 0.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";

const EXAMPLES: Array<[file: string, expected: RegExp]> = [
  ["unix_socket.ts", /^\/chat got hello$/m],
  ["redirect.ts", /^welcome to \/new at ws:\/\/127\.0\.0\.1:\d+\/new$/m],
  ["proxy.ts", /^echo: through the proxy via \[ "?'?127\.0\.0\.1:\d+"?'? \]$/m],
  ["browser_client.ts", /^hello, browser$/m],
];

/** Runs an example; resolves with its exit code and output. */
function run(file: string): Promise<{ code: number | null; out: string }> {
  const runtime = thisRuntime();
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  const args = runtime === "deno" ? ["run", "-A", file] : [file];
  const child = spawn(bin, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Uint8Array) => out += new TextDecoder().decode(b));
  child.stderr!.on("data", (b: Uint8Array) => out += new TextDecoder().decode(b));
  return withTimeout(
    new Promise<{ code: number | null; out: string }>((resolve) =>
      child.on("exit", (code) => resolve({ code, out }))
    ),
    20_000,
    `examples/${file} to exit`,
  ).finally(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
}

describe("network examples", () => {
  // The examples are TypeScript files run as they are: Deno and Bun run them; Node 20 cannot.
  const skip = thisRuntime() === "node" && "Node does not run .ts files";
  for (const [file, expected] of EXAMPLES) {
    it(`examples/${file}`, { skip, timeout: 30_000 }, async () => {
      const { code, out } = await run(join("examples", file));
      assert.equal(code, 0, out);
      assert.match(out, expected);
    });
  }
});
