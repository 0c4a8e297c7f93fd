/**
 * close() after a large burst: the close timeout waits while a slow but live peer still reads, so
 * it gets every queued message and then the close frame; send callbacks say success for what went
 * out and fail only for what did not.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as net from "node:net";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import {
  clientFrame,
  closeCodeOf,
  decodeFrames,
  once,
  RawClient,
  rawUpgrade,
  withTimeout,
} from "../_helpers.ts";

const COUNT = 20_000;
const SIZE = 1000;
/** Short, so that reading everything takes several close timeouts. */
const CLOSE_TIMEOUT = 400;

function message(i: number): string {
  return String(i).padStart(8, "0").padEnd(SIZE, "x");
}

interface Burst {
  results: Array<Error | null | undefined>;
  closed: Promise<[number, string, boolean]>;
}

/** A server whose handler sends the burst, then closes with 1000. */
async function burstServer(): Promise<
  { port: number; burst: Promise<Burst>; close(): Promise<void> }
> {
  let started!: (b: Burst) => void;
  const burst = new Promise<Burst>((r) => (started = r));
  const server = await serve(
    { port: 0, hostname: "127.0.0.1", heartbeat: false, closeTimeout: CLOSE_TIMEOUT },
    (ws: WS) => {
      const results: Array<Error | null | undefined> = new Array(COUNT).fill(null);
      const closed = once<[number, string, boolean]>(ws, "close", 15_000);
      for (let i = 0; i < COUNT; i++) {
        ws.send(message(i), (err) => {
          assert.equal(results[i], null, `callback ${i} ran twice`);
          results[i] = err;
        });
      }
      ws.close(1000, "done");
      started({ results, closed });
    },
  );
  return { port: server.port, burst, close: () => server.close() };
}

/** The server's close frame: 1000, "done". */
const CLOSE_FRAME = [0x88, 6, 0x03, 0xe8, 0x64, 0x6f, 0x6e, 0x65];

/**
 * Reads at about `rate` bytes a second (a slow but live reader) until `stopAfter` bytes, then not
 * at all; resolves with everything read once it ends with the server's close frame.
 */
function throttle(socket: net.Socket, rate: number, stopAfter = Infinity): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let windowStart = Date.now(), inWindow = 0, total = 0;
  const budget = rate / 20; // per 50 ms window
  let done!: (b: Uint8Array) => void;
  const result = new Promise<Uint8Array>((r) => (done = r));
  const tail = new Uint8Array(CLOSE_FRAME.length);
  socket.on("data", (b: Uint8Array) => {
    chunks.push(new Uint8Array(b));
    total += b.length;
    inWindow += b.length;
    // The last bytes read, to spot the close frame without joining everything on every read.
    if (b.length >= tail.length) tail.set(b.subarray(b.length - tail.length));
    else {
      tail.copyWithin(0, b.length);
      tail.set(b, tail.length - b.length);
    }
    if (tail.every((x, i) => x === CLOSE_FRAME[i])) {
      const all = new Uint8Array(total);
      let off = 0;
      for (const c of chunks) {
        all.set(c, off);
        off += c.length;
      }
      done(all);
      return;
    }
    if (total >= stopAfter) {
      socket.pause(); // and never again
      return;
    }
    if (inWindow < budget) return;
    socket.pause();
    setTimeout(() => {
      windowStart = Date.now();
      inWindow = 0;
      if (!socket.destroyed) socket.resume();
    }, Math.max(0, 50 - (Date.now() - windowStart)));
  });
  return result;
}

describe("close() after a large burst", () => {
  it("a slow but live reader gets every message, then the close code; every callback succeeds", {
    timeout: 30_000,
  }, async () => {
    const server = await burstServer();
    const client = await RawClient.connect(server.port);
    try {
      const head = await rawUpgrade(client);
      const read = throttle(client.socket, 24 * 1024 * 1024);
      const early = client.received.subarray(head); // what came with the 101
      const { results, closed } = await withTimeout(server.burst, 5000, "the burst");
      const rest = await withTimeout(read, 12_000, "the close frame");
      // Answered before anything else: the server's close timeout runs.
      client.write(clientFrame(0x8, new Uint8Array([0x03, 0xe8])));
      const [code, , wasClean] = await closed;
      assert.deepEqual([code, wasClean], [1000, true]);
      const all = new Uint8Array(early.length + rest.length);
      all.set(early);
      all.set(rest, early.length);
      const frames = decodeFrames(all);
      const data = frames.filter((f) => f.opcode === 0x1);
      assert.equal(data.length, COUNT, "every message arrived");
      const dec = new TextDecoder();
      for (let i = 0; i < COUNT; i += 997) assert.equal(dec.decode(data[i].payload), message(i));
      assert.equal(frames[frames.length - 1].opcode, 0x8);
      assert.equal(closeCodeOf(frames[frames.length - 1]), 1000);
      const failed = results.filter((r) => r !== undefined).length;
      assert.equal(failed, 0, `${failed} callbacks reported an error for delivered data`);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it(
    "a reader that stops is dropped; callbacks succeed for what it received and fail for the rest",
    { timeout: 30_000 },
    async () => {
      const server = await burstServer();
      const client = await RawClient.connect(server.port);
      try {
        const head = await rawUpgrade(client);
        throttle(client.socket, 32 * 1024 * 1024, 4 * 1024 * 1024);
        const { results, closed } = await withTimeout(server.burst, 5000, "the burst");
        const [code] = await closed;
        assert.equal(code, 1006, "dropped after the close timeout passed without progress");
        await withTimeout(
          (async () => {
            while (results.includes(null)) await new Promise((r) => setTimeout(r, 10));
          })(),
          3000,
          "every callback",
        );
        const received = decodeFrames(client.received.subarray(head)).filter((f) =>
          f.opcode === 0x1
        )
          .length;
        assert.ok(received > 0 && received < COUNT, `received ${received}`);
        for (let i = 0; i < received; i++) {
          assert.equal(results[i], undefined, `message ${i} arrived, but its callback failed`);
        }
        const firstFailed = results.findIndex((r) => r !== undefined);
        assert.ok(firstFailed >= received, "data that went out is reported as sent");
        assert.ok(firstFailed > 0 && firstFailed < COUNT, `first failure at ${firstFailed}`);
        for (let i = firstFailed; i < COUNT; i++) assert.ok(results[i] instanceof Error);
      } finally {
        client.destroy();
        await server.close();
      }
    },
  );
});
