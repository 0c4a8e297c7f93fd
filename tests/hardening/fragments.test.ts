/**
 * Tiny fragments: a message sent as millions of 1-byte continuation frames must cost memory for
 * its payload, not per fragment, on the server and on the client (they share the protocol core).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { connect } from "../../src/client.ts";
import { serve } from "../../src/server.ts";
import { clientFrame, headEnd, once, RawClient, rawUpgrade, withTimeout } from "../_helpers.ts";
import { MiB, pump, repeat, rssPeak } from "./_flood.ts";

/** Fragments per flood: at ~130 bytes each when kept one by one, far more than the RSS bound. */
const FRAGMENTS = 3 * 1024 * 1024;
const PER_BLOCK = 8192;
const BLOCKS = FRAGMENTS / PER_BLOCK;
/** Allowed RSS growth while a flood is received. */
const BOUND = 64 * MiB;

describe("a message of millions of 1-byte fragments", () => {
  it("costs the server its payload, not per-fragment memory", { timeout: 30_000 }, async () => {
    let resolve!: (m: string | Uint8Array) => void;
    const got = new Promise<string | Uint8Array>((r) => (resolve = r));
    const server = await serve(
      { port: 0, hostname: "127.0.0.1", heartbeat: false },
      (ws) => ws.on("message", (m) => resolve(m)),
    );
    const client = await RawClient.connect(server.port);
    try {
      await rawUpgrade(client);
      const block = repeat(clientFrame(0x0, "b", { fin: false }), PER_BLOCK);
      const peak = rssPeak();
      const before = peak.stop();
      const sampler = rssPeak();
      client.write(clientFrame(0x1, "a", { fin: false }));
      await pump(client.socket, block, BLOCKS);
      client.write(clientFrame(0x0, "c"));
      const m = await withTimeout(got, 8000, "the message");
      const grew = sampler.stop() - before;
      assert.equal(typeof m, "string");
      assert.equal((m as string).length, FRAGMENTS + 2);
      assert.ok(
        (m as string).startsWith("ab") && (m as string).endsWith("bc"),
        "the fragments joined in order",
      );
      assert.ok(grew < BOUND, `RSS grew by ${(grew / MiB).toFixed(0)} MiB`);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it("costs the client its payload, not per-fragment memory", { timeout: 30_000 }, async () => {
    const block = repeat(new Uint8Array([0x00, 1, 0x62]), PER_BLOCK);
    const sockets = new Set<net.Socket>();
    const tcp = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      let head = new Uint8Array(0);
      socket.on("data", function onHead(b: Uint8Array) {
        const joined = new Uint8Array(head.length + b.length);
        joined.set(head);
        joined.set(b, head.length);
        head = joined;
        const end = headEnd(head);
        if (end < 0) return;
        socket.off("data", onHead);
        const text = new TextDecoder().decode(head.subarray(0, end));
        const key = /sec-websocket-key:\s*(\S+)/i.exec(text)![1];
        const accept = createHash("sha1")
          .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
          .digest("base64");
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        socket.write(new Uint8Array([0x02, 1, 0x61]));
        pump(socket, block, BLOCKS).then(
          () => socket.write(new Uint8Array([0x80, 1, 0x63])),
          () => {},
        );
      });
    });
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const port = (tcp.address() as net.AddressInfo).port;
    const before = rssPeak().stop();
    const sampler = rssPeak();
    const ws = connect(`ws://127.0.0.1:${port}/`);
    try {
      const [m, isBinary] = await once<[Uint8Array, boolean]>(ws, "message", 8000);
      const grew = sampler.stop() - before;
      assert.equal(isBinary, true);
      assert.equal(m.length, FRAGMENTS + 2);
      assert.deepEqual([m[0], m[1], m[m.length - 2], m[m.length - 1]], [0x61, 0x62, 0x62, 0x63]);
      assert.ok(grew < BOUND, `RSS grew by ${(grew / MiB).toFixed(0)} MiB`);
    } finally {
      ws.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    }
  });
});
