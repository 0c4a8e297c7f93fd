/** Streams over real sockets: async iteration, WebSocketStream, backpressure both ways, fragments. */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import { WebSocketStream } from "../../src/client/stream.ts";
import { WSError } from "../../src/errors.ts";
import { PerMessageDeflate } from "../../src/protocol/deflate.ts";
import { Protocol } from "../../src/protocol/protocol.ts";
import { serve } from "../../src/server.ts";
import { messages, sendStream, toStreams } from "../../src/stream.ts";
import type { WS } from "../../src/ws.ts";
import { freePort, once, withTimeout } from "../_helpers.ts";

/** The sequence number a flooder put at the start of a message. */
const seqOf = (m: unknown) => {
  const u = m as Uint8Array;
  return new DataView(u.buffer, u.byteOffset, u.byteLength).getUint32(0);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Serves with `handler` for the duration of `body`. */
async function withServer(
  handler: (ws: WS) => void,
  body: (url: string) => Promise<void>,
  deflate = false,
): Promise<void> {
  const server = await serve({ port: 0, hostname: "127.0.0.1", deflate }, handler);
  try {
    await body(`ws://127.0.0.1:${server.port}/`);
  } finally {
    await server.close();
  }
}

/**
 * A server that floods each client with numbered 64 KiB messages, as fast as its own buffer
 * allows, and counts the bytes it handed over.
 */
function flooder(stats: { sent: number; stop: boolean; limit?: number }) {
  return (ws: WS) => {
    let seq = 0;
    const pump = () => {
      let last: Uint8Array | undefined;
      while (
        !stats.stop && stats.sent < (stats.limit ?? Infinity) && ws.readyState === "open" &&
        ws.bufferedAmount < ws.highWaterMark
      ) {
        // A buffer per message: the server does not copy what it sends.
        last = new Uint8Array(64 * 1024);
        new DataView(last.buffer).setUint32(0, seq++);
        stats.sent += last.length;
        if (ws.bufferedAmount + last.length < ws.highWaterMark) ws.send(last);
        // The batch's last message: once it is written, go on (a runtime that took every byte
        // at once has no backpressure to report with a drain event).
        else ws.send(last, (err) => err || pump());
      }
    };
    ws.on("drain", pump);
    pump();
  };
}

describe("streams", () => {
  it("for await (const m of ws): every message, then the end at a clean close", async () => {
    await withServer((ws) => {
      for (let i = 0; i < 5; i++) ws.send(`m${i}`);
      ws.send(new Uint8Array([7]));
      ws.close(1000, "done");
    }, async (url) => {
      const got: unknown[] = [];
      for await (const m of connect(url)) got.push(m);
      assert.deepEqual(got, ["m0", "m1", "m2", "m3", "m4", new Uint8Array([7])]);
    });
  });

  it("for await throws after an unclean close", async () => {
    await withServer((ws) => {
      ws.send("one");
      setTimeout(() => ws.terminate(), 20);
    }, async (url) => {
      const got: unknown[] = [];
      await assert.rejects(
        async () => {
          for await (const m of connect(url)) got.push(m);
        },
        (e: unknown) => e instanceof WSError && e.code === "WS_ERR_ABNORMAL_CLOSE",
      );
      assert.deepEqual(got, ["one"]);
    });
  });

  it("break leaves the socket open and unpaused for its other listeners", async () => {
    await withServer((ws) => ws.on("message", (m) => ws.send(m)), async (url) => {
      const ws = connect(url);
      ws.send("a");
      for await (const m of ws) {
        assert.equal(m, "a");
        break;
      }
      assert.equal(ws.readyState, "open");
      assert.equal(ws.isPaused, false);
      const next = once(ws, "message");
      ws.send("b");
      assert.deepEqual(await next, ["b", false]);
      ws.close();
    });
  });

  it("WebSocketStream: opened gives readable and writable, closed the code and reason", async () => {
    await withServer((ws) => {
      ws.on("message", (m) => (m === "bye" ? ws.close(4000, "as asked") : ws.send(`echo ${m}`)));
    }, async (url) => {
      const wss = new WebSocketStream(url);
      const { readable, writable, protocol, extensions } = await wss.opened;
      assert.equal(protocol, "");
      assert.equal(extensions, "");
      const writer = writable.getWriter();
      const reader = readable.getReader();
      await writer.write("hi");
      assert.deepEqual(await reader.read(), { value: "echo hi", done: false });
      await writer.write("bye");
      assert.deepEqual(await reader.read(), { value: undefined, done: true });
      assert.deepEqual(await wss.closed, { closeCode: 4000, reason: "as asked" });
    });
  });

  it("WebSocketStream: opened and closed reject when the connection cannot open", async () => {
    const wss = new WebSocketStream(`ws://127.0.0.1:${await freePort()}/`);
    await assert.rejects(wss.opened, (e: unknown) => e instanceof WSError);
    await assert.rejects(wss.closed, (e: unknown) => e instanceof WSError);
  });

  it("WebSocketStream: an aborted signal rejects opened with WS_ERR_ABORTED", async () => {
    await withServer(() => {}, async (url) => {
      const ac = new AbortController();
      const wss = new WebSocketStream(url, { signal: ac.signal });
      ac.abort();
      await assert.rejects(
        wss.opened,
        (e: unknown) => e instanceof WSError && e.code === "WS_ERR_ABORTED",
      );
    });
  });

  it("server side: toStreams pipes an echo through a TransformStream", async () => {
    await withServer((ws) => {
      const { readable, writable } = toStreams(ws);
      readable.pipeThrough(
        new TransformStream<string | Uint8Array, string>({
          transform: (m, c) => c.enqueue(String(m).toUpperCase()),
        }),
      ).pipeTo(writable).catch(() => {});
    }, async (url) => {
      const ws = connect(url);
      const got: unknown[] = [];
      ws.send("abc");
      ws.send("def");
      for await (const m of ws) {
        got.push(m);
        if (got.length === 2) break;
      }
      assert.deepEqual(got, ["ABC", "DEF"]);
      ws.close();
    });
  });

  it(
    "a consumer that reads nothing pauses the socket: the flooding server stalls, memory stays bounded, nothing is lost",
    {
      timeout: 30_000,
    },
    async () => {
      const stuck = { sent: 0, stop: false };
      await withServer(flooder(stuck), async (url) => {
        const ws = connect(url);
        const it = messages(ws, { highWaterMark: 4 });
        const first = await withTimeout(it.next(), 5000, "the first message");
        assert.equal(seqOf(first.value), 0);
        const rss0 = process.memoryUsage().rss;
        let peak = rss0;
        for (let i = 0; i < 7; i++) {
          await sleep(100);
          peak = Math.max(peak, process.memoryUsage().rss);
        }
        assert.equal(ws.isPaused, true);
        const stalledAt = stuck.sent;
        await sleep(200);
        assert.equal(
          stuck.sent,
          stalledAt,
          "the server cannot send more: the client reads nothing",
        );
        assert.ok(peak - rss0 < 64 * 1024 * 1024, `RSS grew by ${peak - rss0} bytes`);
        // Reading again resumes the socket; messages arrive in order, none missing.
        for (let expect = 1; expect < 200; expect++) {
          const r = await withTimeout(it.next(), 5000, `message ${expect}`);
          assert.equal(seqOf(r.value), expect);
        }
        stuck.stop = true;
        await it.return!();
        ws.terminate();
      });
      // The control: a consumer that reads lets the same server send far more than that.
      const free = { sent: 0, stop: false };
      await withServer(flooder(free), async (url) => {
        const ws = connect(url);
        let n = 0;
        ws.on("message", () => n++);
        const deadline = Date.now() + 10_000;
        while (free.sent < 4 * stuck.sent && Date.now() < deadline) await sleep(20);
        free.stop = true;
        ws.terminate();
        assert.ok(free.sent >= 4 * stuck.sent, `reading: ${free.sent}, not: ${stuck.sent} bytes`);
        assert.ok(n > 0);
      });
    },
  );

  it("closing a socket its reader paused completes the closing handshake", async () => {
    // A burst the paused client cannot take in: the rest waits in the kernel's buffers and the
    // server's. (A server that never stops sending would never read the close frame: it reads only
    // while its own buffer is under its high-water mark.)
    const stats = { sent: 0, stop: false, limit: 4 * 1024 * 1024 };
    await withServer(flooder(stats), async (url) => {
      const wss = new WebSocketStream(url, { highWaterMark: 2 });
      const { readable } = await wss.opened;
      await readable.getReader().read();
      const deadline = Date.now() + 5000;
      while (stats.sent < stats.limit && Date.now() < deadline) await sleep(10);
      wss.close({ closeCode: 4000, reason: "enough" });
      // Well before the 5 s close timeout that a socket left paused would need.
      const closed = await withTimeout(wss.closed, 2500, "the closing handshake");
      assert.equal(closed.closeCode, 4000);
      stats.stop = true;
    });
  });

  it("writes wait for the buffer to drain when the peer does not read", async () => {
    let serverSide: WS | undefined;
    await withServer((ws) => {
      serverSide = ws;
      ws.pause();
    }, async (url) => {
      const wss = new WebSocketStream(url, { writeHighWaterMark: 256 * 1024 });
      const { writable } = await wss.opened;
      const writer = writable.getWriter();
      const chunk = new Uint8Array(64 * 1024);
      let resolved = 0;
      let pending: Promise<void> | undefined;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const w = writer.write(chunk);
        const settled = await Promise.race([w.then(() => true), sleep(300).then(() => false)]);
        if (!settled) {
          pending = w;
          break;
        }
        resolved++;
      }
      assert.ok(pending, "a write stays pending while the server reads nothing");
      assert.ok(resolved * chunk.length < 64 * 1024 * 1024, `${resolved} writes went through`);
      serverSide!.resume();
      await withTimeout(pending, 5000, "the pending write after the server resumed");
      wss.close();
    });
  });

  it("sendStream: one message in fragments from an async generator and from a ReadableStream", async () => {
    const got: Array<[string | Uint8Array, boolean]> = [];
    await withServer((ws) => ws.on("message", (m, b) => got.push([m, b])), async (url) => {
      const ws = connect(url);
      await once(ws, "open");
      async function* parts() {
        for (let i = 0; i < 100; i++) yield new Uint8Array(16 * 1024).fill(i);
      }
      await sendStream(ws, parts());
      await sendStream(
        ws,
        new ReadableStream<string>({
          start(c) {
            for (const s of ["héllo", " ", "wörld"]) c.enqueue(s);
            c.close();
          },
        }),
      );
      await sendStream(ws, [], { binary: true });
      ws.send("after");
      const deadline = Date.now() + 5000;
      while (got.length < 4 && Date.now() < deadline) await sleep(5);
      const big = got[0][0] as Uint8Array;
      assert.equal(got[0][1], true);
      assert.equal(big.length, 100 * 16 * 1024);
      for (let i = 0; i < 100; i++) assert.equal(big[i * 16 * 1024], i);
      assert.deepEqual(got.slice(1), [
        ["héllo wörld", false],
        [new Uint8Array(0), true],
        ["after", false],
      ]);
      ws.close();
    });
  });

  it("sendStream: a source that fails midway closes the connection with 1011", async () => {
    await withServer(() => {}, async (url) => {
      const ws = connect(url);
      await once(ws, "open");
      async function* failing() {
        yield "part one";
        yield "part two";
        throw new Error("disk on fire");
      }
      const closed = once<[number]>(ws, "close");
      await assert.rejects(sendStream(ws, failing()), /disk on fire/);
      assert.equal((await closed)[0], 1011);
    });
  });

  it("send(data, { compress }): forces or skips permessage-deflate for one message", () => {
    const params = {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    };
    const noop = { message() {}, ping() {}, pong() {}, close() {}, error() {} };
    for (const side of ["client", "server"] as const) {
      const p = new Protocol(
        { side, deflate: new PerMessageDeflate(params, side, { threshold: 1024 }) },
        noop,
      );
      const rsv1 = () => (p.takeOutput()[0][0] & 0x40) !== 0;
      p.sendText("short");
      assert.equal(rsv1(), false, `${side}: under the threshold`);
      p.sendText("short", true);
      assert.equal(rsv1(), true, `${side}: compress: true`);
      p.sendBinary(new Uint8Array(4096));
      assert.equal(rsv1(), true, `${side}: over the threshold`);
      p.sendBinary(new Uint8Array(4096), false);
      assert.equal(rsv1(), false, `${side}: compress: false`);
      p.sendBinary(new Uint8Array(10), true);
      assert.equal(rsv1(), true, `${side}: small binary, compress: true`);
    }
  });

  it("send(data, { compress }, callback) over a deflate connection arrives intact", async () => {
    await withServer(
      (ws) => ws.on("message", (m) => ws.send(m, { compress: true })),
      async (url) => {
        const ws = connect(url, { deflate: true });
        await once(ws, "open");
        assert.match(ws.extensions, /permessage-deflate/);
        let written = false;
        ws.send("tiny", { compress: true }, () => (written = true));
        assert.deepEqual(await once(ws, "message"), ["tiny", false]);
        assert.equal(written, true);
        assert.throws(
          () => ws.send("x", { compress: "yes" as unknown as boolean }),
          (e: unknown) => e instanceof WSError && e.code === "WS_ERR_INVALID_OPTION",
        );
        ws.send(new Uint8Array(5000).fill(3), { compress: false });
        const [m] = await once<[Uint8Array]>(ws, "message");
        assert.equal(m.length, 5000);
        ws.close();
      },
      true,
    );
  });
});
