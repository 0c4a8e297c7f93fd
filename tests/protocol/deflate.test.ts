import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import * as zlib from "node:zlib";
import { ProtocolError } from "../../src/errors.ts";
import {
  acceptDeflateResponse,
  contextTakeover,
  type DeflateParams,
  negotiateDeflate,
  offerDeflate,
  parseExtensions,
  PerMessageDeflate,
} from "../../src/protocol/deflate.ts";
import { encodeFrame, FrameParser, Opcode } from "../../src/protocol/frame.ts";
import { Protocol } from "../../src/protocol/protocol.ts";
import { mulberry32, randomBytes } from "../_helpers.ts";

const randomOf = (n: number, seed: number) => randomBytes(mulberry32(seed), n);

const enc = new TextEncoder();
const MASK = new Uint8Array([1, 2, 3, 4]);
/** What a runtime without preset dictionaries adds to every response (see contextTakeover). */
const NO_TAKEOVER = contextTakeover()
  ? ""
  : "; server_no_context_takeover; client_no_context_takeover";

function params(p: Partial<DeflateParams> = {}): DeflateParams {
  return {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    ...p,
  };
}

describe("parseExtensions", () => {
  it("follows the RFC 6455 §9.1 grammar", () => {
    assert.deepEqual(parseExtensions("permessage-deflate; client_max_window_bits, x-foo"), [
      { name: "permessage-deflate", params: [["client_max_window_bits", true]] },
      { name: "x-foo", params: [] },
    ]);
    assert.deepEqual(parseExtensions('permessage-deflate; server_max_window_bits="10"'), [
      { name: "permessage-deflate", params: [["server_max_window_bits", "10"]] },
    ]);
    assert.deepEqual(parseExtensions("a, , b"), [{ name: "a", params: [] }, {
      name: "b",
      params: [],
    }]);
    for (const bad of ['a; b="unterminated', "a b", "a; =1", "a; b=c d", "(x)"]) {
      assert.equal(parseExtensions(bad), undefined, bad);
    }
  });
});

describe("negotiateDeflate (server)", () => {
  /** What a server answers by default: it compresses with a 12-bit window (SERVER_WINDOW_BITS). */
  const S12 = "; server_max_window_bits=12";
  const cases: Array<[offer: string | null, options: object, response: string | undefined]> = [
    [null, {}, undefined],
    ["x-other", {}, undefined],
    ["permessage-deflate", {}, `permessage-deflate${NO_TAKEOVER}${S12}`],
    [
      "permessage-deflate; client_max_window_bits",
      {},
      `permessage-deflate${NO_TAKEOVER}${S12}; client_max_window_bits=12`,
    ],
    [
      "permessage-deflate; client_max_window_bits=10",
      {},
      `permessage-deflate${NO_TAKEOVER}${S12}; client_max_window_bits=10`,
    ],
    [
      "permessage-deflate; server_max_window_bits=10",
      {},
      `permessage-deflate${NO_TAKEOVER}; server_max_window_bits=10`,
    ],
    [
      "permessage-deflate; server_max_window_bits=15",
      {},
      `permessage-deflate${NO_TAKEOVER}${S12}`,
    ],
    [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      {},
      `permessage-deflate; server_no_context_takeover; client_no_context_takeover${S12}`,
    ],
    [
      "permessage-deflate",
      { serverMaxWindowBits: 11 },
      `permessage-deflate${NO_TAKEOVER}; server_max_window_bits=11`,
    ],
    [
      "permessage-deflate",
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
      `permessage-deflate; server_no_context_takeover; client_no_context_takeover${S12}`,
    ],
    [
      "permessage-deflate; client_max_window_bits",
      { clientMaxWindowBits: 14 },
      `permessage-deflate${NO_TAKEOVER}${S12}; client_max_window_bits=14`,
    ],
    // Full windows when asked for: nothing limits the server, and the client keeps its offer.
    [
      "permessage-deflate; client_max_window_bits",
      { serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
      `permessage-deflate${NO_TAKEOVER}; client_max_window_bits=15`,
    ],
    // Declined: zlib cannot compress with a 256-byte raw window.
    ["permessage-deflate; server_max_window_bits=8", {}, undefined],
    // RFC 7692 §5: unknown, repeated or malformed parameters decline the offer...
    ["permessage-deflate; foo", {}, undefined],
    ["permessage-deflate; client_max_window_bits; client_max_window_bits", {}, undefined],
    ["permessage-deflate; server_max_window_bits", {}, undefined],
    ["permessage-deflate; server_max_window_bits=16", {}, undefined],
    ["permessage-deflate; server_max_window_bits=08", {}, undefined],
    ["permessage-deflate; client_max_window_bits=7", {}, undefined],
    ["permessage-deflate; server_no_context_takeover=1", {}, undefined],
    // ...and the next offer is considered.
    [
      "permessage-deflate; foo, permessage-deflate; client_max_window_bits=9",
      {},
      `permessage-deflate${NO_TAKEOVER}${S12}; client_max_window_bits=9`,
    ],
    ["x-foo, permessage-deflate", {}, `permessage-deflate${NO_TAKEOVER}${S12}`],
  ];
  for (const [offer, options, response] of cases) {
    it(`${JSON.stringify(offer)} ${JSON.stringify(options)} → ${response ?? "declined"}`, () => {
      assert.equal(negotiateDeflate(offer, options)?.response, response);
    });
  }

  it("reports the agreed parameters", () => {
    const r = negotiateDeflate(
      "permessage-deflate; client_max_window_bits=10; server_max_window_bits=12",
      {},
    );
    assert.deepEqual(r?.params, {
      serverNoContextTakeover: !contextTakeover(),
      clientNoContextTakeover: !contextTakeover(),
      serverMaxWindowBits: 12,
      clientMaxWindowBits: 10,
    });
  });
});

describe("offerDeflate and acceptDeflateResponse (client)", () => {
  it("offers what the options say", () => {
    assert.equal(offerDeflate({}), `permessage-deflate${NO_TAKEOVER}; client_max_window_bits`);
    assert.equal(
      offerDeflate({
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 11,
        serverNoContextTakeover: true,
      }),
      `permessage-deflate; server_no_context_takeover${
        contextTakeover() ? "" : "; client_no_context_takeover"
      }; server_max_window_bits=10; client_max_window_bits=11`,
    );
  });

  it("accepts valid answers and refuses invalid ones", () => {
    assert.equal(acceptDeflateResponse(null, {}), undefined, "declined");
    const ok = acceptDeflateResponse(
      `permessage-deflate${NO_TAKEOVER}; server_max_window_bits=10; client_max_window_bits=12`,
      {},
    );
    assert.deepEqual(ok, {
      serverNoContextTakeover: !contextTakeover(),
      clientNoContextTakeover: !contextTakeover(),
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
    });
    // An 8-bit client window is accepted: the client then never compresses (RFC 7692 §6).
    const eight = acceptDeflateResponse(
      `permessage-deflate${NO_TAKEOVER}; client_max_window_bits=8`,
      {},
    );
    assert.equal(typeof eight, "object");
    assert.equal(
      new PerMessageDeflate(eight as DeflateParams, "client", {}).threshold,
      Infinity,
    );
    const bad: Array<[string, object]> = [
      ["x-foo", {}],
      ["permessage-deflate, permessage-deflate", {}],
      ["permessage-deflate; foo", {}],
      ["permessage-deflate; client_max_window_bits", {}],
      ["permessage-deflate; server_max_window_bits=12", { serverMaxWindowBits: 10 }],
      ["permessage-deflate; client_max_window_bits=12", { clientMaxWindowBits: 10 }],
      ["permessage-deflate; client_no_context_takeover", { serverNoContextTakeover: true }],
      ['permessage-deflate; x="', {}],
    ];
    for (const [header, options] of bad) {
      assert.equal(typeof acceptDeflateResponse(header, options), "string", header);
    }
  });
});

/** Streaming zlib, as a peer that keeps one compressor per connection (ws, browsers) does it. */
function streamCompress(messages: Uint8Array[], windowBits = 15): Promise<Uint8Array[]> {
  const z = zlib.createDeflateRaw({ windowBits });
  const out: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  z.on("data", (b: Uint8Array) => pending.push(b));
  return (async () => {
    for (const m of messages) {
      z.write(m);
      await new Promise<void>((r) => z.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      const all = Buffer.concat(pending);
      pending = [];
      out.push(new Uint8Array(all.subarray(0, all.length - 4)));
    }
    z.close();
    return out;
  })();
}

function streamDecompress(messages: Uint8Array[]): Promise<Uint8Array[]> {
  const z = zlib.createInflateRaw({ windowBits: 15 });
  const out: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  z.on("data", (b: Uint8Array) => pending.push(b));
  return (async () => {
    for (const m of messages) {
      z.write(Buffer.concat([m, new Uint8Array([0, 0, 0xff, 0xff])]));
      await new Promise<void>((r) => z.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      out.push(new Uint8Array(Buffer.concat(pending)));
      pending = [];
    }
    z.close();
    return out;
  })();
}

describe("PerMessageDeflate", () => {
  const messages = [
    enc.encode("The quick brown fox jumps over the lazy dog. ".repeat(40)),
    enc.encode("The quick brown fox jumps over the lazy dog. ".repeat(40)),
    randomOf(5000, 7),
    new Uint8Array(0),
    enc.encode("ünïcødé ".repeat(300)),
  ];

  for (const takeover of [false, true]) {
    it(`round-trips a sequence of messages (context takeover ${takeover})`, {
      skip: takeover && !contextTakeover() && "this runtime's zlib ignores preset dictionaries",
    }, () => {
      const p = params({ serverNoContextTakeover: !takeover, clientNoContextTakeover: !takeover });
      const sender = new PerMessageDeflate(p, "server", {});
      const receiver = new PerMessageDeflate(p, "client", {});
      const sizes: number[] = [];
      for (const m of messages) {
        const wire = sender.compress(m);
        sizes.push(wire.length);
        assert.deepEqual(receiver.decompress(wire, 1 << 20), m);
      }
      if (takeover) assert.ok(sizes[1] < sizes[0] / 2, `the repeat reuses the context: ${sizes}`);
      else assert.equal(sizes[1], sizes[0], "no context: the same message compresses the same");
      assert.equal(sender.statelessOut, !takeover);
    });
  }

  it("reads what a streaming compressor with context takeover writes", {
    skip: !contextTakeover() && "this runtime's zlib ignores preset dictionaries",
  }, async () => {
    const wire = await streamCompress(messages);
    const receiver = new PerMessageDeflate(params(), "client", {});
    for (let i = 0; i < messages.length; i++) {
      assert.deepEqual(receiver.decompress(wire[i], 1 << 20), messages[i]);
    }
  });

  it("writes what a streaming decompressor with context takeover reads", async () => {
    const sender = new PerMessageDeflate(params(), "server", {});
    const back = await streamDecompress(messages.map((m) => sender.compress(m)));
    assert.deepEqual(back, messages);
  });

  /** JSON-like texts of every size around a 4 KiB window: empty, small, one window, several. */
  const varied = Array.from({ length: 48 }, (_, i) => {
    const n = [0, 12, 300, 1500, 4095, 4096, 4097, 9000][i % 8];
    let text = "";
    while (text.length < n) text += `{"id":${i},"user":"u${i % 5}","text":"hello ${text.length}"},`;
    return enc.encode(text.slice(0, n));
  });

  it("keeps 12-bit windows across messages of every size, as streaming peers do", {
    skip: !contextTakeover() && "this runtime's zlib ignores preset dictionaries",
  }, async () => {
    const p = params({ serverMaxWindowBits: 12, clientMaxWindowBits: 12 });
    const sender = new PerMessageDeflate(p, "server", {});
    const receiver = new PerMessageDeflate(p, "client", {});
    const wire = varied.map((m) => sender.compress(m));
    assert.deepEqual(wire.map((w) => receiver.decompress(w, 1 << 20)), varied);
    assert.deepEqual(await streamDecompress(wire), varied, "a streaming inflater reads it");
    const fromStream = await streamCompress(varied, 12);
    const reader = new PerMessageDeflate(p, "server", {});
    assert.deepEqual(fromStream.map((w) => reader.decompress(w, 1 << 20)), varied);
    const whole = varied.reduce((n, m) => n + m.length, 0);
    const sent = wire.reduce((n, w) => n + w.length, 0);
    assert.ok(sent < whole / 4, `the context is used: ${sent} of ${whole} bytes`);
  });

  it("refuses a peer that reaches back past the window it agreed to (1007)", {
    skip: !contextTakeover() && "this runtime's zlib ignores preset dictionaries",
  }, async () => {
    const first = randomOf(6000, 11);
    const wire = await streamCompress([first, first.subarray(0, 1000)], 15);
    const p = params({ serverMaxWindowBits: 12, clientMaxWindowBits: 12 });
    const receiver = new PerMessageDeflate(p, "server", {});
    assert.deepEqual(receiver.decompress(wire[0], 1 << 20), first);
    assert.throws(
      () => receiver.decompress(wire[1], 1 << 20),
      (e: unknown) => e instanceof ProtocolError && e.closeCode === 1007,
    );
  });

  it("stops inflating at the size limit (1009) and refuses corrupt data (1007)", () => {
    const d = new PerMessageDeflate(params(), "server", {});
    const bomb = zlib.deflateRawSync(new Uint8Array(32 << 20), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    const before = process.memoryUsage().rss;
    assert.throws(
      () => d.decompress(new Uint8Array(bomb.subarray(0, bomb.length - 4)), 1 << 20),
      (e: unknown) =>
        e instanceof ProtocolError && e.closeCode === 1009 && e.code === "WS_ERR_MESSAGE_TOO_BIG",
    );
    assert.ok(process.memoryUsage().rss - before < 16 << 20, "inflating stopped early");
    assert.deepEqual(
      d.decompress(new Uint8Array(bomb.subarray(0, bomb.length - 4)), 32 << 20).length,
      32 << 20,
    );
    assert.throws(
      () => d.decompress(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]), 1 << 20),
      (e: unknown) =>
        e instanceof ProtocolError && e.closeCode === 1007 && e.code === "WS_ERR_INVALID_DEFLATE",
    );
  });
});

describe("Protocol with permessage-deflate", () => {
  function server() {
    const events: unknown[][] = [];
    const p = new Protocol({
      side: "server",
      deflate: new PerMessageDeflate(params(), "server", {}),
    }, {
      message: (d, b) => events.push(["message", d, b]),
      ping: () => events.push(["ping"]),
      pong: () => events.push(["pong"]),
      close: (c) => events.push(["close", c]),
      error: (e) => events.push(["error", e.code, e.closeCode]),
    });
    return { p, events };
  }
  const frame = (opcode: number, payload: Uint8Array, o: { fin?: boolean; rsv1?: boolean } = {}) =>
    encodeFrame(opcode, payload, { ...o, mask: MASK })[0];
  const compress = (m: Uint8Array) => new PerMessageDeflate(params(), "client", {}).compress(m);

  it("delivers compressed messages, whole and fragmented with control frames between", () => {
    const { p, events } = server();
    const text = enc.encode("hello compressed world ".repeat(20));
    p.receive(frame(Opcode.Text, compress(text), { rsv1: true }));
    const c = compress(randomOf(3000, 3));
    p.receive(frame(Opcode.Binary, c.subarray(0, 10), { rsv1: true, fin: false }));
    p.receive(frame(Opcode.Ping, new Uint8Array(0)));
    p.receive(frame(Opcode.Continuation, c.subarray(10), {}));
    assert.deepEqual(events, [
      ["message", "hello compressed world ".repeat(20), false],
      ["ping"],
      ["message", randomOf(3000, 3), true],
    ]);
  });

  const bad: Array<[string, () => Uint8Array[], string, number]> = [
    [
      "RSV1 on a continuation frame",
      () => [
        frame(Opcode.Text, enc.encode("a"), { fin: false }),
        frame(Opcode.Continuation, enc.encode("b"), { rsv1: true }),
      ],
      "WS_ERR_UNEXPECTED_RSV_1",
      1002,
    ],
    [
      "RSV1 on a ping",
      () => [frame(Opcode.Ping, new Uint8Array(0), { rsv1: true })],
      "WS_ERR_UNEXPECTED_RSV_1",
      1002,
    ],
    [
      "compressed text that inflates to invalid UTF-8",
      () => [
        frame(Opcode.Text, compress(new Uint8Array([0x68, 0xc0, 0xaf])), { rsv1: true }),
      ],
      "WS_ERR_INVALID_UTF8",
      1007,
    ],
    [
      "a corrupt deflate stream",
      () => [
        frame(Opcode.Binary, new Uint8Array([0xff, 0xff, 0xff, 0x01]), { rsv1: true }),
      ],
      "WS_ERR_INVALID_DEFLATE",
      1007,
    ],
  ];
  for (const [name, frames, code, closeCode] of bad) {
    it(`fails on ${name} with ${closeCode}`, () => {
      const { p, events } = server();
      for (const f of frames()) p.receive(f);
      assert.deepEqual(events, [["error", code, closeCode]]);
    });
  }

  it("fails with 1009 when a message inflates past maxPayload", () => {
    const events: unknown[] = [];
    const p = new Protocol({
      side: "server",
      maxPayload: 1000,
      deflate: new PerMessageDeflate(params(), "server", {}),
    }, {
      message: () => events.push("message"),
      ping() {},
      pong() {},
      close() {},
      error: (e) => events.push([e.code, e.closeCode]),
    });
    p.receive(frame(Opcode.Binary, compress(new Uint8Array(1001)), { rsv1: true }));
    assert.deepEqual(events, [["WS_ERR_MESSAGE_TOO_BIG", 1009]]);
  });

  it("compresses sends at or above the threshold, on the first frame only", () => {
    const p = new Protocol({
      side: "server",
      deflate: new PerMessageDeflate(params(), "server", { threshold: 100 }),
    }, { message() {}, ping() {}, pong() {}, close() {}, error() {} });
    p.sendText("x".repeat(99));
    p.sendText("y".repeat(100));
    p.sendFragment(enc.encode("z".repeat(500)), false, false);
    p.sendFragment(enc.encode("z"), false, true);
    p.ping();
    const got: Array<[number, number, number]> = [];
    const parser = new FrameParser({
      frameHeader: (_fin, rsv, opcode, length) => (got.push([opcode, rsv, length]), true),
      frameData: () => true,
      frameEnd: () => true,
      frameError: () => assert.fail("bad frame"),
    }, { requireMask: false });
    for (const c of p.takeOutput()) parser.push(c);
    assert.deepEqual(got.map(([o, r]) => [o, r]), [[1, 0], [1, 4], [1, 0], [0, 0], [9, 0]]);
    assert.ok(got[1][2] < 20, "100 repeated bytes compress well");
  });
});
