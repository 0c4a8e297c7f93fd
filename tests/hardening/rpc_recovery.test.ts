/**
 * RPC against a responder that never answers: each timed-out request frees its slot on both sides
 * (the requester sends a cancel, the responder frees the slot on it), so new requests keep going
 * through, and the state is visible (`inFlight`, `abandoned`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import { Rpc, type RpcError } from "../../src/rpc.ts";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { once, withTimeout } from "../_helpers.ts";

describe("RPC recovery", () => {
  it("keeps working after timeouts against a responder that never answers", async () => {
    let serverRpc: Rpc<WS> | undefined;
    const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
      serverRpc = new Rpc(ws, {
        maxInFlight: 4,
        // Never settles for "hang"; answers anything else.
        responder: (data) => data === "hang" ? new Promise<string>(() => {}) : `re:${data}`,
      });
    });
    const client = connect(server.url);
    const rpc = new Rpc(client, { maxInFlight: 4, timeout: 100 });
    try {
      await once(client, "open");
      for (let round = 0; round < 3; round++) {
        const hung = Array.from({ length: 4 }, () => rpc.request("hang"));
        assert.equal(rpc.inFlight.outgoing, 4);
        const results = await Promise.allSettled(hung);
        for (const r of results) {
          assert.equal(r.status, "rejected");
          assert.equal((r.reason as RpcError).code, "RPC_ERR_TIMEOUT");
        }
        assert.equal(rpc.inFlight.outgoing, 0, "timed-out requests free their slots");
        // The peer frees its slots on the cancels; what it still runs shows as abandoned.
        assert.equal(
          await withTimeout(rpc.request("ping", { timeout: 2000 }), 3000, "ping"),
          "re:ping",
        );
        assert.equal(serverRpc!.inFlight.incoming, 0);
        assert.equal(serverRpc!.abandoned, 4 * (round + 1));
      }
    } finally {
      client.close();
      await server.close();
    }
  });
});
