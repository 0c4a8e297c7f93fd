/**
 * Interop: the wsdriver server, in process (on the runtime running this file), against clients no
 * one here wrote: `ws` on Node, Deno's and Bun's built-in WebSocket, Python `websockets` and
 * Chromium. Each client is a child process that connects twice: the first connection exchanges
 * everything and wsdriver closes it, the peer closes the second. See README.md beside this file.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../src/server.ts";
import { thisRuntime } from "../_helpers.ts";
import {
  BUN_PEER,
  CHROMIUM_PEER,
  connectionOne,
  connectionTwo,
  DENO_PEER,
  Inbox,
  type Pair,
  PeerProcess,
  type PeerSpec,
  PROTOCOL,
  PYTHON_PEER,
  Queue,
  step,
  SUPPORTED,
  TEST_TIMEOUT,
  unavailable,
  WS_PEER,
} from "./_interop.ts";

const CLIENTS: PeerSpec[] = [WS_PEER, DENO_PEER, BUN_PEER, PYTHON_PEER, CHROMIUM_PEER];

describe(`interop: peer clients → wsdriver server (in process on ${thisRuntime()})`, () => {
  for (const spec of CLIENTS) {
    const label = `${spec.name} client → wsdriver server (${thisRuntime()})`;
    it(label, { timeout: TEST_TIMEOUT }, async () => {
      if (unavailable(spec)) return;
      const connections = new Queue<Inbox>();
      const inboxes: Inbox[] = [];
      const server = await serve({ port: 0, hostname: "127.0.0.1", protocols: SUPPORTED }, (ws) => {
        const inbox = new Inbox(ws);
        inboxes.push(inbox);
        connections.push(inbox);
      });
      let peer: PeerProcess | undefined;
      try {
        peer = new PeerProcess(spec, ["client", `${server.url}/interop?peer=1`]);
        const pair: Pair = { label, peer, caps: spec.caps };
        // Chromium takes a few seconds to start.
        const first = await step(pair, "first connection", () => connections.next(30_000, label));
        await step(pair, "upgrade request", () => {
          assert.equal(first.ws.request?.path, "/interop");
          assert.equal(first.ws.request?.query.get("peer"), "1");
          assert.equal(first.ws.protocol, PROTOCOL);
          return Promise.resolve();
        });
        await connectionOne(pair, first);
        const second = await step(pair, "second connection", () => connections.next(10_000, label));
        await connectionTwo(pair, second);
        await step(pair, "the peer exits with 0", async () => {
          assert.equal(await peer!.exitCode(15_000), 0);
        });
        assert.deepEqual(peer.pending, [], "reports the test did not expect");
      } finally {
        await peer?.stop();
        for (const inbox of inboxes) await inbox.dispose();
        await server.close();
      }
    });
  }
});
