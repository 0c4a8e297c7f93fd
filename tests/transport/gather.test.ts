/**
 * The gathering of one write's chunks into pieces (Bun's transport writes each piece with one
 * system call): every byte once and in order, no small piece before a large chunk, and what a
 * partial write leaves is the caller's own memory.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { concatBytes as concat } from "../../src/protocol/bytes.ts";
import { Gather, GATHER_LIMIT } from "../../src/transport/gather.ts";

/** A chunk of `n` bytes whose values follow from `seed`, to compare whole streams. */
function chunk(n: number, seed: number): Uint8Array {
  const c = new Uint8Array(n);
  for (let i = 0; i < n; i++) c[i] = (seed * 31 + i * 7) & 255;
  return c;
}

/** The pieces of `chunks`, each copied as the socket would take it. */
function pieces(chunks: readonly Uint8Array[]): Uint8Array[] {
  const g = new Gather(chunks);
  const out: Uint8Array[] = [];
  for (let k = 0; !g.done; k++) {
    assert.ok(k < 1000, "gathering ends");
    out.push(g.next().slice());
  }
  return out;
}

describe("Gather", () => {
  it("joins frame headers and payloads into one piece up to the limit", () => {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) chunks.push(chunk(4, i), chunk(65536, i + 10));
    const out = pieces(chunks);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0], concat(chunks));
  });

  it("leads a large chunk in with its first bytes, then writes the rest from its own memory", () => {
    const header = chunk(10, 1), payload = chunk(GATHER_LIMIT * 2, 2);
    const g = new Gather([header, payload]);
    const first = g.next();
    assert.ok(first.length > header.length, "the header does not go out alone");
    assert.ok(first.length <= 64 * 1024, "only a little of the large chunk is copied");
    const second = g.next();
    assert.equal(second.buffer, payload.buffer, "the rest is a view of the payload, not a copy");
    assert.ok(g.done);
    assert.deepEqual(concat([first, second]), concat([header, payload]));
  });

  it("gives every byte once and in order, whatever the chunk sizes", () => {
    const sizes = [0, 1, 2, 125, 1024, 16 * 1024, 65536, GATHER_LIMIT - 1, GATHER_LIMIT, 600_000];
    let seed = 7;
    for (let round = 0; round < 60; round++) {
      const chunks: Uint8Array[] = [];
      const count = 1 + (round % 7);
      for (let i = 0; i < count; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        chunks.push(chunk(sizes[seed % sizes.length], seed));
      }
      const out = pieces(chunks);
      assert.deepEqual(concat(out), concat(chunks), `round ${round}`);
      for (const p of out) {
        assert.ok(p.length <= Math.max(GATHER_LIMIT, ...chunks.map((c) => c.length)));
      }
    }
  });

  it("leaves after a partial write the bytes not taken, gathered ones copied out", () => {
    const chunks = [chunk(3, 1), chunk(1000, 2), chunk(5, 3), chunk(GATHER_LIMIT + 7, 4)];
    const g = new Gather(chunks);
    const piece = g.next();
    const taken = piece.slice(0, 500);
    const rest = g.rest(piece, 500);
    assert.notEqual(rest[0].buffer, piece.buffer, "the gathered rest is a copy");
    // The next gather (another socket's) reuses the shared buffer; the rest must not change.
    const before = concat(rest).slice();
    pieces([chunk(4, 9), chunk(70_000, 10)]);
    assert.deepEqual(concat(rest), before);
    assert.deepEqual(concat([taken, ...rest]), concat(chunks));
  });
});
