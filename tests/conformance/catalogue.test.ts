/**
 * Self-tests of the conformance machinery: the catalogue matches Autobahn's (ids, counts, UTF-8
 * vectors), and the fuzzer's frame encoder and strict peer parser agree with each other in any
 * split of the input, and catch what they must.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { buildCases, CASES, compareIds, FULL_LIMITS, selectCases, utf8Sequences } from "./cases.ts";
import { encodeFrame, Fuzzer, isUtf8, type PeerEvent, repeatTo } from "./fuzzer.ts";
import { markdownReport } from "./runner.ts";

describe("conformance catalogue", () => {
  it("has Autobahn's case ids and counts per group", () => {
    const ids = CASES.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length, "ids are unique");
    assert.deepEqual([...ids].sort(compareIds), ids, "ids are in Autobahn's order");
    const count = (g: number) => CASES.filter((c) => c.group === g).length;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 9, 10].map(count),
      [16, 11, 7, 10, 20, 145, 37, 54, 1],
    );
    assert.equal(CASES.length, 301);
    assert.equal(ids[0], "1.1.1");
    assert.equal(ids.at(-1), "10.1.1");
    for (const id of ["6.4.4", "6.23.7", "7.7.13", "7.9.9", "7.13.2", "9.3.9", "9.8.6"]) {
      assert.ok(ids.includes(id), id);
    }
    assert.equal(buildCases(FULL_LIMITS).length, 301);
    assert.deepEqual(selectCases(["6.4"]).map((c) => c.id), ["6.4.1", "6.4.2", "6.4.3", "6.4.4"]);
    assert.deepEqual(selectCases(["7.1.5"]).map((c) => c.id), ["7.1.5"]);
  });

  it("has UTF-8 vectors 6.5 … 6.23 whose validity agrees with a strict decoder", () => {
    const seq = utf8Sequences();
    assert.equal(seq.length, 19, "sub-categories 6.5 … 6.23");
    assert.deepEqual(
      seq.map(([, v]) => v.length),
      [5, 11, 4, 2, 4, 3, 5, 8, 5, 10, 1, 3, 5, 5, 5, 7, 8, 34, 7],
    );
    for (const [category, vectors] of seq) {
      for (const [valid, bytes] of vectors) assert.equal(isUtf8(bytes), valid, category);
    }
  });
});

/** Feeds `bytes` to a fuzzer's peer parser in pieces of `size`, collecting its events. */
async function parse(bytes: Uint8Array, size: number, role: "client" | "server") {
  // A connected socket pair: the fuzzer reads from `a`, the test writes into `b`.
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const b = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const a = await accepted;
  const f = new Fuzzer(a, role, new Uint8Array(0));
  const events: PeerEvent[] = [];
  try {
    for (let off = 0; off < bytes.length; off += size) {
      await new Promise<void>((r) => b.write(bytes.subarray(off, off + size), () => r()));
    }
    b.end();
    for (let i = 0; i < 1000; i++) {
      const ev = await f.next(2000);
      if (!ev) break;
      events.push(ev);
      if (ev.type === "eof" || ev.type === "violation") break;
    }
  } finally {
    await f.dispose();
    b.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return events;
}

describe("conformance fuzzer", () => {
  const frames = (mask: boolean) => [
    encodeFrame({ opcode: 1, fin: false, payload: "κόσ" }, mask),
    encodeFrame({ opcode: 9, payload: "ping" }, mask),
    encodeFrame({ opcode: 0, payload: "με" }, mask),
    encodeFrame({ opcode: 2, payload: repeatTo(new Uint8Array([1, 2, 3]), 70_000) }, mask),
    encodeFrame({ opcode: 8, payload: new Uint8Array([0x03, 0xe8, 0x61]) }, mask),
  ];
  const join = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  };

  for (const role of ["client", "server"] as const) {
    it(`parses the peer's frames in any split (fuzzer as ${role})`, async () => {
      const bytes = join(frames(role === "server"));
      for (const size of [1, 7, 1000, bytes.length]) {
        const events = await parse(size === 1 ? bytes.subarray(0, 200) : bytes, size, role);
        if (size === 1) {
          // The first 200 bytes hold the text fragments, the ping and part of the binary.
          assert.deepEqual(events.map((e) => e.type), ["ping", "message", "eof"]);
          continue;
        }
        assert.deepEqual(events.map((e) => e.type), ["ping", "message", "message", "close", "eof"]);
        const [ping, text, bin, close] = events;
        assert.deepEqual(ping.type === "ping" && [...ping.payload], [
          ...new TextEncoder().encode("ping"),
        ]);
        assert.ok(text.type === "message" && !text.binary && text.frames === 2);
        assert.equal(new TextDecoder().decode(text.data), "κόσμε");
        assert.ok(bin.type === "message" && bin.binary && bin.data.length === 70_000);
        assert.deepEqual([...bin.data.subarray(69_997)], [2, 3, 1]);
        assert.ok(close.type === "close" && close.code === 1000 && close.reason.length === 1);
      }
    });
  }

  it("reports a peer that breaks the protocol", async () => {
    const bad: Array<[Uint8Array, RegExp]> = [
      [encodeFrame({ opcode: 1, payload: "x" }, true), /masked frame from a server/],
      [encodeFrame({ opcode: 1, payload: "x", rsv: 4 }, false), /RSV/],
      [encodeFrame({ opcode: 3 }, false), /reserved data opcode/],
      [encodeFrame({ opcode: 9, fin: false }, false), /fragmented ping/],
      [encodeFrame({ opcode: 1, payload: new Uint8Array([0xc0, 0x80]) }, false), /not UTF-8/],
      [encodeFrame({ opcode: 0, payload: "x" }, false), /continuation frame without/],
      [
        encodeFrame({ opcode: 8, payload: new Uint8Array([0x03, 0xed]) }, false),
        /invalid code 1005/,
      ],
      [new Uint8Array([0x82, 126, 0, 5, 1, 2, 3, 4, 5]), /not minimal/],
    ];
    for (const [bytes, re] of bad) {
      const events = await parse(bytes, bytes.length, "client");
      const v = events.find((e) => e.type === "violation");
      assert.ok(
        v && v.type === "violation" && re.test(v.reason),
        `${re}: ${JSON.stringify(events)}`,
      );
    }
  });

  it("reports results as a markdown table", () => {
    const md = markdownReport([{
      name: "X",
      ms: 1500,
      results: [
        { id: "1.1.1", group: 1, ok: true, ms: 1 },
        { id: "6.4.1", group: 6, ok: false, reason: "too late", ms: 1 },
      ],
    }]);
    assert.match(md, /\| 1 Framing +\| 1\/1 +\|/);
    assert.match(md, /\| 6 UTF-8 handling +\| 0\/1 +\|/);
    assert.match(md, /\| time +\| 1\.5 s +\|/);
    assert.match(md, /- X 6\.4\.1: `too late`/);
  });
});
