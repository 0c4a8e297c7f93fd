/** The demo's own page in two Chromium tabs: a line typed in one shows in both. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { spawn } from "node:child_process";
import { ROOT, thisRuntime, withTimeout } from "../_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";

function output(
  child: ReturnType<typeof spawn>,
  re: RegExp,
  what: string,
): Promise<RegExpMatchArray> {
  return withTimeout(
    new Promise((resolve) => {
      let out = "";
      child.stdout!.on("data", (b: Uint8Array) => {
        out += new TextDecoder().decode(b);
        const m = out.match(re);
        if (m) resolve(m);
      });
    }),
    30_000,
    what,
  );
}

describe("chat demo in Chromium", () => {
  // Everything runs in child processes (the demo on Deno, Chromium driven from Node): one run
  // of this file covers it, under deno test.
  const skip = thisRuntime() !== "deno" && "runs under deno test";
  it("chats between two pages", { skip }, async () => {
    if (!existsSync(CHROMIUM)) {
      const msg = "Chromium is missing: apt-get install -y chromium";
      if (process.env.CI === "true") throw new Error(msg);
      console.warn(`\n!!! SKIPPING the Chromium chat test: ${msg} !!!\n`);
      return;
    }
    const demo = spawn(join(ROOT, "node_modules", ".bin", "deno"), [
      "run",
      "-A",
      join(ROOT, "examples", "chat.ts"),
    ], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const demoExited = new Promise((r) => demo.on("exit", r));
    try {
      const [, page] = await output(demo, /page:\s+(http:\/\/\S+)/, "the demo to listen");
      const driver = spawn("node", [
        join(ROOT, "tests", "examples", "chat_browser_driver.mjs"),
        page,
      ], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = new Promise<number | null>((r) => driver.on("exit", r));
      try {
        const [line] = await output(driver, /^\[.*\]$/m, "both tabs to show the line");
        const logs = JSON.parse(line) as string[][];
        assert.equal(logs.length, 2);
        for (const log of logs) {
          assert.equal(log[0], "* connected");
          assert.ok(log.includes("hello from tab A"), JSON.stringify(log));
        }
        assert.equal(await withTimeout(exited, 30_000, "the driver to exit"), 0);
      } finally {
        if (driver.exitCode === null) driver.kill("SIGKILL");
        await withTimeout(exited, 10_000, "the driver to exit");
      }
    } finally {
      demo.kill("SIGTERM");
      await withTimeout(demoExited, 10_000, "the demo to exit");
    }
  });
});
