import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../src/client.ts";
import { originAllowed, Router } from "../src/router.ts";
import { serve } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import { headEnd, once, RawClient } from "./_helpers.ts";

/** Sends an upgrade request for `path` with extra header lines; returns the status line, headers and body. */
async function upgrade(
  port: number,
  path: string,
  extra = "",
): Promise<{ status: string; head: string; body: string }> {
  const raw = await RawClient.connect(port);
  try {
    raw.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
    const r = await raw.waitFor((b) => headEnd(b) > 0, 5000, "a response");
    const head = new TextDecoder().decode(r.subarray(0, headEnd(r)));
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const all = await raw.waitFor((b) => b.length >= headEnd(b) + length, 5000, "the body");
    return {
      status: head.split("\r\n")[0],
      head,
      body: new TextDecoder().decode(all.subarray(headEnd(all), headEnd(all) + length)),
    };
  } finally {
    raw.destroy();
  }
}

describe("Router", () => {
  it("matches exact paths and :params, first registration first", () => {
    const r = new Router<string>();
    r.add("/chat/:room", "chat");
    r.add("/chat/lobby", "never: shadowed");
    r.add("/a.b", "dot");
    r.add("/u/:id/files/:name", "files");
    assert.deepEqual(r.match("/chat/lobby"), { resource: "chat", params: { room: "lobby" } });
    assert.deepEqual(r.match("/chat/caf%C3%A9"), { resource: "chat", params: { room: "café" } });
    assert.equal(r.match("/chat/"), undefined);
    assert.equal(r.match("/chat/a/b"), undefined);
    assert.equal(r.match("/aXb"), undefined, "a dot is literal");
    assert.deepEqual(r.match("/u/7/files/x.txt"), {
      resource: "files",
      params: { id: "7", name: "x.txt" },
    });
    assert.equal(r.match("/chat/%E0%A4%A"), undefined, "bad percent-encoding matches nothing");
    assert.throws(() => r.add("chat", "x"), TypeError);
  });

  it("applies origin policies", () => {
    assert.equal(originAllowed("*", "https://evil.example"), true);
    assert.equal(originAllowed(["https://a.example"], "https://a.example"), true);
    assert.equal(originAllowed(["https://a.example"], "https://b.example"), false);
    assert.equal(originAllowed(["https://a.example"], null), true, "not a browser");
    assert.equal(originAllowed({ prefix: ["http://localhost"] }, "http://localhost:3000"), true);
    assert.equal(originAllowed({ prefix: ["http://localhost"] }, "http://127.0.0.1"), false);
    assert.equal(originAllowed((o) => o === null, null), true);
    assert.equal(originAllowed((o) => o === null, "https://a.example"), false);
  });
});

describe("server admission", () => {
  it("routes by resource, answers 404/403/401/503 with their bodies, and attaches data", async () => {
    const seen: WS<{ user: string }>[] = [];
    const server = await serve<{ user: string }>({
      port: 0,
      hostname: "127.0.0.1",
      maxClients: 3,
      resources: {
        "/chat/:room": {
          origins: ["https://good.example"],
          maxClients: 1,
          accept: async (info) => {
            await Promise.resolve();
            const auth = info.headers.get("authorization");
            if (auth !== "Bearer s3cret") {
              return new Response("who are you?", {
                status: 401,
                headers: { "WWW-Authenticate": "Bearer" },
              });
            }
            return { data: { user: `ann@${info.params.room}` } };
          },
          handler: (ws) => seen.push(ws),
        },
        "/open": (ws) => seen.push(ws),
      },
    });
    try {
      const nf = await upgrade(server.port, "/nowhere");
      assert.equal(nf.status, "HTTP/1.1 404 Not Found");
      assert.equal(nf.body, "no such resource");
      const bad = await upgrade(server.port, "/chat/x", "Origin: https://evil.example\r\n");
      assert.equal(bad.status, "HTTP/1.1 403 Forbidden");
      const anon = await upgrade(server.port, "/chat/x", "Origin: https://good.example\r\n");
      assert.equal(anon.status, "HTTP/1.1 401 Unauthorized");
      assert.match(anon.head, /www-authenticate: Bearer/i);
      assert.equal(anon.body, "who are you?");

      const ws = connect(`${server.url}/chat/lobby?x=1`, {
        headers: { Origin: "https://good.example", Authorization: "Bearer s3cret" },
      });
      await once(ws, "open");
      assert.equal(seen.length, 1);
      assert.deepEqual(seen[0].data, { user: "ann@lobby" });
      assert.deepEqual(seen[0].request?.params, { room: "lobby" });
      assert.equal(server.clientsOf("/chat/:room").size, 1);

      const full = await upgrade(
        server.port,
        "/chat/other",
        "Origin: https://good.example\r\nAuthorization: Bearer s3cret\r\n",
      );
      assert.equal(
        full.status,
        "HTTP/1.1 503 Service Unavailable",
        "the resource allows one client",
      );
      const o1 = connect(`${server.url}/open`), o2 = connect(`${server.url}/open`);
      await Promise.all([once(o1, "open"), once(o2, "open")]);
      const over = await upgrade(server.port, "/open");
      assert.equal(over.status, "HTTP/1.1 503 Service Unavailable", "the server allows three");
      assert.equal(over.body, "too many clients");
      o1.close();
      await once(o1, "close");
      const again = connect(`${server.url}/open`);
      await once(again, "open");
      // One resource's view holds its own clients only; the server's holds all of them.
      const chat = server.clientsOf("/chat/:room"), open = server.clientsOf("/open");
      assert.equal(chat, server.clientsOf("/chat/:room"), "one view per resource");
      assert.deepEqual([chat.size, open.size, server.clients.size], [1, 2, 3]);
      assert.deepEqual([...chat], [seen[0]]);
      assert.ok(chat.has(seen[0]) && !open.has(seen[0]) && server.clients.has(seen[0]));
      assert.equal(new Set([...open, ...chat]).size, 3);
      assert.ok([...open.entries()].every(([a, b]) => a === b && open.has(a)));
      // ES2024's set methods, where the runtime has them (not Node 20).
      type SetMethods = {
        union(o: ReadonlySet<WS>): Set<WS>;
        isSubsetOf(o: ReadonlySet<WS>): boolean;
      };
      if (typeof (new Set() as unknown as Partial<SetMethods>).union === "function") {
        assert.equal((open as unknown as SetMethods).union(chat).size, 3);
        assert.ok((chat as unknown as SetMethods).isSubsetOf(server.clients));
      }
      for (const c of [ws, o2, again]) c.close();
    } finally {
      await server.close();
    }
  });

  it("serves plain HTTP requests through fetch, beside WebSocket upgrades on the same port", async () => {
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      maxBodySize: 100,
      fetch: async (req) =>
        new Response(`${req.method} ${new URL(req.url).pathname} ${await req.text()}`, {
          status: 201,
          headers: { "X-Seen": "1" },
        }),
    }, (ws) => ws.on("message", (m) => ws.send(m)));
    try {
      const http = server.url.replace(/^ws/, "http");
      const post = await fetch(`${http}/form?q=1`, { method: "POST", body: "a=1&b=2" });
      assert.equal(post.status, 201);
      assert.equal(post.headers.get("x-seen"), "1");
      assert.equal(await post.text(), "POST /form a=1&b=2");
      const big = await fetch(http, { method: "POST", body: "x".repeat(101) });
      assert.equal(big.status, 413);
      await big.body?.cancel();
      const raw = await RawClient.connect(server.port);
      raw.write("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
      const r = await raw.waitFor((b) => headEnd(b) > 0);
      assert.match(new TextDecoder().decode(r), /^HTTP\/1\.1 411 /);
      raw.destroy();
      const ws = connect(server.url);
      await once(ws, "open");
      const echo = once(ws, "message");
      ws.send("still a socket server");
      assert.deepEqual(await echo, ["still a socket server", false]);
      ws.close();
    } finally {
      await server.close();
    }
  });

  it("refuses non-upgrade requests with 426", async () => {
    const server = await serve({ port: 0, hostname: "127.0.0.1" }, () => {});
    const raw = await RawClient.connect(server.port);
    try {
      raw.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      const r = await raw.waitFor((b) => headEnd(b) > 0);
      assert.match(new TextDecoder().decode(r), /^HTTP\/1\.1 426 Upgrade Required/);
      await raw.waitClosed();
    } finally {
      raw.destroy();
      await server.close();
    }
  });
});
