/**
 * Conformance of the wsdriver SERVER: an in-process echo server (`serve`, text back as text,
 * binary as binary) against the fuzzing client, one test per Autobahn case id; with
 * permessage-deflate (default options) for the compression cases. Runs under deno test, bun test
 * and node --test, so every runtime's server is covered.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { CASES, GROUPS } from "./cases.ts";
import { runCaseAgainstServer } from "./fuzzing_client.ts";

/** Resolves on the next `event` of `ws`, or rejects after `ms`. */
function once(ws: WS, event: "close", ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no server-side ${event} event in ${ms} ms`)),
      ms,
    );
    ws.once(event, () => resolve());
  }).finally(() => clearTimeout(timer));
}

/** Large enough for the 16 MiB messages of group 9. */
const MAX_PAYLOAD = 20 * 2 ** 20;

for (const group of Object.keys(GROUPS).map(Number)) {
  const cases = CASES.filter((c) => c.group === group);
  describe(`conformance: wsdriver server, ${group} ${GROUPS[group]}`, () => {
    for (const c of cases) {
      it(`${c.id} ${c.description}`, async () => {
        const sockets: WS[] = [];
        const server = await serve(
          // Groups 12 and 13 need permessage-deflate (default options).
          { port: 0, hostname: "127.0.0.1", maxPayload: MAX_PAYLOAD, deflate: !!c.compression },
          (ws) => {
            sockets.push(ws);
            ws.on("message", (data, isBinary) => {
              if (ws.readyState !== "open") return;
              if (isBinary) ws.sendBinary(data as Uint8Array);
              else ws.sendText(data as string);
            });
          },
        );
        try {
          const r = await runCaseAgainstServer(c, { host: "127.0.0.1", port: server.port });
          assert.equal(r.ok ? "OK" : r.reason, "OK", `case ${c.id}: ${c.expectation}`);
          // The server side must let go of the connection too.
          for (const ws of sockets) {
            if (ws.readyState !== "closed") await once(ws, "close", 5000, `case ${c.id}`);
          }
        } finally {
          await server.close();
        }
      });
    }
  });
}
