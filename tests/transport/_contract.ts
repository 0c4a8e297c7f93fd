/**
 * The contract every transport keeps (src/transport/conn.ts), checked over real loopback sockets;
 * each transport's test file runs it.
 */

import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn, ConnHandlers, Listener, Transport } from "../../src/transport/conn.ts";
import { withTimeout } from "../_helpers.ts";

/** A conn's events, recorded, with waits on them. */
class Recorder implements ConnHandlers {
  /** The conn, to end it on EOF as wsdriver does (unless `halfOpen`). */
  conn: Conn | undefined;
  halfOpen = false;
  chunks: Uint8Array[] = [];
  ended = false;
  closes: Array<Error | undefined> = [];
  drains = 0;
  /** `end` and `close`, in the order they came. */
  log: string[] = [];
  #waiters: Array<() => void> = [];
  data(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.#wake();
  }
  end(): void {
    this.ended = true;
    this.log.push("end");
    if (!this.halfOpen) this.conn?.end();
    this.#wake();
  }
  closed(error?: Error): void {
    this.closes.push(error);
    this.log.push("close");
    this.#wake();
  }
  drain(): void {
    this.drains++;
    this.#wake();
  }
  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
  all(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
  /** Resolves once `cond` holds (checked after each event), or rejects after `ms`. */
  until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.#waiters.push(check);
        }
      };
      this.#waiters.push(check);
    });
  }
  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** What the current test opened: closed after it, passed or failed, so that nothing lingers. */
const cleanups: Array<() => void> = [];

function listening(listener: Listener): Listener {
  cleanups.push(() => listener.close());
  return listener;
}

/** A listener, a client conn and the server's conn of it, each with a recorder. */
async function pair(transport: Transport): Promise<{
  listener: Listener;
  client: Conn;
  server: Conn;
  c: Recorder;
  s: Recorder;
}> {
  let accepted!: (conn: Conn) => void;
  const serverConn = new Promise<Conn>((resolve) => (accepted = resolve));
  const listener = listening(
    await transport.listen({ hostname: "127.0.0.1", port: 0 }, accepted),
  );
  const client = await transport.connect({ hostname: "127.0.0.1", port: listener.port });
  const server = await serverConn;
  cleanups.push(() => client.destroy(), () => server.destroy());
  const c = new Recorder(), s = new Recorder();
  c.conn = client;
  s.conn = server;
  client.setHandlers(c);
  server.setHandlers(s);
  return { listener, client, server, c, s };
}

function bytes(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Describes `transport`'s tests, skipped with `skip` as the reason.
 *
 * @example
 * ```ts
 * describeTransport("nodeTransport", nodeTransport, false);
 * ```
 */
export function describeTransport(name: string, transport: Transport, skip: string | false): void {
  describe(name, { skip }, () => {
    afterEach(() => {
      for (const cleanup of cleanups.splice(0)) cleanup();
    });

    it("listens on an ephemeral port and reports the peer address", async () => {
      const { listener, client, server, c, s } = await pair(transport);
      assert.ok(listener.port > 0);
      assert.equal(server.remoteAddress, "127.0.0.1");
      assert.ok(server.remotePort > 0);
      assert.equal(client.remotePort, listener.port);
      client.destroy();
      await s.until(() => s.closes.length === 1, "server close");
      await c.until(() => c.closes.length === 1, "client close");
    });

    it("echoes bytes both ways, as plain Uint8Arrays the receiver owns", async () => {
      const { client, server, c, s } = await pair(transport);
      client.write([new TextEncoder().encode("hello")]);
      await s.until(() => s.bytes === 5, "5 bytes");
      const got = s.all();
      assert.equal(new TextDecoder().decode(got), "hello");
      assert.equal(Object.getPrototypeOf(s.chunks[0]), Uint8Array.prototype);
      server.write([got]);
      await c.until(() => c.bytes === 5, "echo");
      assert.equal(new TextDecoder().decode(c.all()), "hello");
      // Later reads do not overwrite an earlier chunk.
      const first = s.chunks[0];
      client.write([new TextEncoder().encode("world")]);
      await s.until(() => s.bytes === 10, "10 bytes");
      assert.equal(new TextDecoder().decode(first), "hello");
      client.destroy();
      await s.until(() => s.closes.length === 1, "server close");
    });

    it("keeps many writes, of one and of many chunks, in order", async () => {
      const { client, c, s, server } = await pair(transport);
      const expected: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const parts = i % 3 === 0
          ? [bytes(7, i)]
          : [bytes(3, i), bytes(i % 50, i + 1), bytes(1, i)];
        for (const p of parts) expected.push(...p);
        client.write(parts);
      }
      // A few large writes in between (over the coalescing limit).
      for (let i = 0; i < 3; i++) {
        const parts = [bytes(10, i), bytes(200_000, i), bytes(5, i)];
        for (const p of parts) for (const b of p) expected.push(b);
        client.write(parts);
      }
      await s.until(() => s.bytes === expected.length, `${expected.length} bytes`);
      assert.deepEqual(s.all(), new Uint8Array(expected));
      server.destroy();
      await c.until(() => c.closes.length === 1, "client close");
    });

    it("calls the write callback once the bytes are written, asynchronously", async () => {
      const { client, s, server } = await pair(transport);
      let called = 0;
      const written = new Promise<Error | undefined>((resolve) =>
        client.write([bytes(10)], (err) => {
          called++;
          resolve(err);
        })
      );
      assert.equal(called, 0);
      assert.equal(await written, undefined);
      assert.equal(called, 1);
      await s.until(() => s.bytes === 10, "10 bytes");
      server.destroy();
    });

    it("buffers what the kernel does not take, reports bufferedAmount and drains", async () => {
      const { client, server, c, s } = await pair(transport);
      server.pause(); // a slow reader
      const big = bytes(8 * 1024 * 1024, 7);
      const order: string[] = [];
      const record = (what: string) => (resolve: () => void) => (err?: Error) => {
        order.push(`${what}:${err ?? "ok"}`);
        resolve();
      };
      const written = Promise.all([
        new Promise<void>((resolve) => client.write([big], record("big")(resolve))),
        new Promise<void>((resolve) => client.write([bytes(100, 9)], record("small")(resolve))),
      ]);
      assert.ok(client.bufferedAmount > 0, "some bytes wait");
      await sleep(50);
      assert.deepEqual(order, [], "no callback before the bytes are written");
      assert.ok(client.bufferedAmount > 0);
      assert.equal(c.drains, 0);
      server.resume();
      await c.until(() => c.drains === 1, "drain");
      assert.equal(client.bufferedAmount, 0);
      await withTimeout(written, 5000, "write callbacks");
      assert.deepEqual(order, ["big:ok", "small:ok"]);
      await s.until(() => s.bytes === big.length + 100, "all bytes");
      const all = s.all();
      assert.deepEqual(all.subarray(0, big.length), big);
      assert.deepEqual(all.subarray(big.length), bytes(100, 9));
      client.destroy();
      await s.until(() => s.closes.length === 1, "server close");
    });

    it("pause stops data events until resume", async () => {
      const { client, server, s } = await pair(transport);
      server.pause();
      client.write([bytes(1000)]);
      await sleep(50);
      assert.equal(s.bytes, 0);
      server.resume();
      await s.until(() => s.bytes === 1000, "data after resume");
      client.destroy();
      await s.until(() => s.closes.length === 1, "server close");
    });

    it("end flushes, then half-closes; the peer sees EOF and can still answer", async () => {
      const { client, server, c, s } = await pair(transport);
      s.halfOpen = true;
      server.pause();
      const big = bytes(4 * 1024 * 1024, 3);
      client.write([big]);
      client.end();
      let lateError: Error | undefined;
      client.write([bytes(1)], (err) => (lateError = err));
      assert.ok(lateError instanceof Error, "writing after end fails");
      server.resume();
      await s.until(() => s.ended, "EOF");
      assert.equal(s.bytes, big.length, "EOF after all the data");
      assert.deepEqual(s.all(), big);
      assert.equal(c.closes.length, 0, "half-closed only");
      server.write([new TextEncoder().encode("bye")]);
      await c.until(() => c.bytes === 3, "answer after EOF");
      server.end();
      await c.until(() => c.ended && c.closes.length === 1, "client EOF and close");
      await s.until(() => s.closes.length === 1, "server close");
      await sleep(20);
      assert.equal(c.closes.length, 1);
      assert.equal(s.closes.length, 1);
      assert.equal(c.closes[0], undefined);
      assert.equal(s.closes[0], undefined);
    });

    it("reports each of many closes in one turn once, an EOF before its close", async () => {
      const pairs = [];
      for (let i = 0; i < 8; i++) pairs.push(await pair(transport));
      // The clients end in one turn: each server conn sees EOF, ends (the recorder does), closes.
      for (const p of pairs) p.client.end();
      for (const p of pairs) {
        await p.s.until(() => p.s.closes.length === 1, "server close");
        await p.c.until(() => p.c.closes.length === 1, "client close");
      }
      // The servers close in one turn: each client sees EOF, then its close.
      const more = [];
      for (let i = 0; i < 8; i++) more.push(await pair(transport));
      for (const p of more) p.server.close();
      for (const p of more) {
        await p.c.until(() => p.c.closes.length === 1, "client close");
        await p.s.until(() => p.s.closes.length === 1, "server close");
      }
      await sleep(20);
      for (const p of pairs) {
        assert.deepEqual(p.s.log, ["end", "close"]);
        assert.deepEqual(p.s.closes, [undefined]);
      }
      for (const p of more) {
        assert.deepEqual(p.c.log, ["end", "close"]);
        assert.deepEqual(p.s.closes, [undefined]);
        assert.equal(p.c.closes.length, 1);
      }
    });

    it("close sends what was written, then EOF (no reset), and does not wait for the peer", async () => {
      for (const size of [3, 4 * 1024 * 1024]) {
        const { server, c, s } = await pair(transport);
        const data = bytes(size, 5);
        server.write([data]);
        server.close();
        // The client never ends: the server's side closes all the same.
        await s.until(() => s.closes.length === 1, `server close (${size} B)`);
        await c.until(() => c.ended && c.closes.length === 1, `client EOF and close (${size} B)`);
        assert.equal(c.bytes, size, "every byte before the EOF");
        assert.deepEqual(c.all(), data);
        assert.deepEqual(c.log.slice(-2), ["end", "close"]);
        assert.deepEqual(c.closes, [undefined], "a clean close, not a reset");
        assert.deepEqual(s.closes, [undefined]);
      }
    });

    it("destroy drops buffered data, fails pending callbacks and closes once", async () => {
      const { client, server, c, s } = await pair(transport);
      server.pause();
      let error: Error | undefined;
      let calls = 0;
      client.write([bytes(16 * 1024 * 1024)], (err) => {
        calls++;
        error = err;
      });
      assert.ok(client.bufferedAmount > 0);
      client.destroy();
      client.destroy();
      assert.equal(client.bufferedAmount, 0);
      await c.until(() => c.closes.length === 1 && calls === 1, "close and callback");
      assert.ok(error instanceof Error);
      server.resume();
      await s.until(() => s.closes.length === 1, "server close");
      await sleep(20);
      assert.equal(c.closes.length, 1);
      assert.equal(s.closes.length, 1);
      assert.equal(calls, 1);
      let late: Error | undefined;
      client.write([bytes(1)], (err) => (late = err));
      assert.ok(late instanceof Error);
    });

    it("delivers bytes sent before setHandlers, after it, in order", async () => {
      let accepted!: (conn: Conn) => void;
      const serverConn = new Promise<Conn>((resolve) => (accepted = resolve));
      const listener = listening(
        await transport.listen({ hostname: "127.0.0.1", port: 0 }, accepted),
      );
      const client = await transport.connect({ hostname: "127.0.0.1", port: listener.port });
      cleanups.push(() => client.destroy());
      client.setHandlers(new Recorder());
      client.write([bytes(10, 1)]);
      client.write([bytes(10, 2)]);
      client.end();
      const server = await serverConn;
      cleanups.push(() => server.destroy());
      await sleep(50);
      const s = new Recorder();
      s.halfOpen = true;
      server.setHandlers(s);
      assert.equal(s.bytes, 0, "nothing delivered inside setHandlers");
      await s.until(() => s.ended, "EOF");
      const expected = new Uint8Array(20);
      expected.set(bytes(10, 1));
      expected.set(bytes(10, 2), 10);
      assert.deepEqual(s.all(), expected);
      server.end();
      await s.until(() => s.closes.length === 1, "server close");
    });

    it("rejects a connection to a closed port", async () => {
      const listener = await transport.listen(
        { hostname: "127.0.0.1", port: 0 },
        (c) => c.destroy(),
      );
      const port = listener.port;
      listener.close();
      await sleep(10);
      await assert.rejects(transport.connect({ hostname: "127.0.0.1", port }));
    });

    it("rejects a connection whose signal is aborted", async () => {
      const ac = new AbortController();
      ac.abort(new Error("stop"));
      await assert.rejects(
        transport.connect({ hostname: "127.0.0.1", port: 1, signal: ac.signal }),
        /stop/,
      );
    });
  });
}
