/**
 * Conformance of the wsdriver CLIENT: the fuzzing server plays each Autobahn case from the server
 * side (unmasked frames) against an in-process `connect` client that echoes every message. One
 * test per case id; runs under deno test, bun test and node --test.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import { CASES, DEFAULT_CASE_TIMEOUT, GROUPS } from "./cases.ts";
import { FuzzingServer } from "./fuzzing_server.ts";

/** Large enough for the 16 MiB messages of group 9. */
const MAX_PAYLOAD = 20 * 2 ** 20;

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

for (const group of Object.keys(GROUPS).map(Number)) {
  const cases = CASES.filter((c) => c.group === group);
  describe(`conformance: wsdriver client, ${group} ${GROUPS[group]}`, () => {
    for (const c of cases) {
      it(`${c.id} ${c.description}`, async () => {
        const fs = await FuzzingServer.start({ hostname: "127.0.0.1", port: 0, cases: [c] });
        try {
          const result = fs.result(c.id);
          // Groups 12 and 13: the client offers permessage-deflate (default options).
          const ws = connect(fs.url(c.id), { maxPayload: MAX_PAYLOAD, deflate: !!c.compression });
          const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
          const errors: string[] = [];
          ws.on("error", (err) => errors.push(err.message));
          ws.on("message", (data) => {
            if (ws.readyState === "open") ws.send(data);
          });
          let opened = false;
          ws.once("open", () => (opened = true));
          // A client that never completes the handshake never reaches the case: do not wait for it.
          const neverOpened = closed.then(() =>
            opened ? new Promise<never>(() => {}) : Promise.reject(
              new Error(
                `case ${c.id}: the client closed before the handshake completed` +
                  (errors.length ? `: ${errors.join("; ")}` : ""),
              ),
            )
          );
          neverOpened.catch(() => {});
          const limit = (c.timeout ?? DEFAULT_CASE_TIMEOUT) + 5000;
          const r = await within(Promise.race([result, neverOpened]), limit, `case ${c.id} to run`);
          assert.equal(r.ok ? "OK" : r.reason, "OK", `case ${c.id}: ${c.expectation}`);
          await within(closed, 5000, `the client's close event in case ${c.id}`);
        } finally {
          await fs.close();
        }
      });
    }
  });
}
