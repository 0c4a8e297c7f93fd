/**
 * The built npm package in headless Chromium: a page imports the file the package's `browser`
 * export condition names (through an import map, as a bundler would resolve it) and talks to a
 * wsdriver server on this runtime: echo, RPC both ways, and the package's ReconnectingClient
 * coming back after the server drops the connection (RPC again on the new connection; then, with
 * attempts refused meanwhile, backoff and the queue of sends made while down, delivered in order),
 * and the package's ResumableTopic resuming a recoverable topic from its last position.
 * The page and the package's files come from the same server's `fetch` handler.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, normalize } from "node:path";
import process from "node:process";
import { Rpc } from "../../src/rpc.ts";
import { serve } from "../../src/server.ts";
import { ROOT, withTimeout } from "../_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const NPM = join(ROOT, "npm");

/** Why the test cannot run here, or undefined; under CI=true a missing piece is a failure. */
function missing(): string | undefined {
  let why: string | undefined;
  if (!existsSync(CHROMIUM)) why = "Chromium is missing: apt-get install -y chromium";
  else if (!existsSync(join(NPM, "package.json"))) why = "the npm build is missing: npm run build";
  if (why && process.env.CI === "true") throw new Error(why);
  if (why) console.warn(`\n!!! SKIPPING the Chromium package test: ${why} !!!\n`);
  return why;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".html": "text/html; charset=utf-8",
};

describe("the npm package in Chromium", () => {
  it(
    "echoes, speaks RPC both ways, reconnects with backoff and delivers its queue, on the browser entry",
    {
      timeout: 90_000,
    },
    async () => {
      if (missing()) return;
      const pkg = JSON.parse(readFileSync(join(NPM, "package.json"), "utf8"));
      const entry: string = pkg.exports["."].browser.default;
      assert.match(entry, /^\.\/esm\/.*\.js$/);
      const page = readFileSync(join(ROOT, "tests", "browser", "page.html"), "utf8")
        .replace("%ENTRY%", `/pkg/${entry.slice(2)}`);
      let rpcConnections = 0;
      let refuse = 0, refused = 0, queueConnections = 0;
      const queueReceived: string[] = [];
      const topicSince: string[] = [];
      const server = await serve({
        port: 0,
        hostname: "127.0.0.1",
        protocols: ["echo"],
        fetch(request) {
          const path = new URL(request.url).pathname;
          if (path === "/") {
            return new Response(page, { headers: { "content-type": TYPES[".html"] } });
          }
          const file = path.startsWith("/pkg/")
            ? normalize(join(NPM, decodeURIComponent(path.slice(5))))
            : undefined;
          if (!file || !file.startsWith(NPM + "/") || !existsSync(file)) {
            return new Response("not found", { status: 404 });
          }
          const type = TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream";
          return new Response(readFileSync(file), { headers: { "content-type": type } });
        },
        resources: {
          "/echo": (ws) => ws.on("message", (m) => ws.send(m)),
          "/topic": (ws) => {
            // A recoverable topic's frames, as the backplane sends them: the first connection gets
            // m1..m3 and is closed with 1012 (retried); m4 and m5 come meanwhile; a resume from
            // E7:3 gets them, then "recovered", then m6 live.
            const frame = (n: number) => `wsd1 d E7 ${n}\nm${n}`;
            const since = ws.request!.query.get("since");
            topicSince.push(since ?? "");
            if (since === null) {
              for (let n = 1; n <= 3; n++) ws.send(frame(n));
              ws.close(1012, "restarting"); // after the frames; a code that is retried
            } else if (since === "E7:3") {
              ws.send(frame(4));
              ws.send(frame(5));
              ws.send("wsd1 r E7 5\n");
              ws.send(frame(6));
            } else {
              ws.send("wsd1 n E7 5\n");
            }
          },
          "/queue": {
            accept: () => {
              if (refuse === 0) return;
              refuse--;
              refused++;
              return new Response("busy", { status: 503 });
            },
            handler: (ws) => {
              queueConnections++;
              ws.on("message", (m) => {
                if (m === "drop me") {
                  refuse = 3;
                  return ws.terminate();
                }
                queueReceived.push(String(m));
                if (m === "q5") ws.send(`got ${queueReceived.join(",")}`);
              });
            },
          },
          "/rpc": (ws) => {
            const n = ++rpcConnections;
            const rpc = new Rpc(ws, { responder: (data) => `server #${n} got ${data}` });
            rpc.on("message", (m) => {
              if (m === "drop me") ws.terminate();
            });
            rpc.request("who are you?", { timeout: 5000 }).then(
              (answer) => ws.send(`#${n}: ${answer}`),
              () => {},
            );
          },
        },
      });
      try {
        const driver = spawn("node", [
          join(ROOT, "tests", "browser", "chromium_driver.mjs"),
          `http://127.0.0.1:${server.port}/`,
        ], {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "", err = "";
        driver.stdout!.on("data", (b: Uint8Array) => out += new TextDecoder().decode(b));
        driver.stderr!.on("data", (b: Uint8Array) => err += new TextDecoder().decode(b));
        const code = await withTimeout(
          new Promise<number | null>((r) => driver.on("exit", r)),
          60_000,
          "the Chromium driver",
        ).finally(() => {
          if (driver.exitCode === null) driver.kill("SIGKILL");
        });
        assert.equal(code, 0, `driver failed:\n${err}`);
        const result = JSON.parse(out.trim().split("\n").pop()!);
        assert.equal(result.error, undefined, `${result.error}\n${err}`);
        assert.deepEqual(result.echo, {
          got: ["hi from the page", [1, 2, 3]],
          protocol: "echo",
          code: 1000,
        });
        assert.deepEqual(result.rpc, {
          answers: ["server #1 got hello 0", "server #2 got hello 1"],
          asked: ["#1: page got who are you?", "#2: page got who are you?"],
          log: ["closed 1006", "closed 1000"],
        });
        assert.equal(rpcConnections, 2);
        assert.deepEqual(result.topic, {
          got: ["m1", "m2", "m3", "m4", "m5", "m6"],
          outcomes: ["recovered E7:5"],
          since: "E7:6",
        });
        assert.deepEqual(topicSince, ["", "E7:3"], "the second attempt resumed from offset 3");
        const queue = result.queue;
        assert.equal(queue.queued, 5, "sends while disconnected were queued");
        assert.equal(queue.reply, "got before,q1,q2,q3,q4,q5", "then delivered in order");
        assert.deepEqual(queue.log, [
          "opened",
          "disconnect 1006",
          "disconnect 1006 (attempt failed)",
          "disconnect 1006 (attempt failed)",
          "disconnect 1006 (attempt failed)",
          "reopened",
        ]);
        assert.equal(queue.code, 1000);
        assert.deepEqual(queue.retries.map(([attempt]: number[]) => attempt), [2, 3, 4, 5]);
        // Full jitter: retry n waits between minDelay and min(maxDelay, minDelay * 2^n).
        queue.retries.forEach(([, delay]: number[], i: number) => {
          assert.ok(
            delay >= 50 && delay <= Math.min(400, 50 * 2 ** (i + 1)),
            `retry ${i + 1}: ${delay}`,
          );
        });
        assert.equal(refused, 3);
        assert.equal(queueConnections, 2);
      } finally {
        await server.close();
      }
    },
  );
});
