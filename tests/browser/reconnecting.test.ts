/**
 * The browser entry point's ReconnectingClient on the test's own runtime's `WebSocket` (Deno's,
 * Bun's; wsdriver's WHATWG class on Node 20, which has none): the same reconnecting behaviour as
 * on the server runtimes, over a native socket.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReconnectingClient, type WebSocketConstructor } from "../../browser.ts";
import { WebSocket as WsdriverWebSocket } from "../../src/client/websocket.ts";
import { serve } from "../../src/server.ts";
import { withTimeout } from "../_helpers.ts";

const WebSocketImpl = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
  (WsdriverWebSocket as unknown as WebSocketConstructor);

function next(client: ReconnectingClient, event: "open" | "disconnect" | "close"): Promise<void> {
  return withTimeout(
    new Promise<void>((r) => client.once(event, () => r())),
    10_000,
    `the ${event} event`,
  );
}

describe("browser ReconnectingClient", () => {
  it("reconnects after a drop, restores with onOpen, and delivers what was queued, in order", async () => {
    let connections = 0;
    const got: string[] = [];
    const server = await serve({ port: 0, hostname: "127.0.0.1", protocols: ["p1"] }, (ws) => {
      const n = ++connections;
      ws.on("message", (m) => {
        got.push(`${n}:${m}`);
        if (m === "drop") ws.terminate();
      });
    });
    try {
      // http: stands for ws:, as in a page.
      const client = new ReconnectingClient(server.url.replace(/^ws/, "http") + "/feed", {
        WebSocket: WebSocketImpl,
        protocols: ["p1"],
        minDelay: 10,
        maxDelay: 50,
        onOpen: (ws, { reconnected }) => ws.send(reconnected ? "hello again" : "hello"),
      });
      const delays: number[] = [];
      client.on("retry", (_, delay) => delays.push(delay));
      await next(client, "open");
      assert.equal(client.socket!.protocol, "p1");
      client.send("drop");
      await next(client, "disconnect");
      client.send("queued 1");
      client.send("queued 2");
      await next(client, "open");
      const deadline = Date.now() + 5000;
      while (got.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(got, ["1:hello", "1:drop", "2:hello again", "2:queued 1", "2:queued 2"]);
      assert.equal(delays.length, 1);
      const closed = next(client, "close");
      await client.close();
      await closed;
      assert.equal(client.readyState, "closed");
    } finally {
      await server.close();
    }
  });
});
