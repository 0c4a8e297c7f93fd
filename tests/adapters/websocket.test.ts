/** fromWebSocket: Deno.upgradeWebSocket sockets (server side) and standard client WebSockets. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromWebSocket } from "../../src/adapters/websocket.ts";
import { connect } from "../../src/client.ts";
import { StateError } from "../../src/errors.ts";
import { serve } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { once, thisRuntime } from "../_helpers.ts";

interface DenoServe {
  serve(
    o: { port: number; hostname: string; onListen?: (a: { port: number }) => void },
    h: (req: Request, info: { remoteAddr: { hostname: string; port: number } }) => Response,
  ): { shutdown(): Promise<void>; finished: Promise<void> };
  upgradeWebSocket(req: Request): { socket: WebSocket; response: Response };
}

describe("fromWebSocket", () => {
  const notDeno = thisRuntime() !== "deno" && "Deno.upgradeWebSocket exists on Deno only";
  it("gives a Deno.upgradeWebSocket socket the WS API", { skip: notDeno }, async () => {
    const d = (globalThis as unknown as { Deno: DenoServe }).Deno;
    const sockets: WS<{ n: number }>[] = [];
    let port = 0;
    let stop = () => Promise.resolve();
    const listening = new Promise<void>((r) => {
      const srv = d.serve(
        { port: 0, hostname: "127.0.0.1", onListen: (a) => (port = a.port, r()) },
        (req, info) => {
          // Deno's info.remoteAddr cannot be read once the request is upgraded.
          const remoteAddress = info.remoteAddr.hostname;
          const { socket, response } = d.upgradeWebSocket(req);
          const ws = fromWebSocket(socket, { request: req, data: { n: 1 }, remoteAddress });
          sockets.push(ws);
          ws.on("message", (m) => ws.send(m));
          return response;
        },
      );
      stop = () => srv.shutdown();
    });
    await listening;
    try {
      const client = connect(`ws://127.0.0.1:${port}/native?x=1`);
      await once(client, "open");
      const text = once(client, "message");
      client.send("hello");
      assert.deepEqual(await text, ["hello", false]);
      const bin = once(client, "message");
      client.send(new Uint8Array([9, 8, 7]));
      assert.deepEqual(await bin, [new Uint8Array([9, 8, 7]), true]);
      const ws = sockets[0];
      assert.equal(ws.readyState, "open");
      assert.equal(ws.request?.path, "/native");
      assert.equal(ws.request?.query.get("x"), "1");
      assert.deepEqual(ws.data, { n: 1 });
      assert.equal(ws.remoteAddress, "127.0.0.1");
      assert.throws(
        () => ws.ping(),
        (e: unknown) => e instanceof StateError && e.code === "WS_ERR_UNSUPPORTED",
      );
      const serverClosed = once<[number, string, boolean]>(ws, "close");
      client.close(4000, "bye");
      assert.deepEqual(await serverClosed, [4000, "bye", true]);
      assert.equal(ws.readyState, "closed");
    } finally {
      await stop();
    }
  });

  const Native = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
  const noWebSocket = !Native && `no global WebSocket on ${thisRuntime()} (Node 22 has one)`;
  it("gives a standard client WebSocket the WS API", { skip: noWebSocket }, async () => {
    const server = await serve({ port: 0, hostname: "127.0.0.1", protocols: ["p"] }, (s) => {
      s.on("message", (m) => s.send(m));
    });
    try {
      const ws = fromWebSocket(new Native!(server.url, ["p"]));
      assert.equal(ws.readyState, "connecting");
      ws.send("queued before open");
      const first = once(ws, "message");
      await once(ws, "open");
      assert.equal(ws.protocol, "p");
      assert.deepEqual(await first, ["queued before open", false]);
      const bin = once(ws, "message");
      ws.send(new Uint8Array([1, 2]));
      assert.deepEqual(await bin, [new Uint8Array([1, 2]), true]);
      const closed = once<[number, string, boolean]>(ws, "close");
      ws.close(4001, "done");
      const [code, , clean] = await closed;
      assert.equal(code, 4001);
      assert.equal(clean, true);
    } finally {
      await server.close();
    }
  });
});
