/**
 * The reconnecting client resumes a recoverable topic from its last offset: its URL provider puts
 * the last position it saw into each new attempt's URL, and the server (on a Redis backplane)
 * replays what was published while the client was away. Needs redis-server.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redisBackplane } from "../../src/backplane/redis.ts";
import {
  formatPosition,
  parsePosition,
  parseTopicFrame,
  type StreamPosition,
} from "../../src/backplane/position.ts";
import { ReconnectingClient } from "../../src/client/reconnecting.ts";
import { serve, type Server } from "../../src/server.ts";
import { freePort, withTimeout } from "../_helpers.ts";
import { channelSubscribed, redisAvailable, RedisServer } from "../backplane/_redis.ts";

/** A server whose clients subscribe to the recoverable topic "feed", from `?since=` if given. */
async function feedServer(port: number, redisUrl: string): Promise<Server> {
  const backplane = redisBackplane({ url: redisUrl, recoverable: ["feed"] });
  const up = new Promise<void>((resolve) => backplane.once("up", () => resolve()));
  const server = await serve({ port, hostname: "127.0.0.1", backplane }, (ws) => {
    const since = parsePosition(ws.request!.query.get("since") ?? "");
    ws.subscribe("feed", { since });
  });
  await withTimeout(up, 10_000, "the backplane to connect");
  return server;
}

describe("ReconnectingClient with a recoverable topic", { skip: !redisAvailable() }, () => {
  it("resumes from its last offset after the server went away: nothing missed, nothing twice", {
    timeout: 60_000,
  }, async () => {
    const redis = await RedisServer.start();
    const port = await freePort();
    const servers: Server[] = [];
    let client: ReconnectingClient | undefined;
    try {
      const first = await feedServer(port, redis.url);
      servers.push(first);
      const publisher = await feedServer(0, redis.url); // another process of the cluster
      servers.push(publisher);
      let last: StreamPosition | undefined;
      const got: string[] = [];
      const kinds: string[] = [];
      const urls: string[] = [];
      client = new ReconnectingClient(() => {
        const url = `ws://127.0.0.1:${port}/feed` +
          (last ? `?since=${encodeURIComponent(formatPosition(last))}` : "");
        urls.push(url);
        return url;
      }, { minDelay: 20, maxDelay: 200 });
      const arrived = (n: number) =>
        withTimeout(
          new Promise<void>((resolve) => {
            const check = () => {
              if (got.length < n) return;
              client!.off("message", check);
              resolve();
            };
            client!.on("message", check);
            check();
          }),
          10_000,
          `${n} messages`,
        );
      client.on("message", (data) => {
        const frame = parseTopicFrame(data);
        assert.ok(frame, "every message of a recoverable topic has a header");
        kinds.push(frame.kind);
        if (frame.kind !== "message") return;
        last = frame.position ?? last;
        got.push(String(frame.data));
      });
      await withTimeout(
        new Promise((r) => client!.once("open", r)),
        10_000,
        "the first connection",
      );
      await channelSubscribed(redis.url, "feed", 10_000);
      for (let i = 1; i <= 5; i++) publisher.publish("feed", `m${i}`);
      await arrived(5);
      // The server the client talks to goes away; the cluster goes on publishing.
      const disconnected = new Promise((r) => client!.once("disconnect", r));
      await first.close();
      servers.splice(servers.indexOf(first), 1);
      await withTimeout(disconnected, 10_000, "the disconnect");
      for (let i = 6; i <= 10; i++) publisher.publish("feed", `m${i}`);
      // It comes back on the same address; the client resumes from its last offset.
      const reopened = new Promise((r) => client!.once("open", r));
      servers.push(await feedServer(port, redis.url));
      await withTimeout(reopened, 10_000, "the reconnect");
      await arrived(10);
      publisher.publish("feed", "m11");
      await arrived(11);
      assert.deepEqual(got, Array.from({ length: 11 }, (_, i) => `m${i + 1}`));
      assert.ok(kinds.includes("recovered"), `frames: ${kinds.join(" ")}`);
      assert.ok(!kinds.includes("not-recovered"));
      assert.match(urls.at(-1)!, /\?since=[^&]+%3A5$/, "the last attempt asked from offset 5");
    } finally {
      await client?.close();
      for (const s of servers) await s.close();
      await redis.stop();
    }
  });
});
