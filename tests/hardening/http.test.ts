/**
 * Plain HTTP on the server port: the status line carries the right reason phrase (or none), and a
 * `fetch` handler that throws, returns something else than a Response, or whose body fails is
 * answered with 500 and the connection ends: no hang, no unhandled rejection.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../src/server.ts";
import { httpExchange } from "./_server_util.ts";

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

describe("plain HTTP", () => {
  it("sends the registered reason phrase of every status, and none for others", async () => {
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: false,
      fetch: (req) => {
        const status = Number(new URL(req.url).pathname.slice(1));
        return new Response(status === 204 || status === 304 ? null : "body", { status });
      },
    }, () => {});
    try {
      const expected: Array<[number, string]> = [
        [200, "OK"],
        [201, "Created"],
        [204, "No Content"],
        [301, "Moved Permanently"],
        [304, "Not Modified"],
        [404, "Not Found"],
        [418, ""],
        [422, "Unprocessable Content"],
        [500, "Internal Server Error"],
        [599, ""],
      ];
      for (const [status, phrase] of expected) {
        const r = await httpExchange(server.port, get(`/${status}`));
        assert.equal(r.statusLine, `HTTP/1.1 ${status} ${phrase}`);
      }
      const refused = await httpExchange(server.port, "BAD\r\n\r\n");
      assert.equal(refused.statusLine, "HTTP/1.1 400 Bad Request");
    } finally {
      await server.close();
    }
  });

  it("answers 500 and ends the connection when fetch throws, rejects or its body fails", async () => {
    const errors: unknown[] = [];
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      heartbeat: false,
      // Longer than the test waits: a connection left open would show as a hang.
      handshakeTimeout: 60_000,
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/throw") throw new Error(path);
        if (path === "/reject") return await Promise.reject(new Error(path));
        if (path === "/not-a-response") return "hello" as unknown as Response;
        if (path === "/body-error") {
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              controller.error(new Error(path));
            },
          });
          return new Response(body, { status: 200 });
        }
        return new Response("fine");
      },
    }, () => {});
    server.on("error", (err, ws) => {
      assert.equal(ws, undefined);
      errors.push(err);
    });
    try {
      for (const path of ["/throw", "/reject", "/not-a-response", "/body-error"]) {
        errors.length = 0;
        const r = await httpExchange(server.port, get(path), 3000);
        assert.equal(r.statusLine, "HTTP/1.1 500 Internal Server Error", path);
        assert.equal(errors.length, 1, `${path}: reported once`);
        const ok = await httpExchange(server.port, get("/fine"));
        assert.equal(ok.statusLine, "HTTP/1.1 200 OK", `${path}: still serving`);
        assert.equal(ok.body, "fine");
      }
    } finally {
      await server.close();
    }
  });
});
