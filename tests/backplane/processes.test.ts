/**
 * Several server processes (`cli.ts relay` on this test's runtime) share topics through a real
 * redis-server: ordered fan-out, types kept, topic isolation, compression, a lone subscriber, and a
 * process that dies while the others go on.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type CliProcess,
  nodeBuildExists,
  spawnCli,
  stopCli,
  thisRuntime,
  waitOutput,
  withTimeout,
} from "../_helpers.ts";
import { formatPosition, parseTopicFrame } from "../../src/backplane/position.ts";
import { Collector, type Received, synced } from "./_collector.ts";
import { redisAvailable, RedisServer } from "./_redis.ts";

const runtime = thisRuntime();

interface Relay {
  cli: CliProcess;
  url: string;
}

async function startRelay(redis: RedisServer): Promise<Relay> {
  const cli = spawnCli(runtime, [
    "relay",
    "--port",
    "0",
    "--redis",
    redis.url,
    "--deflate",
    "--recoverable",
    "feed",
  ]);
  const [, url] = await waitOutput(cli, /listening on (ws:\/\/\S+)/);
  // Up: the relay's topics will be subscribed on Redis once a client joins them.
  const deadline = Date.now() + 10_000;
  while (!/redis up/.test(cli.stderr()) && Date.now() < deadline) {
    await withTimeout(new Promise((r) => cli.child.stderr!.once("data", r)), 10_000, "redis up")
      .catch(() => {});
  }
  assert.match(cli.stderr(), /redis up/);
  return { cli, url };
}

const isProbe = (m: Received) => m.data === "probe";

function skip(): boolean {
  if (!redisAvailable()) return true;
  if (runtime === "node" && !nodeBuildExists()) {
    throw new Error("npm/esm/cli.js is missing: run `npm run build` first");
  }
  return false;
}

describe(`backplane across relay processes on ${runtime}`, { skip: skip() }, () => {
  let redis: RedisServer;
  const relays: Relay[] = [];
  const clients: Collector[] = [];

  // Three relays start at once: seconds on a loaded machine, over bun's 5 s default.
  before(async () => {
    redis = await RedisServer.start();
    relays.push(...await Promise.all([0, 1, 2].map(() => startRelay(redis))));
  }, { timeout: 60_000 });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(relays.map((r) => stopCli(r.cli)));
    await redis?.stop();
  }, { timeout: 30_000 });

  async function join(relay: number, path: string, deflate = false): Promise<Collector> {
    const c = await Collector.open(`${relays[relay].url}${path}`, deflate);
    clients.push(c);
    return c;
  }

  it("every subscriber of every process gets each message once, in order, with its type", {
    timeout: 30_000,
  }, async () => {
    // A publisher on process 0 (itself a subscriber), subscribers on processes 0, 1 and 2, two of
    // them with permessage-deflate; another topic on process 1, a lone subscriber on process 2.
    const pub = await join(0, "/room");
    const subs = [
      await join(0, "/room", true),
      await join(1, "/room", true),
      await join(2, "/room"),
    ];
    const other = await join(1, "/other");
    const lone = await join(2, "/lone");
    assert.match(subs[1].ws.extensions, /permessage-deflate/);
    const lonePub = await join(0, "/lone");
    await synced(() => pub.ws.send("probe"), [pub, ...subs], isProbe);
    await synced(() => lonePub.ws.send("probe"), [lone], isProbe);

    const N = 200;
    const big = "x".repeat(3000); // over the compression threshold
    const expected: Received[] = [];
    for (let i = 0; i < N; i++) {
      const m: Received = i % 10 === 9
        ? { data: `${big}${i}`, isBinary: false }
        : i % 2 === 0
        ? { data: `m${i}`, isBinary: false }
        : { data: new Uint8Array([i & 0xff, i >> 8, 0xff]), isBinary: true };
      expected.push(m);
      pub.ws.send(m.data);
    }
    lonePub.ws.send("only for the lone one");
    const afterProbes = (c: Collector) => {
      let i = c.messages.length - 1;
      while (i >= 0 && !isProbe(c.messages[i])) i--;
      return c.messages.slice(i + 1);
    };
    for (const c of [pub, ...subs]) {
      await c.until((m) => m.length > 0 && afterProbes(c).length >= N, "all messages", 10_000);
      const got = afterProbes(c);
      assert.equal(got.length, N, "each message once");
      for (let i = 0; i < N; i++) {
        assert.equal(got[i].isBinary, expected[i].isBinary, `type of message ${i}`);
        assert.deepEqual(got[i].data, expected[i].data, `message ${i}, in order`);
      }
    }
    await lone.until((m) => m.some((x) => x.data === "only for the lone one"), "the lone message");
    assert.deepEqual(other.messages, [], "another topic's subscriber gets none of it");
    assert.ok(!lone.messages.some((m) => m.data === "m0"), "topics stay apart");
  });

  it("without --redis a relay keeps its topics to itself", { timeout: 30_000 }, async () => {
    const cli = spawnCli(runtime, ["relay", "--port", "0"]);
    try {
      const [, url] = await waitOutput(cli, /listening on (ws:\/\/\S+)/);
      const a = await Collector.open(`${url}/solo`), b = await Collector.open(`${url}/solo`);
      clients.push(a, b);
      a.ws.send(new Uint8Array([1, 2]));
      a.ws.send("text");
      for (const c of [a, b]) {
        await c.until((m) => m.length >= 2, "both messages");
        assert.deepEqual(c.messages, [
          { data: new Uint8Array([1, 2]), isBinary: true },
          { data: "text", isBinary: false },
        ]);
      }
    } finally {
      await stopCli(cli);
    }
  });

  it("a client resumes a recoverable topic on another process from its last offset", {
    timeout: 30_000,
  }, async () => {
    const pub = await join(0, "/feed");
    const away = await join(2, "/feed");
    await synced(() => pub.ws.send("probe"), [away], () => true);
    pub.ws.send(new Uint8Array([1]));
    await away.until((m) => m.some((x) => x.isBinary), "the binary message");
    const last = parseTopicFrame(away.messages.at(-1)!.data)!;
    assert.deepEqual(last.data, new Uint8Array([1]));
    away.close();
    pub.ws.send("missed 1");
    pub.ws.send(new Uint8Array([2]));
    await pub.until(
      (m) => m.some((x) => x.isBinary && (x.data as Uint8Array).at(-1) === 2),
      "own echo",
    );
    const back = await join(1, `/feed?since=${formatPosition(last.position!)}`);
    await back.until((m) => m.length >= 3, "the missed messages and the verdict");
    assert.deepEqual(back.messages.map((m) => [parseTopicFrame(m.data)!.kind, m.isBinary]), [
      ["message", false],
      ["message", true],
      ["recovered", false],
    ]);
    assert.equal(parseTopicFrame(back.messages[0].data)!.data, "missed 1");
    assert.equal(
      parseTopicFrame(back.messages[1].data)!.position!.offset,
      last.position!.offset + 2,
    );
  });

  it("when a process dies, the others go on", { timeout: 30_000 }, async () => {
    const pub = await join(0, "/after");
    const survivors = [await join(0, "/after"), await join(2, "/after")];
    const doomed = await join(1, "/after");
    await synced(() => pub.ws.send("probe"), [...survivors, doomed], isProbe);
    relays[1].cli.child.kill("SIGKILL");
    await withTimeout(doomed.closed, 5000, "the dead process's client to close");
    for (let i = 0; i < 5; i++) pub.ws.send(`still here ${i}`);
    for (const c of survivors) {
      await c.until((m) => m.some((x) => x.data === "still here 4"), "messages after the death");
      assert.deepEqual(
        c.texts().filter((t) => t.startsWith("still")),
        [0, 1, 2, 3, 4].map((i) => `still here ${i}`),
      );
    }
  });
});
