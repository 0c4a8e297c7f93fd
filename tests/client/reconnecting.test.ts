/** The reconnecting client over real sockets: restarts, drops, backoff, tokens, the queue. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ReconnectingClient, type ReconnectOptions } from "../../src/client/reconnecting.ts";
import {
  backoffDelay,
  type DisconnectInfo,
  ReconnectingSocket,
} from "../../src/client/reconnecting_socket.ts";
import { WebSocket } from "../../src/client/websocket.ts";
import { fromWebSocket } from "../../src/adapters/websocket.ts";
import { InvalidOptionError, ReconnectError, StateError, type WSError } from "../../src/errors.ts";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import {
  freePort,
  nodeBuildExists,
  once,
  spawnCli,
  stopCli,
  thisRuntime,
  waitOutput,
  withTimeout,
} from "../_helpers.ts";

/** Resolves once `pred` holds, checking after each event of `client`; bounded by `ms`. */
function until(
  client: ReconnectingSocket,
  event: "message" | "open" | "retry" | "close",
  pred: () => boolean,
  ms = 10_000,
): Promise<void> {
  if (pred()) return Promise.resolve();
  return withTimeout(
    new Promise<void>((resolve) => {
      const check = () => {
        if (!pred()) return;
        client.off(event, check);
        resolve();
      };
      client.on(event, check);
    }),
    ms,
    `${event} until a condition`,
  );
}

const fast: ReconnectOptions = { minDelay: 10, maxDelay: 100 };

describe("ReconnectingClient", () => {
  it("backoffDelay: uniform between minDelay and a cap that grows to maxDelay", () => {
    const o = { minDelay: 100, maxDelay: 1000, factor: 2 };
    assert.equal(backoffDelay(1, { ...o, random: () => 0 }), 100);
    const caps = [1, 2, 3, 4, 5].map((n) => backoffDelay(n, { ...o, random: () => 1 }));
    assert.deepEqual(caps, [200, 400, 800, 1000, 1000]);
    for (let n = 1; n < 8; n++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(n, o);
        assert.ok(d >= 100 && d <= Math.min(1000, 100 * 2 ** n), `delay ${d} for retry ${n}`);
      }
    }
  });

  it("a server that accepts and drops every connection: backoff grows, jitter spreads, maxRetries ends it", async () => {
    let accepted = 0;
    const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
      accepted++;
      ws.terminate();
    });
    try {
      const retries: Array<[number, number]> = [];
      const errors: WSError[] = [];
      const client = new ReconnectingClient(server.url, {
        minDelay: 5,
        maxDelay: 400,
        maxRetries: 6,
      });
      client.on("retry", (attempt, delay) => retries.push([attempt, delay]));
      client.on("error", (e) => errors.push(e));
      const [code] = await once<[number]>(client, "close", 20_000);
      assert.equal(code, 1006);
      assert.equal(client.readyState, "closed");
      assert.deepEqual(retries.map(([a]) => a), [2, 3, 4, 5, 6, 7]);
      retries.forEach(([, d], i) => {
        assert.ok(d >= 5 && d <= Math.min(400, 5 * 2 ** (i + 1)), `retry ${i + 1} waited ${d}`);
      });
      assert.equal(accepted, 7, "the first attempt and six retries");
      const last = errors.at(-1);
      assert.ok(last instanceof ReconnectError);
      assert.equal(last.code, "WS_ERR_RECONNECT_FAILED");
      // Jitter: the same policy run twice does not wait the same.
      const a = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { minDelay: 5, maxDelay: 400 }));
      const b = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { minDelay: 5, maxDelay: 400 }));
      assert.notDeepEqual(a, b);
    } finally {
      await server.close();
    }
  });

  it("grows the delay when the server refuses at TCP level too (nothing listening)", async () => {
    const port = await freePort();
    const delays: number[] = [];
    const client = new ReconnectingClient(`ws://127.0.0.1:${port}/`, {
      minDelay: 5,
      maxDelay: 1000,
      maxRetries: 5,
      random: () => 1,
    });
    client.on("retry", (_, d) => delays.push(d));
    await once(client, "close", 20_000);
    assert.deepEqual(delays, [10, 20, 40, 80, 160]);
  });

  it("asks an async token provider before each attempt and restores state with onOpen", async () => {
    const tokens: string[] = [];
    const server = await serve<{ token: string }>({
      port: 0,
      hostname: "127.0.0.1",
      accept: (info) => ({ data: { token: info.headers.get("authorization") ?? "" } }),
    }, (ws) => {
      tokens.push(ws.data.token);
      // The first two connections are dropped after the restore message arrives.
      ws.on("message", (m) => {
        if (String(m).startsWith("subscribe") && tokens.length <= 2) ws.terminate();
        else ws.send(`ack ${m}`);
      });
    });
    try {
      let n = 0;
      const opens: Array<[number, boolean]> = [];
      const client = new ReconnectingClient(async () => {
        await new Promise((r) => setTimeout(r, 1));
        return new URL("/feed", server.url);
      }, {
        ...fast,
        headers: async () => {
          await new Promise((r) => setTimeout(r, 2));
          return { Authorization: `Bearer t${n++}` };
        },
        onOpen: (ws, info) => {
          opens.push([info.attempt, info.reconnected]);
          ws.send("subscribe prices");
        },
      });
      const acks: string[] = [];
      client.on("message", (m) => acks.push(String(m)));
      await until(client, "message", () => acks.length === 1);
      assert.deepEqual(acks, ["ack subscribe prices"]);
      assert.deepEqual(tokens, ["Bearer t0", "Bearer t1", "Bearer t2"]);
      assert.deepEqual(opens, [[1, false], [2, true], [3, true]]);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it("queues sends while disconnected up to a bound; over it a typed error; close() resolves", async () => {
    const port = await freePort();
    const client = new ReconnectingClient(`ws://127.0.0.1:${port}/`, {
      ...fast,
      maxQueuedMessages: 3,
      maxQueuedBytes: 10,
    });
    client.send("abc");
    client.send(new Uint8Array(4));
    assert.equal(client.queuedMessages, 2);
    assert.equal(client.queuedBytes, 7);
    assert.throws(
      () => client.send("four"),
      (e: unknown) => e instanceof ReconnectError && e.code === "WS_ERR_QUEUE_FULL",
      "bytes over the bound",
    );
    client.send("é"); // 2 bytes of UTF-8
    assert.equal(client.queuedBytes, 9);
    assert.throws(
      () => client.send(""),
      (e: unknown) => e instanceof ReconnectError && e.code === "WS_ERR_QUEUE_FULL",
      "messages over the bound",
    );
    await once(client, "retry");
    assert.throws(() => client.close(1006), InvalidOptionError, "a code that may not be sent");
    assert.equal(client.readyState, "connecting");
    await withTimeout(client.close(), 5000, "close()");
    assert.equal(client.readyState, "closed");
    assert.equal(client.queuedMessages, 0);
    assert.throws(() => client.send("late"), StateError);
    // No timer left behind: another close resolves at once.
    await withTimeout(client.close(), 100, "a second close()");
  });

  it("queued messages go out in order after the connection opens, after onOpen's", async () => {
    const port = await freePort();
    const client = new ReconnectingClient(`ws://127.0.0.1:${port}/`, {
      ...fast,
      onOpen: (ws) => ws.send("hello again"),
    });
    for (let i = 0; i < 20; i++) client.send(`m${i}`);
    await once(client, "retry");
    const got: string[] = [];
    const server = await serve({ port, hostname: "127.0.0.1" }, (ws) => {
      ws.on("message", (m) => got.push(String(m)));
    });
    try {
      await once(client, "open", 10_000);
      client.send("after");
      const deadline = Date.now() + 5000;
      while (got.length < 22 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(got, [
        "hello again",
        ...Array.from({ length: 20 }, (_, i) => `m${i}`),
        "after",
      ]);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it("a send while the connection is already closing is queued for the next one", async () => {
    const got: string[] = [];
    let connections = 0;
    const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
      const n = ++connections;
      ws.on("message", (m) => got.push(`${n}:${m}`));
    });
    try {
      const client = new ReconnectingClient(server.url, { ...fast, shouldReconnect: () => true });
      await once(client, "open");
      client.socket!.close(4000, "going");
      assert.equal(client.readyState, "open");
      client.send("during the close");
      await once(client, "open", 10_000);
      const deadline = Date.now() + 5000;
      while (got.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(got, ["2:during the close"]);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it("an onOpen hook that fails closes that connection with 1011 and the client retries", async () => {
    const closes: number[] = [];
    const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
      ws.on("close", (code) => closes.push(code));
    });
    try {
      let calls = 0;
      const errors: string[] = [];
      const client = new ReconnectingClient(server.url, {
        ...fast,
        onOpen: async () => {
          if (++calls === 1) throw new Error("session lost");
          await new Promise((r) => setTimeout(r, 1));
        },
      });
      client.on("error", (e) => errors.push(e.code));
      const [info] = await once<[{ attempt: number; reconnected: boolean }]>(
        client,
        "open",
        10_000,
      );
      assert.deepEqual(info, { attempt: 2, reconnected: true });
      assert.deepEqual(errors, ["WS_ERR_RESTORE"]);
      const deadline = Date.now() + 5000;
      while (closes.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(closes, [1011]);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it("a normal close ends it; shouldReconnect decides for such closes", async () => {
    let connections = 0;
    const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
      connections++;
      ws.close(connections === 1 ? 4000 : 1000, "bye");
    });
    try {
      const seen: DisconnectInfo[] = [];
      const client = new ReconnectingClient(server.url, {
        ...fast,
        shouldReconnect: (info) => {
          seen.push(info);
          return info.code === 4000;
        },
      });
      const [code, reason] = await once<[number, string]>(client, "close", 10_000);
      assert.deepEqual([code, reason], [1000, "bye"]);
      assert.equal(connections, 2);
      assert.deepEqual(seen.map((i) => [i.code, i.opened]), [[4000, true], [1000, true]]);
    } finally {
      await server.close();
    }
  });

  const cliSkip = thisRuntime() === "node" && !nodeBuildExists() && "needs npm run build";
  it(
    "a server killed and restarted mid-stream: no queued message lost, order kept",
    { skip: cliSkip },
    async () => {
      const runtime = thisRuntime();
      let server = spawnCli(runtime, ["echo", "--port", "0", "--host", "127.0.0.1"]);
      const [, url] = await waitOutput(server, /listening on (ws:\/\/\S+)/);
      const port = new URL(url).port;
      const echoes: number[] = [];
      const queuedWhileDown: number[] = [];
      const client = new ReconnectingClient(url, { minDelay: 20, maxDelay: 200 });
      client.on("message", (m) => echoes.push(Number(m)));
      let next = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      const sendOne = () => {
        if (client.readyState !== "open") queuedWhileDown.push(next);
        client.send(String(next++));
      };
      try {
        await once(client, "open", 10_000);
        for (let i = 0; i < 20; i++) sendOne();
        await until(client, "message", () => echoes.length === 20);
        server.child.kill("SIGKILL");
        await server.exited;
        // Keep sending while the server is gone; the client notices the drop on its own.
        const disconnected = once(client, "disconnect", 10_000);
        timer = setInterval(sendOne, 2);
        await disconnected;
        await once(client, "retry", 10_000);
        for (let i = 0; i < 30; i++) sendOne();
        clearInterval(timer);
        server = spawnCli(runtime, ["echo", "--port", port, "--host", "127.0.0.1"]);
        await waitOutput(server, /listening on/);
        await once(client, "open", 15_000);
        for (let i = 0; i < 10; i++) sendOne();
        const last = next - 1;
        await until(client, "message", () => echoes.at(-1) === last, 15_000);
        for (let i = 1; i < echoes.length; i++) {
          assert.ok(echoes[i] > echoes[i - 1], `order kept at ${i}: ${echoes.slice(i - 1, i + 1)}`);
        }
        const got = new Set(echoes);
        const lost = queuedWhileDown.filter((n) => !got.has(n));
        assert.deepEqual(lost, [], "every message sent while disconnected arrived");
        assert.ok(queuedWhileDown.length >= 30);
      } finally {
        clearInterval(timer);
        await client.close();
        await stopCli(server);
      }
    },
  );
});

describe("ReconnectingClient over other sockets and dead peers", () => {
  it("heartbeat on: a server that stops answering is dropped and reconnected to", async () => {
    let connections = 0;
    let deaf: WS | undefined;
    const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
      // The first connection goes deaf: it reads nothing, so pings get no pong.
      if (++connections === 1) {
        deaf = ws;
        ws.pause();
      }
      ws.on("message", (m) => ws.send(`echo ${m}`));
    });
    try {
      const client = new ReconnectingClient(server.url, {
        ...fast,
        heartbeat: { interval: 100, timeout: 100 },
      });
      const disconnected = once<[DisconnectInfo]>(client, "disconnect", 10_000);
      await once(client, "open");
      const [info] = await disconnected;
      assert.equal(info.code, 1006);
      assert.equal(info.error?.code, "WS_ERR_HEARTBEAT_TIMEOUT");
      deaf!.terminate(); // it would not notice the drop before its close timeout
      await once(client, "open", 10_000);
      client.send("alive?");
      assert.deepEqual(await once(client, "message"), ["echo alive?", false]);
      assert.equal(connections, 2);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it("dial: the same logic over a standard WebSocket (the runtime's, or wsdriver's own)", async () => {
    type Standard = typeof globalThis.WebSocket;
    // Deno's constructor also takes an options object as second argument: a wider signature.
    const Standard: Standard = (globalThis as unknown as { WebSocket?: Standard }).WebSocket ??
      (WebSocket as unknown as Standard);
    let connections = 0;
    const got: string[] = [];
    const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
      const n = ++connections;
      ws.on("message", (m) => {
        got.push(`${n}:${m}`);
        if (m === "drop") ws.terminate();
      });
    });
    try {
      // The base class alone: it opens nothing but through `dial`.
      const client = new ReconnectingSocket(server.url, {
        ...fast,
        dial: (url, { protocols }) => fromWebSocket(new Standard(url, [...protocols])),
      });
      await once(client, "open");
      client.send("drop");
      await once(client, "disconnect", 10_000);
      client.send("queued 1");
      client.send("queued 2");
      await once(client, "open", 10_000);
      const deadline = Date.now() + 5000;
      while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(got, ["1:drop", "2:queued 1", "2:queued 2"]);
      await client.close();
    } finally {
      await server.close();
    }
  });
});

describe("ReconnectingClient arguments", () => {
  it("reconnects over a unix socket (ws+unix:) too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wsdriver-reconnect-"));
    const path = join(dir, "s.sock");
    let connections = 0;
    const server = await serve({ path }, (ws) => {
      const n = ++connections;
      ws.on("message", (m) => (m === "drop" ? ws.terminate() : ws.send(`${n}:${m}`)));
    });
    try {
      const client = new ReconnectingClient(`ws+unix:${path}:/x`, fast);
      await once(client, "open");
      client.send("drop");
      await once(client, "open", 10_000);
      client.send("hi");
      assert.deepEqual(await once(client, "message"), ["2:hi", false]);
      await client.close();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a URL that is not ws: or wss: throws a TypeError at once", () => {
    assert.throws(() => new ReconnectingClient("http://127.0.0.1:1/"), TypeError);
    assert.throws(() => new ReconnectingClient("not a url"), TypeError);
  });
});
