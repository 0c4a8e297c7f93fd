/**
 * Interop with permessage-deflate (RFC 7692): the wsdriver server, in process (on the runtime
 * running this file) and started with `deflate: true`, against clients no one here wrote, each
 * with compression on where it has it: `ws` (offers it by default), Bun's and Chromium's built-in
 * WebSocket (they always offer it), Python `websockets` (compresses by default); Deno's built-in
 * client has no permessage-deflate, so that pair checks that a deflate-enabled server still talks
 * to it uncompressed. The extensions agreed on must be the same on both sides. See README.md
 * beside this file.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contextTakeover } from "../../src/protocol/deflate.ts";
import { serve } from "../../src/server.ts";
import { thisRuntime } from "../_helpers.ts";
import {
  BUN_PEER,
  CHROMIUM_PEER,
  connectionDeflate,
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

/**
 * wsdriver's answer to the offer every one of these clients makes,
 * `permessage-deflate; client_max_window_bits`: granted with 12-bit windows both ways (the
 * server's default); where `node:zlib` has no preset dictionaries (Deno), wsdriver adds both
 * `no_context_takeover` parameters (RFC 7692 lets a server add them).
 */
const ANSWER = contextTakeover()
  ? "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
  : "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
    "server_max_window_bits=12; client_max_window_bits=12";

/** Each client and the extensions both sides must agree on (`""`: the client offers none). */
const CLIENTS: Array<[PeerSpec, string]> = [
  [WS_PEER, ANSWER],
  [DENO_PEER, ""],
  [BUN_PEER, ANSWER],
  [PYTHON_PEER, ANSWER],
  [CHROMIUM_PEER, ANSWER],
];

describe(`interop, deflate: peer clients → wsdriver server (in process on ${thisRuntime()})`, () => {
  for (const [spec, extensions] of CLIENTS) {
    const label = `${spec.name} client → wsdriver server with deflate (${thisRuntime()})`;
    it(label, { timeout: TEST_TIMEOUT }, async () => {
      if (unavailable(spec)) return;
      const connections = new Queue<Inbox>();
      const inboxes: Inbox[] = [];
      const server = await serve(
        { port: 0, hostname: "127.0.0.1", protocols: SUPPORTED, deflate: true },
        (ws) => {
          const inbox = new Inbox(ws);
          inboxes.push(inbox);
          connections.push(inbox);
        },
      );
      let peer: PeerProcess | undefined;
      try {
        peer = new PeerProcess(spec, ["client", `${server.url}/interop?peer=1`, "--deflate"]);
        const pair: Pair = { label, peer, caps: spec.caps, extensions };
        // Chromium takes a few seconds to start.
        const first = await step(pair, "first connection", () => connections.next(30_000, label));
        assert.equal(first.ws.protocol, PROTOCOL);
        await connectionDeflate(pair, first);
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
