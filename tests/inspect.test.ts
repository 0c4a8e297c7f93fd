/**
 * `console.log(ws)` and `console.log(server)` print a short summary on every runtime (each
 * runtime's own inspector: util.inspect on Node, Bun.inspect, Deno.inspect), never the private
 * slots or internal members.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { connect } from "../src/client.ts";
import { serve } from "../src/server.ts";
import { once, thisRuntime } from "./_helpers.ts";

/** What `console.log(value)` prints on this runtime. */
function logged(value: unknown): string {
  const g = globalThis as {
    Deno?: { inspect(v: unknown): string };
    Bun?: { inspect(v: unknown): string };
  };
  const runtime = thisRuntime();
  if (runtime === "deno") return g.Deno!.inspect(value);
  if (runtime === "bun") return g.Bun!.inspect(value);
  return inspect(value);
}

describe("inspection", () => {
  it("a WS and a Server print state, url, protocol and buffered bytes only", async () => {
    const server = await serve({ port: 0, hostname: "127.0.0.1", protocols: ["chat"] }, () => {});
    const ws = connect(server.url, { protocols: ["chat"] });
    try {
      const connecting = logged(ws);
      assert.match(
        connecting,
        /^WS \{ readyState: "connecting", url: "ws:\/\/127\.0\.0\.1:\d+\/", /,
      );
      await once(ws, "open");
      const open = logged(ws);
      assert.equal(
        open,
        `WS { readyState: "open", url: "${ws.url}", protocol: "chat", bufferedAmount: 0 }`,
      );
      assert.equal(logged(server), `Server { url: "${server.url}", clients: 1 }`);
      assert.equal(logged([ws]).includes("_"), false, "no internal member in a nested print");
      assert.equal(inspect(ws), open, "node:util agrees on every runtime");
    } finally {
      ws.terminate();
      await server.close();
    }
  });
});
