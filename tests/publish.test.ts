/**
 * The JSR package: `deno publish --dry-run` succeeds without warnings and would publish only the
 * library (src/, the entry points, cli.ts, README, LICENSE and deno.json itself). Runs under Deno,
 * the runtime that publishes it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import process from "node:process";
import { ROOT, thisRuntime } from "./_helpers.ts";

const ALLOWED =
  /^(src\/.*\.ts|(mod|protocol|rpc|node|deno|bun|raw|redis|browser|cli)\.ts|README\.md|LICENSE|deno\.json)$/;

describe("deno publish --dry-run", () => {
  if (thisRuntime() !== "deno") {
    it("runs under Deno only (it is Deno's publisher)", () => {});
    return;
  }
  it("passes without warnings and publishes only the library", () => {
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "deno"), [
      "publish",
      "--dry-run",
      "--allow-dirty",
      "--no-check=remote",
    ], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, out);
    assert.doesNotMatch(out, /warning/i);
    const prefix = `file://${ROOT}/`;
    const published = out.split("\n").map((l) => l.trim()).filter((l) => l.startsWith(prefix))
      .map((l) => l.slice(prefix.length).replace(/ \(.*\)$/, ""));
    assert.ok(published.includes("mod.ts"), out);
    const stray = published.filter((f) => !ALLOWED.test(f));
    assert.deepEqual(stray, [], `would publish more than the library: ${stray.join(" ")}`);
  });
});
