/**
 * The demo in Chromium: two named pages chat, a latecomer sees the history, the dashboard's plot
 * moves, and its screenshot (taken in this run) is not blank.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
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
  ms = 30_000,
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
    ms,
    what,
  );
}

describe("chat demo in Chromium", () => {
  // Everything runs in child processes (the demo on Deno, Chromium driven from Node): one run
  // of this file covers it, under deno test.
  const skip = thisRuntime() !== "deno" && "runs under deno test";
  it("chats between two pages, and the dashboard plots live", { skip }, async () => {
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
      env: { ...process.env, PORT: "0", SAMPLE_INTERVAL: "250" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const shots = mkdtempSync(join(tmpdir(), "wsdriver-shots-"));
    const demoExited = new Promise((r) => demo.on("exit", r));
    try {
      const [, page] = await output(demo, /page:\s+(http:\/\/\S+)/, "the demo to listen");
      const driver = spawn("node", [
        join(ROOT, "tests", "examples", "chat_browser_driver.mjs"),
        page,
        shots,
      ], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = new Promise<number | null>((r) => driver.on("exit", r));
      try {
        const [line] = await output(driver, /^\{.*\}$/m, "the driver's report", 90_000);
        const seen = JSON.parse(line) as {
          logs: string[][];
          members: string[];
          history: string[];
          points: [string, string];
          pixels: { width: number; height: number; colors: number; stddev: number };
          shotsDiffer: boolean;
        };
        assert.equal(seen.logs.length, 2);
        for (const log of seen.logs) {
          assert.ok(log.includes("annhello from ann"), JSON.stringify(log));
        }
        assert.deepEqual([...seen.members].sort(), ["ann", "bob"]);
        assert.ok(seen.history.includes("annhello from ann"), JSON.stringify(seen.history));
        // The plot moved: new samples redrew it.
        assert.ok(seen.points[0].length > 0);
        assert.notEqual(seen.points[0], seen.points[1]);
        // The screenshot shows a page, not a blank: many colours, contrast, and it changed.
        assert.equal(seen.pixels.width, 1100);
        assert.ok(seen.pixels.colors > 20, `${seen.pixels.colors} colours`);
        assert.ok(seen.pixels.stddev > 10, `luminance stddev ${seen.pixels.stddev}`);
        assert.ok(seen.shotsDiffer, "the two screenshots differ");
        for (const f of ["dashboard-1.png", "dashboard-2.png"]) {
          assert.ok(statSync(join(shots, f)).size > 5000, f);
        }
        assert.equal(await withTimeout(exited, 30_000, "the driver to exit"), 0);
      } finally {
        if (driver.exitCode === null) driver.kill("SIGKILL");
        await withTimeout(exited, 10_000, "the driver to exit");
      }
    } finally {
      demo.kill("SIGTERM");
      await withTimeout(demoExited, 10_000, "the demo to exit");
      rmSync(shots, { recursive: true, force: true });
    }
  });
});
