/**
 * No received byte is visible to another connection: a message's bytes and its `.buffer` belong
 * to its own connection, and detaching that buffer (transfer) leaves other connections' messages
 * intact.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../../src/client.ts";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { once, withTimeout } from "../_helpers.ts";

const CONNS = 16;
const ROUNDS = 20;
const PER_ROUND = 5;
const encoder = new TextEncoder();

/** The marker a connection fills its messages with: `<<conn07>>` repeated. */
function marker(i: number): Uint8Array {
  return encoder.encode(`<<conn${String(i).padStart(2, "0")}>>`.repeat(6));
}

/** Connection numbers whose marker occurs in `bytes`. */
function markersIn(bytes: Uint8Array): Set<number> {
  const found = new Set<number>();
  const text = new TextDecoder("latin1").decode(bytes);
  for (const m of text.matchAll(/<<conn(\d\d)>>/g)) found.add(Number(m[1]));
  return found;
}

/** Checks the messages of each connection: content, no foreign marker, and a transfer's effect. */
function checkIsolated(got: Map<number, Uint8Array[]>): void {
  assert.equal(got.size, CONNS);
  for (const [id, list] of got) {
    for (const m of list) {
      assert.deepEqual(m, marker(id));
      const whole = new Uint8Array(m.buffer as ArrayBuffer);
      const foreign = [...markersIn(whole)].filter((x) => x !== id);
      assert.deepEqual(foreign, [], `connection ${id}'s message exposes others' bytes`);
    }
  }
  // Detach one message's buffer: the other connections' messages must not notice.
  const victim = got.get(0)![0];
  structuredClone(victim.buffer, { transfer: [victim.buffer as ArrayBuffer] });
  for (const [id, list] of got) {
    if (id === 0) continue;
    for (const m of list) assert.deepEqual(m, marker(id), `connection ${id}'s message changed`);
  }
}

/** Files a message under the connection number its marker names. */
function file(got: Map<number, Uint8Array[]>, bytes: Uint8Array): number {
  const id = Number(new TextDecoder().decode(bytes.subarray(6, 8)));
  let list = got.get(id);
  if (!list) got.set(id, list = []);
  list.push(bytes);
  let n = 0;
  for (const l of got.values()) n += l.length;
  return n;
}

describe("received bytes stay with their connection", () => {
  it("on the client side too", async () => {
    const got = new Map<number, Uint8Array[]>();
    let allIn!: () => void;
    const all = new Promise<void>((r) => (allIn = r));
    const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
      const id = Number(ws.request!.query.get("id"));
      (async () => {
        for (let r = 0; r < ROUNDS && ws.readyState === "open"; r++) {
          for (let k = 0; k < PER_ROUND; k++) ws.send(marker(id));
          await new Promise((res) => setTimeout(res, 1));
        }
      })();
    });
    const clients: WS[] = [];
    try {
      for (let i = 0; i < CONNS; i++) {
        const c = connect(`ws://127.0.0.1:${server.port}/?id=${i}`);
        c.on("message", (m) => {
          if (file(got, m as Uint8Array) === CONNS * ROUNDS * PER_ROUND) allIn();
        });
        clients.push(c);
      }
      await withTimeout(all, 8000, "every message");
      checkIsolated(got);
    } finally {
      for (const c of clients) c.terminate();
      await server.close();
    }
  });

  it("a binary message's buffer holds no other connection's bytes, and a transfer harms none", async () => {
    const got = new Map<number, Uint8Array[]>();
    let allIn!: () => void;
    const all = new Promise<void>((r) => (allIn = r));
    const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
      ws.on("message", (m, isBinary) => {
        assert.ok(isBinary);
        if (file(got, m as Uint8Array) === CONNS * ROUNDS * PER_ROUND) allIn();
      });
    });
    const clients: WS[] = [];
    try {
      for (let i = 0; i < CONNS; i++) clients.push(connect(`ws://127.0.0.1:${server.port}/`));
      await Promise.all(clients.map((c) => once(c, "open")));
      // Rounds of small writes from every connection, so that reads of different connections
      // follow each other closely.
      for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < CONNS; i++) {
          for (let k = 0; k < PER_ROUND; k++) clients[i].send(marker(i));
        }
        await new Promise((res) => setTimeout(res, 1));
      }
      await withTimeout(all, 8000, "every message");
      checkIsolated(got);
    } finally {
      for (const c of clients) c.terminate();
      await server.close();
    }
  });
});
