import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import type { TimeoutError } from "../src/errors.ts";
import { acceptKey } from "../src/protocol/handshake.ts";
import { serve } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import { decodeFrames, once, RawClient, rawUpgrade } from "./_helpers.ts";

async function firstSocket(sockets: WS[]): Promise<WS> {
  for (let i = 0; i < 100 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(sockets.length > 0, "the handler ran");
  return sockets[0];
}

describe("heartbeat", () => {
  it("drops a peer that does not answer pings within the deadline", async () => {
    const sockets: WS[] = [];
    const server = await serve(
      { port: 0, hostname: "127.0.0.1", heartbeat: { interval: 100, timeout: 200 } },
      (ws) => sockets.push(ws),
    );
    const raw = await RawClient.connect(server.port);
    try {
      const start = await rawUpgrade(raw);
      const ws = await firstSocket(sockets);
      const t0 = Date.now();
      const error = once<[TimeoutError]>(ws, "error", 5000);
      const closed = once<[number, string, boolean]>(ws, "close", 5000);
      assert.equal((await error)[0].code, "WS_ERR_HEARTBEAT_TIMEOUT");
      assert.deepEqual(await closed, [1006, "", false]);
      const took = Date.now() - t0;
      assert.ok(
        took >= 250 && took < 2000,
        `detected after ${took} ms (interval 100 + timeout 200)`,
      );
      await raw.waitClosed();
      const pings = decodeFrames(raw.received.subarray(start)).filter((f) => f.opcode === 0x9);
      assert.ok(pings.length >= 1, "the silent peer was pinged first");
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("keeps a peer that answers pings, across several intervals", async () => {
    const server = await serve(
      { port: 0, hostname: "127.0.0.1", heartbeat: { interval: 50, timeout: 100 } },
      () => {},
    );
    const ws = connect(server.url);
    try {
      await once(ws, "open");
      for (let i = 0; i < 4; i++) await once(ws, "ping", 2000);
      assert.equal(ws.readyState, "open");
    } finally {
      ws.close();
      await server.close();
    }
  });

  it("lets a client detect a dead server too", async () => {
    const raw = net.createServer((socket) => {
      socket.once("data", (b: Uint8Array) => {
        const key = /sec-websocket-key: (\S+)/i.exec(new TextDecoder().decode(b))![1];
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
        );
        // From here on the "server" reads but never answers: a dead peer.
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const { port } = raw.address() as net.AddressInfo;
    try {
      const ws = connect(`ws://127.0.0.1:${port}/`, { heartbeat: { interval: 100, timeout: 200 } });
      await once(ws, "open");
      const t0 = Date.now();
      const error = once<[TimeoutError]>(ws, "error", 5000);
      const closed = once<[number]>(ws, "close", 5000);
      assert.equal((await error)[0].code, "WS_ERR_HEARTBEAT_TIMEOUT");
      assert.equal((await closed)[0], 1006);
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took < 2000, `detected after ${took} ms`);
    } finally {
      await new Promise((r) => raw.close(r));
    }
  });

  it("closes an idle connection with 1001 after idleTimeout", async () => {
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 200,
      heartbeat: false,
    }, () => {});
    const ws = connect(server.url);
    try {
      await once(ws, "open");
      const t0 = Date.now();
      const [code, reason] = await once<[number, string]>(ws, "close", 5000);
      const took = Date.now() - t0;
      assert.deepEqual([code, reason], [1001, "idle timeout"]);
      assert.ok(took >= 150 && took < 2000, `closed after ${took} ms`);
    } finally {
      await server.close();
    }
  });

  it("lets go of a closed socket at once, not at its next sweep", async (t) => {
    const g = globalThis as { Bun?: { gc(force: boolean): void }; gc?: () => void };
    const collect = g.Bun ? () => g.Bun!.gc(true) : g.gc;
    if (!collect) return t.skip("needs a collector to call: run with --expose-gc");
    // The sweep period is 5 s: no sweep runs while this test does.
    const refs: WeakRef<WS>[] = [];
    let closed = 0;
    const server = await serve(
      { port: 0, hostname: "127.0.0.1", heartbeat: { interval: 10_000, timeout: 10_000 } },
      (ws) => {
        refs.push(new WeakRef(ws));
        ws.on("close", () => closed++);
      },
    );
    const N = 40;
    try {
      for (let i = 0; i < N; i++) {
        const client = connect(server.url);
        await once(client, "open", 5000);
        client.close(1000);
        await once(client, "close", 5000);
      }
      for (let i = 0; i < 100 && closed < N; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(closed, N, "every server-side socket closed");
      assert.equal(server.clients.size, 0);
      let alive = N;
      // A few rounds: sockets' last callbacks run in later turns, and a collector scanning the
      // stack conservatively (JavaScriptCore) may keep one or two a round longer.
      for (let round = 0; round < 5 && alive > N / 10; round++) {
        await new Promise((r) => setTimeout(r, 20));
        collect();
        alive = refs.filter((r) => r.deref() !== undefined).length;
      }
      assert.ok(alive <= N / 10, `${alive} of ${N} closed sockets still reachable`);
    } finally {
      await server.close();
    }
  });
});
