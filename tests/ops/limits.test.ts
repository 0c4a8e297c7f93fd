/** Limits against abuse: per-connection token buckets and per-address admission, over real sockets. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import { type RateLimitInfo, serve, type Server } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import {
  clientFrame,
  closeCodeOf,
  decodeFrames,
  headEnd,
  once,
  RawClient,
  rawUpgrade,
  withTimeout,
} from "../_helpers.ts";
import { AddressLimits, type LimitsOptions } from "../../src/ops/limits.ts";

/** Largest read a transport hands over at once: a flood can overshoot a budget by one read. */
const MAX_READ = 256 * 1024;

async function echoServer(
  limits: LimitsOptions,
): Promise<{ server: Server; got: Map<string, number> }> {
  const got = new Map<string, number>();
  const server = await serve(
    { port: 0, hostname: "127.0.0.1", limits, closeTimeout: 300 },
    (ws) => {
      const who = ws.request!.path;
      ws.on("message", (m) => {
        got.set(who, (got.get(who) ?? 0) + 1);
        if (who === "/echo" && ws.readyState === "open") ws.send(m);
      });
    },
  );
  return { server, got };
}

/** Many small masked frames in one buffer. */
function flood(count: number): Uint8Array {
  const frame = clientFrame(1, "flood-flood-flood!");
  const out = new Uint8Array(frame.length * count);
  for (let i = 0; i < count; i++) out.set(frame, i * frame.length);
  return out;
}

/** Round trips of 32-byte echoes on `ws`, one at a time: their durations in ms, sorted. */
async function echoTimes(ws: WS, n: number): Promise<number[]> {
  const times: number[] = [];
  const msg = "x".repeat(32);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const back = once(ws, "message", 5000);
    ws.send(msg);
    await back;
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

const p99 = (sorted: number[]) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];

describe("per-connection limits", () => {
  it("pause: a flooding client is slowed to its budget; an echo on another connection stays fast", async () => {
    const rate = 200, burst = 100;
    const { server, got } = await echoServer({ messagesPerSecond: rate, messageBurst: burst });
    const events: RateLimitInfo[] = [];
    server.on("ratelimit", (i) => events.push(i));
    const flooder = await RawClient.connect(server.port);
    const echo = connect(`${server.url}/echo`);
    try {
      await rawUpgrade(flooder, "/flood");
      await once(echo, "open");
      const frames = 100_000;
      const bytes = flood(frames);
      const frameSize = bytes.length / frames;
      const t0 = performance.now();
      flooder.write(bytes);
      const times = await echoTimes(echo, 200);
      const elapsed = (performance.now() - t0) / 1000;
      const flooded = got.get("/flood") ?? 0;
      const bound = burst + rate * elapsed + MAX_READ / frameSize;
      console.log(
        `flood (pause): ${flooded} of ${frames} messages read in ${elapsed.toFixed(2)} s ` +
          `(bound ${Math.round(bound)}); echo p50 ${times[100].toFixed(2)} ms, ` +
          `p99 ${p99(times).toFixed(2)} ms`,
      );
      assert.ok(flooded > 0 && flooded <= bound, `${flooded} > ${bound}`);
      assert.ok(flooded < frames / 4, "the flood was not read at full speed");
      assert.ok(p99(times) < 250, `echo p99 ${p99(times)} ms during the flood`);
      assert.ok(events.length >= 1);
      assert.equal(events[0].limit, "messages");
      assert.equal(events[0].action, "pause");
      assert.equal(events[0].address, "127.0.0.1");
      assert.equal(events[0].ws?.request?.path, "/flood");
      assert.equal(server.stats().rateLimited.messages, events.length);
      assert.equal(got.get("/echo"), 200, "the echo client was never limited");
    } finally {
      flooder.destroy();
      echo.terminate();
      await withTimeout(server.close(), 10_000, "server close");
    }
  });

  it("close: a flooding client is closed with 1008, others stay open", async () => {
    const { server } = await echoServer({
      bytesPerSecond: 64 * 1024,
      policy: "close",
    });
    const flooder = await RawClient.connect(server.port);
    const echo = connect(`${server.url}/echo`);
    try {
      await rawUpgrade(flooder, "/flood");
      await once(echo, "open");
      const limited = once<[RateLimitInfo]>(server, "ratelimit");
      flooder.write(flood(20_000));
      const [info] = await limited;
      assert.equal(info.limit, "bytes");
      assert.equal(info.action, "close");
      const r = await flooder.waitFor(
        (b) => decodeFrames(b.subarray(headEnd(b))).some((f) => f.opcode === 8),
        5000,
        "the close frame",
      );
      const close = decodeFrames(r.subarray(headEnd(r))).find((f) => f.opcode === 8)!;
      assert.equal(closeCodeOf(close), 1008);
      const times = await echoTimes(echo, 50);
      assert.ok(p99(times) < 250, `echo p99 ${p99(times)} ms`);
      assert.equal(echo.readyState, "open");
    } finally {
      flooder.destroy();
      echo.terminate();
      await withTimeout(server.close(), 10_000, "server close");
    }
  });
});

/** Sends an upgrade request with `extra` header lines; resolves with the response head. */
async function handshake(port: number, extra = ""): Promise<{ head: string; client: RawClient }> {
  const client = await RawClient.connect(port);
  client.write(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  const r = await client.waitFor((b) => headEnd(b) > 0, 5000, "a response head");
  return { head: new TextDecoder().decode(r.subarray(0, headEnd(r))), client };
}

describe("per-address limits", () => {
  it("refuses connections over the per-address count with 429 and Retry-After", async () => {
    const { server } = await echoServer({ connectionsPerAddress: 2 });
    const clients: RawClient[] = [];
    try {
      const a = await handshake(server.port), b = await handshake(server.port);
      clients.push(a.client, b.client);
      assert.match(a.head, /^HTTP\/1.1 101/);
      assert.match(b.head, /^HTTP\/1.1 101/);
      const limited = once<[RateLimitInfo]>(server, "ratelimit");
      const c = await handshake(server.port);
      clients.push(c.client);
      assert.match(c.head, /^HTTP\/1.1 429/);
      assert.match(c.head, /\r\nretry-after: \d+\r\n/i);
      const [info] = await limited;
      assert.deepEqual([info.limit, info.action, info.address], [
        "connections",
        "refuse",
        "127.0.0.1",
      ]);
      assert.deepEqual(server.stats().refused, { "429": 1 });
      // One leaves: there is room again.
      a.client.destroy();
      const deadline = Date.now() + 5000;
      let d;
      do {
        d = await handshake(server.port);
        clients.push(d.client);
      } while (!d.head.startsWith("HTTP/1.1 101") && Date.now() < deadline);
      assert.match(d.head, /^HTTP\/1.1 101/);
    } finally {
      for (const c of clients) c.destroy();
      await withTimeout(server.close(), 10_000, "server close");
    }
  });

  it("refuses handshakes over the per-address rate, with Retry-After in seconds", async () => {
    const { server } = await echoServer({ handshakesPerSecond: 0.5, handshakeBurst: 2 });
    const clients: RawClient[] = [];
    try {
      for (const expect of [101, 101, 429]) {
        const h = await handshake(server.port);
        clients.push(h.client);
        assert.match(h.head, new RegExp(`^HTTP/1.1 ${expect}`), h.head);
        if (expect === 429) {
          const retry = Number(h.head.match(/\r\nretry-after: (\d+)\r\n/i)?.[1]);
          assert.ok(retry >= 1 && retry <= 2, `Retry-After ${retry}`);
        }
      }
    } finally {
      for (const c of clients) c.destroy();
      await withTimeout(server.close(), 10_000, "server close");
    }
  });

  it("believes X-Forwarded-For only from a configured proxy", async () => {
    const trusting = await echoServer({ connectionsPerAddress: 1, trustProxy: ["127.0.0.1"] });
    const wary = await echoServer({ connectionsPerAddress: 1 });
    const clients: RawClient[] = [];
    try {
      const via = (port: number, addr: string) =>
        handshake(port, `X-Forwarded-For: 203.0.113.9, ${addr}\r\n`).then((h) => {
          clients.push(h.client);
          return h.head.slice(0, 12);
        });
      // Behind the trusted proxy, two clients are two addresses; the same one twice is refused.
      assert.equal(await via(trusting.server.port, "198.51.100.1"), "HTTP/1.1 101");
      assert.equal(await via(trusting.server.port, "198.51.100.2"), "HTTP/1.1 101");
      assert.equal(await via(trusting.server.port, "198.51.100.2"), "HTTP/1.1 429");
      // Without trustProxy the header is ignored: everyone is 127.0.0.1.
      assert.equal(await via(wary.server.port, "198.51.100.1"), "HTTP/1.1 101");
      assert.equal(await via(wary.server.port, "198.51.100.2"), "HTTP/1.1 429");
    } finally {
      for (const c of clients) c.destroy();
      await withTimeout(trusting.server.close(), 10_000, "server close");
      await withTimeout(wary.server.close(), 10_000, "server close");
    }
  });

  it("keeps its table of addresses bounded: addresses with nothing open are forgotten", () => {
    const limits = new AddressLimits({ connectionsPerAddress: 2 });
    for (let i = 0; i < 3; i++) limits.count("10.0.0.1", 1);
    for (let i = 0; i < 20_000; i++) {
      assert.equal(limits.admit(`10.1.${i >> 8}.${i & 255}`), undefined);
    }
    assert.ok(limits.size <= 2048, `${limits.size} addresses kept`);
    // The one with connections open is remembered through the pruning.
    assert.equal(limits.admit("10.0.0.1")?.kind, "connections");
  });
});
