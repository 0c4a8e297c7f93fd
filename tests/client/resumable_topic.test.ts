/**
 * `ResumableTopic` on a `ReconnectingClient`, against a real redis-server: the relay process the
 * client talks to is killed (SIGKILL) and restarted while a publisher goes on with a numbered
 * sequence, and the client ends with every message once, in order; a history trimmed below the
 * client's position is reported as "not recovered". Also how it builds URLs and reads frames.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CliProcess,
  nodeBuildExists,
  spawnCli,
  stopCli,
  thisRuntime,
  waitOutput,
  withTimeout,
} from "../_helpers.ts";
import { redisBackplane } from "../../src/backplane/redis.ts";
import { parsePosition, type StreamPosition } from "../../src/backplane/position.ts";
import { connect } from "../../src/client.ts";
import { ReconnectingClient } from "../../src/client/reconnecting.ts";
import { ResumableTopic } from "../../src/client/resume.ts";
import { serve, type Server } from "../../src/server.ts";
import { channelSubscribed, redisAvailable, RedisServer } from "../backplane/_redis.ts";
import { freePort } from "../_helpers.ts";

const runtime = thisRuntime();

/** A gate the URL provider waits on: the client dials only once the server is ready for it. */
class Gate {
  #open!: () => void;
  promise: Promise<void> = Promise.resolve();
  close(): void {
    this.promise = new Promise((resolve) => (this.#open = resolve));
  }
  open(): void {
    this.#open();
  }
}

/** Resolves once `cond()` holds, checked after each event of `on`; bounded by `ms`. */
function until(
  on: (check: () => void) => () => void,
  cond: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  let stop = () => {};
  return withTimeout(
    new Promise<void>((resolve) => {
      const check = () => {
        if (cond()) resolve();
      };
      stop = on(check);
      check();
    }),
    ms,
    what,
  ).finally(() => stop());
}

/** Every message, recovered and not-recovered event of a topic, as the application sees them. */
function record(feed: ResumableTopic) {
  const got: string[] = [];
  const outcomes: string[] = [];
  feed.on("message", (data) => got.push(String(data)));
  feed.on("recovered", (p) => outcomes.push(`recovered ${p?.offset}`));
  feed.on("not-recovered", (p) => outcomes.push(`not-recovered ${p?.offset}`));
  // On a timeout, say what did arrive: which messages are missing tells a lost seam from a stall.
  const arrived = (n: number, what = `${n} messages`) =>
    until(
      (check) => {
        feed.on("message", check);
        return () => feed.off("message", check);
      },
      () => got.length >= n,
      10_000,
      what,
    ).catch((err) => {
      const missing = Array.from({ length: n }, (_, i) => `m${i + 1}`).filter((m) =>
        !got.includes(m)
      );
      throw new Error(
        `${(err as Error).message}: ${got.length} arrived, last ${got.at(-1)}, missing ` +
          `${missing.slice(0, 10).join(" ")}${missing.length > 10 ? " …" : ""}; ` +
          `outcomes [${outcomes.join(", ")}], duplicates ${feed.duplicates}`,
      );
    });
  return { got, outcomes, arrived };
}

describe("ResumableTopic: URLs and frames", () => {
  const at = (epoch: string, offset: number): StreamPosition => ({ epoch, offset });

  it("puts the last position into the URL as ?since=EPOCH:OFFSET, replacing an older one", async () => {
    let token = 0;
    const feed = new ResumableTopic(() => Promise.resolve(`ws://h/feed?t=${++token}&since=old`));
    assert.equal(await feed.url(), "ws://h/feed?t=1&since=old", "no position yet: as given");
    feed.receive("wsd1 d E1 7\nseven", false);
    assert.equal(await feed.url(), "ws://h/feed?t=2&since=E1:7");
    assert.equal(feed.since, "E1:7");
    const relative = new ResumableTopic("/feed", { param: "from", since: at("E2", 3) });
    assert.equal(await relative.url(), "/feed?from=E2:3");
    assert.throws(() => new ResumableTopic("/x", { param: "a&b" }), TypeError);
  });

  it("strips headers, keeps types, drops what it has seen, and reports outcomes", () => {
    const feed = new ResumableTopic("ws://h/feed");
    const events: unknown[] = [];
    feed.on("message", (d, isBinary, p) => events.push(["message", d, isBinary, p?.offset]));
    feed.on("recovered", (p) => events.push(["recovered", p?.offset]));
    feed.on("not-recovered", (p) => events.push(["not-recovered", p?.offset]));
    feed.receive("wsd1 d E 1\none", false);
    feed.receive(new TextEncoder().encode("wsd1 d E 2\n\x01\x02"), true);
    feed.receive("wsd1 d E 2\ntwo again", false); // a duplicate at a seam
    feed.receive("wsd1 r E 2\n", false);
    feed.receive("wsd1 d - -\nno position", false); // published while Redis was down
    feed.receive("not a topic frame", false);
    feed.receive("wsd1 n F 40\n", false);
    feed.receive("wsd1 d F 41\nnew epoch", false);
    assert.deepEqual(events, [
      ["message", "one", false, 1],
      ["message", Uint8Array.of(1, 2), true, 2],
      ["recovered", 2],
      ["message", "no position", false, undefined],
      ["message", "not a topic frame", false, undefined],
      ["not-recovered", 40],
      ["message", "new epoch", false, 41],
    ]);
    assert.equal(feed.duplicates, 1);
    assert.deepEqual(feed.position, at("F", 41));
    feed.receive("wsd1 n - -\n", false); // the topic has no history any more
    assert.equal(feed.position, undefined);
  });
});

function skipRedis(): boolean | string {
  if (!redisAvailable()) return "redis-server is missing";
  if (runtime === "node" && !nodeBuildExists()) {
    throw new Error("npm/esm/cli.js is missing: run `npm run build` first");
  }
  return false;
}

describe(`ResumableTopic over a reconnecting client and Redis on ${runtime}`, {
  skip: skipRedis(),
}, () => {
  it("the relay process is killed mid-stream and restarted: every message once, in order", {
    timeout: 30_000,
  }, async () => {
    const redis = await RedisServer.start();
    const port = await freePort();
    const ready = new Gate();
    let relay: CliProcess | undefined;
    let client: ReconnectingClient | undefined;
    const publisher = await serve({
      port: 0,
      hostname: "127.0.0.1",
      backplane: redisBackplane({ url: redis.url, recoverable: ["feed"] }),
    }, () => {});
    const startRelay = async () => {
      const cli = spawnCli(runtime, [
        "relay",
        ...["--port", String(port), "--host", "127.0.0.1"],
        ...["--redis", redis.url, "--recoverable", "feed"],
      ]);
      relay = cli;
      await waitOutput(cli, /listening on ws:/);
      // A relay whose Redis is not up yet cannot replay: let the client in once it is.
      await until(
        (check) => {
          cli.child.stderr!.on("data", check);
          return () => cli.child.stderr!.off("data", check);
        },
        () => /redis up/.test(cli.stderr()),
        10_000,
        "the relay's Redis",
      );
    };
    try {
      ready.close();
      await startRelay();
      ready.open();
      const feed = new ResumableTopic(async () => {
        await ready.promise;
        return `ws://127.0.0.1:${port}/feed`;
      });
      client = new ReconnectingClient(feed.url, { minDelay: 20, maxDelay: 200 });
      feed.attach(client);
      const { got, outcomes, arrived } = record(feed);
      await withTimeout(new Promise((r) => client!.once("open", r)), 10_000, "the first open");
      await channelSubscribed(redis.url, "feed", 5000);

      // A numbered sequence, one message every 2 ms, while the relay dies and comes back.
      const N = 300;
      let published = 0, publishedWhileDown = 0, down = false;
      const publishing = (async () => {
        while (published < N) {
          publisher.publish("feed", `m${++published}`);
          if (down) publishedWhileDown++;
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      await arrived(50, "50 messages before the kill");
      ready.close();
      down = true;
      const killed = relay!;
      const disconnected = new Promise((r) => client!.once("disconnect", r));
      killed.child.kill("SIGKILL");
      await withTimeout(killed.exited, 5000, "the relay to die");
      await withTimeout(disconnected, 5000, "the client to notice");
      const reopened = new Promise((r) => client!.once("open", r));
      await startRelay();
      ready.open();
      await withTimeout(reopened, 10_000, "the reconnect");
      down = false;
      await publishing;
      for (let i = 0; i < 20; i++) publisher.publish("feed", `m${++published}`); // live again
      await arrived(published, "every message");

      assert.ok(publishedWhileDown > 0, "messages were published while the relay was down");
      assert.deepEqual(got, Array.from({ length: published }, (_, i) => `m${i + 1}`));
      assert.deepEqual(outcomes.filter((o) => o.startsWith("not")), [], "nothing lost");
      assert.equal(outcomes.length, 1, `one resume: ${outcomes}`);
      assert.equal(feed.duplicates, 0, "the server sent nothing twice");
      assert.equal(feed.position?.offset, published);
    } finally {
      await client?.close();
      if (relay) await stopCli(relay);
      await publisher.close();
      await redis.stop();
    }
  });

  it("a history trimmed below the client's position is reported as not recovered", {
    timeout: 20_000,
  }, async () => {
    const redis = await RedisServer.start();
    const port = await freePort();
    const ready = new Gate();
    const history = { maxLength: 5, exact: true };
    const servers: Server[] = [];
    let client: ReconnectingClient | undefined;
    const feedServer = async (p: number) => {
      const backplane = redisBackplane({ url: redis.url, recoverable: ["feed"], history });
      const up = new Promise<void>((r) => backplane.once("up", () => r()));
      const server = await serve({ port: p, hostname: "127.0.0.1", backplane }, (ws) => {
        ws.subscribe("feed", { since: parsePosition(ws.request!.query.get("since") ?? "") });
      });
      servers.push(server);
      await withTimeout(up, 10_000, "the backplane to connect");
      return server;
    };
    try {
      const publisher = await feedServer(0);
      const subscriber = await feedServer(port);
      const observer = connect(`${publisher.url}/feed`);
      const observed: string[] = [];
      observer.on("message", (data) => observed.push(String(data).split("\n")[1]));
      await withTimeout(
        new Promise<void>((r) => observer.once("open", () => r())),
        5000,
        "the observer",
      );
      const feed = new ResumableTopic(async () => {
        await ready.promise;
        return `ws://127.0.0.1:${port}/feed`;
      });
      client = new ReconnectingClient(feed.url, { minDelay: 20, maxDelay: 200 });
      feed.attach(client);
      const { got, outcomes, arrived } = record(feed);
      let reloads = 0;
      feed.on("not-recovered", () => reloads++);
      await withTimeout(new Promise((r) => client!.once("open", r)), 10_000, "the first open");
      for (let i = 1; i <= 3; i++) publisher.publish("feed", `m${i}`);
      await arrived(3);

      ready.close();
      const disconnected = new Promise((r) => client!.once("disconnect", r));
      await subscriber.close();
      servers.splice(servers.indexOf(subscriber), 1);
      await withTimeout(disconnected, 5000, "the disconnect");
      // Ten more while away: the history keeps only m9..m13, the client saw up to m3.
      for (let i = 4; i <= 13; i++) publisher.publish("feed", `m${i}`);
      // They are in the history once they come back from Redis to a subscriber of the publisher.
      await until(
        (check) => {
          observer.on("message", check);
          return () => observer.off("message", check);
        },
        () => observed.includes("m13"),
        5000,
        "the publishes to reach Redis",
      );
      const told = until(
        (check) => {
          feed.on("not-recovered", check);
          return () => feed.off("not-recovered", check);
        },
        () => reloads > 0,
        10_000,
        "not recovered",
      );
      await feedServer(port);
      ready.open();
      await told;
      publisher.publish("feed", "m14");
      await arrived(4);

      assert.deepEqual(got, ["m1", "m2", "m3", "m14"], "no partial history, live after it");
      assert.deepEqual(outcomes, ["not-recovered 13"]);
      assert.equal(reloads, 1);
      assert.equal(feed.position?.offset, 14);
      assert.match(await feed.url(), /\?since=[\w-]+:14$/);
    } finally {
      await client?.close();
      for (const s of servers) await s.close();
      await redis.stop();
    }
  });
});
