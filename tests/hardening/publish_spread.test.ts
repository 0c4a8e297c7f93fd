/**
 * A broadcast to thousands of sockets does not hold the event loop until every one is written:
 * writes of one turn yield to I/O after a few milliseconds, so another connection is answered
 * while the broadcast is still going out (the soak's echo p99 with 10k subscribers on Deno went
 * from 127 ms to 8 ms with this).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "../../src/client.ts";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { once, openClients, withTimeout } from "../_helpers.ts";

const SUBSCRIBERS = 3000;
/** Broadcasts tried: one whose echo arrives after the last write would be a coincidence. */
const ATTEMPTS = 5;

describe("a broadcast to thousands of subscribers", () => {
  it(
    "lets another connection be answered before the last subscriber is written",
    { timeout: 60_000 },
    async () => {
      const subscribers: WS[] = [];
      /** Subscribers written to when the probe's message was read, one figure per attempt. */
      const writtenAtEcho: number[] = [];
      let before: number[] = [];
      const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
        if (ws.request?.path === "/probe") {
          ws.on("message", (m) => {
            writtenAtEcho.push(
              subscribers.filter((s, i) => s.traffic().bytesOut > before[i]).length,
            );
            ws.send(m);
          });
          return;
        }
        ws.subscribe("all");
        subscribers.push(ws);
      });
      const clients: WS[] = [];
      try {
        await openClients(`ws://127.0.0.1:${server.port}/`, SUBSCRIBERS, clients);
        await withTimeout(
          (async () => {
            while (subscribers.length < SUBSCRIBERS) await new Promise((r) => setTimeout(r, 5));
          })(),
          5000,
          "every subscriber on the server",
        );
        const probe = connect(`ws://127.0.0.1:${server.port}/probe`);
        await once(probe, "open", 5000);
        for (let a = 0; a < ATTEMPTS; a++) {
          before = subscribers.map((s) => s.traffic().bytesOut);
          const echoed = once(probe, "message", 10_000);
          // The probe's write is queued first, so it leaves in the turn's first slice.
          probe.send("ping");
          assert.equal(server.publish("all", "x".repeat(64)), SUBSCRIBERS);
          await echoed;
          await withTimeout(
            (async () => {
              while (subscribers.some((s, i) => s.traffic().bytesOut === before[i])) {
                await new Promise((r) => setTimeout(r, 5));
              }
            })(),
            10_000,
            "the broadcast to reach every subscriber",
          );
        }
        assert.equal(writtenAtEcho.length, ATTEMPTS);
        assert.ok(
          writtenAtEcho.some((n) => n < SUBSCRIBERS),
          `the probe was answered only after all ${SUBSCRIBERS} subscribers were written, ` +
            `in every attempt (${writtenAtEcho.join(", ")})`,
        );
        probe.terminate();
      } finally {
        for (const c of clients) c.terminate();
        await server.close();
      }
    },
  );
});
