import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import { InvalidOptionError, ProtocolError, StateError } from "../src/errors.ts";
import { serve, type Server } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import { clientFrame, closeCodeOf, decodeFrames, once, RawClient, rawUpgrade } from "./_helpers.ts";

async function echoServer(
  opts: Parameters<typeof serve>[0] = {},
): Promise<{ server: Server; sockets: WS[] }> {
  const sockets: WS[] = [];
  const server = await serve({ port: 0, hostname: "127.0.0.1", ...opts }, (ws) => {
    sockets.push(ws);
    ws.on("message", (data) => {
      if (ws.readyState === "open") ws.send(data);
    });
  });
  return { server, sockets };
}

async function opened(url: string, opts: Parameters<typeof connect>[1] = {}): Promise<WS> {
  const ws = connect(url, opts);
  await once(ws, "open");
  return ws;
}

function nextMessage(ws: WS): Promise<[string | Uint8Array, boolean]> {
  return once<[string | Uint8Array, boolean]>(ws, "message", 10_000);
}

describe("WS over a real socket", () => {
  it("echoes text and binary of every length class, as the same type", async () => {
    const { server } = await echoServer();
    const ws = await opened(server.url);
    try {
      for (const n of [0, 1, 125, 126, 65535, 65536, 1 << 20]) {
        const bin = new Uint8Array(n);
        for (let i = 0; i < n; i++) bin[i] = (i * 31 + 7) & 0xff;
        ws.send(bin);
        const [data, isBinary] = await nextMessage(ws);
        assert.equal(isBinary, true);
        assert.ok(data instanceof Uint8Array);
        assert.equal(Object.getPrototypeOf(data), Uint8Array.prototype, "a plain Uint8Array");
        assert.deepEqual(data, bin, `binary of ${n} bytes`);
        const text = "é€😀x".repeat(Math.ceil(n / 10)).slice(0, n);
        ws.send(text);
        const [t, tb] = await nextMessage(ws);
        assert.equal(tb, false);
        assert.equal(t, text, `text of ${text.length} chars`);
      }
    } finally {
      ws.close();
      await server.close();
    }
  });

  it("moves readyState connecting → open → closing → closed with clean close codes", async () => {
    const { server, sockets } = await echoServer();
    const ws = connect(server.url);
    const states: string[] = [ws.readyState];
    ws.on("open", () => states.push(ws.readyState));
    const serverClose = (async () => {
      while (sockets.length === 0) await once(ws, "open");
      return once<[number, string, boolean]>(sockets[0], "close");
    })();
    await once(ws, "open");
    ws.close(4001, "done here");
    states.push(ws.readyState);
    const [code, reason, clean] = await once<[number, string, boolean]>(ws, "close");
    states.push(ws.readyState);
    assert.deepEqual(states, ["connecting", "open", "closing", "closed"]);
    assert.deepEqual([code, reason, clean], [4001, "", true], "the server echoes the code");
    assert.deepEqual(await serverClose, [4001, "done here", true]);
    assert.equal(sockets[0].readyState, "closed");
    await server.close();
  });

  it("server-initiated close reaches the client with code and reason", async () => {
    const { server, sockets } = await echoServer();
    const ws = await opened(server.url);
    await withSocket(sockets);
    const closed = once<[number, string, boolean]>(ws, "close");
    sockets[0].close(1001, "going away now");
    assert.deepEqual(await closed, [1001, "going away now", true]);
    await server.close();
  });

  it("fires send callbacks once written and throws a StateError after close", async () => {
    const { server } = await echoServer();
    const ws = await opened(server.url);
    const written = await new Promise<Error | undefined>((resolve) => ws.send("x", resolve));
    assert.equal(written, undefined);
    await nextMessage(ws);
    ws.close();
    assert.throws(
      () => ws.send("late"),
      (err: unknown) => err instanceof StateError && err.code === "WS_ERR_NOT_OPEN",
    );
    assert.throws(() => ws.ping(), StateError);
    await once(ws, "close");
    assert.throws(() => ws.sendBinary(new Uint8Array(1)), StateError);
    await server.close();
  });

  it("queues sends made while connecting and delivers them after open", async () => {
    const { server } = await echoServer();
    const ws = connect(server.url);
    ws.send("early");
    assert.equal(ws.bufferedAmount, 5);
    const [data] = await nextMessage(ws);
    assert.equal(data, "early");
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  it("sends a message in fragments, with pings between them", async () => {
    const { server } = await echoServer();
    const ws = await opened(server.url);
    try {
      const pong = once(ws, "pong");
      const first = nextMessage(ws);
      ws.sendFragment("Hel", false);
      ws.ping("mid");
      assert.throws(
        () => ws.send("whole"),
        (err: unknown) => err instanceof StateError && err.code === "WS_ERR_FRAGMENT_IN_PROGRESS",
      );
      assert.throws(() => ws.sendFragment(new Uint8Array(1), true), StateError);
      ws.sendFragment("lo ✓", true);
      await pong;
      assert.deepEqual(await first, ["Hello ✓", false]);
      const second = nextMessage(ws);
      ws.sendFragment(new Uint8Array([1, 2]), false);
      ws.sendFragment(new Uint8Array([]), false);
      ws.sendFragment(new Uint8Array([3]), true);
      assert.deepEqual(await second, [new Uint8Array([1, 2, 3]), true]);
    } finally {
      ws.close();
      await server.close();
    }
  });

  it("answers pings with pongs carrying the same payload, and reports both", async () => {
    const { server, sockets } = await echoServer();
    const ws = await opened(server.url);
    await withSocket(sockets);
    const serverPing = once<[Uint8Array]>(sockets[0], "ping");
    const pong = once<[Uint8Array]>(ws, "pong");
    ws.ping("are you there");
    assert.equal(new TextDecoder().decode((await serverPing)[0]), "are you there");
    assert.equal(new TextDecoder().decode((await pong)[0]), "are you there");
    assert.throws(() => ws.ping(new Uint8Array(126)), InvalidOptionError);
    ws.close();
    await server.close();
  });

  it("rejects close codes that may not be sent", async () => {
    const { server } = await echoServer();
    const ws = await opened(server.url);
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) {
      assert.throws(() => ws.close(code), InvalidOptionError, `code ${code}`);
    }
    assert.throws(() => ws.close(1000, "x".repeat(124)), InvalidOptionError);
    assert.equal(ws.readyState, "open");
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  it("terminate drops the connection: 1006 on both sides", async () => {
    const { server, sockets } = await echoServer();
    const ws = await opened(server.url);
    await withSocket(sockets);
    const serverClose = once<[number, string, boolean]>(sockets[0], "close");
    const clientClose = once<[number, string, boolean]>(ws, "close");
    ws.terminate();
    assert.deepEqual(await clientClose, [1006, "", false]);
    assert.deepEqual(await serverClose, [1006, "", false]);
    await server.close();
  });

  it("closes with 1009 when a message exceeds maxPayload", async () => {
    const { server, sockets } = await echoServer({ maxPayload: 1000 });
    const ws = await opened(server.url);
    await withSocket(sockets);
    const serverError = once<[ProtocolError]>(sockets[0], "error");
    const closed = once<[number, string, boolean]>(ws, "close");
    ws.send(new Uint8Array(1001));
    const [err] = await serverError;
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, "WS_ERR_MESSAGE_TOO_BIG");
    assert.equal(err.closeCode, 1009);
    assert.equal((await closed)[0], 1009);
    await server.close();
  });

  it("drops a peer that never answers the closing handshake after closeTimeout", async () => {
    const { server, sockets } = await echoServer({ closeTimeout: 300 });
    const raw = await RawClient.connect(server.port);
    await rawUpgrade(raw);
    await withSocket(sockets);
    const t0 = Date.now();
    const closed = once<[number, string, boolean]>(sockets[0], "close", 5000);
    sockets[0].close(1000);
    const [code, , clean] = await closed;
    const took = Date.now() - t0;
    assert.equal(code, 1006);
    assert.equal(clean, false);
    assert.ok(took >= 250 && took < 4000, `closed after ${took} ms`);
    await raw.waitClosed();
    await server.close();
  });

  it("fails the connection on a protocol error, sending the close code before closing TCP", async () => {
    const { server, sockets } = await echoServer();
    const raw = await RawClient.connect(server.port);
    const start = await rawUpgrade(raw);
    await withSocket(sockets);
    const err = once<[ProtocolError]>(sockets[0], "error");
    const closed = once<[number, string, boolean]>(sockets[0], "close");
    raw.write(clientFrame(0x1, "hi", { mask: false }));
    assert.equal((await err)[0].code, "WS_ERR_EXPECTED_MASK");
    await raw.waitClosed();
    const frames = decodeFrames(raw.received.subarray(start));
    assert.equal(frames.length, 1);
    assert.equal(frames[0].opcode, 0x8);
    assert.equal(closeCodeOf(frames[0]), 1002);
    assert.deepEqual(await closed, [1002, "", false]);
    await server.close();
  });

  it("delivers valid frames that precede a bad one in the same read", async () => {
    const { server, sockets } = await echoServer();
    const raw = await RawClient.connect(server.port);
    const start = await rawUpgrade(raw);
    const got: string[] = [];
    await withSocket(sockets);
    sockets[0].on("message", (d) => got.push(d as string));
    const a = clientFrame(0x1, "one"), b = clientFrame(0x1, "two"), bad = clientFrame(0x3);
    const all = new Uint8Array(a.length + b.length + bad.length);
    all.set(a);
    all.set(b, a.length);
    all.set(bad, a.length + b.length);
    raw.write(all);
    await raw.waitClosed();
    assert.deepEqual(got, ["one", "two"]);
    const frames = decodeFrames(raw.received.subarray(start));
    assert.deepEqual(frames.map((f) => f.opcode), [1, 1, 8]);
    assert.equal(closeCodeOf(frames[2]), 1002);
    await server.close();
  });

  it("exposes url, version, protocol, request info and the peer's address", async () => {
    const { server, sockets } = await echoServer({ protocols: ["b", "a"] });
    const ws = await opened(`${server.url}/room/1?user=ann`, {
      protocols: ["a", "b"],
      headers: { "X-Test": "1" },
    });
    await withSocket(sockets);
    const s = sockets[0];
    assert.equal(ws.protocol, "a", "the first protocol the client offered that the server accepts");
    assert.equal(s.protocol, "a");
    assert.equal(ws.version, "hybi-13");
    assert.equal(ws.url, `${server.url}/room/1?user=ann`);
    assert.equal(s.request?.path, "/room/1");
    assert.equal(s.request?.query.get("user"), "ann");
    assert.equal(s.request?.headers.get("x-test"), "1");
    // Read after the headers, which replace the head the URL is otherwise rebuilt from.
    assert.equal(s.url, `${server.url}/room/1?user=ann`);
    assert.equal(s.remoteAddress.replace(/^::ffff:/, ""), "127.0.0.1");
    assert.ok(s.remotePort > 0);
    assert.equal(ws.remotePort, server.port);
    ws.close();
    await once(ws, "close");
    await server.close();
  });

  it("reports bufferedAmount and drains it", async () => {
    const { server } = await echoServer();
    const ws = await opened(server.url);
    const big = new Uint8Array(4 << 20);
    const done = new Promise<Error | undefined>((r) => ws.send(big, r));
    assert.ok(ws.bufferedAmount > 0, "4 MiB cannot all be written synchronously");
    assert.equal(await done, undefined);
    assert.equal(ws.bufferedAmount, 0);
    await nextMessage(ws);
    ws.close();
    await server.close();
  });

  it("stops reading a peer that floods and never reads, so its replies stay within the high-water mark", async () => {
    const hwm = 64 * 1024, size = 16 * 1024;
    let maxBuffered = 0, echoed = 0;
    const server = await serve({ port: 0, hostname: "127.0.0.1", highWaterMark: hwm }, (ws) => {
      ws.on("message", (data) => {
        if (ws.readyState !== "open") return;
        ws.send(data);
        echoed++;
        maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      });
    });
    const raw = await RawClient.connect(server.port);
    try {
      await rawUpgrade(raw);
      raw.socket.pause();
      const frame = clientFrame(0x2, new Uint8Array(size));
      const count = 2000;
      for (let i = 0; i < count; i++) raw.write(frame);
      // Wait (bounded) until the server stops reading: the flood then backs up in this process.
      for (let i = 0; i < 500 && raw.socket.writableLength < 8 * 1024 * 1024; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(raw.socket.writableLength >= 8 * 1024 * 1024, "the server stopped reading");
      assert.ok(echoed < count, `not every request was read (${echoed} of ${count})`);
      assert.ok(maxBuffered <= hwm + size + 14, `buffered ${maxBuffered} > ${hwm} + one message`);
    } finally {
      raw.destroy();
      await server.close();
    }
  });
});

async function withSocket(sockets: WS[]): Promise<void> {
  for (let i = 0; i < 100 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(sockets.length > 0, "the server handler ran");
}
