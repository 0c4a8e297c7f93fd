/**
 * Every TypeScript snippet in README.md is a complete file under examples/: the snippet's first
 * line names the file and the runtimes it runs on, its text is the file's, and the file runs to
 * a clean exit on this runtime when it is one of them (Node runs the npm build's copy,
 * npm/esm/examples/, from `npm run build`).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";

const HEADER = /^\/\/ examples\/([\w-]+)\.ts: runs on ([a-z, ]+)$/;

const snippets = [
  ...readFileSync(join(ROOT, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
]
  .map((m) => m[1]);

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
  child.stderr!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, out }))
  );
  return withTimeout(done, 20_000, `${args.join(" ")} to exit`).catch((err) => {
    child.kill("SIGKILL");
    throw err;
  });
}

describe("README snippets", () => {
  it("every ts snippet is a whole examples/ file that says where it runs", () => {
    assert.ok(snippets.length >= 9, `only ${snippets.length} snippets found`);
    for (const snippet of snippets) {
      const m = snippet.split("\n", 1)[0].match(HEADER);
      assert.ok(m, `snippet without an "// examples/NAME.ts: runs on ..." line:\n${snippet}`);
      const file = readFileSync(join(ROOT, "examples", `${m[1]}.ts`), "utf8");
      assert.equal(snippet, file, `README's snippet differs from examples/${m[1]}.ts`);
    }
  });

  const runtime = thisRuntime();
  for (const snippet of snippets) {
    const m = snippet.split("\n", 1)[0].match(HEADER);
    if (!m) continue;
    const [, name, on] = m;
    const runtimes = on.split(",").map((r) => r.trim());
    const skip = !runtimes.includes(runtime) && `runs on ${on} only`;
    it(`examples/${name}.ts runs on ${runtime}`, { skip }, async () => {
      let cmd: string, args: string[];
      if (runtime === "deno") {
        [cmd, args] = [join(ROOT, "node_modules", ".bin", "deno"), [
          "run",
          "-A",
          `examples/${name}.ts`,
        ]];
      } else if (runtime === "bun") {
        [cmd, args] = [join(ROOT, "node_modules", ".bin", "bun"), [`examples/${name}.ts`]];
      } else {
        const built = join(ROOT, "npm", "esm", "examples", `${name}.js`);
        if (!existsSync(built)) {
          const msg = `${built} is missing: run \`npm run build\` first`;
          if (process.env.CI === "true") throw new Error(msg);
          console.warn(`\n!!! SKIPPING examples/${name}.ts on Node: ${msg} !!!\n`);
          return;
        }
        [cmd, args] = [process.execPath, [built]];
      }
      const { code, out } = await run(cmd, args);
      assert.equal(code, 0, out);
      assert.notEqual(out.trim(), "", "an example shows what it did");
    });
  }
});
