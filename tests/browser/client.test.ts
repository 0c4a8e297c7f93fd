/**
 * The browser entry point on the test's own runtime: its client runs over the runtime's native
 * `WebSocket` (Deno, Bun; the `ws` package's on Node 20, which has none) against a wsdriver
 * server, with RPC both ways; and its module graph imports nothing a browser lacks.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { dirname, join, resolve } from "node:path";
import WsWebSocket from "ws";
import { connect, Rpc, type WebSocketConstructor } from "../../browser.ts";
import { Rpc as ServerRpc } from "../../src/rpc.ts";
import { serve, type Server } from "../../src/server.ts";
import type { WSError } from "../../src/errors.ts";
import { ROOT, withTimeout } from "../_helpers.ts";

const NativeWebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
const WebSocketImpl = NativeWebSocket ?? (WsWebSocket as unknown as WebSocketConstructor);

describe("the browser entry point", () => {
  it("imports no node:* module, no transport and no server, transitively", () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      // Type-only imports are erased; every other import is loaded by the browser.
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gms)) {
        const spec = m[1];
        assert.ok(spec.startsWith("."), `${file} imports ${spec}`);
        visit(resolve(dirname(file), spec));
      }
    };
    visit(join(ROOT, "browser.ts"));
    const files = [...seen].map((f) => f.slice(ROOT.length + 1));
    assert.ok(files.includes("src/rpc.ts") && files.includes("src/ws.ts"), files.join(" "));
    for (const f of files) {
      assert.ok(!/transport|server|upgrade|client\.ts|deflate|handshake/.test(f), f);
    }
  });
});

describe("browser connect() on this runtime's WebSocket", () => {
  let server: Server;
  before(async () => {
    server = await serve({ port: 0, hostname: "127.0.0.1", protocols: ["p1"] }, (ws) => {
      const rpc = new ServerRpc(ws, {
        responder: (d) => typeof d === "string" ? d.toUpperCase() : d,
      });
      rpc.on("message", (m) => {
        if (m !== "ask me") return ws.send(m);
        rpc.request("who are you?").then((a) => ws.send(`page said ${a}`), () => {});
      });
    });
  });
  after(() => server.close());

  it("echoes text and binary, speaks RPC both ways, and closes cleanly", async () => {
    const ws = connect(`${server.url}/x`, { protocols: ["p1"], WebSocket: WebSocketImpl });
    const rpc = new Rpc(ws, { responder: () => "the page" });
    const messages: unknown[] = [];
    rpc.on("message", (m) => messages.push(m));
    await withTimeout(new Promise<void>((r) => ws.once("open", () => r())), 5000, "open");
    assert.equal(ws.protocol, "p1");
    assert.equal(await rpc.request("hello", { timeout: 2000 }), "HELLO");
    ws.send("text");
    ws.send(Uint8Array.of(1, 2, 3));
    ws.send("ask me");
    await withTimeout(
      (async () => {
        while (messages.length < 3) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
      "three messages",
    );
    assert.deepEqual(messages, ["text", Uint8Array.of(1, 2, 3), "page said the page"]);
    const closed = new Promise<unknown[]>((r) => ws.once("close", (...a) => r(a)));
    ws.close(1000, "bye");
    const [code, , wasClean] = await withTimeout(closed, 5000, "close");
    assert.equal(code, 1000);
    assert.equal(wasClean, true);
  });

  it("fails with typed errors: nothing listening, a silent server, an abort", async () => {
    const silent = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    const errorOf = (url: string, options = {}) => {
      const ws = connect(url, { WebSocket: WebSocketImpl, ...options });
      return withTimeout(
        new Promise<[WSError, unknown[]]>((r) =>
          ws.once("error", (e) => ws.once("close", (...a) => r([e, a])))
        ),
        5000,
        `the error of ${url}`,
      );
    };
    try {
      const [timeout, closeArgs] = await errorOf(`ws://127.0.0.1:${port}/`, {
        handshakeTimeout: 200,
      });
      assert.equal(timeout.code, "WS_ERR_HANDSHAKE_TIMEOUT");
      assert.equal(closeArgs[0], 1006);
      const ac = new AbortController();
      const aborted = errorOf(`ws://127.0.0.1:${port}/`, { signal: ac.signal });
      ac.abort();
      assert.equal((await aborted)[0].code, "WS_ERR_ABORTED");
    } finally {
      silent.close();
    }
    const gone = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    assert.equal((await errorOf(`ws://127.0.0.1:${gone}/`))[0].code, "WS_ERR_CONNECT");
    assert.throws(() => connect("ftp://x/", { WebSocket: WebSocketImpl }), TypeError);
  });
});
