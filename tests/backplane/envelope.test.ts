/** The backplane envelope and the recoverable-topic frame header, as docs/backplane.md lays them out. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeEnvelope,
  encodeEnvelope,
  encodeHead,
  HEAD_BYTES,
} from "../../src/backplane/envelope.ts";
import {
  formatPosition,
  parsePosition,
  parseTopicFrame,
  topicFrameHeader,
  withHeader,
} from "../../src/backplane/position.ts";

const ORIGIN = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]);

describe("backplane envelope", () => {
  it("is laid out byte by byte as documented", () => {
    const env = encodeEnvelope(
      encodeHead(ORIGIN, 258, "tö", true, false),
      new Uint8Array([104, 105]),
    );
    assert.deepEqual([...env], [
      0xb7,
      1,
      1,
      0, // magic, version, text, no flags
      0xde,
      0xad,
      0xbe,
      0xef,
      0,
      1,
      2,
      3, // origin
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      2, // sequence 258
      0,
      3,
      0x74,
      0xc3,
      0xb6, // topic "tö" (3 bytes of UTF-8)
      104,
      105, // payload "hi"
    ]);
    assert.equal(HEAD_BYTES, 22);
    assert.deepEqual(decodeEnvelope(env), {
      isText: true,
      origin: "deadbeef00010203",
      sequence: 258,
      topic: "tö",
      offset: 0,
      epoch: "",
      payload: new Uint8Array([104, 105]),
    });
  });

  it("carries a position after the topic when flag bit 0 is set", () => {
    // What the Redis script builds: head, 8-byte offset, epoch length, epoch, payload.
    const head = encodeHead(ORIGIN, 1, "feed", false, true);
    assert.equal(head[3], 1);
    const position = [0, 0, 0, 0, 0, 0, 0, 42, 2, 0x65, 0x31];
    const env = new Uint8Array([...head, ...position, 9, 8]);
    const d = decodeEnvelope(env)!;
    assert.equal(d.isText, false);
    assert.equal(d.offset, 42);
    assert.equal(d.epoch, "e1");
    assert.deepEqual(d.payload, new Uint8Array([9, 8]));
  });

  it("refuses what is not a version 1 envelope", () => {
    const good = encodeEnvelope(encodeHead(ORIGIN, 1, "t", false, false), new Uint8Array([1]));
    const bad = (patch: (b: Uint8Array) => Uint8Array) => decodeEnvelope(patch(good.slice()));
    assert.equal(bad((b) => (b[0] = 0, b)), undefined, "magic");
    assert.equal(bad((b) => (b[1] = 2, b)), undefined, "version");
    assert.equal(bad((b) => (b[2] = 9, b)), undefined, "type");
    assert.equal(bad((b) => (b[3] = 2, b)), undefined, "unknown flag");
    assert.equal(bad((b) => (b[21] = 200, b)), undefined, "topic longer than the envelope");
    assert.equal(bad((b) => (b[3] = 1, b)), undefined, "position missing");
    assert.equal(bad((b) => b.subarray(0, 10)), undefined, "truncated");
    assert.throws(() => encodeHead(ORIGIN, 1, "x".repeat(70_000), true, false), RangeError);
  });
});

describe("recoverable topic frames", () => {
  it("prefix a message with its position, keeping its type", () => {
    const text = withHeader(topicFrameHeader("d", { epoch: "ab", offset: 7 }), "hello");
    assert.equal(text, "wsd1 d ab 7\nhello");
    assert.deepEqual(parseTopicFrame(text), {
      kind: "message",
      position: { epoch: "ab", offset: 7 },
      data: "hello",
    });
    const bin = withHeader(topicFrameHeader("d"), new Uint8Array([0, 255]));
    assert.ok(bin instanceof Uint8Array);
    assert.deepEqual(parseTopicFrame(bin), {
      kind: "message",
      position: undefined,
      data: new Uint8Array([0, 255]),
    });
    assert.equal(
      parseTopicFrame(topicFrameHeader("n", { epoch: "x", offset: 3 }))!.kind,
      "not-recovered",
    );
    assert.equal(
      parseTopicFrame(topicFrameHeader("r", { epoch: "x", offset: 3 }))!.kind,
      "recovered",
    );
    assert.equal(parseTopicFrame("plain message"), undefined);
    assert.equal(parseTopicFrame("wsd1 q x 1\n"), undefined);
  });

  it("positions round-trip as text and hostile ones are refused", () => {
    assert.equal(formatPosition({ epoch: "k3J9-x_", offset: 42 }), "k3J9-x_:42");
    assert.deepEqual(parsePosition("k3J9-x_:42"), { epoch: "k3J9-x_", offset: 42 });
    for (
      const bad of ["", "42", ":1", "e:", "e:-1", "e:1.5", "e:1e3", "a b:1", "e:9999999999999999"]
    ) {
      assert.equal(parsePosition(bad), undefined, bad);
    }
  });
});
