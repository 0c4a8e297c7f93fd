/**
 * Per-connection settings given on a resource win over the server's: heartbeat (or `false`),
 * idleTimeout, closeTimeout and highWaterMark, with the same names and shapes as on `serve`.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import {
  closeCodeOf,
  decodeFrames,
  headEnd,
  RawClient,
  rawUpgrade,
  withTimeout,
} from "./_helpers.ts";

describe("per-connection settings on a resource", () => {
  it("override the server's heartbeat, idle timeout, close timeout and high-water mark", {
    timeout: 20_000,
  }, async () => {
    const sockets = new Map<string, WS>();
    const closed = new Map<string, number>();
    const track = (ws: WS) => {
      const path = ws.request!.path;
      sockets.set(path, ws);
      ws.on("close", (code) => closed.set(path, code));
    };
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: { interval: 100, timeout: 100 },
      resources: {
        "/default": track,
        "/quiet": { handler: track, heartbeat: false, idleTimeout: false, closeTimeout: 1234 },
        "/idle": { handler: track, heartbeat: false, idleTimeout: 300, highWaterMark: 4096 },
      },
    });
    const clients: RawClient[] = [];
    try {
      for (const path of ["/default", "/quiet", "/idle"]) {
        const c = await RawClient.connect(server.port);
        await rawUpgrade(c, path);
        clients.push(c);
      }
      // Nobody answers pings: the server's heartbeat drops /default, the resource's idle
      // timeout closes /idle with 1001; /quiet, with both off, stays (checked after both).
      const idleFrames = (b: Uint8Array) => decodeFrames(b.subarray(headEnd(b)));
      const idle = await clients[2].waitFor(
        (b) => idleFrames(b).some((f) => f.opcode === 0x8),
        5000,
        "the close frame of /idle",
      );
      assert.deepEqual(
        idleFrames(idle).map((f) => [f.opcode, closeCodeOf(f)]),
        [[0x8, 1001]],
        "closed by the resource's idle timeout, never pinged",
      );
      await withTimeout(
        (async () => {
          while (!closed.has("/default")) await new Promise((r) => setTimeout(r, 10));
        })(),
        5000,
        "/default to be dropped",
      );
      assert.equal(closed.get("/default"), 1006, "dropped by the server's heartbeat");
      assert.equal(closed.has("/quiet"), false, "the resource without heartbeat stays");
      assert.equal(sockets.get("/quiet")!.readyState, "open");
      const quiet = clients[1].received;
      const frames = decodeFrames(quiet.subarray(headEnd(quiet)));
      assert.deepEqual(frames.map((f) => f.opcode), [], "no ping reached /quiet");
      const defaultFrames = clients[0].received;
      assert.ok(
        decodeFrames(defaultFrames.subarray(headEnd(defaultFrames))).some((f) => f.opcode === 0x9),
        "/default was pinged",
      );
      assert.equal(sockets.get("/quiet")!.closeTimeout, 1234);
      assert.equal(sockets.get("/default")!.closeTimeout, 5000);
      assert.equal(sockets.get("/idle")!.highWaterMark, 4096);
      assert.equal(sockets.get("/default")!.highWaterMark, 1024 * 1024);
    } finally {
      for (const c of clients) c.destroy();
      await server.close();
    }
  });
});
