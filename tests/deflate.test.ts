/**
 * permessage-deflate against hostile peers, over real sockets, on the runtime running this file:
 * a zip bomb (a compressed message under `maxPayload` that inflates to 1 GiB) must close the
 * connection with 1009 while the process's memory grows by at most a few times the limit, and a
 * corrupt deflate stream must close it with 1007; both directions (a raw client against the
 * wsdriver server, a raw server against the wsdriver client); and reserved bits where RFC 7692
 * does not allow RSV1 must fail the connection with 1002. The raw peers are the conformance
 * suite's fuzzer (tests/conformance), which builds every frame itself.
 *
 * The unit tests of the compression code are in tests/protocol/deflate.test.ts.
 */

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { describe, it } from "node:test";
import * as zlib from "node:zlib";
import { connect } from "../src/client.ts";
import { serve } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import type { Case } from "./conformance/cases.ts";
import { autobahnAccept } from "./conformance/compression.ts";
import type { Fuzzer } from "./conformance/fuzzer.ts";
import { openClientFuzzer } from "./conformance/fuzzing_client.ts";
import { FuzzingServer } from "./conformance/fuzzing_server.ts";
import { thisRuntime, withTimeout } from "./_helpers.ts";

const MIB = 2 ** 20;
/** The wsdriver side's maxPayload: the bomb's inflated size counts against it. */
const LIMIT = MIB;
/** How much the RSS may grow while the bomb is handled: "a few times the limit". */
const RSS_BUDGET = 8 * LIMIT;
const OFFER = "permessage-deflate";
const RT = thisRuntime();

/** Raw deflate of `data` with a sync flush, without the 4-byte tail (RFC 7692 §7.2.1). */
function deflate(data: Uint8Array): Uint8Array {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return new Uint8Array(out.buffer, out.byteOffset, out.length - 4);
}

/**
 * The zip bomb: 128 copies of one sync-flushed raw deflate segment of 8 MiB of zeros (each copy a
 * complete run of blocks that refers to nothing before it, so the copies chain into one valid
 * stream), the final tail stripped: 1 GiB inflated from just under 1 MiB, deflate's best ratio
 * being about 1032:1. It must stay under `maxPayload` on the wire, so that the inflated size, not
 * the compressed one, is what trips the limit.
 */
const BOMB = (() => {
  const seg = zlib.deflateRawSync(new Uint8Array(8 * MIB), {
    level: 9,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const n = 128;
  const out = new Uint8Array(seg.length * n);
  for (let i = 0; i < n; i++) out.set(seg, i * seg.length);
  return { bytes: out.subarray(0, out.length - 4), inflated: n * 8 * MIB };
})();

/** Writes bits LSB first, as deflate does (Huffman codes go in MSB first). */
class BitWriter {
  #bytes: number[] = [];
  #bit = 0;
  bits(value: number, n: number): this {
    for (let i = 0; i < n; i++) {
      if (this.#bit === 0) this.#bytes.push(0);
      this.#bytes[this.#bytes.length - 1] |= ((value >> i) & 1) << this.#bit;
      this.#bit = (this.#bit + 1) & 7;
    }
    return this;
  }
  code(value: number, n: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits((value >> i) & 1, 1);
    return this;
  }
  get bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** Corrupt compressed payloads, each with what zlib says about it. */
const CORRUPT: Array<{ name: string; payload: Uint8Array; zlib: RegExp }> = [
  {
    name: "a block of the reserved type 3",
    payload: new Uint8Array([0xff, 0xff, 0xff, 0x00]),
    zlib: /invalid block type/,
  },
  {
    // A fixed-Huffman block whose first symbol copies 3 bytes from distance 1: nothing precedes
    // it. Then end of block and the empty stored block's header (its LEN/NLEN are the tail).
    name: "a back-reference before the start of the stream",
    payload: new BitWriter().bits(0, 1).bits(1, 2).code(1, 7).code(0, 5).code(0, 7).bits(0, 3)
      .bytes,
    zlib: /invalid distance too far back/,
  },
  {
    name: "a stored block whose NLEN is not the complement of LEN",
    payload: new Uint8Array([0x00, 0x05, 0x00, 0x05, 0x00, 1, 2, 3, 4, 5]),
    zlib: /invalid stored block lengths/,
  },
];

/**
 * Memory of this process while `fn` runs: the RSS (`process.memoryUsage().rss`) before and
 * after, and on Linux the peak RSS during it (VmHWM, reset through /proc/self/clear_refs first),
 * which also catches a large buffer freed before `fn` returns (Bun, for one, gives such memory
 * back at once). No garbage collection is forced: garbage made while handling the message counts.
 */
async function measure(fn: () => Promise<void>): Promise<{ grew: number; peak?: number }> {
  const hwm = () => {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  };
  let peak0: number | undefined;
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    peak0 = hwm();
  } catch {
    peak0 = undefined; // not Linux, or not allowed: the RSS before and after only
  }
  const before = process.memoryUsage().rss;
  await fn();
  const grew = process.memoryUsage().rss - before;
  const peak1 = peak0 === undefined ? undefined : hwm();
  return { grew, peak: peak1 === undefined ? undefined : peak1 - Math.max(peak0!, before) };
}

const mib = (n: number) => `${n >= 0 ? "+" : ""}${(n / MIB).toFixed(1)} MiB`;

/** Asserts the measurement is within {@link RSS_BUDGET} and prints it. */
function checkMemory(what: string, m: { grew: number; peak?: number }, extra = ""): void {
  console.log(
    `  [${RT}] ${what}${extra}: RSS ${mib(m.grew)}` +
      (m.peak === undefined ? "" : `, peak RSS ${mib(m.peak)}`),
  );
  assert.ok(m.grew <= RSS_BUDGET, `RSS grew by ${mib(m.grew)}`);
  if (m.peak !== undefined) assert.ok(m.peak <= RSS_BUDGET, `peak RSS grew by ${mib(m.peak)}`);
}

/** A wsdriver echo server with permessage-deflate and `maxPayload` = {@link LIMIT}. */
async function echoServer() {
  const sockets: WS[] = [];
  const closes: Array<Promise<number>> = [];
  const messages: number[] = [];
  const server = await serve(
    { port: 0, hostname: "127.0.0.1", maxPayload: LIMIT, deflate: true },
    (ws) => {
      sockets.push(ws);
      closes.push(new Promise((resolve) => ws.once("close", (code) => resolve(code))));
      ws.on("message", (data, isBinary) => {
        messages.push(isBinary ? (data as Uint8Array).length : (data as string).length);
        if (ws.readyState === "open") ws.send(data);
      });
    },
  );
  return { server, sockets, closes, messages };
}

/** A warm-up echo, so that buffers and code paths used by every message exist before measuring. */
async function warmUp(f: Fuzzer): Promise<void> {
  const text = "warm-up ".repeat(64 * 1024);
  await f.sendMessage(text, false, { compress: true });
  await f.expectMessage(text, false, 10_000, true);
}

describe(`permessage-deflate against hostile peers (${RT})`, () => {
  it("the zip bomb is what it claims", () => {
    assert.ok(BOMB.bytes.length < LIMIT, `${BOMB.bytes.length} bytes on the wire`);
    assert.throws(
      () =>
        zlib.inflateRawSync(BOMB.bytes, {
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
          maxOutputLength: LIMIT,
        }),
      /larger than/,
    );
    // One segment inflates to 8 MiB of zeros; the bomb is 128 of them.
    const seg = BOMB.bytes.subarray(0, BOMB.bytes.length / 128);
    const out = zlib.inflateRawSync(seg, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.equal(out.length, 8 * MIB);
    assert.ok(out.every((b) => b === 0));
    for (const c of CORRUPT) {
      const tail = new Uint8Array([...c.payload, 0, 0, 0xff, 0xff]);
      assert.throws(() => zlib.inflateRawSync(tail), c.zlib, c.name);
    }
  });

  it(
    "wsdriver server: a 1 GiB zip bomb closes with 1009, RSS grows by a few MiB at most",
    { timeout: 60_000 },
    async () => {
      const { server, closes, messages } = await echoServer();
      let f: Fuzzer | undefined;
      try {
        f = await openClientFuzzer({ host: "127.0.0.1", port: server.port }, "/", OFFER);
        assert.ok(f.deflate, "permessage-deflate agreed");
        await warmUp(f);
        const frame = f.frame({ opcode: 2, rsv: 4, payload: BOMB.bytes });
        const t0 = performance.now();
        const m = await measure(async () => {
          await f!.write(frame);
          await f!.expectFail(1009);
        });
        const ms = performance.now() - t0;
        assert.equal(await withTimeout(closes[0], 5000, "the server-side close"), 1009);
        assert.equal(messages.length, 1, "only the warm-up message was delivered");
        checkMemory(
          "zip bomb → wsdriver server",
          m,
          ` (${BOMB.bytes.length} bytes inflating to ${BOMB.inflated / MIB} MiB, maxPayload ` +
            `${LIMIT / MIB} MiB: 1009 in ${ms.toFixed(0)} ms)`,
        );
      } finally {
        await f?.dispose();
        await server.close();
      }
    },
  );

  for (const c of CORRUPT) {
    it(`wsdriver server: ${c.name} closes with 1007`, { timeout: 30_000 }, async () => {
      const { server, closes, messages } = await echoServer();
      const fs: Fuzzer[] = [];
      try {
        const f = await openClientFuzzer({ host: "127.0.0.1", port: server.port }, "/", OFFER);
        fs.push(f);
        await f.send({ opcode: 2, rsv: 4, payload: c.payload });
        await f.expectFail(1007);
        assert.equal(await withTimeout(closes[0], 5000, "the server-side close"), 1007);
        assert.equal(messages.length, 0);
        // The next connection compresses and inflates as usual.
        const g = await openClientFuzzer({ host: "127.0.0.1", port: server.port }, "/", OFFER);
        fs.push(g);
        await warmUp(g);
        await g.closeNormally();
      } finally {
        for (const f of fs) await f.dispose();
        await server.close();
      }
    });
  }

  it("wsdriver server: compressed text that inflates to invalid UTF-8 closes with 1007", async () => {
    const { server, closes } = await echoServer();
    let f: Fuzzer | undefined;
    try {
      f = await openClientFuzzer({ host: "127.0.0.1", port: server.port }, "/", OFFER);
      const bad = new Uint8Array([...new TextEncoder().encode("valid ".repeat(300)), 0xc0, 0x80]);
      await f.send({ opcode: 1, rsv: 4, payload: deflate(bad) });
      await f.expectFail(1007);
      assert.equal(await withTimeout(closes[0], 5000, "the server-side close"), 1007);
    } finally {
      await f?.dispose();
      await server.close();
    }
  });

  const RSV: Array<[string, (f: Fuzzer, z: Uint8Array) => Promise<void>, string?]> = [
    [
      "RSV1 on a continuation frame",
      (f, z) =>
        f.send([
          { opcode: 1, rsv: 4, fin: false, payload: z.subarray(0, 8) },
          { opcode: 0, rsv: 4, payload: z.subarray(8) },
        ]),
    ],
    ["RSV1 on a ping", (f) => f.send({ opcode: 9, rsv: 4, payload: "p" })],
    ["RSV2 on a text frame", (f) => f.send({ opcode: 1, rsv: 2, payload: "text" })],
    [
      "RSV1 when permessage-deflate was not agreed",
      (f, z) => f.send({ opcode: 1, rsv: 4, payload: z }),
      "no offer",
    ],
  ];
  for (const [name, send, noOffer] of RSV) {
    it(`wsdriver server with deflate: ${name} closes with 1002`, async () => {
      const { server, closes, messages } = await echoServer();
      let f: Fuzzer | undefined;
      try {
        f = await openClientFuzzer(
          { host: "127.0.0.1", port: server.port },
          "/",
          noOffer ? undefined : OFFER,
        );
        assert.equal(f.deflate === undefined, !!noOffer);
        await send(f, deflate(new TextEncoder().encode("compressed text ".repeat(100))));
        await f.expectFail(1002);
        assert.equal(await withTimeout(closes[0], 5000, "the server-side close"), 1002);
        assert.equal(messages.length, 0);
      } finally {
        await f?.dispose();
        await server.close();
      }
    });
  }

  /** Plays `run` as a raw server against a wsdriver client with deflate and maxPayload LIMIT. */
  async function againstClient(
    id: string,
    run: (f: Fuzzer) => Promise<void>,
  ): Promise<{ code: number; errors: string[]; messages: number }> {
    const c: Case = {
      id,
      group: 0,
      category: "hostile server",
      description: id,
      expectation: "",
      timeout: 30_000,
      compression: { offer: OFFER, accept: autobahnAccept(false, 0) },
      run,
    };
    const server = await FuzzingServer.start({ cases: [c] });
    const errors: string[] = [];
    let messages = 0;
    try {
      const ws = connect(server.url(id), { deflate: true, maxPayload: LIMIT });
      const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
      ws.on("error", (e) => errors.push(e.message));
      ws.on("message", (data) => {
        messages++;
        if (ws.readyState === "open") ws.send(data);
      });
      const r = await withTimeout(server.result(id), 40_000, "the raw server's case");
      assert.equal(r.ok ? "OK" : r.reason, "OK");
      return { code: await withTimeout(closed, 5000, "the client's close"), errors, messages };
    } finally {
      await server.close();
    }
  }

  it(
    "wsdriver client: a 1 GiB zip bomb closes with 1009, RSS grows by a few MiB at most",
    { timeout: 60_000 },
    async () => {
      let m = { grew: 0 } as { grew: number; peak?: number };
      const { code, messages } = await againstClient("bomb", async (f) => {
        assert.ok(f.deflate, "permessage-deflate agreed");
        await warmUp(f);
        const frame = f.frame({ opcode: 2, rsv: 4, payload: BOMB.bytes });
        m = await measure(async () => {
          await f.write(frame);
          await f.expectFail(1009);
        });
      });
      assert.equal(code, 1009);
      assert.equal(messages, 1, "only the warm-up message was delivered");
      checkMemory("zip bomb → wsdriver client", m);
    },
  );

  it("wsdriver client: a corrupt deflate stream closes with 1007", async () => {
    const { code, messages } = await againstClient("corrupt", async (f) => {
      await f.send({ opcode: 2, rsv: 4, payload: CORRUPT[1].payload });
      await f.expectFail(1007);
    });
    assert.equal(code, 1007);
    assert.equal(messages, 0);
  });
});
