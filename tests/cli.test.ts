/** The CLI is a public interface that others script against: its commands and flags, on each runtime. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import { serve } from "../src/server.ts";
import { VERSION } from "../src/version.ts";
import {
  FIXTURES,
  nodeBuildExists,
  once,
  spawnCli,
  stopCli,
  waitOutput,
  withTimeout,
} from "./_helpers.ts";

const TLS = {
  cert: readFileSync(join(FIXTURES, "cert.pem"), "utf8"),
  key: readFileSync(join(FIXTURES, "key.pem"), "utf8"),
};

/**
 * Waits until the CLI's stderr matches `re` (connect reports its state there). Output may still
 * arrive after the process exits, so this waits for the stream's end, not the exit.
 */
async function waitStderr(cli: ReturnType<typeof spawnCli>, re: RegExp, ms = 20_000) {
  const stream = cli.child.stderr!;
  let ended = false;
  stream.once("close", () => (ended = true));
  const deadline = Date.now() + ms;
  while (!re.test(cli.stderr()) && !ended && Date.now() < deadline) {
    await withTimeout(
      new Promise<void>((r) => {
        stream.once("data", () => r());
        stream.once("close", () => r());
      }),
      Math.max(1, deadline - Date.now()),
      String(re),
    ).catch(() => {});
  }
  assert.match(cli.stderr(), re);
}

/** Runs the CLI to its exit; returns the exit code. */
async function exitCode(cli: ReturnType<typeof spawnCli>, ms = 15_000): Promise<number | null> {
  try {
    return await withTimeout(cli.exited, ms, "the CLI to exit");
  } finally {
    await stopCli(cli);
  }
}

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
    it("--help and -h for the tool and each command, --version", async () => {
      if (skipIfNoBuild(runtime)) return;
      for (const args of [["--help"], ["-h"], ["echo", "--help"], ["connect", "-h"]]) {
        const cli = spawnCli(runtime, args);
        assert.equal(await exitCode(cli), 0, cli.stderr());
        assert.match(cli.stdout(), /^(usage|wsdriver)/, args.join(" "));
        assert.match(cli.stdout(), args[0] === "connect" ? /--wait MS/ : /--port N/);
      }
      const version = spawnCli(runtime, ["--version"]);
      assert.equal(await exitCode(version), 0);
      assert.equal(version.stdout(), `${VERSION}\n`);
      const none = spawnCli(runtime, []);
      assert.equal(await exitCode(none), 2);
      assert.match(none.stderr(), /usage: wsdriver <command>/);
    });

    it("unknown flags, long or short, are errors on every command", async () => {
      if (skipIfNoBuild(runtime)) return;
      for (
        const args of [["echo", "--nope"], ["echo", "-q"], ["connect", "ws://x", "-z"], ["--bad"]]
      ) {
        const cli = spawnCli(runtime, args);
        assert.equal(await exitCode(cli), 2, args.join(" "));
        assert.match(cli.stderr(), /^wsdriver: unknown (option|command) /, args.join(" "));
      }
    });

    it("startup failures print one line with the cause and no stack trace", async () => {
      if (skipIfNoBuild(runtime)) return;
      const busy = await serve({ port: 0, hostname: "127.0.0.1" }, () => {});
      try {
        const cases: Array<[string[], RegExp]> = [
          [
            ["echo", "--port", String(busy.port)],
            /^wsdriver: cannot listen on 127\.0\.0\.1:\d+: address already in use \(EADDRINUSE\)\n$/,
          ],
          [
            ["echo", "--port", "0", "--cert", "missing.pem", "--key", join(FIXTURES, "key.pem")],
            /^wsdriver: cannot read --cert missing\.pem: no such file \(ENOENT\)\n$/,
          ],
          [["connect", "not a url"], /^wsdriver: cannot connect to not a url: .*\n$/],
        ];
        for (const [args, re] of cases) {
          const cli = spawnCli(runtime, args);
          assert.equal(await exitCode(cli), 1, args.join(" "));
          assert.match(cli.stderr(), re);
        }
      } finally {
        await busy.close();
      }
    });

    it("connect --wait keeps printing after stdin ends until the reply comes", async () => {
      if (skipIfNoBuild(runtime)) return;
      const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
        ws.on(
          "message",
          (data) => setTimeout(() => ws.readyState === "open" && ws.send(`late:${data}`), 300),
        );
      });
      try {
        const cli = spawnCli(runtime, ["connect", server.url, "--wait", "5000"]);
        cli.child.stdin!.end("q\n");
        await waitOutput(cli, /late:q\n/);
        // Nobody closes: the CLI closes itself (1000) once the wait is over; a short wait proves it.
        await stopCli(cli);
        const short = spawnCli(runtime, ["connect", server.url, "--wait=200"]);
        short.child.stdin!.end();
        assert.equal(await exitCode(short), 0, short.stderr());
        assert.match(short.stderr(), /closed 1000/);
      } finally {
        await server.close();
      }
    });

    it("Ctrl-C (SIGINT) sends close 1000 before exiting", async () => {
      if (skipIfNoBuild(runtime)) return;
      let resolveCode: (code: number) => void;
      const closed = new Promise<number>((r) => (resolveCode = r));
      const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
        ws.on("close", (code) => resolveCode(code));
      });
      try {
        const cli = spawnCli(runtime, ["connect", server.url]);
        await waitStderr(cli, /connected to/);
        // process.kill, not child.kill: Deno's child.kill reports (and makes) a signal death even
        // when the child handles the signal.
        process.kill(cli.child.pid!, "SIGINT");
        assert.equal(await withTimeout(closed, 10_000, "the close"), 1000);
        await waitStderr(cli, /closed 1000\n$/);
        assert.equal(await exitCode(cli), 0, cli.stderr());
      } finally {
        await server.close();
      }
    });

    it("wscat aliases: -l, -c, -H, -s, -n, -x, -w; --insecure for a self-signed server", async () => {
      if (skipIfNoBuild(runtime)) return;
      const seen: string[] = [];
      const server = await serve(
        { port: 0, hostname: "127.0.0.1", tls: TLS, protocols: ["p"] },
        (ws) => {
          seen.push(`${ws.protocol} ${ws.request?.headers.get("x-test")}`);
          ws.on("message", (data) => {
            ws.send(`got:${data}`);
            ws.close(1000);
          });
        },
      );
      try {
        const strict = spawnCli(runtime, ["-c", server.url, "-x", "hi"]);
        assert.equal(await exitCode(strict), 1, "an unknown CA is refused without -n");
        const cli = spawnCli(runtime, [
          "-c",
          server.url,
          "-n",
          "-H",
          "X-Test: 1",
          "-s",
          "p",
          "-x",
          "hi",
          "-w",
          "5",
        ]);
        assert.equal(await exitCode(cli), 0, cli.stderr());
        assert.equal(cli.stdout(), "got:hi\n");
        assert.deepEqual(seen, ["p 1"]);
        const long = spawnCli(runtime, [
          "connect",
          server.url,
          "--insecure",
          "--protocol=p",
          "--execute",
          "yo",
        ]);
        assert.equal(await exitCode(long), 0, long.stderr());
        assert.equal(long.stdout(), "got:yo\n");
      } finally {
        await server.close();
      }
      const echo = spawnCli(runtime, ["-l", "0", "--host", "127.0.0.1"]);
      try {
        await waitOutput(echo, /listening on ws:\/\/127\.0\.0\.1:\d+/);
      } finally {
        await stopCli(echo);
      }
    });
  });
}
