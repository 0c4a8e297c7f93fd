/** bunWebSocket: sockets that Bun.serve upgraded, with the WS API. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bunWebSocket, type BunWebSocketHandlers } from "../../src/adapters/bun.ts";
import { connect } from "../../src/client.ts";
import type { WS } from "../../src/ws.ts";
import { once, thisRuntime } from "../_helpers.ts";

interface BunServe {
  serve(o: {
    port: number;
    hostname: string;
    fetch(
      req: Request,
      server: { upgrade(req: Request, o: { data: unknown }): boolean },
    ): Response | undefined;
    websocket: BunWebSocketHandlers<unknown>;
  }): { port: number; stop(force?: boolean): void };
}

describe("bunWebSocket", () => {
  const skip = thisRuntime() !== "bun" && "Bun.serve exists on Bun only";
  it(
    "gives Bun.serve sockets the WS API: messages, pings, data, close codes",
    { skip },
    async () => {
      const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
      const sockets: WS<{ user: string }>[] = [];
      const srv = bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        fetch: (req, server) =>
          server.upgrade(req, { data: { user: "ann" } })
            ? undefined
            : new Response("no", { status: 400 }),
        websocket: bunWebSocket<{ user: string }>((ws) => {
          sockets.push(ws);
          ws.on("message", (m) => ws.send(m));
        }) as BunWebSocketHandlers<unknown>,
      });
      try {
        const client = connect(`ws://127.0.0.1:${srv.port}/`);
        await once(client, "open");
        const echo = once(client, "message");
        client.send(new Uint8Array([5, 6]));
        assert.deepEqual(await echo, [new Uint8Array([5, 6]), true]);
        const ws = sockets[0];
        assert.deepEqual(ws.data, { user: "ann" });
        const pong = once<[Uint8Array]>(ws, "pong");
        ws.ping("hb");
        assert.equal(new TextDecoder().decode((await pong)[0]), "hb");
        const clientClosed = once<[number, string, boolean]>(client, "close");
        const serverClosed = once<[number, string, boolean]>(ws, "close");
        ws.close(1001, "bye");
        assert.deepEqual(await clientClosed, [1001, "bye", true]);
        assert.equal((await serverClosed)[0], 1001);
        assert.equal(ws.readyState, "closed");
      } finally {
        srv.stop(true);
      }
    },
  );
});
