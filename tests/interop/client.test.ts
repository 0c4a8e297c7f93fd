/**
 * Interop: the wsdriver client, in process (on the runtime running this file), against servers no
 * one here wrote: a `ws` WebSocketServer on Node, `Deno.serve` + `Deno.upgradeWebSocket`,
 * `Bun.serve` with websocket handlers, and a Python `websockets` server. Each server is a child
 * process; wsdriver connects twice: the first connection exchanges everything and wsdriver closes
 * it, the peer closes the second. See README.md beside this file.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import { thisRuntime, withTimeout } from "../_helpers.ts";
import {
  BUN_PEER,
  connectionOne,
  connectionTwo,
  DENO_PEER,
  Inbox,
  OFFERED,
  type Pair,
  PeerProcess,
  type PeerSpec,
  PYTHON_PEER,
  step,
  TEST_TIMEOUT,
  unavailable,
  WS_PEER,
} from "./_interop.ts";

const SERVERS: PeerSpec[] = [WS_PEER, DENO_PEER, BUN_PEER, PYTHON_PEER];

describe(`interop: wsdriver client (in process on ${thisRuntime()}) → peer servers`, () => {
  for (const spec of SERVERS) {
    const label = `wsdriver client (${thisRuntime()}) → ${spec.name} server`;
    it(label, { timeout: TEST_TIMEOUT }, async () => {
      if (unavailable(spec)) return;
      const inboxes: Inbox[] = [];
      const peer = new PeerProcess(spec, ["server"]);
      const pair: Pair = { label, peer, caps: spec.caps };
      const dial = async (url: string) => {
        const inbox = new Inbox(connect(`${url}/interop`, { protocols: OFFERED }));
        inboxes.push(inbox);
        await withTimeout(inbox.opened, 10_000, "the wsdriver client to open");
        return inbox;
      };
      try {
        const url = await step(pair, "the peer listens", () => peer.listening(20_000));
        assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
        await connectionOne(pair, await step(pair, "first connection", () => dial(url)));
        await connectionTwo(pair, await step(pair, "second connection", () => dial(url)));
        assert.deepEqual(peer.pending, [], "reports the test did not expect");
      } finally {
        for (const inbox of inboxes) await inbox.dispose();
        await peer.stop();
      }
    });
  }
});
