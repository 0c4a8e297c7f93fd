/** The CLI is a public interface that others script against: its commands and flags, on each runtime. */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import { serve } from "../src/server.ts";
import { nodeBuildExists, once, spawnCli, stopCli, waitOutput, withTimeout } from "./_helpers.ts";

const RUNTIMES = ["deno", "bun", "node"] as const;

function skipIfNoBuild(runtime: string): boolean {
  if (runtime !== "node" || nodeBuildExists()) return false;
  const msg = "npm/esm/cli.js is missing: run `npm run build` first";
  if (process.env.CI === "true") throw new Error(msg);
  console.warn(`\n!!! SKIPPING Node CLI: ${msg} !!!\n`);
  return true;
}

for (const runtime of RUNTIMES) {
  describe(`cli on ${runtime}`, () => {
    it("connect sends stdin lines, prints messages, and exits 0 when stdin ends", async () => {
      if (skipIfNoBuild(runtime)) return;
      const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
        ws.on("message", (data) => ws.send(`echo:${data}`));
      });
      const cli = spawnCli(runtime, ["connect", server.url]);
      try {
        cli.child.stdin!.write("first line\nsecond line\n");
        await waitOutput(cli, /echo:second line\n/);
        cli.child.stdin!.end();
        assert.equal(await withTimeout(cli.exited, 10_000, "exit"), 0, cli.stderr());
        assert.equal(cli.stdout(), "echo:first line\necho:second line\n");
      } finally {
        await stopCli(cli);
        await server.close();
      }
    });

    it("connect takes options before the URL and exits 0 when the server closes", async () => {
      if (skipIfNoBuild(runtime)) return;
      const server = await serve({ port: 0, hostname: "127.0.0.1", protocols: ["p2"] }, (ws) => {
        ws.on("message", (data) => {
          assert.equal(data, "ping-me");
          ws.close(1000, "bye");
        });
        ws.send("ping-me");
      });
      const cli = spawnCli(runtime, [
        "connect",
        "--protocol",
        "p1",
        "--protocol=p2",
        "--echo",
        server.url,
      ]);
      try {
        assert.equal(await withTimeout(cli.exited, 10_000, "exit"), 0, cli.stderr());
        assert.match(cli.stderr(), /protocol p2/);
        assert.match(cli.stderr(), /closed 1000 bye/);
      } finally {
        await stopCli(cli);
        await server.close();
      }
    });

    it("echo serves text as text and binary as binary with the named subprotocols", async () => {
      if (skipIfNoBuild(runtime)) return;
      const cli = spawnCli(runtime, [
        "echo",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--protocol",
        "a",
        "--protocol",
        "b",
      ]);
      try {
        const [, url] = await waitOutput(cli, /listening on (ws:\/\/127\.0\.0\.1:\d+)/);
        const ws = connect(url + "/deep/path?q=1", { protocols: ["b"] });
        await once(ws, "open", 10_000);
        assert.equal(ws.protocol, "b");
        const text = once(ws, "message");
        ws.send("txt");
        assert.deepEqual(await text, ["txt", false]);
        const bin = once(ws, "message");
        ws.send(new Uint8Array([0, 1, 255]));
        assert.deepEqual(await bin, [new Uint8Array([0, 1, 255]), true]);
        ws.close();
        await once(ws, "close");
      } finally {
        await stopCli(cli);
      }
    });

    it("echo --tcp also serves raw TCP clients on the same port; connect speaks tcp://", async () => {
      if (skipIfNoBuild(runtime)) return;
      const cli = spawnCli(runtime, ["echo", "--port", "0", "--host", "127.0.0.1", "--tcp"]);
      try {
        const [, port] = await waitOutput(cli, /listening on ws:\/\/127\.0\.0\.1:(\d+)/);
        const client = spawnCli(runtime, ["connect", `tcp://127.0.0.1:${port}`]);
        client.child.stdin!.write("over raw tcp\n");
        await waitOutput(client, /over raw tcp\n/);
        client.child.stdin!.end();
        assert.equal(await withTimeout(client.exited, 10_000, "exit"), 0, client.stderr());
        const ws = connect(`ws://127.0.0.1:${port}/`);
        await once(ws, "open", 10_000);
        const echo = once(ws, "message");
        ws.send("and websocket");
        assert.deepEqual(await echo, ["and websocket", false]);
        ws.close();
        await once(ws, "close");
      } finally {
        await stopCli(cli);
      }
    });

    it("fails with exit code 1 when it cannot connect, and 2 on bad usage", async () => {
      if (skipIfNoBuild(runtime)) return;
      const server = await serve({ port: 0, hostname: "127.0.0.1" }, () => {});
      const url = server.url;
      await server.close();
      const refused = spawnCli(runtime, ["connect", url, "--echo"]);
      assert.equal(await withTimeout(refused.exited, 15_000, "exit"), 1, refused.stderr());
      assert.match(refused.stderr(), /cannot connect/);
      const bad = spawnCli(runtime, ["connect", url, "--bogus", "1"]);
      assert.equal(await withTimeout(bad.exited, 15_000, "exit"), 2);
      assert.match(bad.stderr(), /unknown option --bogus/);
    });
  });
}
