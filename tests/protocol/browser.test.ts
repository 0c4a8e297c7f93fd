/**
 * The protocol core loads in a browser: the built `wsdriver/protocol` entry (npm/esm/protocol.js)
 * runs a frame round trip in headless Chromium, where there is no `node:*` module at all. Also
 * checks the source rule behind it: nothing in src/protocol/ imports `node:*`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";

describe("the protocol core outside server runtimes", () => {
  it("no module in src/protocol/ imports node:*", () => {
    const dir = join(ROOT, "src", "protocol");
    const offenders = readdirSync(dir).filter((f) => f.endsWith(".ts")).filter((f) =>
      /^\s*(import|export)[^;]*from\s*["']node:/m.test(readFileSync(join(dir, f), "utf8"))
    );
    assert.deepEqual(offenders, []);
  });

  // Chromium is driven from a Node child process: one run of this covers it, under deno test.
  const skip = thisRuntime() !== "deno" && "runs under deno test";
  it("wsdriver/protocol runs a frame round trip in Chromium", { skip }, async () => {
    const esm = join(ROOT, "npm", "esm");
    const missing = !existsSync(CHROMIUM)
      ? "Chromium is missing: apt-get install -y chromium"
      : !existsSync(join(esm, "protocol.js"))
      ? "npm/esm/protocol.js is missing: run `npm run build` first"
      : undefined;
    if (missing) {
      if (process.env.CI === "true") throw new Error(missing);
      console.warn(`\n!!! SKIPPING the Chromium protocol test: ${missing} !!!\n`);
      return;
    }
    const driver = spawn("node", [join(ROOT, "tests", "protocol", "browser_driver.mjs"), esm], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    driver.stdout!.on("data", (b: Uint8Array) => (out += new TextDecoder().decode(b)));
    const code = await withTimeout(
      new Promise<number | null>((r) => driver.on("close", r)),
      60_000,
      "the Chromium driver",
    ).catch((err) => {
      driver.kill("SIGKILL");
      throw err;
    });
    assert.equal(code, 0, out);
    const result = JSON.parse(out.trim().split("\n").pop()!);
    assert.match(result.userAgent, /Chrom/);
    assert.equal(result.hasProcess, "undefined", "a browser, not a server runtime");
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.got, ["frame true 1", "echo:héllo from Chromium"]);
  });
});
