/**
 * Redirects of the upgrade request, against real wsdriver servers whose `accept` hook answers
 * with a redirect: opt-in, counted, credentials kept to their origin, no downgrade to `ws:`.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ConnectOptions } from "../../src/client.ts";
import { HandshakeError, type WSError } from "../../src/errors.ts";
import { serve, type Server, type UpgradeInfo } from "../../src/server.ts";
import { FIXTURES, withTimeout } from "../_helpers.ts";

const TLS = {
  cert: readFileSync(join(FIXTURES, "cert.pem"), "utf8"),
  key: readFileSync(join(FIXTURES, "key.pem"), "utf8"),
};
const CA = readFileSync(join(FIXTURES, "ca.pem"), "utf8");

/** What a server saw of each upgrade request. */
interface Seen {
  path: string;
  authorization: string | null;
  cookie: string | null;
  custom: string | null;
}

function see(info: UpgradeInfo): Seen {
  return {
    path: info.path + (info.query.size > 0 ? `?${info.query}` : ""),
    authorization: info.headers.get("authorization"),
    cookie: info.headers.get("cookie"),
    custom: info.headers.get("x-custom"),
  };
}

/**
 * A server that redirects per `routes` (path → [status, Location]) and otherwise accepts and
 * sends `hello from <path>`.
 */
function redirector(
  routes: Record<string, [number, string | null]>,
  seen: Seen[],
  tls?: typeof TLS,
): Promise<Server> {
  return serve({
    port: 0,
    hostname: "127.0.0.1",
    tls,
    accept: (info) => {
      seen.push(see(info));
      const route = routes[info.path];
      if (!route) return;
      const headers = route[1] === null ? undefined : { Location: route[1] };
      return new Response(null, { status: route[0], headers });
    },
  }, (ws) => ws.send(`hello from ${ws.request!.path}`));
}

/** Resolves with the first message, or the error the connection fails with. */
function outcome(url: string, options: ConnectOptions) {
  const ws = connect(url, { handshakeTimeout: 5000, ...options });
  return withTimeout(
    new Promise<{ message?: string; error?: WSError; url: string }>((resolve) => {
      ws.once("error", (error) => resolve({ error, url: ws.url }));
      ws.once("message", (m) => {
        resolve({ message: m as string, url: ws.url });
        ws.close();
      });
    }),
    8000,
    `the outcome of ${url}`,
  );
}

const creds = { Authorization: "Bearer t0ken", Cookie: "session=1", "X-Custom": "kept" };

describe("redirects", () => {
  const seenA: Seen[] = [], seenB: Seen[] = [];
  let a: Server, b: Server;
  before(async () => {
    b = await redirector({}, seenB);
    a = await redirector({
      "/moved": [301, "/here?x=1"],
      "/away": [302, `${b.url}/there`],
      "/loop": [308, "/loop"],
      "/nowhere": [302, null],
      "/garbage": [302, "http://[::1"],
      "/unix": [302, "ws+unix:/tmp/x.sock:/"],
    }, seenA);
  });
  after(async () => {
    await a.close();
    await b.close();
  });
  const reset = () => {
    seenA.length = 0;
    seenB.length = 0;
  };

  it("are not followed unless asked: the 3xx is WS_ERR_HANDSHAKE_REJECTED", async () => {
    reset();
    const { error } = await outcome(`${a.url}/moved`, {});
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.code, "WS_ERR_HANDSHAKE_REJECTED");
    assert.equal(error.status, 301);
  });

  it("a same-origin redirect keeps every header and updates ws.url", async () => {
    reset();
    const r = await outcome(`${a.url}/moved`, { followRedirects: true, headers: creds });
    assert.equal(r.message, "hello from /here");
    assert.equal(r.url, `${a.url}/here?x=1`);
    assert.deepEqual(seenA, [
      { path: "/moved", authorization: "Bearer t0ken", cookie: "session=1", custom: "kept" },
      { path: "/here?x=1", authorization: "Bearer t0ken", cookie: "session=1", custom: "kept" },
    ]);
  });

  it("a cross-origin redirect drops Authorization and Cookie, keeps other headers", async () => {
    reset();
    const r = await outcome(`${a.url}/away`, { followRedirects: true, headers: creds });
    assert.equal(r.message, "hello from /there");
    assert.equal(r.url, `${b.url}/there`);
    assert.equal(seenA[0].authorization, "Bearer t0ken");
    assert.deepEqual(seenB, [{
      path: "/there",
      authorization: null,
      cookie: null,
      custom: "kept",
    }]);
  });

  it("an http: Location is followed as ws:", async () => {
    reset();
    const c = await redirector({ "/http": [307, `http://127.0.0.1:${a.port}/moved`] }, []);
    try {
      const r = await outcome(`${c.url}/http`, { followRedirects: true });
      assert.equal(r.message, "hello from /here");
      assert.equal(r.url, `${a.url}/here?x=1`);
    } finally {
      await c.close();
    }
  });

  it("a loop ends with WS_ERR_REDIRECT_LIMIT after maxRedirects", async () => {
    for (const [maxRedirects, requests] of [[3, 4], [undefined, 11], [0, 1]] as const) {
      reset();
      const { error } = await outcome(`${a.url}/loop`, { followRedirects: true, maxRedirects });
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, "WS_ERR_REDIRECT_LIMIT");
      assert.equal(error.status, 308);
      assert.equal(seenA.length, requests, `maxRedirects ${maxRedirects}`);
    }
  });

  it("a redirect without a usable Location is WS_ERR_REDIRECT_INVALID", async () => {
    for (const path of ["/nowhere", "/garbage", "/unix"]) {
      const { error } = await outcome(`${a.url}${path}`, { followRedirects: true });
      assert.equal(error?.code, "WS_ERR_REDIRECT_INVALID", path);
    }
  });

  it("wss: to ws: is refused with WS_ERR_REDIRECT_INSECURE; wss: to wss: is followed", async () => {
    const seen: Seen[] = [];
    const s = await redirector(
      {
        "/down": [302, `${b.url}/plain`],
        "/up": [302, "/secure"],
      },
      seen,
      TLS,
    );
    try {
      reset();
      const { error } = await outcome(`${s.url}/down`, { followRedirects: true, tls: { ca: CA } });
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, "WS_ERR_REDIRECT_INSECURE");
      assert.equal(seenB.length, 0, "the ws: server was never contacted");
      const r = await outcome(`${s.url}/up`, { followRedirects: true, tls: { ca: CA } });
      assert.equal(r.message, "hello from /secure");
    } finally {
      await s.close();
    }
  });

  it("on a unix socket, a path redirect stays on the socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wsdriver-redirect-"));
    const path = join(dir, "r.sock");
    const s = await serve({
      path,
      accept: (info) =>
        info.path === "/old"
          ? new Response(null, { status: 301, headers: { Location: "/new" } })
          : undefined,
    }, (ws) => ws.send(`hello from ${ws.request!.path}`));
    try {
      const r = await outcome(`ws+unix:${path}:/old`, { followRedirects: true });
      assert.equal(r.message, "hello from /new");
      assert.equal(r.url, `ws+unix:${path}:/new`);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
