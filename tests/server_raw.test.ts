/** Raw TCP clients on a WebSocket server's port, and the tcp:// client (gulfstream's one roof). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import type { ProtocolError } from "../src/errors.ts";
import { RawType } from "../src/protocol/raw.ts";
import { serve } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import { once, RawClient } from "./_helpers.ts";

const dec = new TextDecoder();

/** A chat server: every message goes to everyone in the room, WebSocket and raw alike. */
async function chat(opts: Parameters<typeof serve>[0] = {}) {
  const sockets: WS[] = [];
  const server = await serve({
    port: 0,
    hostname: "127.0.0.1",
    raw: true,
    heartbeat: false,
    ...opts,
  }, (ws) => {
    sockets.push(ws);
    ws.subscribe("room");
    ws.on("message", (m) => {
      if (ws.readyState === "open") server.publish("room", `${ws.kind}: ${m}`);
    });
  });
  return { server, sockets };
}

describe("raw TCP under the same roof", () => {
  it("puts a raw client and a WebSocket client in the same room", async () => {
    const { server, sockets } = await chat();
    const raw = await RawClient.connect(server.port);
    try {
      raw.write("hello from nc\n");
      const ws = connect(server.url);
      await once(ws, "open");
      for (let i = 0; i < 100 && sockets.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(sockets.map((s) => s.kind).sort(), ["raw", "websocket"]);
      const got = once(ws, "message");
      ws.send("hello from ws");
      assert.deepEqual(await got, ["websocket: hello from ws", false]);
      await raw.waitFor(
        (b) => dec.decode(b).includes("websocket: hello from ws\n"),
        5000,
        "the line",
      );
      assert.equal(dec.decode(raw.received), "raw: hello from nc\nwebsocket: hello from ws\n");
      const rawSocket = sockets.find((s) => s.kind === "raw")!;
      assert.equal(rawSocket.request?.path, "/");
      assert.match(rawSocket.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.throws(() => rawSocket.ping(), /no ping/);
      ws.close();
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("answers garbage and oversized lines with an error line and a close, and keeps serving", async () => {
    const { server, sockets } = await chat({ maxPayload: 64 });
    try {
      const bad = await RawClient.connect(server.port);
      bad.write(new Uint8Array([0x68, 0x69, 0xff, 0xfe, 0x0a]));
      await bad.waitClosed();
      assert.equal(dec.decode(bad.received), "error: line is not valid UTF-8\n");
      const long = await RawClient.connect(server.port);
      long.write("x".repeat(100));
      await long.waitClosed();
      assert.equal(dec.decode(long.received), "error: line over the limit of 64 bytes\n");
      assert.equal(sockets.length, 2, "both were admitted before they failed");
      const good = await RawClient.connect(server.port);
      good.write("still here\n");
      await good.waitFor((b) => dec.decode(b) === "raw: still here\n", 5000, "the echo");
      good.destroy();
    } finally {
      await server.close();
    }
  });

  it("takes a silent client as raw after detectTimeout, and the server speaks first", async () => {
    const server = await serve(
      { port: 0, hostname: "127.0.0.1", raw: { detectTimeout: 100 } },
      (ws) => {
        ws.send(`welcome, ${ws.kind} client`);
      },
    );
    const raw = await RawClient.connect(server.port);
    try {
      const t0 = Date.now();
      await raw.waitFor((b) => dec.decode(b) === "welcome, raw client\n", 5000, "the welcome");
      assert.ok(Date.now() - t0 >= 80, "not before the detection timeout");
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("connects to tcp:// URLs with the same API, line and length framing", async () => {
    for (const framing of ["line", "length"] as const) {
      const closes: Array<[number, boolean]> = [];
      const server = await serve({
        port: 0,
        hostname: "127.0.0.1",
        raw: { framing },
        heartbeat: false,
      }, (ws) => {
        ws.on("message", (m) => ws.send(m));
        ws.on("close", (code, _r, clean) => closes.push([code, clean]));
      });
      try {
        const client = connect(`tcp://127.0.0.1:${server.port}`, { framing });
        assert.equal(client.kind, "raw");
        client.send("queued before open");
        await once(client, "open");
        assert.deepEqual(await once(client, "message"), ["queued before open", false]);
        const bin = once(client, "message");
        client.send(new Uint8Array([1, 2, 3]));
        if (framing === "length") assert.deepEqual(await bin, [new Uint8Array([1, 2, 3]), true]);
        else assert.deepEqual(await bin, ["\u0001\u0002\u0003", false]);
        const closed = once<[number, string, boolean]>(client, "close");
        client.close(4000, "bye");
        const [code, , clean] = await closed;
        assert.equal(code, 4000);
        assert.equal(clean, true);
        for (let i = 0; i < 100 && closes.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.deepEqual(closes, [[framing === "length" ? 4000 : 1000, true]]);
      } finally {
        await server.close();
      }
    }
  });

  it("refuses an oversized length-prefixed message from its prefix with a 1009 close frame", async () => {
    const errors: ProtocolError[] = [];
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      raw: { framing: "length" },
      maxPayload: 100,
    }, (ws) => {
      ws.on("error", (e) => errors.push(e as ProtocolError));
    });
    const raw = await RawClient.connect(server.port);
    try {
      raw.write(new Uint8Array([RawType.Binary, 0, 0, 0, 101]));
      await raw.waitClosed();
      const got = raw.received;
      assert.equal(got[0], RawType.Close);
      assert.equal((got[5] << 8) | got[6], 1009);
      assert.equal(errors[0]?.code, "WS_ERR_MESSAGE_TOO_BIG");
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("counts raw clients against maxClients and tells the refused one why", async () => {
    const server = await serve(
      { port: 0, hostname: "127.0.0.1", raw: true, maxClients: 1 },
      () => {},
    );
    const first = await RawClient.connect(server.port);
    try {
      first.write("one\n");
      for (let i = 0; i < 100 && server.clients.size === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const second = await RawClient.connect(server.port);
      second.write("two\n");
      await second.waitClosed();
      assert.equal(dec.decode(second.received), "error: 503 too many clients\n");
    } finally {
      first.destroy();
      await server.close();
    }
  });
});
