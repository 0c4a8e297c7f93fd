/**
 * `raw: true`: silent TCP sockets become raw clients after `detectTimeout`; they have no ping, so
 * an idle timeout (on by default) must end them, or fifty of them would lock WebSocket clients
 * out of `maxClients` for good.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as serverModule from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { RawClient } from "../_helpers.ts";
import { closeAll, openEventually, tryOpen } from "./_server_util.ts";

describe("raw idle timeout", () => {
  it("is on by default", () => {
    const value = (serverModule as { DEFAULT_RAW_IDLE_TIMEOUT?: number }).DEFAULT_RAW_IDLE_TIMEOUT;
    assert.ok(value !== undefined && Number.isFinite(value) && value > 0, String(value));
  });

  it("frees the slots of 50 silent raw sockets, so WebSocket clients get in again", async () => {
    const server = await serverModule.serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: false,
      maxClients: 50,
      // Spread in, so that this file also compiles against a build without the option.
      raw: { detectTimeout: 50, ...{ idleTimeout: 600 } },
    }, () => {});
    const raws: RawClient[] = [];
    const opened: WS[] = [];
    try {
      for (let i = 0; i < 50; i++) raws.push(await RawClient.connect(server.port));
      for (let i = 0; i < 100 && server.clients.size < 50; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(server.clients.size, 50, "the silent sockets were admitted as raw clients");
      assert.equal(await tryOpen(server.url), 503, "they fill maxClients");
      const started = Date.now();
      await Promise.all(raws.map((c) => c.waitClosed(5000)));
      const waited = Date.now() - started;
      assert.ok(waited < 3000, `the idle raw sockets were closed after ${waited} ms`);
      opened.push(await openEventually(server.url, 2000));
      assert.equal(opened[0].kind, "websocket");
    } finally {
      for (const c of raws) c.destroy();
      await closeAll(opened);
      await server.close();
    }
  });
});
