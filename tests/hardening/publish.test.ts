/**
 * Broadcast bursts: publishing more than the high-water mark in one turn reaches subscribers that
 * read; only a subscriber that does not read is skipped (or closed), and the server's `slow` event
 * reports it, and no one else.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../../src/client.ts";
import { serve } from "../../src/server.ts";
import type { SlowConsumerPolicy } from "../../src/topics.ts";
import type { WS } from "../../src/ws.ts";
import { once, RawClient, rawUpgrade, withTimeout } from "../_helpers.ts";

const FAST = 3;
/** The subscribers' high-water mark. */
const HWM = 256 * 1024;
/**
 * One burst: 384 KiB, over the high-water mark (what one turn can hand to a peer is what its
 * kernel buffers take, whoever reads).
 */
const PER_BURST = 384;
const SIZE = 1024;
/** Bursts: far more than a non-reading peer's kernel buffers hold. */
const BURSTS = 40;

for (const policy of ["drop", "close"] as SlowConsumerPolicy[]) {
  describe(`publish bursts over the high-water mark (slowConsumer: "${policy}")`, () => {
    it("reach every subscriber that reads; only the one that does not is reported slow", {
      timeout: 30_000,
    }, async () => {
      const server = await serve(
        {
          port: 0,
          hostname: "127.0.0.1",
          heartbeat: false,
          slowConsumer: policy,
          highWaterMark: HWM,
        },
        (ws) => ws.subscribe("t"),
      );
      const slowReports = new Map<WS, number>();
      server.on("slow", (ws, topic) => {
        assert.equal(topic, "t");
        slowReports.set(ws, (slowReports.get(ws) ?? 0) + 1);
      });
      const fast: WS[] = [];
      const counts = new Array(FAST).fill(0);
      const stuck = await RawClient.connect(server.port);
      try {
        await rawUpgrade(stuck, "/stuck");
        stuck.socket.pause(); // never reads again
        for (let i = 0; i < FAST; i++) {
          const c = connect(`ws://127.0.0.1:${server.port}/fast`);
          c.on("message", () => counts[i]++);
          fast.push(c);
        }
        await Promise.all(fast.map((c) => once(c, "open")));
        await withTimeout(
          (async () => {
            while (server.topics.subscribers("t").size < FAST + 1) {
              await new Promise((r) => setTimeout(r, 5));
            }
          })(),
          5000,
          "every subscription",
        );
        const stuckWs = [...server.clients].find((ws) => ws.request?.path === "/stuck")!;
        const payload = new Uint8Array(SIZE).fill(0x61);
        for (let b = 1; b <= BURSTS; b++) {
          for (let i = 0; i < PER_BURST; i++) server.publish("t", payload);
          // The next burst once the readers have read this one: they are fast by construction.
          await withTimeout(
            (async () => {
              while (counts.some((n) => n < b * PER_BURST)) {
                await new Promise((r) => setTimeout(r, 2));
              }
            })(),
            8000,
            `burst ${b} to reach the readers (got ${counts})`,
          );
        }
        assert.deepEqual(counts, new Array(FAST).fill(BURSTS * PER_BURST));
        assert.deepEqual([...slowReports.keys()], [stuckWs], "only the stuck subscriber is slow");
        if (policy === "close") {
          assert.notEqual(stuckWs.readyState, "open");
          assert.equal(slowReports.get(stuckWs), 1);
        } else {
          assert.equal(stuckWs.readyState, "open");
          assert.ok(stuckWs.bufferedAmount < 2 * BURSTS * PER_BURST * SIZE);
        }
      } finally {
        for (const c of fast) c.terminate();
        stuck.destroy();
        await server.close();
      }
    });
  });
}
