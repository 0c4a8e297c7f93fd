/**
 * Admission under attack: bytes sent while an `accept` hook runs are not buffered without bound,
 * and a hook that never settles gives its `maxClients` slot back when its client goes.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { RawClient, withTimeout } from "../_helpers.ts";
import { closeAll, openEventually, rss, tryOpen } from "./_server_util.ts";

const MiB = 1024 * 1024;

const upgradeRequest = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** Resolves after `n` calls of `hit`. */
function counter(n: number) {
  let count = 0, resolve!: () => void;
  const reached = new Promise<void>((r) => (resolve = r));
  return {
    hit() {
      if (++count === n) resolve();
    },
    get count() {
      return count;
    },
    reached: withTimeout(reached, 5000, `${n} hook calls`),
  };
}

describe("admission", () => {
  for (const during of ["accept", "fetch"] as const) {
    it(`does not buffer a flood sent while an async ${during} handler runs`, async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const called = counter(1);
      const slow = async () => {
        called.hit();
        await gate;
      };
      const server = await serve({
        port: 0,
        hostname: "127.0.0.1",
        heartbeat: false,
        handshakeTimeout: 20_000,
        ...(during === "accept" ? { accept: slow } : {
          fetch: async () => {
            await slow();
            return new Response("late");
          },
        }),
      }, () => {});
      const socket = net.connect({ port: server.port, host: "127.0.0.1" });
      let closed = false;
      socket.on("error", () => {});
      socket.on("close", () => (closed = true));
      try {
        await withTimeout(new Promise((r) => socket.once("connect", r)), 5000, "connect");
        socket.write(
          during === "accept" ? upgradeRequest("/") : "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        );
        await called.reached;
        const chunk = new Uint8Array(64 * 1024).fill(0x42);
        const before = rss();
        let peak = before, sent = 0;
        const deadline = Date.now() + 2500;
        // The flood respects the client's own backpressure: only the server may hold the bytes.
        while (!closed && sent < 192 * MiB && Date.now() < deadline) {
          sent += chunk.length;
          if (!socket.write(chunk)) {
            await new Promise<void>((r) => {
              const done = () => {
                clearTimeout(t);
                socket.off("drain", done);
                r();
              };
              const t = setTimeout(done, 50);
              socket.once("drain", done);
            });
          }
          if (sent % MiB === 0) peak = Math.max(peak, rss());
        }
        peak = Math.max(peak, rss());
        const grown = (peak - before) / MiB;
        assert.ok(
          grown < 48,
          `RSS grew by ${grown.toFixed(1)} MiB while ${(sent / MiB).toFixed(0)} MiB were offered`,
        );
      } finally {
        release();
        socket.destroy();
        await server.close();
      }
    });
  }

  it("gives the slot of a hook that never settles back when its client leaves or times out", async () => {
    const hung = counter(5);
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: false,
      maxClients: 5,
      // Long enough that the steps before the timeouts finish first on a loaded machine.
      handshakeTimeout: 4000,
      accept: (info) => {
        if (info.path !== "/hang") return;
        hung.hit();
        return new Promise<void>(() => {});
      },
    }, () => {});
    const raws: RawClient[] = [];
    const opened: WS[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const c = await RawClient.connect(server.port);
        c.write(upgradeRequest("/hang"));
        raws.push(c);
      }
      await hung.reached;
      assert.equal(await tryOpen(server.url), 503, "five hung hooks fill maxClients");
      // Three of the hung clients leave: their three slots are free at once.
      for (const c of raws.slice(0, 3)) c.destroy();
      for (let i = 0; i < 3; i++) opened.push(await openEventually(server.url, 1500));
      assert.equal(await tryOpen(server.url), 503, "two hung hooks and three clients fill it");
      // The other two time out: the server drops them and their slots are free.
      await Promise.all(raws.slice(3).map((c) => c.waitClosed(8000)));
      for (let i = 0; i < 2; i++) opened.push(await openEventually(server.url, 3000));
      assert.equal(server.clients.size, 5);
      assert.equal(await tryOpen(server.url), 503, "five open clients fill it");
    } finally {
      for (const c of raws) c.destroy();
      await closeAll(opened);
      await server.close();
    }
  });
});
