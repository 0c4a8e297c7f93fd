/**
 * The npm package as a user gets it: `npm pack` of the build in npm/, installed (from the npm cache
 * where it can) into a scratch project, then a server and a client run from it on Node (ESM and
 * CommonJS) and Bun, and a consumer file type-checks under a strict Node setup without the DOM lib
 * or skipLibCheck, under a bundler-style setup (Bun's `bun init` defaults, minus bun-types), and
 * under Deno's defaults.
 *
 * Runs in the Node suite only, where `npm run build` has just written npm/ (it spawns every
 * runtime itself, so running it three times would test the same thing three times).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { ROOT, thisRuntime, withTimeout } from "./_helpers.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded by `ms`) and collects its output. */
function run(cmd: string, args: string[], cwd: string, ms = 60_000): Promise<Run> {
  const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (b: Uint8Array) => (stdout += new TextDecoder().decode(b)));
  child.stderr!.on("data", (b: Uint8Array) => (stderr += new TextDecoder().decode(b)));
  const done = new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return withTimeout(done, ms, `${cmd} ${args.join(" ")}`).catch((err) => {
    child.kill("SIGKILL");
    throw err;
  });
}

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
const NODE = process.execPath;

/** A server and a client from the installed package: one message there and back. */
const ROUND_TRIP_BODY = `
const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
  ws.on("message", (data) => ws.send("echo:" + data));
});
const ws = connect(server.url);
ws.on("open", () => ws.send("hi"));
const reply = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no reply in 5 s")), 5000);
  ws.on("message", (data) => { clearTimeout(timer); resolve(data); });
});
ws.close();
await server.close();
const frame = encodeFrame(Opcode.Text, new TextEncoder().encode("x"));
console.log(reply, frame[0].length, typeof Rpc, typeof createServer);
`;

const ESM_CONSUMER = `import { connect, serve } from "wsdriver";
import { encodeFrame, Opcode } from "wsdriver/protocol";
import { Rpc } from "wsdriver/rpc";
import { createServer } from "wsdriver/node";
${ROUND_TRIP_BODY}`;

const CJS_CONSUMER = `const { connect, serve } = require("wsdriver");
const { encodeFrame, Opcode } = require("wsdriver/protocol");
const { Rpc } = require("wsdriver/rpc");
const { createServer } = require("wsdriver/node");
(async () => {
${ROUND_TRIP_BODY}
})().catch((err) => { console.error(err); process.exit(1); });`;

/** Uses the public types the way an application does; must compile with no error. */
const TYPED_CONSUMER = `import {
  connect,
  type ConnectOptions,
  HandshakeError,
  serve,
  type ServeOptions,
  type Server,
  type WS,
  WSError,
} from "wsdriver";
import { encodeFrame, FrameParser, Opcode } from "wsdriver/protocol";
import { Rpc } from "wsdriver/rpc";
import { createServer } from "wsdriver/node";
import { fromWebSocket } from "wsdriver/deno";
import { bunWebSocket } from "wsdriver/bun";
import { RawProtocol } from "wsdriver/raw";

const options: ServeOptions<{ user: string }> = {
  port: 0,
  headers: { "x-served-by": "wsdriver" },
  deflate: { threshold: 256 },
  heartbeat: { interval: 1000, timeout: 500 },
  raw: { framing: "line" },
};
export async function main(): Promise<void> {
  const server: Server<{ user: string }> = await serve(options, (ws: WS<{ user: string }>) => {
    ws.on("message", (data, isBinary) => (isBinary ? ws.sendBinary(data as Uint8Array) : ws.send(data)));
  });
  server.on("refused", (info) => console.log(info.status, info.reason));
  const co: ConnectOptions = { headers: [["authorization", "x"]], protocols: ["chat"] };
  const ws = connect(server.url, co);
  ws.on("error", (err) => {
    if (err instanceof HandshakeError) console.log(err.status);
    if (err instanceof WSError) console.log(err.code, err.closeCode);
  });
  ws.on("close", (code: number, reason: string) => console.log(code, reason));
  const chunks: Uint8Array[] = encodeFrame(Opcode.Binary, new Uint8Array(3));
  console.log(chunks, FrameParser, Rpc, createServer, fromWebSocket, bunWebSocket, RawProtocol);
  await server.close();
}
`;

describe("the npm package", () => {
  if (thisRuntime() !== "node") {
    it("runs in the Node suite (it drives node, bun, tsc and deno itself)", () => {});
    return;
  }
  let dir = "";
  let project = "";

  before(async () => {
    assert.ok(existsSync(join(ROOT, "npm", "package.json")), "run `npm run build` first");
    dir = mkdtempSync(join(tmpdir(), "wsdriver-pack-"));
    const packed = JSON.parse(
      ok(
        await run("npm", ["pack", join(ROOT, "npm"), "--json", "--pack-destination", dir], dir),
        "npm pack",
      ),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0].files.map((f) => f.path);
    assert.ok(!files.some((f) => f.includes("tests/")), `tests are packed: ${files.join(" ")}`);
    project = join(dir, "app");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), '{ "name": "app", "private": true }\n');
    ok(
      await run("npm", [
        "install",
        join(dir, packed[0].filename),
        // The cache first, the registry for what it lacks: npm 11 fetches only tarballs when it
        // installs from a lockfile, so a fresh machine's cache has no packument for the package's
        // own dependencies (`--offline` failed there with ENOTCACHED for @redis/client).
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
      ], project),
      "npm install of the tarball",
    );
    writeFileSync(join(project, "esm.mjs"), ESM_CONSUMER);
    writeFileSync(join(project, "cjs.cjs"), CJS_CONSUMER);
    writeFileSync(join(project, "consumer.ts"), TYPED_CONSUMER);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const EXPECTED = /^echo:hi \d+ function function\n$/;
  for (
    const [runtime, file] of [
      ["node", "esm.mjs"],
      ["node", "cjs.cjs"],
      ["bun", "esm.mjs"],
      ["bun", "cjs.cjs"],
    ]
  ) {
    it(`serves and connects from the installed package on ${runtime} (${file})`, async () => {
      const cmd = runtime === "node" ? NODE : bin("bun");
      assert.match(ok(await run(cmd, [file], project, 20_000), `${runtime} ${file}`), EXPECTED);
    });
  }

  const tsc = (config: object) => async () => {
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: config, files: ["consumer.ts"] }),
    );
    ok(
      await run(NODE, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], project),
      "tsc",
    );
  };
  const STRICT = { strict: true, noEmit: true, skipLibCheck: false };
  const TYPE_ROOTS = [join(ROOT, "node_modules", "@types")];

  it(
    "type-checks a consumer under lib es2022 + types node (no DOM, no skipLibCheck)",
    tsc({
      ...STRICT,
      lib: ["es2022"],
      types: ["node"],
      typeRoots: TYPE_ROOTS,
      module: "nodenext",
      moduleResolution: "nodenext",
    }),
  );

  it(
    "type-checks a consumer under a bundler setup (Bun's defaults)",
    tsc({
      ...STRICT,
      lib: ["ESNext", "DOM"],
      types: ["node"],
      typeRoots: TYPE_ROOTS,
      target: "ESNext",
      module: "Preserve",
      moduleResolution: "bundler",
      moduleDetection: "force",
      allowImportingTsExtensions: true,
      verbatimModuleSyntax: true,
    }),
  );

  it("type-checks a consumer under Deno's defaults", async () => {
    writeFileSync(join(project, "deno.json"), '{ "nodeModulesDir": "manual" }\n');
    ok(await run(bin("deno"), ["check", "consumer.ts"], project), "deno check");
  });
});
