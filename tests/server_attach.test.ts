/** Attaching to an existing `node:http` server through its `upgrade` event. */
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import { createServer } from "../src/server.ts";
import { headEnd, once, RawClient } from "./_helpers.ts";

describe("Server.handleUpgrade", () => {
  it("serves WebSocket upgrades of a node:http server beside its HTTP responses", async () => {
    const wss = createServer({
      protocols: ["chat"],
      resources: {
        "/ws/:id": (ws) => ws.on("message", (m) => ws.send(`${ws.request!.params.id}:${m}`)),
      },
    });
    const httpServer = http.createServer((_req, res) => res.end("plain http"));
    httpServer.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
    const port = (httpServer.address() as AddressInfo).port;
    try {
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(await page.text(), "plain http");
      const ws = connect(`ws://127.0.0.1:${port}/ws/7`, { protocols: ["chat"] });
      await once(ws, "open");
      assert.equal(ws.protocol, "chat");
      const reply = once(ws, "message");
      ws.send("hi");
      assert.deepEqual(await reply, ["7:hi", false]);
      assert.equal(wss.clients.size, 1);
      const raw = await RawClient.connect(port);
      raw.write(
        "GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      const r = await raw.waitFor((b) => headEnd(b) > 0);
      assert.match(new TextDecoder().decode(r), /^HTTP\/1\.1 404 /);
      raw.destroy();
      const closed = once<[number]>(ws, "close");
      await wss.close();
      assert.equal((await closed)[0], 1001);
    } finally {
      httpServer.closeAllConnections?.();
      await new Promise((r) => httpServer.close(r));
    }
  });
});
