/**
 * Floods of tiny frames from a peer that does not read: replies (pongs, echoes) may only pile up
 * to the high-water mark, where the connection stops reading, and memory stays bounded.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { connect } from "../../src/client.ts";
import { serve } from "../../src/server.ts";
import { clientFrame, headEnd, once, RawClient, rawUpgrade } from "../_helpers.ts";
import { MiB, pumpUntilStalled, repeat, rssPeak } from "./_flood.ts";

const PER_BLOCK = 8192;
/**
 * Bytes of frames offered. Kernel buffers absorb part of a flood even after the peer under attack
 * stopped reading: a receive buffer that grew while the peer read fast (to `tcp_rmem`'s maximum,
 * 32 MiB on these machines) and the attacker's send buffer (4 MiB). With 24 MiB offered, a Bun
 * server that stopped reading sometimes took all of it; a stall is only proof well beyond that.
 */
const OFFERED = 192 * MiB;

/** How many blocks of `block.length` bytes make up `OFFERED`. */
function blocksOf(block: Uint8Array): number {
  return Math.ceil(OFFERED / block.length);
}
/**
 * Peak RSS growth allowed while one peer floods. Unbounded, a queue entry per pong or echo grew it
 * by hundreds of MiB (111 MiB on Deno before the flood stalled); bounded, it stays under 64 MiB on
 * Node 20 and 22, Deno and Bun, and peaks at 72-79 MiB on Node 24, whose heap grows further before
 * it collects the flood's garbage.
 */
const BOUND = 96 * MiB;

async function floodServer(frame: Uint8Array): Promise<void> {
  const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
    ws.on("message", (m) => {
      if (ws.readyState === "open") ws.send(m);
    });
  });
  const client = await RawClient.connect(server.port);
  try {
    await rawUpgrade(client);
    client.socket.pause(); // reads nothing more: every reply stays with the server
    const before = rssPeak().stop();
    const sampler = rssPeak();
    const block = repeat(frame, PER_BLOCK);
    const sent = await pumpUntilStalled(client.socket, block, blocksOf(block));
    const grew = sampler.stop() - before;
    assert.ok(sent < blocksOf(block), "the server stopped reading from a peer that does not read");
    assert.ok(grew < BOUND, `RSS grew by ${(grew / MiB).toFixed(0)} MiB`);
    // The server still serves others.
    const other = connect(`ws://127.0.0.1:${server.port}/`);
    await once(other, "open");
    other.send("still here");
    const [echo] = await once<[string]>(other, "message");
    assert.equal(echo, "still here");
    other.terminate();
  } finally {
    client.destroy();
    await server.close();
  }
}

describe("floods from a peer that does not read", () => {
  it("of pings: the server's pongs stop at the high-water mark", { timeout: 30_000 }, async () => {
    await floodServer(clientFrame(0x9));
  });

  it("of tiny messages to an echo server: the echoes stop at the high-water mark", {
    timeout: 30_000,
  }, async () => {
    await floodServer(clientFrame(0x2, "x"));
  });

  it(
    "of pings from a server: the client's pongs stop at the high-water mark",
    { timeout: 30_000 },
    async () => {
      const sockets = new Set<net.Socket>();
      const pings = repeat(new Uint8Array([0x89, 0]), PER_BLOCK);
      let stalled!: (sent: number) => void;
      const done = new Promise<number>((r) => (stalled = r));
      const tcp = net.createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => {});
        socket.once("data", (b: Uint8Array) => {
          const text = new TextDecoder().decode(b.subarray(0, headEnd(b)));
          const key = /sec-websocket-key:\s*(\S+)/i.exec(text)![1];
          const accept = createHash("sha1")
            .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
            .digest("base64");
          socket.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
          );
          socket.pause();
          pumpUntilStalled(socket, pings, blocksOf(pings)).then(stalled);
        });
      });
      await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
      const port = (tcp.address() as net.AddressInfo).port;
      const before = rssPeak().stop();
      const sampler = rssPeak();
      const ws = connect(`ws://127.0.0.1:${port}/`);
      try {
        await once(ws, "open");
        const sent = await done;
        const grew = sampler.stop() - before;
        assert.ok(
          sent < blocksOf(pings),
          "the client stopped reading from a peer that does not read",
        );
        assert.ok(grew < BOUND, `RSS grew by ${(grew / MiB).toFixed(0)} MiB`);
      } finally {
        ws.terminate();
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => tcp.close(() => r()));
      }
    },
  );
});
