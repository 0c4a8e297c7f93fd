/** Every refused handshake, HTTP or raw, is reported by the server's `refused` event. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RefusedInfo, serve } from "../../src/server.ts";
import { RawClient } from "../_helpers.ts";
import { httpExchange } from "./_server_util.ts";

const upgrade = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

describe("refused event", () => {
  it("reports status, reason, path and peer of every refusal", async () => {
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: false,
      maxHeadSize: 1024,
      raw: { path: "/raw", detectTimeout: 50 },
      resources: {
        "/full": { maxClients: 0, handler: () => {} },
        "/private": { origins: ["https://ok.example"], handler: () => {} },
        "/auth": {
          accept: () => new Response("who are you?", { status: 401 }),
          handler: () => {},
        },
      },
    });
    const refused: RefusedInfo[] = [];
    server.on("refused", (info) => refused.push(info));
    try {
      const cases: Array<[request: string, status: number, path: string]> = [
        ["NOT HTTP AT ALL\r\n\r\n", 400, ""],
        [upgrade("/nowhere"), 404, "/nowhere"],
        [upgrade("/private", "Origin: https://evil.example\r\n"), 403, "/private"],
        [`GET /full HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 426, "/full"],
        [upgrade("/full", `X-Big: ${"x".repeat(2000)}\r\n`), 431, ""],
        [upgrade("/full"), 503, "/full"],
        [upgrade("/auth"), 401, "/auth"],
      ];
      for (const [request, status, path] of cases) {
        refused.length = 0;
        const r = await httpExchange(server.port, request);
        assert.match(r.statusLine, new RegExp(`^HTTP/1.1 ${status} `));
        assert.equal(refused.length, 1, `one refused event for ${status}`);
        const info = refused[0];
        assert.equal(info.status, status);
        assert.equal(info.path, path, `path of the ${status}`);
        assert.equal(typeof info.reason, "string");
        assert.ok(info.reason.length > 0, `reason of the ${status}`);
        assert.equal(info.remoteAddress, "127.0.0.1");
        assert.ok(info.remotePort > 0);
      }
      // A raw client (no HTTP) for a path with no resource: refused on the raw side.
      refused.length = 0;
      const raw = await RawClient.connect(server.port);
      try {
        raw.write("hello\n");
        const got = await raw.waitFor((b) => b.includes(10), 5000, "the refusal line");
        assert.match(new TextDecoder().decode(got), /^error: 404 /);
        assert.deepEqual(refused.map((i) => [i.status, i.path]), [[404, "/raw"]]);
      } finally {
        raw.destroy();
      }
    } finally {
      await server.close();
    }
  });
});
