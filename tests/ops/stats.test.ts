/** server.stats(), the lifecycle events and the Prometheus text, over real sockets. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { connect } from "../../src/client.ts";
import { handleMetrics, PROMETHEUS_CONTENT_TYPE, prometheusText } from "../../src/ops/metrics.ts";
import { emptyResourceStats } from "../../src/ops/stats.ts";
import { type ClientDisconnectInfo, serve, type Server } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { clientFrame, once, RawClient, rawUpgrade, withTimeout } from "../_helpers.ts";

async function open(url: string): Promise<WS> {
  const ws = connect(url);
  await once(ws, "open");
  return ws;
}

/** Waits until `pred()` holds, polling on a short timer, for at most `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("server.stats()", () => {
  it("counts connections, messages, bytes, closes, refusals and topics per resource", async () => {
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      resources: {
        "/echo": (ws) => ws.on("message", (m) => ws.send(m)),
        "/room/:name": (ws) => {
          ws.subscribe(ws.request!.params.name);
          ws.on("message", (m) => server.publish(ws.request!.params.name, m));
        },
      },
    });
    const opened: WS[] = [];
    const closed: ClientDisconnectInfo[] = [];
    server.on("connection", (ws) => opened.push(ws));
    server.on("disconnect", (_ws, info) => closed.push(info));
    try {
      const fresh = server.stats();
      assert.equal(fresh.connections, 0);
      assert.deepEqual(fresh.refused, {});

      const e = await open(`${server.url}/echo`);
      for (let i = 0; i < 10; i++) {
        const back = once(e, "message");
        e.send("x".repeat(100));
        await back;
      }
      const [r1, r2] = await Promise.all([
        open(`${server.url}/room/a`),
        open(`${server.url}/room/a`),
      ]);
      const at2 = once(r2, "message");
      const at1 = once(r1, "message");
      r1.send("hi");
      await Promise.all([at1, at2]);
      // A path no resource serves: 404, counted by status.
      const lost = connect(`${server.url}/nowhere`);
      await once(lost, "close");

      // The client side counts too: 10 messages of 100 B each way.
      assert.deepEqual(e.traffic(), {
        messagesIn: 10,
        messagesOut: 10,
        bytesIn: 10 * 102,
        bytesOut: 10 * 106,
      });
      const s = server.stats();
      // The refused client may still be finishing (answered, its socket not yet closed).
      assert.ok(s.handshaking <= 1, `${s.handshaking} handshaking`);
      assert.ok(s.uptime >= 0);
      assert.equal(s.connections, 3);
      assert.equal(s.connectionsTotal, 3);
      assert.deepEqual(s.refused, { "404": 1 });
      assert.equal(s.topics, 1);
      assert.equal(s.subscribers, 2);
      const echo = s.resources["/echo"];
      assert.equal(echo.connections, 1);
      assert.equal(echo.messagesIn, 10);
      assert.equal(echo.messagesOut, 10);
      // 100-byte messages: 2 + 4 (mask) header bytes in, 2 out.
      assert.equal(echo.bytesIn, 10 * 106);
      assert.equal(echo.bytesOut, 10 * 102);
      const room = s.resources["/room/:name"];
      assert.equal(room.messagesIn, 1);
      assert.equal(room.messagesOut, 2, "one publish, two deliveries");
      assert.equal(s.messagesIn, 11);
      assert.equal(opened.length, 3);
      assert.ok(opened.every((ws) => ws.readyState === "open"));

      const t0 = Date.now();
      e.close(4000, "bye");
      const [, info] = await once<[WS, ClientDisconnectInfo]>(server, "disconnect");
      assert.equal(info.code, 4000);
      assert.equal(info.reason, "bye");
      assert.equal(info.wasClean, true);
      assert.equal(info.resource, "/echo");
      assert.equal(info.remoteAddress, "127.0.0.1");
      assert.equal(info.messagesIn, 10);
      // The echoes, and the close frame (with or without the reason echoed).
      assert.ok(info.bytesOut >= 10 * 102 + 4 && info.bytesOut <= 10 * 102 + 7, `${info.bytesOut}`);
      assert.ok(info.duration >= 0 && info.duration < Date.now() - t0 + 60_000);
      r1.terminate();
      await until(() => server.stats().connections === 1, 5000, "the dropped client");
      const after = server.stats();
      assert.equal(after.connectionsTotal, 3);
      assert.deepEqual(after.resources["/echo"].closes, { "4000": 1 });
      assert.deepEqual(after.resources["/room/:name"].closes, { "1006": 1 });
      assert.deepEqual(after.closes, { "1006": 1, "4000": 1 });
      assert.equal(after.resources["/echo"].messagesIn, 10, "a closed socket's figures stay");
      assert.equal(after.subscribers, 1);
      assert.equal(closed.length, 2);
    } finally {
      await server.close();
    }
  });

  it("counts heartbeat timeouts, backpressure pauses and slow-consumer drops", async () => {
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: { interval: 50, timeout: 100 },
      highWaterMark: 16 * 1024,
    }, (ws) => {
      ws.subscribe("t");
      ws.on("message", (m) => {
        if (ws.readyState === "open") ws.send(m);
      });
    });
    try {
      // A client that upgrades and then never answers pings.
      const mute = await RawClient.connect(server.port);
      await rawUpgrade(mute);
      await mute.waitClosed(5000);
      await until(() => server.stats().closes["1006"] === 1, 5000, "the dropped client");
      assert.equal(server.stats().heartbeatTimeouts, 1);

      // A client that sends echoes and does not read them: the server stops reading it.
      const hog = await RawClient.connect(server.port);
      await rawUpgrade(hog);
      hog.socket.pause();
      const big = clientFrame(2, new Uint8Array(64 * 1024));
      for (let i = 0; i < 512; i++) hog.write(big);
      await until(
        () => server.stats().backpressurePauses >= 1,
        10_000,
        "a backpressure pause",
      );
      // It is over its high-water mark: a publish skips it.
      server.publish("t", "news");
      assert.equal(server.stats().slowConsumerDrops, 1);
      hog.destroy();
    } finally {
      await server.close();
    }
  });
});

describe("server.stats() with stats: false", () => {
  it("counts nothing, and still tells what is open", async () => {
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      stats: false,
      limits: { connectionsPerAddress: 2 },
      resources: {
        "/echo": (ws) => ws.on("message", (m) => ws.send(m)),
        "/room/:name": (ws) => ws.subscribe(ws.request!.params.name),
      },
    });
    const limited: string[] = [];
    server.on("ratelimit", (i) => limited.push(`${i.limit} ${i.action}`));
    try {
      const e = await open(`${server.url}/echo`);
      const r = await open(`${server.url}/room/a`);
      for (let i = 0; i < 3; i++) {
        const back = once(e, "message");
        e.send("x".repeat(10));
        await back;
      }
      // A third connection from the same address: refused with 429, and not counted.
      const third = connect(`${server.url}/echo`);
      await once(third, "close");
      assert.deepEqual(limited, ["connections refuse"], "the event still comes");

      const s = server.stats();
      assert.equal(s.connections, 2);
      assert.equal(s.topics, 1);
      assert.equal(s.subscribers, 1);
      assert.ok(s.uptime >= 0);
      const open1 = { ...emptyResourceStats(), connections: 1 };
      assert.deepEqual(s.resources, { "/echo": open1, "/room/:name": open1 });
      assert.deepEqual(
        { ...s, uptime: 0, handshaking: 0 },
        {
          ...emptyResourceStats(),
          connections: 2,
          uptime: 0,
          handshaking: 0,
          refused: {},
          slowConsumerDrops: 0,
          topics: 1,
          subscribers: 1,
          rateLimited: { messages: 0, bytes: 0, connections: 0, handshakes: 0 },
          resources: s.resources,
        },
      );

      // Nor do the sockets count their own traffic.
      const serverSide = [...server.clients].find((c) => c.request?.path === "/echo")!;
      assert.deepEqual(serverSide.traffic(), {
        messagesIn: 0,
        messagesOut: 0,
        bytesIn: 0,
        bytesOut: 0,
      });
      assert.equal(e.traffic().messagesIn, 3, "a client socket counts");
      e.close();
      const [, info] = await once<[WS, ClientDisconnectInfo]>(server, "disconnect");
      assert.equal(info.messagesIn, 0);
      const after = server.stats();
      assert.equal(after.connections, 1);
      assert.deepEqual(after.closes, {});
      assert.deepEqual(Object.keys(after.resources), ["/room/:name"]);
      assert.match(prometheusText(after), /^wsdriver_connections\{resource="\/room\/:name"\} 1$/m);
      r.close();
      await once(r, "close");
    } finally {
      await server.close();
    }
  });
});

describe("Prometheus text", () => {
  it("parses with a real parser, with conventional names and types, served at /metrics", async () => {
    const server: Server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => handleMetrics(server, req) ?? new Response("not found", { status: 404 }),
      resources: { "/chat/:room": (ws) => ws.on("message", (m) => ws.send(m)) },
    });
    try {
      const ws = await open(`${server.url}/chat/x`);
      const back = once(ws, "message");
      ws.send("ping");
      await back;
      // A stand-in with a backplane's figures: the Redis one has its own tests.
      const stats = { state: "up", published: 7, channels: 2 };
      Object.assign(server, { backplane: { stats, close: () => Promise.resolve() } });
      const res = await fetch(server.url.replace(/^ws/, "http") + "/metrics");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
      const text = await res.text();
      type Family = {
        name: string;
        help: string;
        type: string;
        metrics: Array<{ value: string; labels?: Record<string, string> }>;
      };
      const families = parsePrometheusTextFormat(text) as Family[];
      const byName = new Map(families.map((f) => [f.name, f]));
      const value = (name: string, labels: Record<string, string> = {}) => {
        const f = byName.get(name);
        assert.ok(f, `family ${name} in\n${text}`);
        const m = f.metrics.find((m) =>
          Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
        );
        assert.ok(m, `${name} ${JSON.stringify(labels)}`);
        return Number(m.value);
      };
      for (const f of families) {
        assert.match(f.name, /^wsdriver_[a-z_]+$/);
        assert.ok(f.help.length > 0, f.name);
        assert.equal(f.type === "COUNTER", f.name.endsWith("_total"), `${f.name} is ${f.type}`);
      }
      assert.equal(value("wsdriver_connections", { resource: "/chat/:room" }), 1);
      assert.equal(value("wsdriver_messages_received_total", { resource: "/chat/:room" }), 1);
      assert.equal(value("wsdriver_received_bytes_total", { resource: "/chat/:room" }), 10);
      assert.equal(byName.get("wsdriver_sent_bytes_total")!.type, "COUNTER");
      assert.equal(byName.get("wsdriver_connections")!.type, "GAUGE");
      assert.equal(value("wsdriver_backplane_info", { state: "up" }), 1);
      assert.equal(value("wsdriver_backplane_published_total"), 7);
      assert.equal(value("wsdriver_backplane_channels"), 2);
      assert.equal(value("wsdriver_rate_limited_total", { limit: "messages" }), 0);
      // Label values are escaped.
      const odd = prometheusText({
        ...server.stats(),
        resources: { '/a"b\\c\nd': server.stats().resources["/chat/:room"] },
      });
      const parsed = parsePrometheusTextFormat(odd) as Family[];
      const conn = parsed.find((f) => f.name === "wsdriver_connections")!;
      assert.equal(conn.metrics[0].labels!.resource, '/a"b\\c\nd');
      const other = await fetch(server.url.replace(/^ws/, "http") + "/other");
      assert.equal(other.status, 404);
      await other.body?.cancel();
      ws.close();
      await once(ws, "close");
    } finally {
      await withTimeout(server.close(), 10_000, "server close");
    }
  });
});
