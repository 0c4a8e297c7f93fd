/**
 * The Redis backplane against a real redis-server: outages (SIGKILL and restart), gap reporting,
 * and recovery of missed messages from an offset. Servers run in this process, each with its own
 * backplane (its own origin and Redis connections), so that their events can be watched.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@redis/client";
import { Buffer } from "node:buffer";
import * as net from "node:net";
import type { Backplane } from "../../src/backplane/backplane.ts";
import type { GapInfo } from "../../src/backplane/types.ts";
import { encodeEnvelope, encodeHead } from "../../src/backplane/envelope.ts";
import {
  formatPosition,
  parsePosition,
  parseTopicFrame,
  type StreamPosition,
  type TopicFrame,
} from "../../src/backplane/position.ts";
import { redisBackplane, type RedisBackplaneOptions } from "../../src/backplane/redis.ts";
import { serve, type Server } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { once, withTimeout } from "../_helpers.ts";
import { Collector, synced } from "./_collector.ts";
import { redisAvailable, RedisServer } from "./_redis.ts";
import { freePort } from "../_helpers.ts";

/** A relay-like server: `/NAME[?since=E:O]` subscribes to NAME. */
function start(redis: RedisServer, options: RedisBackplaneOptions = {}): Promise<Server> {
  const backplane = redisBackplane({
    url: redis.url,
    reconnect: { minDelay: 20, maxDelay: 200 },
    ...options,
  });
  return serve({ port: 0, hostname: "127.0.0.1", backplane }, (ws) => {
    const since = ws.request!.query.get("since");
    ws.subscribe(ws.request!.path.slice(1), {
      since: since === null ? undefined : parsePosition(since),
    });
  });
}

async function isUp(b: Backplane): Promise<void> {
  if (!b.up) await once(b, "up", 10_000);
}

const frames = (c: Collector): TopicFrame[] => c.messages.map((m) => parseTopicFrame(m.data)!);

/**
 * Subscribed (see `synced`), and every probe in flight arrived: one publisher's messages arrive in
 * order, so once a last marker is in, nothing older is still coming.
 */
async function settled(s: Server, topic: string, c: Collector): Promise<void> {
  await synced(() => s.publish(topic, "probe"), [c], () => true);
  s.publish(topic, "settled");
  await c.until((m) => m.some((x) => parseTopicFrame(x.data)?.data === "settled"), "settled");
}

/**
 * A door to Redis on a port of its own that opens later: until `open()`, nothing listens there and
 * a backplane pointed at it keeps retrying its first connection.
 */
class Door {
  #server = net.createServer((client) => {
    const redis = net.connect({ port: this.#to, host: "127.0.0.1" });
    this.#sockets.add(client).add(redis);
    client.pipe(redis).pipe(client);
    for (const s of [client, redis]) {
      s.on("error", () => {});
      s.on("close", () => (client.destroy(), redis.destroy()));
    }
  });
  #sockets = new Set<net.Socket>();
  #to: number;

  constructor(readonly port: number, to: number) {
    this.#to = to;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  close(): void {
    if (this.#server.listening) this.#server.close();
    for (const s of this.#sockets) s.destroy();
  }
}

describe("redis backplane", { skip: !redisAvailable() }, () => {
  let redis: RedisServer;
  const servers: Server[] = [];
  const clients: Collector[] = [];

  before(async () => {
    redis = await RedisServer.start();
  }, { timeout: 30_000 });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.close()));
    await redis?.stop();
  }, { timeout: 30_000 });

  async function server(options?: RedisBackplaneOptions): Promise<Server> {
    const s = await start(redis, options);
    servers.push(s);
    await isUp(s.backplane!);
    return s;
  }

  async function join(s: Server, path: string): Promise<Collector> {
    const c = await Collector.open(`${s.url}${path}`);
    clients.push(c);
    return c;
  }

  it("subscribes on Redis with the first local subscriber and leaves with the last", {
    timeout: 30_000,
  }, async () => {
    const s = await server();
    const b = s.backplane!;
    const cs = await Promise.all([join(s, "/r1"), join(s, "/r2"), join(s, "/r1")]);
    for (let i = 0; i < 100 && b.stats.channels < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(b.stats.channels, 2, "two topics, one channel each");
    // Sockets that join or leave topics in one turn (a burst) cost one command each way.
    const burst = Array.from({ length: 50 }, () => ({}) as WS);
    const before = b.stats.subscribeCommands;
    burst.forEach((ws, i) => s.topics._add(`burst${i % 25}`, ws));
    await Promise.resolve();
    assert.equal(b.stats.channels, 27);
    assert.equal(b.stats.subscribeCommands, before + 1, "one SUBSCRIBE for 25 topics");
    burst.forEach((ws, i) => s.topics._remove(`burst${i % 25}`, ws));
    await Promise.resolve();
    assert.equal(b.stats.channels, 2);
    assert.equal(b.stats.subscribeCommands, before + 2, "one UNSUBSCRIBE for 25 topics");
    // Still subscribed while one local subscriber of r1 is left.
    cs[0].close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(b.stats.channels, 2);
    for (const c of cs) c.close();
    for (let i = 0; i < 100 && b.stats.channels > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(b.stats.channels, 0, "no channel is kept without a local subscriber");
  });

  it(
    "a remote message is encoded once for all the subscribers of a process",
    { timeout: 30_000 },
    async () => {
      const a = await server();
      const b = await server();
      const ranges: [Uint8Array, number, number][] = [];
      const fake = () =>
        ({
          readyState: "open",
          bufferedAmount: 0,
          highWaterMark: 1024,
          _overHighWaterMark: () => false,
          _sendRange: (buf: Uint8Array, start: number, end: number) =>
            ranges.push([buf, start, end]),
        }) as unknown as WS;
      const subs = [fake(), fake(), fake()];
      for (const ws of subs) b.topics._add("enc", ws);
      for (let i = 0; i < 100 && ranges.length === 0; i++) {
        a.publish("enc", "hi");
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(ranges.length >= 3, "delivered on the other process");
      const [first, second, third] = ranges.slice(0, 3);
      assert.ok(first[0] === second[0] && second[0] === third[0], "one buffer");
      assert.deepEqual([first[1], first[2]], [second[1], second[2]]);
      assert.deepEqual([...first[0].subarray(first[1], first[2])], [0x81, 2, 0x68, 0x69]);
      for (const ws of subs) b.topics._remove("enc", ws);
    },
  );

  it("Redis SIGKILLed: local delivery goes on, down/up events, resubscribe and a gap after", {
    timeout: 30_000,
  }, async () => {
    const a = await server();
    const b = await server();
    const c = await server({ closeOnGap: true });
    const [ca, cb, cc] = [await join(a, "/t"), await join(b, "/t"), await join(c, "/t")];
    await synced(() => a.publish("t", "probe"), [ca, cb, cc], (m) => m.data === "probe");
    const gaps: GapInfo[] = [];
    b.backplane!.on("gap", (g) => gaps.push(g));
    const downs = [a, b].map((s) => once(s.backplane!, "down", 10_000));
    await redis.kill();
    await Promise.all(downs);
    assert.equal(a.backplane!.stats.state, "down");
    // Local delivery goes on; publish does not throw.
    assert.equal(a.publish("t", "during the outage"), 1);
    await ca.until((m) => m.some((x) => x.data === "during the outage"), "local delivery");
    assert.ok(a.backplane!.stats.unsent >= 1);
    const ups = [a, b, c].map((s) => once(s.backplane!, "up", 10_000));
    const gapped = once(b.backplane!, "gap", 10_000);
    await redis.restart();
    await Promise.all(ups);
    await gapped;
    assert.deepEqual(gaps[0], { topic: "t", cause: "outage", origin: "", missed: undefined });
    assert.equal(a.backplane!.stats.outages, 1);
    // Resubscribed by itself: remote delivery is back.
    await synced(() => a.publish("t", "after"), [cb], (m) => m.data === "after");
    assert.ok(!cb.messages.some((m) => m.data === "during the outage"), "at most once");
    const [code] = await cc.closed;
    assert.equal(code, 1013, "closeOnGap closes the affected subscribers with 1013");
    assert.equal(ca.ws.readyState, "open", "the server kept its clients");
  });

  it(
    "starts while Redis is not there yet and comes up when it is",
    { timeout: 30_000 },
    async () => {
      const port = await freePort();
      const backplane = redisBackplane({
        url: `redis://127.0.0.1:${port}`,
        reconnect: { minDelay: 20, maxDelay: 100 },
      });
      const s = await serve(
        { port: 0, hostname: "127.0.0.1", backplane },
        (ws) => ws.subscribe("x"),
      );
      servers.push(s);
      const c = await join(s, "/x");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(backplane.stats.state, "connecting");
      assert.equal(s.publish("x", "alone"), 1, "local delivery without Redis");
      await c.until((m) => m.length === 1, "local delivery");
      const late = new RedisServer(port);
      // Listened for before Redis starts: the backplane may be up before restart() has seen it.
      const up = once(backplane, "up", 10_000);
      try {
        await late.restart();
        await up;
        assert.equal(backplane.stats.channels, 1);
        // The topic joined before Redis was there is subscribed now.
        const other = await start(late);
        servers.push(other);
        await isUp(other.backplane!);
        await synced(() => other.publish("x", "from afar"), [c], (m) => m.data === "from afar");
      } finally {
        await s.close();
        await late.stop();
      }
    },
  );

  it("reports a gap in an origin's sequence, drops repeats and ignores garbage", {
    timeout: 30_000,
  }, async () => {
    const s = await server();
    const sub = await join(s, "/g");
    const pub = createClient({ url: redis.url });
    await pub.connect();
    try {
      const origin = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const send = (seq: number, data: string | Uint8Array) => {
        const isText = typeof data === "string";
        const payload = isText ? new TextEncoder().encode(data) : data;
        const env = encodeEnvelope(encodeHead(origin, seq, "g", isText, false), payload);
        return pub.publish("wsd:c:g", Buffer.from(env));
      };
      // Sequence 1 is a fresh start, never a gap: repeat it until the server is subscribed.
      await synced(() => void send(1, "one"), [sub], (m) => m.data === "one");
      const gaps: GapInfo[] = [];
      s.backplane!.on("gap", (g) => gaps.push(g));
      await send(2, "two");
      await send(5, "five");
      await send(4, "four, late");
      await pub.publish("wsd:c:g", Buffer.from("not an envelope"));
      await send(6, new Uint8Array([6]));
      await sub.until((m) => m.some((x) => x.isBinary), "the last message");
      const got = sub.messages.filter((m) => m.data !== "one").map((m) => m.data);
      assert.deepEqual(got, ["two", "five", new Uint8Array([6])]);
      assert.deepEqual(gaps, [{
        topic: "g",
        cause: "sequence",
        origin: "0102030405060708",
        missed: 2,
      }]);
      assert.equal(s.backplane!.stats.duplicates, 1);
      assert.equal(s.backplane!.stats.invalid, 1);
    } finally {
      await pub.close();
    }
  });

  it(
    "recovers exactly the missed messages from an offset, then live ones",
    { timeout: 30_000 },
    async () => {
      const options = { recoverable: ["feed"], history: { maxLength: 20, exact: true } };
      const a = await server(options);
      const b = await server(options);
      const first = await join(b, "/feed");
      await settled(a, "feed", first);
      const n0 = first.messages.length;
      a.publish("feed", "m1");
      a.publish("feed", new Uint8Array([2]));
      await first.until((m) => m.length >= n0 + 2, "m1 and m2");
      const seen = frames(first).slice(n0);
      assert.deepEqual(seen.map((f) => [f.kind, f.data]), [
        ["message", "m1"],
        ["message", new Uint8Array([2])],
      ]);
      assert.equal(first.messages[n0 + 1].isBinary, true, "binary stays binary");
      const last = seen[1].position!;
      assert.equal(seen[0].position!.offset, last.offset - 1);
      first.close();

      // Missed while away: m3 and m4 (published on another process).
      a.publish("feed", "m3");
      a.publish("feed", "m4");
      const back = await join(b, `/feed?since=${formatPosition(last)}`);
      await back.until(
        (m) => frames({ messages: m } as Collector).some((f) => f.kind === "recovered"),
        "recovered",
      );
      a.publish("feed", "m5");
      await back.until(
        (m) => m.some((x) => typeof x.data === "string" && x.data.endsWith("m5")),
        "m5",
      );
      const got = frames(back);
      assert.deepEqual(got.map((f) => [f.kind, f.data]), [
        ["message", "m3"],
        ["message", "m4"],
        ["recovered", ""],
        ["message", "m5"],
      ]);
      assert.deepEqual(got.filter((f) => f.kind === "message").map((f) => f.position!.offset), [
        last.offset + 1,
        last.offset + 2,
        last.offset + 3,
      ]);
    },
  );

  it(
    "no gap and no duplicate at the seam while messages keep coming",
    { timeout: 30_000 },
    async () => {
      const options = { recoverable: ["seam"], history: { maxLength: 500 } };
      const a = await server(options);
      const b = await server(options);
      const w = await join(b, "/seam");
      await settled(a, "seam", w);
      const start = frames(w).at(-1)!.position!;
      w.close();
      for (let i = 0; i < 20; i++) a.publish("seam", `before ${i}`);
      // Publishing goes on while the resume reads the history.
      let n = 0;
      const timer = setInterval(() => {
        for (let i = 0; i < 5 && n < 100; i++) a.publish("seam", `during ${n++}`);
      }, 2);
      const back = await join(b, `/seam?since=${formatPosition(start)}`);
      await new Promise((r) => setTimeout(r, 300));
      clearInterval(timer);
      const total = 20 + n;
      await back.until(
        (m) =>
          frames({ messages: m } as Collector).filter((f) => f.kind === "message").length >= total,
        "all",
      );
      const offsets = frames(back).filter((f) => f.kind === "message").map((f) =>
        f.position!.offset
      );
      assert.deepEqual(offsets, Array.from({ length: total }, (_, i) => start.offset + 1 + i));
      assert.equal(frames(back).filter((f) => f.kind === "recovered").length, 1);
    },
  );

  it("says 'not recovered' when the history no longer covers the gap or the epoch changed", {
    timeout: 30_000,
  }, async () => {
    const options = { recoverable: ["short"], history: { maxLength: 3, exact: true } };
    const a = await server(options);
    const b = await server(options);
    const w = await join(b, "/short");
    await settled(a, "short", w);
    const old: StreamPosition = frames(w).at(-1)!.position!;
    w.close();
    for (let i = 0; i < 5; i++) a.publish("short", `x${i}`);
    const expired = await join(b, `/short?since=${formatPosition(old)}`);
    await expired.until((m) => m.length >= 1, "an answer");
    const [answer] = frames(expired);
    assert.equal(answer.kind, "not-recovered");
    assert.equal(answer.position!.epoch, old.epoch);
    assert.equal(answer.position!.offset, old.offset + 5, "where live messages continue from");
    a.publish("short", "live");
    await expired.until((m) => m.length >= 2, "a live message");
    assert.equal(frames(expired)[1].data, "live");

    const stranger = await join(b, `/short?since=someoneelse:1`);
    await stranger.until((m) => m.length >= 1, "an answer");
    assert.equal(frames(stranger)[0].kind, "not-recovered");

    // Redis lost everything (a restart without persistence): a new epoch.
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    await admin.close();
    a.publish("short", "new life");
    await expired.until((m) => m.length >= 3, "the first message of the new epoch");
    const renewed = frames(expired)[2].position!;
    assert.notEqual(renewed.epoch, old.epoch);
    assert.equal(renewed.offset, 1);
    const late = await join(b, `/short?since=${formatPosition({ epoch: old.epoch, offset: 6 })}`);
    await late.until((m) => m.length >= 1, "an answer");
    assert.equal(frames(late)[0].kind, "not-recovered");
    assert.equal(b.backplane!.stats.notRecovered, 3);
  });

  it("a resume waits for a backplane that is still connecting, at most recoveryWait ms", {
    timeout: 30_000,
  }, async () => {
    const options = { recoverable: ["late"] };
    const a = await server(options);
    const w = await join(a, "/late");
    await settled(a, "late", w);
    const seen = frames(w).at(-1)!.position!;
    w.close();
    a.publish("late", "m1");
    a.publish("late", "m2");

    // A process that has just started: listening, its backplane not connected yet.
    const door = new Door(await freePort(), redis.port);
    try {
      const fresh = await start(redis, { ...options, url: door.url });
      servers.push(fresh);
      const back = await join(fresh, `/late?since=${formatPosition(seen)}`);
      assert.equal(fresh.backplane!.up, false, "the resume began before the backplane was up");
      await door.open();
      await back.until(
        (m) => frames({ messages: m } as Collector).some((f) => f.kind !== "message"),
        "the outcome of the resume",
      );
      assert.deepEqual(frames(back).map((f) => [f.kind, f.data]), [
        ["message", "m1"],
        ["message", "m2"],
        ["recovered", ""],
      ]);
      assert.equal(fresh.backplane!.stats.recovered, 1);
    } finally {
      door.close();
    }

    // Redis never comes: after recoveryWait, "not recovered".
    const shut = new Door(await freePort(), redis.port);
    const lonely = await start(redis, { ...options, url: shut.url, recoveryWait: 300 });
    servers.push(lonely);
    const t0 = Date.now();
    const waiting = await join(lonely, `/late?since=${formatPosition(seen)}`);
    await waiting.until((m) => m.length >= 1, "an answer");
    assert.ok(Date.now() - t0 >= 250, `answered after ${Date.now() - t0} ms`);
    assert.deepEqual(frames(waiting).map((f) => f.kind), ["not-recovered"]);
    assert.equal(lonely.backplane!.stats.notRecovered, 1);
  });

  it(
    "closes at once when Redis went away under a subscribed topic",
    { timeout: 30_000 },
    async () => {
      const door = new Door(await freePort(), redis.port);
      await door.open();
      const s = await start(redis, { url: door.url });
      servers.push(s); // closed by after() too if this test fails first (close() is idempotent)
      try {
        await isUp(s.backplane!);
        const c = await join(s, "/kept");
        await synced(() => s.publish("kept", "probe"), [c], () => true);
        const down = once(s.backplane!, "down", 10_000);
        door.close();
        await down;
        // The Redis client's own close waits for its queue, which holds the subscription.
        await withTimeout(s.close(), 5000, "server.close() with Redis gone");
      } finally {
        door.close();
      }
    },
  );

  it("subscribes again, after a pause, a topic whose SUBSCRIBE Redis refused", {
    timeout: 30_000,
  }, async () => {
    // A Redis of its own: taking channel permissions away disconnects other tests' subscribers.
    const own = await RedisServer.start();
    const admin = createClient({ url: own.url });
    await admin.connect();
    const mine: Server[] = [];
    try {
      const s = await start(own);
      mine.push(s);
      const b = s.backplane!;
      await isUp(b);
      await admin.sendCommand(["ACL", "SETUSER", "default", "resetchannels"]);
      const refused = once(b, "error", 10_000);
      const c = await join(s, "/deaf");
      const [err] = await refused as [Error];
      assert.match(String(err?.message), /NOPERM|permission/i);
      assert.equal(b.stats.channels, 0, "a refused topic is not counted as subscribed");
      await admin.sendCommand(["ACL", "SETUSER", "default", "allchannels"]);
      const other = await start(own);
      mine.push(other);
      await isUp(other.backplane!);
      // The retry comes within a second or so: probes are published until one arrives.
      await synced(() => other.publish("deaf", "probe"), [c], () => true, 10_000);
      assert.equal(b.stats.channels, 1);
    } finally {
      for (const s of mine) await s.close();
      await admin.close();
      await own.stop();
    }
  });
});
