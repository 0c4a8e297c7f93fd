/**
 * The 3×3 runtime matrix: this runtime's server against a client on each runtime, and this
 * runtime's client against a server on each runtime, over ws: and wss:. The other side is the
 * CLI (`cli.ts echo` / `cli.ts connect --echo`) running on the named runtime.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import { serve } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import {
  FIXTURES,
  nodeBuildExists,
  once,
  spawnCli,
  stopCli,
  thisRuntime,
  waitOutput,
  withTimeout,
} from "./_helpers.ts";

const RUNTIMES = ["deno", "bun", "node"] as const;
const pem = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

/** Messages exchanged in every pairing: each must come back byte for byte. */
function payloads(): Array<string | Uint8Array> {
  const bin = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + n) & 0xff;
    return b;
  };
  return [
    "hello",
    "",
    "ünïcødé 😀",
    "x".repeat(125),
    bin(0),
    bin(125),
    bin(126),
    bin(65535),
    bin(65536),
  ];
}

/** Sends each payload over `ws` and checks the echo. */
async function exchange(ws: WS): Promise<void> {
  for (const p of payloads()) {
    const reply = once<[string | Uint8Array, boolean]>(ws, "message", 10_000);
    ws.send(p);
    const [data, isBinary] = await reply;
    assert.equal(isBinary, typeof p !== "string");
    assert.deepEqual(data, p);
  }
  const pong = once<[Uint8Array]>(ws, "pong");
  ws.ping("matrix");
  assert.equal(new TextDecoder().decode((await pong)[0]), "matrix");
}

function skipIfNoBuild(runtime: string): boolean {
  if (runtime !== "node" || nodeBuildExists()) return false;
  const msg = "npm/esm/cli.js is missing: run `npm run build` first";
  if (process.env.CI === "true") throw new Error(msg);
  console.warn(`\n!!! SKIPPING Node peer: ${msg} !!!\n`);
  return true;
}

for (const secure of [false, true]) {
  const scheme = secure ? "wss" : "ws";
  describe(`${thisRuntime()} × every runtime over ${scheme}:`, () => {
    for (const peer of RUNTIMES) {
      it(`${thisRuntime()} client (in process) → ${peer} server (cli echo)`, async () => {
        if (skipIfNoBuild(peer)) return;
        const args = ["echo", "--port", "0", "--host", "127.0.0.1", "--protocol", "chat"];
        if (secure) {
          args.push("--cert", join(FIXTURES, "cert.pem"), "--key", join(FIXTURES, "key.pem"));
        }
        const cli = spawnCli(peer, args);
        try {
          const [, url] = await waitOutput(cli, /listening on (\S+)/);
          assert.ok(url.startsWith(`${scheme}://`), url);
          const ws = connect(`${url}/any/path`, {
            protocols: ["other", "chat"],
            tls: secure ? { ca: pem("ca.pem") } : undefined,
          });
          await once(ws, "open", 10_000);
          assert.equal(ws.protocol, "chat");
          await exchange(ws);
          const closed = once<[number, string, boolean]>(ws, "close");
          ws.close(4321, "matrix done");
          assert.deepEqual(await closed, [4321, "", true]);
        } finally {
          await stopCli(cli);
        }
      });

      it(`${peer} client (cli connect --echo) → ${thisRuntime()} server (in process)`, async () => {
        if (skipIfNoBuild(peer)) return;
        let done!: (v: { code: number; reason: string; clean: boolean }) => void;
        const finished = new Promise<{ code: number; reason: string; clean: boolean }>((
          r,
        ) => (done = r));
        const server = await serve({
          port: 0,
          hostname: "127.0.0.1",
          protocols: ["chat"],
          tls: secure ? { cert: pem("cert.pem"), key: pem("key.pem") } : undefined,
        }, (ws) => {
          ws.on("close", (code, reason, clean) => done({ code, reason, clean }));
          (async () => {
            assert.equal(ws.protocol, "chat");
            await exchange(ws);
            ws.close(4000, "server done");
          })().catch((err) => {
            ws.terminate();
            done({ code: -1, reason: String(err), clean: false });
          });
        });
        const args = ["connect", `${server.url}/x`, "--echo", "--protocol", "chat"];
        if (secure) args.push("--ca", join(FIXTURES, "ca.pem"));
        const cli = spawnCli(peer, args);
        try {
          const result = await withTimeout(finished, 30_000, "the exchange");
          assert.deepEqual(result, { code: 4000, reason: "", clean: true }, cli.stderr());
          assert.equal(await withTimeout(cli.exited, 10_000, "the CLI to exit"), 0, cli.stderr());
        } finally {
          await stopCli(cli);
          await server.close();
        }
      });
    }
  });
}
