/**
 * Self-tests of the conformance machinery: the catalogue matches Autobahn's (ids, counts, UTF-8
 * vectors), and the fuzzer's frame encoder and strict peer parser agree with each other in any
 * split of the input, and catch what they must.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import * as zlib from "node:zlib";
import { buildCases, CASES, compareIds, FULL_LIMITS, selectCases, utf8Sequences } from "./cases.ts";
import {
  autobahnAccept,
  autobahnAcceptFallback,
  Compressor,
  Decompressor,
  type DeflateAgreement,
  expectedServerAgreement,
  honoursAgreement,
  parseExtensions,
  readResponse,
  windowAccept,
} from "./compression.ts";
import { encodeFrame, Fuzzer, isUtf8, type PeerEvent, repeatTo } from "./fuzzer.ts";
import { Slicer, testData } from "./testdata.ts";
import { markdownReport } from "./runner.ts";

describe("conformance catalogue", () => {
  it("has Autobahn's case ids and counts per group", () => {
    const ids = CASES.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length, "ids are unique");
    assert.deepEqual([...ids].sort(compareIds), ids, "ids are in Autobahn's order");
    const count = (g: number) => CASES.filter((c) => c.group === g).length;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13].map(count),
      [16, 11, 7, 10, 20, 145, 37, 54, 1, 90, 126 + 28],
    );
    assert.equal(CASES.length, 545);
    assert.equal(ids[0], "1.1.1");
    assert.equal(ids.at(-1), "13.11.7");
    for (
      const id of [
        "6.4.4",
        "6.23.7",
        "7.7.13",
        "7.9.9",
        "7.13.2",
        "9.3.9",
        "9.8.6",
        "12.5.18",
        "13.7.18",
        "13.8.1",
      ]
    ) {
      assert.ok(ids.includes(id), id);
    }
    assert.equal(buildCases(FULL_LIMITS).length, 545);
    // Autobahn's offers for 13.1 … 13.7, and which ones wsdriver's server must decline.
    const offers = CASES.filter((c) => /^13\.[1-7]\.1$/.test(c.id)).map((c) =>
      c.compression!.offer
    );
    assert.equal(
      offers[0],
      "permessage-deflate; client_no_context_takeover; client_max_window_bits",
    );
    assert.equal(
      offers[4],
      "permessage-deflate; client_no_context_takeover; client_max_window_bits; " +
        "server_no_context_takeover; server_max_window_bits=8",
    );
    assert.deepEqual(offers.map((o) => expectedServerAgreement(o) === undefined), [
      false,
      false,
      true,
      false,
      true,
      false,
      false,
    ]);
    assert.ok(CASES.every((c) => (c.group >= 12) === (c.compression !== undefined)));
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
async function parse(
  bytes: Uint8Array,
  size: number,
  role: "client" | "server",
  deflate?: DeflateAgreement,
) {
  // A connected socket pair: the fuzzer reads from `a`, the test writes into `b`.
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const b = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const a = await accepted;
  const f = new Fuzzer(a, role, new Uint8Array(0), {}, deflate);
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

describe("conformance fuzzer: permessage-deflate", () => {
  const agreement = (over: Partial<DeflateAgreement> = {}): DeflateAgreement => ({
    response: "permessage-deflate",
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    ...over,
  });
  const raw = (data: Uint8Array, windowBits = 15) => {
    const out = zlib.deflateRawSync(data, {
      windowBits,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    return new Uint8Array(out.subarray(0, out.length - 4));
  };
  /** 20 KB whose second half repeats the first at a distance of 10 000 bytes. */
  const farRepeat = (() => {
    const half = new Uint8Array(10_000);
    let x = 7;
    for (let i = 0; i < half.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      half[i] = x >>> 24;
    }
    const b = new Uint8Array(20_000);
    b.set(half);
    b.set(half, 10_000);
    return b;
  })();

  it("reads responses as a client must, and knows what wsdriver's server must answer", () => {
    const offer = "permessage-deflate; client_max_window_bits, permessage-deflate";
    assert.deepEqual(parseExtensions(offer), [
      { name: "permessage-deflate", params: [["client_max_window_bits", true]] },
      { name: "permessage-deflate", params: [] },
    ]);
    const ok = readResponse("permessage-deflate; server_max_window_bits=10", offer);
    assert.ok(
      typeof ok !== "string" && ok.serverMaxWindowBits === 10 && ok.clientMaxWindowBits === 15,
    );
    for (
      const bad of [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; x_param",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate, permessage-deflate",
        "x-other",
      ]
    ) {
      assert.equal(typeof readResponse(bad, offer), "string", bad);
    }
    assert.match(
      String(readResponse("permessage-deflate; client_max_window_bits=9", "permessage-deflate")),
      /no offer had it/,
    );
    const want = expectedServerAgreement(
      "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits=10",
    )!;
    assert.deepEqual(want, {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 10,
    });
    assert.ok(
      honoursAgreement(
        { ...want, serverNoContextTakeover: true, clientNoContextTakeover: true },
        want,
      ),
    );
    assert.ok(!honoursAgreement({ ...want, serverNoContextTakeover: true }, want));
    assert.ok(honoursAgreement({ ...want, serverMaxWindowBits: 12, clientMaxWindowBits: 9 }, want));
    assert.ok(!honoursAgreement({ ...want, clientMaxWindowBits: 11 }, want), "a larger window");
  });

  it("answers offers like Autobahn's accept functions", () => {
    const wsdriver = parseExtensions("permessage-deflate; client_max_window_bits");
    assert.ok(typeof wsdriver !== "string");
    assert.equal(autobahnAccept(false, 0)(wsdriver), "permessage-deflate");
    assert.equal(
      autobahnAccept(true, 8)(wsdriver),
      "permessage-deflate; client_no_context_takeover; client_max_window_bits=8",
    );
    const bare = parseExtensions("permessage-deflate; server_no_context_takeover");
    assert.ok(typeof bare !== "string");
    assert.equal(autobahnAccept(false, 15)(bare), undefined, "no client_max_window_bits offered");
    assert.equal(
      autobahnAcceptFallback()(bare),
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    );
    assert.equal(
      windowAccept(9, false, true)(bare),
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
        "server_max_window_bits=9",
    );
  });

  it("compresses with and without context takeover, and inflates what zlib made", async () => {
    const text = new TextEncoder().encode("permessage-deflate ".repeat(200));
    for (const takeover of [true, false]) {
      const c = new Compressor(15, takeover);
      const d = new Decompressor(15, takeover);
      try {
        const first = await c.compress(text);
        const second = await c.compress(text);
        assert.ok(first.length < 100, "compressible");
        assert.ok(takeover ? second.length < first.length : second.length === first.length);
        assert.deepEqual(await d.decompress(first), text);
        assert.deepEqual(await d.decompress(second), text);
      } finally {
        c.close();
        d.close();
      }
    }
  });

  it("rejects data reaching past the agreed window or into an earlier message", async () => {
    const narrow = new Decompressor(9, true);
    await assert.rejects(narrow.decompress(raw(farRepeat)), /distance too far back/);
    narrow.close();
    const ok = new Decompressor(9, true);
    assert.deepEqual(await ok.decompress(raw(farRepeat, 9)), farRepeat);
    ok.close();
    // The second message refers to the first: fine with context takeover, not without.
    const c = new Compressor(15, true);
    const m1 = await c.compress(farRepeat.subarray(0, 10_000));
    const m2 = await c.compress(farRepeat.subarray(10_000));
    c.close();
    const keep = new Decompressor(15, true);
    await keep.decompress(m1);
    assert.deepEqual(await keep.decompress(m2), farRepeat.subarray(10_000));
    keep.close();
    const fresh = new Decompressor(15, false);
    await fresh.decompress(m1);
    await assert.rejects(fresh.decompress(m2), /distance too far back|invalid/);
    fresh.close();
  });

  it("parses compressed messages: RSV1 on the first frame only, never on control frames", async () => {
    const text = "compressed ü ".repeat(50);
    const z = raw(new TextEncoder().encode(text));
    const frames = [
      encodeFrame({ opcode: 1, rsv: 4, fin: false, payload: z.subarray(0, 10) }, false),
      encodeFrame({ opcode: 9, payload: "p" }, false),
      encodeFrame({ opcode: 0, payload: z.subarray(10) }, false),
      encodeFrame({ opcode: 2, payload: "plain" }, false),
    ];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of frames) {
      all.set(f, off);
      off += f.length;
    }
    const events = await parse(all, 5, "client", agreement());
    assert.deepEqual(events.map((e) => e.type), ["ping", "message", "message", "eof"]);
    const [, m1, m2] = events;
    assert.ok(m1.type === "message" && m1.compressed && m1.frames === 2 && !m1.binary);
    assert.equal(new TextDecoder().decode(m1.data), text);
    assert.ok(m2.type === "message" && !m2.compressed && m2.binary);

    const bad: Array<[Uint8Array, RegExp, DeflateAgreement | undefined]> = [
      [encodeFrame({ opcode: 1, rsv: 4, payload: z }, false), /RSV bits 4 set without/, undefined],
      [
        concatFrames(
          encodeFrame({ opcode: 1, rsv: 4, fin: false, payload: z.subarray(0, 10) }, false),
          encodeFrame({ opcode: 0, rsv: 4, payload: z.subarray(10) }, false),
        ),
        /RSV1 on a continuation frame/,
        agreement(),
      ],
      [encodeFrame({ opcode: 9, rsv: 4 }, false), /RSV1 on a ping frame/, agreement()],
      [encodeFrame({ opcode: 1, rsv: 2, payload: "x" }, false), /RSV bits 2/, agreement()],
      [
        encodeFrame({ opcode: 2, rsv: 4, payload: new Uint8Array([0xff, 0xff, 0xff]) }, false),
        /does not inflate/,
        agreement(),
      ],
      [
        encodeFrame({ opcode: 1, rsv: 4, payload: raw(new Uint8Array([0xc0, 0x80])) }, false),
        /inflated text message is not UTF-8/,
        agreement(),
      ],
      [
        encodeFrame({ opcode: 2, rsv: 4, payload: raw(farRepeat) }, false),
        /window 10 bits.*distance too far back/,
        agreement({ serverMaxWindowBits: 10 }),
      ],
    ];
    for (const [bytes, re, deflate] of bad) {
      const evs = await parse(bytes, bytes.length, "client", deflate);
      const v = evs.find((e) => e.type === "violation");
      assert.ok(v && v.type === "violation" && re.test(v.reason), `${re}: ${JSON.stringify(evs)}`);
    }
  });

  it("has generated data sets of Autobahn's sizes, and valid UTF-8 text slices", () => {
    const data = testData();
    assert.deepEqual(
      Object.values(data).map((d) => [d.key, d.bytes.length, d.binary]),
      [
        ["json_data1", 194237, false],
        ["lena512", 263222, true],
        ["gutenberg_faust", 222218, true],
        ["html_data1", 167913, false],
        ["ooms", 1042328, true],
      ],
    );
    const ratio = (d: Uint8Array) => zlib.deflateRawSync(d).length / d.length;
    assert.ok(ratio(data.json_data1.bytes) < 0.4, "JSON compresses");
    assert.ok(ratio(data.ooms.bytes) > 0.95, "the PDF stand-in does not");
    for (const key of ["json_data1", "html_data1"]) {
      const s = new Slicer(data[key]);
      for (const len of [16, 64, 256, 1024, 4096, 131072, 131072, 131072]) {
        const b = s.next(len);
        assert.equal(b.length, len);
        assert.ok(isUtf8(b), `${key} slice of ${len}`);
      }
    }
  });
});

function concatFrames(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
