/**
 * Unix domain sockets: `serve({ path })` and `ws+unix:` client URLs, on the runtime running this
 * file (each runtime's own transport), against each other and against the `ws` package.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import { join } from "node:path";
import WebSocket, { WebSocketServer } from "ws";
import { connect } from "../../src/client.ts";
import { parseTarget } from "../../src/client/target.ts";
import { HandshakeError } from "../../src/errors.ts";
import { serve } from "../../src/server.ts";
import { once, withTimeout } from "../_helpers.ts";

/** A fresh directory for sockets, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "wsdriver-unix-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("ws+unix: URLs", () => {
  it("parses the socket path and the resource as ws does", () => {
    const t = parseTarget("ws+unix:/run/app.sock:/chat/room?x=1");
    assert.equal(t.socketPath, "/run/app.sock");
    assert.equal(t.resource, "/chat/room?x=1");
    assert.equal(t.host, "localhost");
    assert.equal(parseTarget("ws+unix:/run/app.sock").resource, "/");
    assert.equal(parseTarget("ws+unix:///run/app.sock:/a").socketPath, "/run/app.sock");
    assert.throws(() => parseTarget("ws+unix:/run/app.sock:nope"), TypeError);
    assert.throws(() => parseTarget("ws+unix://host/run/app.sock"), TypeError);
    assert.throws(() => parseTarget("ws+unix:/a.sock:/x#frag"), TypeError);
  });
});

describe("unix domain sockets", () => {
  it("serve({ path }) and a ws+unix: client talk, and the socket file goes on close", async () => {
    await inTempDir(async (dir) => {
      const path = join(dir, "s.sock");
      const paths: string[] = [];
      const server = await serve({ path }, (ws) => {
        paths.push(ws.request!.path);
        ws.on("message", (m) => ws.send(m));
      });
      try {
        assert.equal(server.path, path);
        assert.equal(server.url, `ws+unix:${path}`);
        assert.ok(existsSync(path));
        const ws = connect(`${server.url}:/echo?q=1`);
        assert.equal(ws.url, `ws+unix:${path}:/echo?q=1`);
        const got = withTimeout(
          new Promise<unknown>((r) => ws.once("message", (m) => r(m))),
          5000,
          "the echo",
        );
        ws.on("open", () => ws.send("over a unix socket"));
        assert.equal(await got, "over a unix socket");
        assert.deepEqual(paths, ["/echo"]);
        const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
        ws.close(1000);
        assert.equal(await withTimeout(closed, 5000, "close"), 1000);
      } finally {
        await server.close();
      }
      // node:net removes the file on close; Bun.listen may leave it to the caller.
      await withTimeout(
        (async () => {
          for (let i = 0; i < 100 && existsSync(path); i++) {
            await new Promise((r) => setTimeout(r, 10));
          }
        })(),
        5000,
        "the socket file to go",
      );
      assert.ok(!existsSync(path), "the socket file is removed on close");
    });
  });

  it("interoperates with the ws package over unix sockets, both ways", async () => {
    await inTempDir(async (dir) => {
      // wsdriver client → ws server on an http server listening on a unix socket.
      const wsPath = join(dir, "ws.sock");
      const http = createServer();
      const wss = new WebSocketServer({ server: http });
      wss.on("connection", (sock, req) => sock.send(`ws saw ${req.url}`));
      await new Promise<void>((r) => http.listen(wsPath, r));
      try {
        const ws = connect(`ws+unix:${wsPath}:/from-wsdriver`);
        const [m] = await once<[string]>(ws, "message");
        assert.equal(m, "ws saw /from-wsdriver");
        ws.terminate();
      } finally {
        wss.close();
        await new Promise((r) => http.close(r));
      }
      // ws client → wsdriver server on a unix socket.
      const path = join(dir, "wsdriver.sock");
      const server = await serve({ path }, (ws) => ws.send(`wsdriver saw ${ws.request!.path}`));
      try {
        const client = new WebSocket(`ws+unix:${path}:/from-ws`);
        const got = await withTimeout(
          new Promise<string>((r) => client.once("message", (d) => r(String(d)))),
          5000,
          "the ws client's message",
        );
        assert.equal(got, "wsdriver saw /from-ws");
        client.terminate();
      } finally {
        await server.close();
      }
    });
  });

  it("a missing socket fails with WS_ERR_CONNECT", async () => {
    await inTempDir(async (dir) => {
      const ws = connect(`ws+unix:${join(dir, "none.sock")}:/`);
      const err = await withTimeout(
        new Promise<Error>((r) => ws.once("error", (e) => r(e))),
        5000,
        "the error",
      );
      assert.equal((err as HandshakeError).code, "WS_ERR_CONNECT");
    });
  });
});
