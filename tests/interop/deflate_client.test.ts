/**
 * Interop with permessage-deflate (RFC 7692): the wsdriver client, in process (on the runtime
 * running this file) and offering it (`deflate: true`), against servers no one here wrote, each
 * with compression on where it has it: a `ws` WebSocketServer with `perMessageDeflate: true`,
 * `Bun.serve` with `perMessageDeflate: true`, and a Python `websockets` server (compresses by
 * default); `Deno.upgradeWebSocket` has no permessage-deflate, so that pair checks that an offering
 * client still talks to it uncompressed. The extensions agreed on must be the same on both sides.
 * See README.md beside this file.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import { contextTakeover } from "../../src/protocol/deflate.ts";
import { thisRuntime, withTimeout } from "../_helpers.ts";
import {
  BUN_PEER,
  connectionDeflate,
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

/**
 * wsdriver offers `permessage-deflate; client_max_window_bits`; where `node:zlib` has no preset
 * dictionaries (Deno) it asks for no context takeover both ways, and a server must grant
 * `server_no_context_takeover` if asked.
 */
const NCT = contextTakeover() ? "" : "; server_no_context_takeover; client_no_context_takeover";

/** Each server and the answer both sides must agree on (`""`: the server declines). */
const SERVERS: Array<[PeerSpec, string]> = [
  // ws grants the offer as is (a client window without a value needs no answer).
  [WS_PEER, `permessage-deflate${NCT}`],
  [DENO_PEER, ""],
  // Bun (uWebSockets) always asks for no context takeover both ways.
  [BUN_PEER, "permessage-deflate; client_no_context_takeover; server_no_context_takeover"],
  // websockets asks for 12-bit windows both ways.
  [PYTHON_PEER, `permessage-deflate${NCT}; server_max_window_bits=12; client_max_window_bits=12`],
];

describe(`interop, deflate: wsdriver client (in process on ${thisRuntime()}) → peer servers`, () => {
  for (const [spec, extensions] of SERVERS) {
    const label = `wsdriver client with deflate (${thisRuntime()}) → ${spec.name} server`;
    it(label, { timeout: TEST_TIMEOUT }, async () => {
      if (unavailable(spec)) return;
      const inboxes: Inbox[] = [];
      const peer = new PeerProcess(spec, ["server", "--deflate"]);
      const pair: Pair = { label, peer, caps: spec.caps, extensions };
      const dial = async (url: string) => {
        const inbox = new Inbox(connect(`${url}/interop`, { protocols: OFFERED, deflate: true }));
        inboxes.push(inbox);
        await withTimeout(inbox.opened, 10_000, "the wsdriver client to open");
        return inbox;
      };
      try {
        const url = await step(pair, "the peer listens", () => peer.listening(20_000));
        assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
        await connectionDeflate(pair, await step(pair, "first connection", () => dial(url)));
        await connectionTwo(pair, await step(pair, "second connection", () => dial(url)));
        assert.deepEqual(peer.pending, [], "reports the test did not expect");
      } finally {
        for (const inbox of inboxes) await inbox.dispose();
        await peer.stop();
      }
    });
  }
});
