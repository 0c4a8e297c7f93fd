/**
 * The RPC layer (src/rpc.ts) over real loopback connections: multiplexing, both directions,
 * timeouts, aborts, remote errors, payload fidelity, plain messages beside RPC, limits, malformed
 * frames, closing and graceful shutdown; plus the wire format's exact bytes.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, type ConnectOptions } from "../src/client.ts";
import { InvalidOptionError, WSError } from "../src/errors.ts";
import {
  decodeRpcFrame,
  encodeRpcFrame,
  isRpcMessage,
  Rpc,
  RPC_MAGIC,
  RPC_VERSION,
  type RpcConnection,
  type RpcData,
  RpcError,
  type RpcFrame,
  type RpcOptions,
} from "../src/rpc.ts";
import { serve, type ServeOptions, type Server } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import { once, withTimeout } from "./_helpers.ts";

const WAIT = 10_000;

interface Pair {
  server: Server;
  /** The client's socket. */
  client: WS;
  /** The server's socket for that client. */
  peer: WS;
  /** Absent (undefined) when the pair was made with `client: false`. */
  clientRpc: Rpc<WS>;
  /** Absent (undefined) when the pair was made with `server: false`. */
  serverRpc: Rpc<WS>;
  close(): Promise<void>;
}

interface PairOptions {
  server?: RpcOptions<WS> | false;
  client?: RpcOptions<WS> | false;
  serve?: ServeOptions;
  connect?: ConnectOptions;
}

/** A server and a client connected over loopback, each with an Rpc unless told otherwise. */
async function pair(opts: PairOptions = {}): Promise<Pair> {
  // Tests that speak the wire format by hand ask for no Rpc on that side; they never touch it.
  const none = undefined as unknown as Rpc<WS>;
  let accepted!: (v: { peer: WS; rpc: Rpc<WS> }) => void;
  const acceptedP = new Promise<{ peer: WS; rpc: Rpc<WS> }>((r) => (accepted = r));
  const server = await serve({ port: 0, hostname: "127.0.0.1", ...opts.serve }, (ws) => {
    accepted({ peer: ws, rpc: opts.server === false ? none : new Rpc(ws, opts.server) });
  });
  const client = connect(server.url, opts.connect);
  const clientRpc = opts.client === false ? none : new Rpc(client, opts.client);
  try {
    await once(client, "open", WAIT);
  } catch (err) {
    await server.close();
    throw err;
  }
  const { peer, rpc } = await withTimeout(acceptedP, WAIT, "the server handler");
  return {
    server,
    client,
    peer,
    clientRpc,
    serverRpc: rpc,
    async close() {
      const closed = client.readyState === "closed"
        ? Promise.resolve()
        : once(client, "close", WAIT);
      if (client.readyState === "open") client.close();
      await withTimeout(server.close(), WAIT, "the server to close");
      await closed;
    },
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Counts events and lets a test wait (bounded) until the count reaches n. */
class Counter {
  count = 0;
  #waiters: Array<{ n: number; resolve: () => void }> = [];
  hit(): void {
    this.count++;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.count < w.n) return true;
      w.resolve();
      return false;
    });
  }
  reach(n: number, what: string, ms = WAIT): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve) => this.#waiters.push({ n, resolve })),
      ms,
      `${n} × ${what} (have ${this.count})`,
    );
  }
}

/** Seeded PRNG (mulberry32), so out-of-order runs are the same every time. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  const rand = prng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** An assert.rejects validator: an RpcError with `code` (and `remote`, if given). */
function rpcError(code: string, remote?: boolean, more?: (err: RpcError) => void) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${err}`);
    assert.ok(err instanceof WSError);
    assert.equal(err.name, "RpcError");
    assert.equal(err.code, code, err.message);
    if (remote !== undefined) assert.equal(err.remote, remote, `remote of ${code}`);
    more?.(err);
    return true;
  };
}

function rejects(p: Promise<unknown>, check: (err: unknown) => boolean, what: string) {
  return withTimeout(assert.rejects(p, check), WAIT, what);
}

/** Like `rejects` for many promises, checked from now on so none rejects unhandled. */
function rejectsAll(ps: Promise<unknown>[], check: (err: unknown) => boolean, what: string) {
  return Promise.all(ps.map((p) => rejects(p, check, what)));
}

/** Decodes every RPC frame a socket receives (malformed ones as null). */
function recordFrames(ws: WS): Array<RpcFrame | null> {
  const frames: Array<RpcFrame | null> = [];
  ws.on("message", (data) => {
    if (!isRpcMessage(data)) return;
    try {
      frames.push(decodeRpcFrame(data));
    } catch {
      frames.push(null);
    }
  });
  return frames;
}

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe("RPC over a real WebSocket connection", () => {
  it("answers 10,000 concurrent requests out of order, each with its own response", async () => {
    const N = 10_000;
    const held: Array<() => void> = [];
    const arrived = new Counter();
    const p = await pair({
      server: {
        maxInFlight: N,
        responder: (data) =>
          new Promise<RpcData>((resolve) => {
            held.push(() => resolve(`re:${data}`));
            arrived.hit();
          }),
      },
      client: { maxInFlight: N },
    });
    try {
      const order: number[] = [];
      const all = Array.from({ length: N }, (_, i) =>
        p.clientRpc.request(`q${i}`).then((r) => {
          assert.equal(r, `re:q${i}`);
          order.push(i);
        }));
      assert.deepEqual(p.clientRpc.inFlight, { outgoing: N, incoming: 0 });
      await arrived.reach(N, "request at the responder");
      assert.equal(p.serverRpc.inFlight.incoming, N);
      // One TCP stream: the responder saw the requests in the order they were sent.
      const perm = shuffled(N, 42);
      for (const i of perm) held[i]();
      await withTimeout(Promise.all(all), WAIT, "all responses");
      assert.deepEqual(order, perm, "responses arrive in the order they were given, not sent");
      assert.notDeepEqual(order, [...order].sort((a, b) => a - b));
      assert.deepEqual(p.clientRpc.inFlight, { outgoing: 0, incoming: 0 });
      assert.deepEqual(p.serverRpc.inFlight, { outgoing: 0, incoming: 0 });
    } finally {
      await p.close();
    }
  });

  it("works in both directions at once, including a request made from inside a responder", async () => {
    const p = await pair({
      client: { responder: (data) => `client:${data}` },
      server: {
        responder: async (data, ctx) => {
          if (data === "who") return `you are ${await ctx.request("name?")}`;
          assert.equal(ctx.connection.readyState, "open");
          return data instanceof Uint8Array ? data.slice().reverse() : `server:${data}`;
        },
      },
    });
    try {
      const fromClient = Array.from(
        { length: 200 },
        (_, i) =>
          i % 2
            ? p.clientRpc.request(`c${i}`).then((r) => assert.equal(r, `server:c${i}`))
            : p.clientRpc.request(bytes(1, 2, i)).then((r) => assert.deepEqual(r, bytes(i, 2, 1))),
      );
      const fromServer = Array.from(
        { length: 200 },
        (_, i) => p.serverRpc.request(`s${i}`).then((r) => assert.equal(r, `client:s${i}`)),
      );
      await withTimeout(Promise.all([...fromClient, ...fromServer]), WAIT, "both directions");
      assert.equal(
        await withTimeout(p.clientRpc.request("who"), WAIT, "nested"),
        "you are client:name?",
      );
    } finally {
      await p.close();
    }
  });

  it("times out: RPC_ERR_TIMEOUT for the requester, ctx.signal aborts and the late answer is dropped", async () => {
    const aborted = deferred<unknown>();
    const started = new Counter();
    const p = await pair({
      client: { timeout: 5000 },
      server: {
        responder: (data, ctx) => {
          if (data !== "slow") return `fast:${data}`;
          started.hit();
          return new Promise<RpcData>((resolve) => {
            ctx.signal.addEventListener("abort", () => {
              aborted.resolve(ctx.signal.reason);
              resolve("too late"); // must not reach the client
            });
          });
        },
      },
    });
    try {
      const frames = recordFrames(p.client);
      const errors: RpcError[] = [];
      p.clientRpc.on("error", (e) => errors.push(e));
      const t0 = Date.now();
      await rejects(
        p.clientRpc.request("slow", { timeout: 100 }),
        rpcError("RPC_ERR_TIMEOUT", false),
        "the timeout",
      );
      assert.ok(Date.now() - t0 >= 90, "not before the timeout");
      const reason = await withTimeout(aborted.promise, WAIT, "the responder's abort");
      assert.ok(rpcError("RPC_ERR_ABORTED", true)(reason));
      assert.equal(started.count, 1);
      // A later request's answer comes after anything the server sent for the cancelled one.
      assert.equal(await withTimeout(p.clientRpc.request("x"), WAIT, "next request"), "fast:x");
      assert.deepEqual(frames.map((f) => f?.kind), ["response"], "only the second answer came");
      assert.deepEqual(errors, []);
      assert.deepEqual(p.clientRpc.inFlight, { outgoing: 0, incoming: 0 });
      assert.deepEqual(p.serverRpc.inFlight, { outgoing: 0, incoming: 0 });
    } finally {
      await p.close();
    }
  });

  it("uses the Rpc's default timeout when a request sets none", async () => {
    const p = await pair({
      client: { timeout: 80 },
      server: {
        responder: (_data, ctx) =>
          new Promise<RpcData>((resolve) =>
            ctx.signal.addEventListener("abort", () => resolve(""))
          ),
      },
    });
    try {
      await rejects(p.clientRpc.request("x"), rpcError("RPC_ERR_TIMEOUT"), "default timeout");
      const noTimeout = p.clientRpc.request("y", { timeout: 0 });
      const ac = new AbortController();
      const aborted = p.clientRpc.request("z", { signal: ac.signal, timeout: Infinity });
      ac.abort();
      await rejects(aborted, rpcError("RPC_ERR_ABORTED"), "abort");
      p.peer.close(1000);
      await rejects(noTimeout, rpcError("RPC_ERR_CLOSED"), "closed, never timed out");
    } finally {
      await p.close();
    }
  });

  it("aborts via AbortSignal: RPC_ERR_ABORTED with the reason as cause, and the responder is told", async () => {
    const arrived = new Counter();
    const serverAborts: unknown[] = [];
    const abortSeen = new Counter();
    const nestedArrived = deferred(), nestedAborted = deferred<unknown>();
    const p = await pair({
      client: {
        responder: (_data, ctx) => {
          nestedArrived.resolve();
          return new Promise<RpcData>((resolve) =>
            ctx.signal.addEventListener("abort", () => {
              nestedAborted.resolve(ctx.signal.reason);
              resolve("");
            })
          );
        },
      },
      server: {
        responder: (data, ctx) => {
          if (data === "echo") return "echo";
          if (data === "nested") return ctx.request("from inside");
          arrived.hit();
          return new Promise<RpcData>((resolve) =>
            ctx.signal.addEventListener("abort", () => {
              serverAborts.push(ctx.signal.reason);
              abortSeen.hit();
              resolve("dropped");
            })
          );
        },
      },
    });
    try {
      const ac = new AbortController();
      const pending = [1, 2, 3].map(() => p.clientRpc.request("wait", { signal: ac.signal }));
      await arrived.reach(3, "request at the responder");
      const why = new Error("user went away");
      ac.abort(why);
      await rejectsAll(
        pending,
        rpcError("RPC_ERR_ABORTED", false, (e) => assert.equal(e.cause, why)),
        "the abort",
      );
      await abortSeen.reach(3, "abort at the responder");
      for (const r of serverAborts) assert.ok(rpcError("RPC_ERR_ABORTED", true)(r));
      // An already aborted signal fails at once; nothing is sent.
      await rejects(
        p.clientRpc.request("wait", { signal: ac.signal }),
        rpcError("RPC_ERR_ABORTED"),
        "pre-aborted",
      );
      assert.equal(await withTimeout(p.clientRpc.request("echo"), WAIT, "echo"), "echo");
      assert.equal(arrived.count, 3, "the pre-aborted request never reached the responder");
      assert.deepEqual(p.serverRpc.inFlight, { outgoing: 0, incoming: 0 });
      // Cancelling a request cancels what its responder asked the peer on its behalf.
      const ac2 = new AbortController();
      const outer = p.clientRpc.request("nested", { signal: ac2.signal });
      await withTimeout(nestedArrived.promise, WAIT, "the nested request");
      ac2.abort();
      await rejects(outer, rpcError("RPC_ERR_ABORTED"), "outer");
      const reason = await withTimeout(nestedAborted.promise, WAIT, "the nested abort");
      assert.ok(rpcError("RPC_ERR_ABORTED", true)(reason));
      assert.deepEqual(p.serverRpc.inFlight, { outgoing: 0, incoming: 0 });
      assert.deepEqual(p.clientRpc.inFlight, { outgoing: 0, incoming: 0 });
    } finally {
      await p.close();
    }
  });

  it("returns the responder's errors with code and message; no responder → RPC_ERR_NO_RESPONDER", async () => {
    const serverErrors: RpcError[] = [];
    const p = await pair({
      server: {
        responder: async (data) => {
          await Promise.resolve();
          switch (data) {
            case "code":
              throw Object.assign(new Error("user 7 not found"), { code: "E_NOT_FOUND" });
            case "number":
              throw Object.assign(new Error("teapot"), { code: 418 });
            case "string":
              throw "just a string";
            case "object":
              throw { code: "E_OBJ", message: "a plain object" };
            case "rpc":
              throw new RpcError("E_APP", "an RpcError with an app code");
            case "long":
              throw new Error("é".repeat(5000));
            case "bad":
              return 42 as unknown as string;
          }
          return "ok";
        },
      },
    });
    p.serverRpc.on("error", (e) => serverErrors.push(e));
    const remote = (appCode: string | undefined, message: string) =>
      rpcError("RPC_ERR_REMOTE", true, (e) => {
        assert.equal(e.appCode, appCode);
        assert.equal(e.message, message);
      });
    try {
      await rejects(p.clientRpc.request("code"), remote("E_NOT_FOUND", "user 7 not found"), "1");
      await rejects(p.clientRpc.request("number"), remote("418", "teapot"), "2");
      await rejects(p.clientRpc.request("string"), remote(undefined, "just a string"), "3");
      await rejects(p.clientRpc.request("object"), remote("E_OBJ", "a plain object"), "4");
      await rejects(
        p.clientRpc.request("rpc"),
        remote("E_APP", "an RpcError with an app code"),
        "5",
      );
      await rejects(
        p.clientRpc.request("long"),
        remote(undefined, "é".repeat(2048)),
        "messages are cut at 4096 bytes, on a character boundary",
      );
      await rejects(
        p.clientRpc.request("bad"),
        rpcError("RPC_ERR_REMOTE", true, (e) => assert.match(e.message, /returned number/)),
        "bad reply",
      );
      assert.deepEqual(serverErrors.map((e) => e.code), ["RPC_ERR_REMOTE"]);
      assert.equal(await withTimeout(p.clientRpc.request("fine"), WAIT, "fine"), "ok");
      p.serverRpc.setResponder(undefined);
      await rejects(
        p.clientRpc.request("anyone?"),
        rpcError("RPC_ERR_NO_RESPONDER", true),
        "no responder",
      );
      // The client never set one either.
      await rejects(
        p.serverRpc.request("anyone?"),
        rpcError("RPC_ERR_NO_RESPONDER", true),
        "no responder on the client",
      );
    } finally {
      await p.close();
    }
  });

  it("carries binary and text payloads byte for byte, keeping their type", async () => {
    const kinds: boolean[] = [];
    const p = await pair({
      server: {
        responder: (data, ctx) => {
          kinds.push(ctx.isBinary);
          return data;
        },
      },
    });
    try {
      const binaries = [0, 1, 7, 8, 125, 126, 65535, 65536, 1 << 20].map((n) => pattern(n, n));
      // Including bytes that look like an RPC header inside the payload.
      binaries.push(encodeRpcFrame({ kind: "request", id: 1, data: "nested" }));
      const texts = ["", "a", "é€😀", "\uFEFFbom kept", "\u0000nul", "x€".repeat(100_000)];
      const sent: Array<string | Uint8Array> = [];
      for (let i = 0; i < Math.max(binaries.length, texts.length); i++) {
        if (i < binaries.length) sent.push(binaries[i]);
        if (i < texts.length) sent.push(texts[i]);
      }
      const got = await withTimeout(
        Promise.all(sent.map((d) => p.clientRpc.request(d))),
        WAIT,
        "echoes",
      );
      for (let i = 0; i < sent.length; i++) {
        if (typeof sent[i] === "string") assert.equal(got[i], sent[i], `text #${i}`);
        else {
          assert.ok(got[i] instanceof Uint8Array, `binary #${i}`);
          assert.deepEqual(got[i], sent[i], `binary #${i}`);
        }
      }
      assert.deepEqual(kinds, sent.map((d) => typeof d !== "string"));
      // Other byte containers go as binary; nothing returned means an empty binary response.
      const buf = pattern(10, 3);
      assert.deepEqual(await p.clientRpc.request(buf.slice().buffer), buf);
      assert.deepEqual(await p.clientRpc.request(new DataView(buf.buffer, 2, 5)), buf.slice(2, 7));
      p.serverRpc.setResponder(() => {});
      assert.deepEqual(await p.clientRpc.request("void"), new Uint8Array(0));
    } finally {
      await p.close();
    }
  });

  it("bounds frames by maxPayload: RPC_ERR_TOO_BIG for requests and responses", async () => {
    const serverErrors: RpcError[] = [];
    const p = await pair({
      connect: { maxPayload: 2000 },
      server: { maxPayload: 100, responder: (data) => data },
    });
    p.serverRpc.on("error", (e) => serverErrors.push(e));
    try {
      assert.equal(p.clientRpc.maxPayload, 2000, "the connection's maxPayload");
      assert.equal(p.serverRpc.maxPayload, 100);
      await rejects(
        p.clientRpc.request(new Uint8Array(1993)),
        rpcError("RPC_ERR_TOO_BIG", false),
        "request over the client's limit",
      );
      assert.deepEqual(await p.clientRpc.request(new Uint8Array(92)), new Uint8Array(92));
      await rejects(
        p.clientRpc.request(new Uint8Array(93)),
        rpcError("RPC_ERR_TOO_BIG", true),
        "response over the server's limit",
      );
      assert.deepEqual(serverErrors.map((e) => e.code), ["RPC_ERR_TOO_BIG"]);
      await rejects(
        p.serverRpc.request("x".repeat(93)),
        rpcError("RPC_ERR_TOO_BIG", false),
        "server request",
      );
      assert.equal(p.client.readyState, "open", "nothing over a limit was sent");
    } finally {
      await p.close();
    }
  });

  it("passes plain messages interleaved with RPC to the plain listeners, in order", async () => {
    const plainAtServer: Array<[string | Uint8Array, boolean]> = [];
    const allAtServer: Array<string | Uint8Array> = [];
    const p = await pair({
      server: {
        responder: (data, ctx) => {
          ctx.connection.send(`before answer ${data}`); // plain, ahead of the response
          return `answer ${data}`;
        },
      },
    });
    try {
      p.serverRpc.on("message", (d, isBinary) => plainAtServer.push([d, isBinary]));
      p.peer.on("message", (d) => allAtServer.push(d));
      const plainAtClient: Array<string | Uint8Array> = [];
      p.clientRpc.on("message", (d) => plainAtClient.push(d));
      const plainSent: Array<[string | Uint8Array, boolean]> = [
        ["hello", false],
        [bytes(1, 2, 3), true],
        ["\u00f5 text starting like the magic as a character", false],
        [new Uint8Array(0), true],
        [bytes(0xf4, 1, 1, 1, 0, 0, 0, 1), true],
        [String.fromCharCode(0xf5), false],
      ];
      const replies: Array<Promise<RpcData>> = [];
      for (const [i, [d]] of plainSent.entries()) {
        p.client.send(d);
        replies.push(p.clientRpc.request(`r${i}`));
      }
      const done = deferred();
      const closeAfter = plainSent.length + 1; // the last plain message is "end"
      p.serverRpc.on("message", () => {
        if (plainAtServer.length === closeAfter) done.resolve();
      });
      assert.deepEqual(
        await withTimeout(Promise.all(replies), WAIT, "replies"),
        plainSent.map((_, i) => `answer r${i}`),
      );
      p.client.send("end");
      await withTimeout(done.promise, WAIT, "the plain messages");
      assert.deepEqual(plainAtServer, [...plainSent, ["end", false]]);
      // A listener on the socket itself sees everything and tells RPC frames apart.
      assert.equal(allAtServer.length, plainSent.length * 2 + 1);
      assert.deepEqual(
        allAtServer.filter((d) => !isRpcMessage(d)),
        [...plainSent.map(([d]) => d), "end"],
      );
      assert.deepEqual(
        allAtServer.filter(isRpcMessage).map((d) => decodeRpcFrame(d)),
        plainSent.map((_, i) => ({ kind: "request", id: i + 1, data: `r${i}` })),
      );
      assert.deepEqual(plainAtClient, plainSent.map((_, i) => `before answer r${i}`));
    } finally {
      await p.close();
    }
  });

  it("caps in-flight requests on each side with RPC_ERR_TOO_MANY", async () => {
    const held: Array<() => void> = [];
    const arrived = new Counter();
    const p = await pair({
      client: { maxInFlight: 5 },
      server: {
        maxInFlight: 3,
        responder: (data) =>
          new Promise<RpcData>((resolve) => {
            held.push(() => resolve(data));
            arrived.hit();
          }),
      },
    });
    try {
      const ac = new AbortController();
      const first = [0, 1, 2].map((i) =>
        p.clientRpc.request(`a${i}`, i === 0 ? { signal: ac.signal } : {})
      );
      await arrived.reach(3, "request at the responder");
      // The server answers 3 at once: the 4th and 5th are refused by the server.
      const over = rejectsAll(
        [p.clientRpc.request("b0"), p.clientRpc.request("b1")],
        rpcError("RPC_ERR_TOO_MANY", true),
        "server cap",
      );
      // The client awaits 5 at once: the 6th is refused locally, before sending.
      await rejects(p.clientRpc.request("c"), rpcError("RPC_ERR_TOO_MANY", false), "client cap");
      await over;
      // A cancelled request frees its slot on both sides at once, though its responder still
      // runs: the server counts it as abandoned until it returns.
      ac.abort();
      await rejects(first[0], rpcError("RPC_ERR_ABORTED"), "abort");
      const d = p.clientRpc.request("d");
      await arrived.reach(4, "request after the cancel freed a slot");
      assert.equal(p.serverRpc.abandoned, 1);
      assert.equal(p.serverRpc.inFlight.incoming, 3);
      for (const release of held) release();
      assert.deepEqual(
        await withTimeout(Promise.all([first[1], first[2], d]), WAIT, "held"),
        ["a1", "a2", "d"],
      );
      assert.equal(p.serverRpc.abandoned, 0);
      const again = p.clientRpc.request("e");
      await arrived.reach(5, "request after the cap freed up");
      held[4]();
      assert.equal(await withTimeout(again, WAIT, "after the cap"), "e");
    } finally {
      await p.close();
    }
  });

  it("reports malformed frames as errors, answers those that name a request, and keeps going", async () => {
    const serverErrors: RpcError[] = [];
    const hold = deferred<void>();
    const p = await pair({
      client: false,
      server: {
        responder: async (data) => {
          if (data === "hold") await hold.promise;
          return `ok ${data}`;
        },
      },
    });
    p.serverRpc.on("error", (e) => serverErrors.push(e));
    const received: Array<RpcFrame | null> = [];
    const counter = new Counter();
    p.client.on("message", (d) => {
      if (!isRpcMessage(d)) return;
      received.push(decodeRpcFrame(d));
      counter.hit();
    });
    const h = (kind: number, type: number, id: number, ...body: number[]) =>
      bytes(
        RPC_MAGIC,
        RPC_VERSION,
        kind,
        type,
        id >>> 24,
        (id >>> 16) & 0xff,
        (id >>> 8) & 0xff,
        id & 0xff,
        ...body,
      );
    try {
      const malformed = [
        bytes(RPC_MAGIC), // too short
        bytes(RPC_MAGIC, 1, 1, 0, 0, 0, 0), // 7 bytes
        bytes(RPC_MAGIC, 2, 1, 0, 0, 0, 0, 10, 0x78), // version 2 request id 10: answered
        h(9, 0, 11), // unknown kind
        h(1, 7, 12, 0x78), // unknown payload type in a request: answered
        h(1, 1, 13, 0xff, 0xfe), // text that is not UTF-8: answered
        h(1, 0, 0, 0x78), // id 0
        h(4, 0, 14, 1), // cancel with a body
        h(3, 0, 15, 5, 0x41), // truncated error frame
        h(3, 1, 16, 1, 0x41, 0), // error frame with a payload type
      ];
      p.client.sendBinary(encodeRpcFrame({ kind: "request", id: 20, data: "hold" }));
      for (const m of malformed) p.client.sendBinary(m);
      p.client.sendBinary(encodeRpcFrame({ kind: "request", id: 20, data: "hold" })); // duplicate
      p.client.sendBinary(encodeRpcFrame({ kind: "response", id: 99, data: "nobody asked" }));
      p.client.sendBinary(encodeRpcFrame({ kind: "cancel", id: 98 }));
      p.client.sendBinary(encodeRpcFrame({ kind: "request", id: 21, data: "after" }));
      await counter.reach(4, "answers");
      hold.resolve();
      await counter.reach(5, "the held answer");
      assert.deepEqual(received, [
        { kind: "error", id: 10, code: "RPC_ERR_MALFORMED", message: "unsupported RPC version 2" },
        { kind: "error", id: 12, code: "RPC_ERR_MALFORMED", message: "unknown payload type 7" },
        {
          kind: "error",
          id: 13,
          code: "RPC_ERR_MALFORMED",
          message: "text payload is not valid UTF-8",
        },
        { kind: "response", id: 21, data: "ok after" },
        { kind: "response", id: 20, data: "ok hold" },
      ]);
      assert.equal(serverErrors.length, malformed.length + 1, "one error event per bad frame");
      for (const e of serverErrors) assert.ok(rpcError("RPC_ERR_MALFORMED", false)(e));
      assert.match(serverErrors.at(-1)!.message, /duplicate request id 20/);
      assert.equal(p.peer.readyState, "open", "a malformed RPC frame does not close anything");
    } finally {
      await p.close();
    }
  });

  it("fails a pending request whose response is malformed", async () => {
    const p = await pair({ server: false });
    p.peer.on("message", (d) => {
      if (!isRpcMessage(d)) return;
      const f = decodeRpcFrame(d);
      const id = [f.id >>> 24, (f.id >>> 16) & 0xff, (f.id >>> 8) & 0xff, f.id & 0xff];
      p.peer.sendBinary(bytes(RPC_MAGIC, RPC_VERSION, 2, 5, ...id)); // payload type 5
    });
    const errors: RpcError[] = [];
    p.clientRpc.on("error", (e) => errors.push(e));
    try {
      await rejects(
        p.clientRpc.request("x"),
        rpcError("RPC_ERR_MALFORMED", false, (e) => assert.match(e.message, /payload type 5/)),
        "the malformed response",
      );
      assert.deepEqual(errors.map((e) => e.code), ["RPC_ERR_MALFORMED"]);
    } finally {
      await p.close();
    }
  });

  it("fails pending requests on both sides with RPC_ERR_CLOSED when the connection closes", async () => {
    const serverArrived = new Counter(), clientArrived = new Counter();
    const serverAborts: unknown[] = [];
    const p = await pair({
      server: {
        responder: (_d, ctx) => {
          serverArrived.hit();
          return new Promise<RpcData>((resolve) =>
            ctx.signal.addEventListener("abort", () => {
              serverAborts.push(ctx.signal.reason);
              resolve("");
            })
          );
        },
      },
      client: { responder: () => new Promise<RpcData>(() => clientArrived.hit()) },
    });
    try {
      const rpcClosed = [once(p.clientRpc, "close", WAIT), once(p.serverRpc, "close", WAIT)];
      const fromClient = [1, 2, 3].map((i) => p.clientRpc.request(`c${i}`));
      const fromServer = [1, 2].map((i) => p.serverRpc.request(`s${i}`));
      await serverArrived.reach(3, "client request at the server");
      await clientArrived.reach(2, "server request at the client");
      p.peer.close(4000, "bye");
      await Promise.all([
        rejectsAll(
          fromClient,
          rpcError("RPC_ERR_CLOSED", false, (e) => assert.match(e.message, /4000 bye/)),
          "client side",
        ),
        rejectsAll(fromServer, rpcError("RPC_ERR_CLOSED"), "server side"),
      ]);
      assert.deepEqual((await rpcClosed[0]).slice(0, 2), [4000, "bye"]);
      await rpcClosed[1];
      assert.equal(serverAborts.length, 3);
      for (const r of serverAborts) assert.ok(rpcError("RPC_ERR_CLOSED")(r));
      assert.equal(p.clientRpc.state, "closed");
      await rejects(p.clientRpc.request("late"), rpcError("RPC_ERR_CLOSED"), "after close");
      await rejects(p.serverRpc.request("late"), rpcError("RPC_ERR_CLOSED"), "after close");
      assert.deepEqual(p.clientRpc.inFlight, { outgoing: 0, incoming: 0 });
    } finally {
      await p.close();
    }
  });

  it("shuts down gracefully: refuses new requests, loses none in flight, then closes", async () => {
    const serverHeld: Array<() => void> = [], clientHeld: Array<() => void> = [];
    const serverArrived = new Counter(), clientArrived = new Counter();
    const p = await pair({
      server: {
        responder: async (data, ctx) => {
          await new Promise<void>((resolve) => {
            serverHeld.push(resolve);
            serverArrived.hit();
          });
          // Every tenth one needs the peer to finish, after shutdown began.
          const help = Number(String(data).slice(1)) % 10 === 0 ? await ctx.request("help") : "";
          return `done ${data}${help}`;
        },
      },
      client: {
        responder: (data) =>
          data === "help" ? " helped" : new Promise<RpcData>((resolve) => {
            clientHeld.push(() => resolve(`client done ${data}`));
            clientArrived.hit();
          }),
      },
    });
    const expected = (i: number) => `done c${i}${i % 10 === 0 ? " helped" : ""}`;
    try {
      const clientClosed = once<[number, string, boolean]>(p.client, "close", WAIT);
      const fromClient = Array.from({ length: 200 }, (_, i) => p.clientRpc.request(`c${i}`));
      const fromServer = Array.from({ length: 50 }, (_, i) => p.serverRpc.request(`s${i}`));
      await serverArrived.reach(200, "client request at the server");
      await clientArrived.reach(50, "server request at the client");

      const shutdown = p.serverRpc.shutdown({ timeout: WAIT, code: 4001, reason: "maintenance" });
      assert.equal(p.serverRpc.state, "shutting-down");
      assert.equal(p.serverRpc.shutdown(), shutdown, "the same promise");
      await rejects(
        p.serverRpc.request("new"),
        rpcError("RPC_ERR_SHUTDOWN", false),
        "a new request of the side shutting down",
      );
      await rejects(
        p.clientRpc.request("new"),
        rpcError("RPC_ERR_SHUTDOWN", true),
        "a new request of the peer",
      );
      assert.equal(serverArrived.count, 200, "refused requests never reached the responder");

      // Answer half, out of order; the connection must stay open for the rest.
      const order = shuffled(200, 7);
      for (const i of order.slice(0, 100)) serverHeld[i]();
      for (const i of shuffled(50, 8)) clientHeld[i]();
      assert.deepEqual(
        await withTimeout(Promise.all(order.slice(0, 100).map((i) => fromClient[i])), WAIT, "half"),
        order.slice(0, 100).map(expected),
      );
      assert.deepEqual(
        await withTimeout(Promise.all(fromServer), WAIT, "the server's requests"),
        fromServer.map((_, i) => `client done s${i}`),
      );
      assert.equal(p.client.readyState, "open");
      assert.equal(p.serverRpc.state, "shutting-down");
      for (const i of order.slice(100)) serverHeld[i]();

      assert.deepEqual(
        await withTimeout(Promise.all(fromClient), WAIT, "every client request"),
        fromClient.map((_, i) => expected(i)),
      );
      assert.equal(await withTimeout(shutdown, WAIT, "shutdown"), true, "nothing was cut off");
      assert.equal(p.serverRpc.state, "closed");
      assert.deepEqual(await clientClosed, [4001, "maintenance", true]);
      assert.equal(p.clientRpc.state, "closed");
      await rejects(p.serverRpc.request("late"), rpcError("RPC_ERR_CLOSED"), "after shutdown");
    } finally {
      await p.close();
    }
  });

  it("closes at the shutdown deadline, failing what is still in flight", async () => {
    const arrived = new Counter();
    let abortReason: unknown;
    const p = await pair({
      server: {
        responder: (_d, ctx) => {
          arrived.hit();
          return new Promise<RpcData>((resolve) =>
            ctx.signal.addEventListener("abort", () => {
              abortReason = ctx.signal.reason;
              resolve("");
            })
          );
        },
      },
    });
    try {
      // The rejection check is attached now: the request fails while the shutdown is awaited.
      const stuck = rejects(
        p.clientRpc.request("forever", { timeout: 0 }),
        rpcError("RPC_ERR_CLOSED"),
        "the stuck request",
      );
      await arrived.reach(1, "request at the responder");
      const t0 = Date.now();
      const drained = await withTimeout(
        p.serverRpc.shutdown({ timeout: 150 }),
        WAIT,
        "the shutdown",
      );
      assert.equal(drained, false);
      assert.ok(Date.now() - t0 >= 140, "waited for the deadline");
      await stuck;
      assert.ok(rpcError("RPC_ERR_CLOSED")(abortReason));
      // Shutting down with nothing in flight closes at once; on a closed connection it is a no-op.
      assert.equal(await p.clientRpc.shutdown(), true);
    } finally {
      await p.close();
    }
  });

  it("a client shutdown with nothing in flight closes with its code", async () => {
    const p = await pair({ server: { responder: (d) => d } });
    try {
      assert.equal(await withTimeout(p.clientRpc.request("a"), WAIT, "request"), "a");
      const serverClosed = once<[number, string, boolean]>(p.serverRpc, "close", WAIT);
      assert.equal(
        await withTimeout(p.clientRpc.shutdown({ code: 1001, reason: "bye" }), WAIT, "shutdown"),
        true,
      );
      assert.deepEqual(await serverClosed, [1001, "bye", true]);
    } finally {
      await p.close();
    }
  });
});

/** Two in-memory connections wired to each other: a WS-shaped connection that is not a WS. */
class MemoryConn implements RpcConnection {
  readyState = "open";
  peer!: MemoryConn;
  #message: Array<(data: string | Uint8Array, isBinary: boolean) => void> = [];
  #close: Array<(code: number, reason: string, wasClean: boolean) => void> = [];
  static pair(): [MemoryConn, MemoryConn] {
    const a = new MemoryConn(), b = new MemoryConn();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }
  on(event: "message", l: (data: string | Uint8Array, isBinary: boolean) => void): this;
  on(event: "close", l: (code: number, reason: string, wasClean: boolean) => void): this;
  on(event: string, l: (...args: never[]) => void): this {
    if (event === "message") this.#message.push(l as (d: string | Uint8Array, b: boolean) => void);
    else this.#close.push(l as (c: number, r: string, w: boolean) => void);
    return this;
  }
  sendBinary(data: Uint8Array): void {
    if (this.readyState !== "open") throw new Error("not open");
    const copy = data.slice();
    queueMicrotask(() => this.peer.#deliver(copy));
  }
  #deliver(data: Uint8Array): void {
    if (this.readyState === "open") { for (const l of this.#message) l(data, true); }
  }
  close(code = 1000, reason = ""): void {
    for (const c of [this, this.peer]) {
      if (c.readyState === "closed") continue;
      c.readyState = "closed";
      queueMicrotask(() => {
        for (const l of c.#close) l(code, reason, true);
      });
    }
  }
}

describe("RPC over any WS-shaped connection, and the wire format", () => {
  it("runs over a connection that only has the RpcConnection interface", async () => {
    const [a, b] = MemoryConn.pair();
    const ra = new Rpc(a, { responder: (d) => `a:${d}` });
    const rb = new Rpc(b, { responder: async (d, ctx) => `b:${await ctx.rpc.request(d)}` });
    assert.equal(ra.maxPayload, 64 * 1024 * 1024, "the default limit");
    assert.throws(() => new Rpc(a), rpcError("RPC_ERR_ATTACHED"));
    assert.throws(() => new Rpc(MemoryConn.pair()[0], { maxInFlight: 0 }), InvalidOptionError);
    assert.throws(() => new Rpc(MemoryConn.pair()[0], { timeout: -1 }), InvalidOptionError);
    await assert.rejects(ra.request("x", { timeout: -5 }), InvalidOptionError);
    await assert.rejects(ra.request(42 as unknown as string), TypeError);
    assert.equal(await withTimeout(ra.request("hi"), WAIT, "a → b → a"), "b:a:hi");
    await assert.rejects(rb.shutdown({ code: 1005 }), RangeError, "a code that may not be sent");
    assert.equal(rb.state, "open");
    rb.setResponder(() => new Promise(() => {}));
    const hanging = rejectsAll([ra.request("a"), ra.request("b")], rpcError("RPC_ERR_CLOSED"), "");
    a.close(1001, "gone");
    await hanging;
    assert.equal(rb.state, "closed");
  });

  it("runs over a raw TCP connection with length-prefixed framing", async () => {
    let accepted!: (rpc: Rpc<WS>) => void;
    const serverRpc = new Promise<Rpc<WS>>((r) => (accepted = r));
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: false,
      raw: { framing: "length" },
    }, (ws) => {
      assert.equal(ws.kind, "raw");
      accepted(new Rpc(ws, { responder: (d) => (typeof d === "string" ? `tcp:${d}` : d) }));
    });
    const ws = connect(`tcp://127.0.0.1:${server.port}`, { framing: "length" });
    const rpc = new Rpc(ws, { responder: (d) => `client:${d}` });
    try {
      const texts = Array.from({ length: 100 }, (_, i) => rpc.request(`t${i}`));
      assert.deepEqual(
        await withTimeout(Promise.all(texts), WAIT, "requests over raw TCP"),
        texts.map((_, i) => `tcp:t${i}`),
      );
      assert.deepEqual(await rpc.request(pattern(70_000, 1)), pattern(70_000, 1));
      const back = await withTimeout(serverRpc, WAIT, "the server's Rpc");
      assert.equal(await withTimeout(back.request("hi"), WAIT, "server → client"), "client:hi");
      const closed = once(ws, "close", WAIT);
      assert.equal(await withTimeout(back.shutdown(), WAIT, "shutdown"), true);
      await closed;
      // Line framing splits binary messages at newline bytes: refused up front.
      const line = connect(`tcp://127.0.0.1:${server.port}`);
      assert.throws(() => new Rpc(line), /use "length"/);
      line.close();
    } finally {
      if (ws.readyState === "open") ws.close();
      await withTimeout(server.close(), WAIT, "the server to close");
    }
  });

  it("encodes frames to the documented bytes and decodes them back", () => {
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
    const cases: Array<[RpcFrame, string]> = [
      [{ kind: "request", id: 1, data: "hello" }, "f5 01 01 01 00 00 00 01 68 65 6c 6c 6f"],
      [{ kind: "request", id: 0x01020304, data: bytes(0xf5, 0) }, "f5 01 01 00 01 02 03 04 f5 00"],
      [{ kind: "response", id: 0xffffffff, data: new Uint8Array(0) }, "f5 01 02 00 ff ff ff ff"],
      [{ kind: "response", id: 2, data: "é" }, "f5 01 02 01 00 00 00 02 c3 a9"],
      [
        { kind: "error", id: 3, code: "RPC_ERR_REMOTE", appCode: "E1", message: "no" },
        "f5 01 03 00 00 00 00 03 0e 52 50 43 5f 45 52 52 5f 52 45 4d 4f 54 45 02 45 31 6e 6f",
      ],
      [
        { kind: "error", id: 4, code: "X", message: "" },
        "f5 01 03 00 00 00 00 04 01 58 00",
      ],
      [{ kind: "cancel", id: 5 }, "f5 01 04 00 00 00 00 05"],
    ];
    for (const [frame, wire] of cases) {
      const encoded = encodeRpcFrame(frame);
      assert.equal(hex(encoded), wire, frame.kind);
      assert.ok(isRpcMessage(encoded));
      assert.deepEqual(decodeRpcFrame(encoded), frame);
    }
    assert.throws(() => encodeRpcFrame({ kind: "cancel", id: 0 }), RangeError);
    assert.throws(() => encodeRpcFrame({ kind: "cancel", id: 2 ** 32 }), RangeError);
    assert.throws(
      () => encodeRpcFrame({ kind: "error", id: 1, code: "", message: "" }),
      RangeError,
    );
    assert.throws(
      () => encodeRpcFrame({ kind: "error", id: 1, code: "x".repeat(256), message: "" }),
      RangeError,
    );
    assert.throws(
      () => decodeRpcFrame(bytes(1, 2, 3, 4, 5, 6, 7, 8)),
      rpcError("RPC_ERR_MALFORMED"),
    );
    assert.equal(isRpcMessage("\u00f5"), false, "text is never RPC");
    assert.equal(isRpcMessage(new Uint8Array(0)), false);
    assert.equal(isRpcMessage(bytes(0xf4)), false);
  });
});
