/**
 * Heartbeat sweeps over thousands of connections are cut into slices: the event loop never stalls
 * for the whole sweep, and dead peers are still dropped on time.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { TimeoutError } from "../../src/errors.ts";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { openClients, RawClient, rawUpgrade, withTimeout } from "../_helpers.ts";

const CONNS = 4000;
const HEARTBEAT = { interval: 300, timeout: 1000 };
/**
 * Most pings sent between two runs of a 1 ms timer: a sweep that pinged every quiet client at once
 * sent thousands (and stalled the loop for 40-900 ms, depending on the runtime).
 */
const MAX_PINGS_PER_TURN = 256;
/**
 * Longest stall of the event loop allowed while sweeps run: the median of several windows' worst
 * stalls, lenient because on a busy machine the process itself waits that long for a core.
 */
const MAX_LAG_MS = 100;
const WINDOWS = 3;
/** Each window holds at least one wave of pings (every interval + half of it). */
const WINDOW_MS = 700;

/** Counts the runs of a 1 ms timer: pings stamped with the same count went out in one stretch. */
let turn = 0;

/** The longest gap between 1 ms timers during `ms`, beyond the timer's own period. */
async function maxLoopLag(ms: number): Promise<number> {
  let worst = 0;
  const end = Date.now() + ms;
  let last = performance.now();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 1));
    const t = performance.now();
    worst = Math.max(worst, t - last - 1);
    last = t;
  }
  return worst;
}

describe("heartbeat sweeps over thousands of connections", () => {
  it(
    "never stall the loop for the whole sweep, and still drop dead peers",
    { timeout: 30_000 },
    async () => {
      const dropped: Array<{ ws: WS; at: number; code: string }> = [];
      let heard = 0;
      const pingsPerTurn = new Map<number, number>();
      const ticker = setInterval(() => turn++, 1);
      const server = await serve(
        { port: 0, hostname: "127.0.0.1", heartbeat: HEARTBEAT },
        (ws) => {
          const ping = ws.ping.bind(ws);
          ws.ping = (...args) => {
            pingsPerTurn.set(turn, (pingsPerTurn.get(turn) ?? 0) + 1);
            ping(...args);
          };
          ws.on("message", () => heard++);
          ws.on("error", (e) => {
            dropped.push({ ws, at: Date.now(), code: (e as TimeoutError).code });
          });
        },
      );
      const clients: WS[] = [];
      const dead: RawClient[] = [];
      try {
        await openClients(`ws://127.0.0.1:${server.port}/`, CONNS, clients);
        // Peers that never answer a ping.
        for (let i = 0; i < 3; i++) {
          const raw = await RawClient.connect(server.port);
          await rawUpgrade(raw, "/dead");
          dead.push(raw);
        }
        const deadSince = Date.now();
        // Every client speaks at once, as after a restart: their pings all fall due together.
        for (const c of clients) c.send("hi");
        await withTimeout(
          (async () => {
            while (heard < CONNS) await new Promise((r) => setTimeout(r, 5));
          })(),
          5000,
          "every client's message",
        );
        // Several sweeps ping every quiet client and read their pongs.
        const worst: number[] = [];
        for (let w = 0; w < WINDOWS; w++) worst.push(await maxLoopLag(WINDOW_MS));
        const pings = [...pingsPerTurn.values()];
        const sent = pings.reduce((a, b) => a + b, 0);
        assert.ok(sent >= CONNS, `every quiet client was pinged (${sent} pings)`);
        const most = Math.max(...pings);
        assert.ok(most <= MAX_PINGS_PER_TURN, `${most} pings went out in one stretch`);
        worst.sort((a, b) => a - b);
        const median = worst[Math.floor(WINDOWS / 2)];
        assert.ok(
          median < MAX_LAG_MS,
          `the event loop stalled for ${worst.map((x) => x.toFixed(1)).join(", ")} ms`,
        );
        await withTimeout(
          (async () => {
            while (dropped.length < dead.length) await new Promise((r) => setTimeout(r, 10));
          })(),
          5000,
          "the dead peers to be dropped",
        );
        assert.deepEqual(
          dropped.map((d) => [d.ws.request?.path, d.code]),
          dead.map(() => ["/dead", "WS_ERR_HEARTBEAT_TIMEOUT"]),
          "only the dead peers were dropped",
        );
        for (const d of dropped) {
          const took = d.at - deadSince;
          assert.ok(took < 3000, `dropped after ${took} ms (ping after 300 ms, timeout 1000 ms)`);
        }
        assert.ok(clients.every((c) => c.readyState === "open"), "the live clients stay");
      } finally {
        clearInterval(ticker);
        for (const c of clients) c.terminate();
        for (const r of dead) r.destroy();
        await server.close();
      }
    },
  );
});
