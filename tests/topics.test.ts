import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import { serve } from "../src/server.ts";
import { Topics } from "../src/topics.ts";
import type { WS } from "../src/ws.ts";
import { closeCodeOf, decodeFrames, once, RawClient, rawUpgrade, withTimeout } from "./_helpers.ts";

describe("Topics", () => {
  it("encodes a broadcast once: every recipient gets the very same bytes", () => {
    const topics = new Topics();
    const ranges: [Uint8Array, number, number][] = [];
    const chunks: (readonly Uint8Array[])[] = [];
    const fake = () =>
      ({
        readyState: "open",
        bufferedAmount: 0,
        highWaterMark: 1024,
        _overHighWaterMark: () => false,
        _sendRange: (buf: Uint8Array, start: number, end: number) => ranges.push([buf, start, end]),
        _sendEncoded: (c: readonly Uint8Array[]) => chunks.push(c),
      }) as unknown as WS;
    const a = fake(), b = fake(), c = fake();
    for (const ws of [a, b, c]) topics._add("t", ws);
    // Small: one frame in the shared slab, the same range for every recipient.
    assert.equal(topics.publish("t", "hi", { except: c }), 2);
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0][0], ranges[1][0], "one buffer shared by all recipients");
    assert.deepEqual(ranges[0].slice(1), ranges[1].slice(1));
    const [buf, start, end] = ranges[0];
    assert.deepEqual([...buf.subarray(start, end)], [0x81, 2, 0x68, 0x69]);
    // Large: one encoding, the same chunks for every recipient.
    const big = new Uint8Array(100_000).fill(7);
    assert.equal(topics.publish("t", big), 3);
    assert.equal(chunks.length, 3);
    assert.ok(chunks[0] === chunks[1] && chunks[1] === chunks[2], "one encoding shared by all");
    assert.deepEqual([...chunks[0][0]], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0]);
    assert.equal(chunks[0][1], big, "the payload itself, not a copy");
    assert.equal(topics.publish("nobody", "x"), 0);
  });

  it("publishes to subscribers over real sockets, per topic, and forgets closed ones", async () => {
    const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
      const topic = ws.request!.query.get("topic")!;
      ws.subscribe(topic);
      ws.on("message", (m) => server.publish(topic, m, { except: ws }));
    });
    try {
      const open = async (topic: string) => {
        const ws = connect(`${server.url}/?topic=${topic}`);
        await once(ws, "open");
        return ws;
      };
      const [a1, a2, a3, b1] = await Promise.all([open("a"), open("a"), open("a"), open("b")]);
      let bGot = 0, a1Got = 0;
      b1.on("message", () => bGot++);
      a1.on("message", () => a1Got++);
      const at2 = once(a2, "message"), at3 = once(a3, "message");
      a1.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual(await at2, [new Uint8Array([1, 2, 3]), true]);
      assert.deepEqual(await at3, [new Uint8Array([1, 2, 3]), true]);
      assert.equal(server.topics.subscribers("a").size, 3);
      a3.close();
      await once(a3, "close");
      for (let i = 0; i < 50 && server.topics.subscribers("a").size !== 2; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(server.topics.subscribers("a").size, 2, "a closed socket leaves its topics");
      const again = once(a2, "message");
      assert.equal(server.publish("a", "to all"), 2);
      assert.deepEqual(await again, ["to all", false]);
      assert.equal(bGot, 0);
      assert.equal(a1Got, 1, "except skipped the sender; the direct publish reached it");
      for (const ws of [a1, a2, b1]) ws.close();
    } finally {
      await server.close();
    }
  });

  for (const policy of ["drop", "close"] as const) {
    it(`keeps a subscriber that never reads within the high-water mark (${policy})`, async () => {
      const hwm = 64 * 1024, size = 16 * 1024;
      const subs: WS[] = [];
      const server = await serve({
        port: 0,
        hostname: "127.0.0.1",
        highWaterMark: hwm,
        slowConsumer: policy,
        closeTimeout: 500,
      }, (ws) => {
        ws.subscribe("news");
        subs.push(ws);
      });
      const raw = await RawClient.connect(server.port);
      try {
        const start = await rawUpgrade(raw);
        raw.socket.pause();
        for (let i = 0; i < 100 && subs.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        const sub = subs[0];
        let maxBuffered = 0, delivered = 0;
        const msg = new Uint8Array(size);
        for (let i = 0; i < 2000 && sub.readyState === "open"; i++) {
          delivered += server.publish("news", msg);
          maxBuffered = Math.max(maxBuffered, sub.bufferedAmount);
        }
        assert.ok(maxBuffered <= hwm + size + 14, `buffered ${maxBuffered} > ${hwm} + one message`);
        assert.ok(delivered < 2000, `the slow consumer was skipped (${delivered} delivered)`);
        if (policy === "close") {
          assert.notEqual(sub.readyState, "open");
          raw.socket.resume();
          await raw.waitClosed(10_000);
          const frames = decodeFrames(raw.received.subarray(start));
          assert.equal(frames.length, delivered + 1);
          assert.equal(frames.at(-1)!.opcode, 0x8);
          assert.equal(closeCodeOf(frames.at(-1)!), 1013);
        }
      } finally {
        raw.destroy();
        await withTimeout(server.close(), 10_000, "server close");
      }
    });
  }
});
