/** `wsdriver connect URL --reconnect [--max-retries N]` on each runtime's CLI. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve, type Server } from "../../src/server.ts";
import {
  type CliProcess,
  freePort,
  nodeBuildExists,
  spawnCli,
  stopCli,
  thisRuntime,
  withTimeout,
} from "../_helpers.ts";

/** Waits until the CLI's standard error matches `re`. */
async function waitStderr(p: CliProcess, re: RegExp, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(p.stderr())) {
    if (Date.now() > deadline || p.child.exitCode !== null) {
      throw new Error(`no ${re} on stderr: ${p.stderr()}`);
    }
    await withTimeout(
      new Promise<void>((r) => p.child.stderr!.once("data", () => r())),
      Math.max(1, deadline - Date.now()),
      String(re),
    ).catch(() => {});
  }
}

/** A server on `port` that records every message. */
function recorder(port: number, got: string[]): Promise<Server> {
  return serve({ port, hostname: "127.0.0.1" }, (ws) => {
    ws.on("message", (m) => got.push(String(m)));
  });
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const runtime = thisRuntime();
const skip = runtime === "node" && !nodeBuildExists() && "needs npm run build";

describe("cli connect --reconnect", { skip }, () => {
  it("lines read while the server is down are sent after the reconnect; exits 0 at the end of input", async () => {
    const port = await freePort();
    const first: string[] = [], second: string[] = [];
    let server = await recorder(port, first);
    const cli = spawnCli(runtime, ["connect", `ws://127.0.0.1:${port}/`, "--reconnect"]);
    try {
      await waitStderr(cli, /connected to/);
      cli.child.stdin!.write("a\nb\n");
      await until(() => first.length === 2, 10_000, "the first lines");
      await server.close();
      await waitStderr(cli, /disconnected 1001/);
      cli.child.stdin!.write("c\nd\n");
      await waitStderr(cli, /reconnecting in \d+ ms \(attempt \d+\)/);
      server = await recorder(port, second);
      cli.child.stdin!.end("e\n");
      assert.equal(await withTimeout(cli.exited, 20_000, "the CLI to exit"), 0);
      assert.deepEqual(first, ["a", "b"]);
      assert.deepEqual(second, ["c", "d", "e"]);
      assert.match(cli.stderr(), /reconnected to/);
    } finally {
      await stopCli(cli);
      await server.close();
    }
  });

  it("--max-retries N: gives up after N failed attempts in a row, exit 1", async () => {
    const port = await freePort();
    const cli = spawnCli(runtime, [
      "connect",
      `ws://127.0.0.1:${port}/`,
      "--reconnect",
      "--max-retries",
      "2",
    ]);
    try {
      assert.equal(await withTimeout(cli.exited, 20_000, "the CLI to give up"), 1);
      assert.equal(cli.stderr().match(/reconnecting in/g)?.length, 2, cli.stderr());
      assert.match(cli.stderr(), /gave up after 2 retries/);
    } finally {
      await stopCli(cli);
    }
  });

  const bad: string[][] = [
    ["--max-retries", "3"],
    ["--reconnect", "--max-retries", "x"],
    ["--reconnect", "--max-retries", "-1"],
  ];
  for (const flags of bad) {
    it(`bad usage ${flags.join(" ")}: exit 2`, async () => {
      const cli = spawnCli(runtime, ["connect", "ws://127.0.0.1:1/", ...flags]);
      assert.equal(await withTimeout(cli.exited, 20_000, "the CLI to exit"), 2);
    });
  }
});
