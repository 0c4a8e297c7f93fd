/**
 * Proxies over real loopback sockets: tinyproxy (HTTP CONNECT, Basic auth) and danted (SOCKS5)
 * from Debian, started here on free ports; a small SOCKS5 server of this file for username and
 * password auth (danted checks those against the system's users); and hostile proxies that answer
 * garbage, hang, or send an endless header.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { connect, type ConnectOptions } from "../../src/client.ts";
import { noProxyMatches, parseProxy } from "../../src/client/proxy.ts";
import { HandshakeError, ProxyError, type WSError } from "../../src/errors.ts";
import { serve, type Server } from "../../src/server.ts";
import { FIXTURES, withTimeout } from "../_helpers.ts";
import {
  DANTED,
  proxyBinary,
  type RunningProxy,
  startDanted,
  startTinyproxy,
  TINYPROXY,
} from "./_proxies.ts";

const TLS = {
  cert: readFileSync(join(FIXTURES, "cert.pem"), "utf8"),
  key: readFileSync(join(FIXTURES, "key.pem"), "utf8"),
};
const CA = readFileSync(join(FIXTURES, "ca.pem"), "utf8");

/** Connects, sends `text`, and resolves with the echo; rejects with the client's error. */
function echoThrough(url: string, options: ConnectOptions, text = "through the proxy") {
  const ws = connect(url, { handshakeTimeout: 5000, ...options });
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      ws.once("error", reject);
      ws.once("open", () => ws.send(text));
      ws.once("message", (m) => {
        ws.close();
        resolve(m as string);
      });
    }),
    8000,
    `an echo from ${url}`,
  );
}

/** Resolves with the error the connection fails with, and how long it took. */
async function failure(
  url: string,
  options: ConnectOptions,
): Promise<{ err: WSError; ms: number }> {
  const t0 = Date.now();
  const ws = connect(url, options);
  const err = await withTimeout(
    new Promise<WSError>((resolve, reject) => {
      ws.once("error", (e) => resolve(e));
      ws.once("open", () => {
        ws.terminate();
        reject(new Error("connected, but should have failed"));
      });
    }),
    8000,
    "the connection to fail",
  );
  return { err, ms: Date.now() - t0 };
}

/** An echo server over ws: and one over wss:, both counting their clients. */
let plain: Server, secure: Server;
const echo = (ws: Parameters<Parameters<typeof serve>[1] & object>[0]) =>
  ws.on("message", (m) => ws.send(m));

before(async () => {
  plain = await serve({ port: 0, hostname: "127.0.0.1" }, echo);
  secure = await serve({ port: 0, hostname: "127.0.0.1", tls: TLS }, echo);
});
after(async () => {
  await plain.close();
  await secure.close();
});

describe("proxy settings", () => {
  it("parses proxy URLs", () => {
    const p = parseProxy("http://al%40ce:p%3Ass@127.0.0.1:3128");
    assert.deepEqual([p.kind, p.hostname, p.port, p.username, p.password], [
      "http",
      "127.0.0.1",
      3128,
      "al@ce",
      "p:ss",
    ]);
    assert.equal(p.display, "http://127.0.0.1:3128");
    assert.equal(parseProxy("127.0.0.1:8888").kind, "http");
    assert.equal(parseProxy("socks5h://[::1]").port, 1080);
    assert.equal(parseProxy("socks5h://[::1]").hostname, "::1");
    assert.throws(() => parseProxy("ftp://127.0.0.1:21"), TypeError);
    assert.throws(() => connect("ws://127.0.0.1:1/", { proxy: "gopher://x" }), TypeError);
  });

  it("matches NO_PROXY entries", () => {
    assert.ok(noProxyMatches("*", "example.com", 80));
    assert.ok(noProxyMatches("example.com", "example.com", 80));
    assert.ok(noProxyMatches("example.com", "api.example.com", 80));
    assert.ok(noProxyMatches(".example.com", "api.example.com", 80));
    assert.ok(noProxyMatches("*.example.com", "api.example.com", 80));
    assert.ok(!noProxyMatches("example.com", "notexample.com", 80));
    assert.ok(noProxyMatches("foo, 127.0.0.1:8080", "127.0.0.1", 8080));
    assert.ok(!noProxyMatches("127.0.0.1:8080", "127.0.0.1", 9090));
    assert.ok(noProxyMatches("[::1]", "::1", 80));
    assert.ok(!noProxyMatches("", "example.com", 80));
  });
});

describe("HTTP CONNECT through tinyproxy", () => {
  const binary = proxyBinary("tinyproxy", TINYPROXY, "tinyproxy");
  const skip = binary === undefined && "tinyproxy is not installed";
  let open: RunningProxy, authed: RunningProxy;
  before(async () => {
    if (!binary) return;
    open = await startTinyproxy(binary);
    authed = await startTinyproxy(binary, { user: "alice", password: "s3cret" });
  });
  after(async () => {
    await open?.stop();
    await authed?.stop();
  });

  it("tunnels ws: and wss:", { skip }, async () => {
    const proxy = `http://127.0.0.1:${open.port}`;
    assert.equal(await echoThrough(plain.url, { proxy }), "through the proxy");
    assert.equal(await echoThrough(secure.url, { proxy, tls: { ca: CA } }), "through the proxy");
  });

  it(
    "authenticates with Basic credentials; without them the proxy's 407 is typed",
    { skip },
    async () => {
      const good = `http://alice:s3cret@127.0.0.1:${authed.port}`;
      assert.equal(await echoThrough(plain.url, { proxy: good }), "through the proxy");
      assert.equal(
        await echoThrough(secure.url, { proxy: good, tls: { ca: CA } }),
        "through the proxy",
      );
      // tinyproxy answers 407 without credentials and 401 to wrong ones.
      const cases = [
        [`http://127.0.0.1:${authed.port}`, 407],
        [`http://alice:nope@127.0.0.1:${authed.port}`, 401],
      ] as const;
      for (const [proxy, status] of cases) {
        const { err } = await failure(plain.url, { proxy });
        assert.ok(err instanceof ProxyError, String(err));
        assert.equal(err.code, "WS_ERR_PROXY_AUTH");
        assert.equal(err.status, status);
      }
    },
  );

  it("a refused CONNECT is WS_ERR_PROXY_REFUSED with the proxy's status", { skip }, async () => {
    // Nothing listens on a port just freed: tinyproxy answers with an error status.
    const dead = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const { err } = await failure(`ws://127.0.0.1:${dead}/`, {
      proxy: `http://127.0.0.1:${open.port}`,
    });
    assert.ok(err instanceof ProxyError, String(err));
    assert.equal(err.code, "WS_ERR_PROXY_REFUSED");
    assert.ok(err.status! >= 400, `status ${err.status}`);
  });

  it("proxy: true reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY; without it they are ignored", {
    skip,
  }, async () => {
    const names = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"];
    const saved = names.flatMap((n) => [n, n.toLowerCase()]).map((n) => [n, process.env[n]]);
    for (const [n] of saved) delete process.env[n!];
    try {
      // Credentials that the proxy refuses: a 407 proves the request went through it.
      process.env.HTTP_PROXY = `http://alice:wrong@127.0.0.1:${authed.port}`;
      process.env.HTTPS_PROXY = `http://alice:s3cret@127.0.0.1:${authed.port}`;
      assert.equal((await failure(plain.url, { proxy: true })).err.code, "WS_ERR_PROXY_AUTH");
      assert.equal(
        await echoThrough(secure.url, { proxy: true, tls: { ca: CA } }),
        "through the proxy",
      );
      assert.equal(await echoThrough(plain.url, {}), "through the proxy", "env ignored");
      process.env.NO_PROXY = `localhost, 127.0.0.1:${plain.port}`;
      assert.equal(await echoThrough(plain.url, { proxy: true }), "through the proxy");
    } finally {
      for (const [n, v] of saved) {
        if (v === undefined) delete process.env[n!];
        else process.env[n!] = v;
      }
    }
  });
});

describe("SOCKS5 through danted", () => {
  const binary = proxyBinary("danted", DANTED, "dante-server");
  const skip = binary === undefined && "danted is not installed";
  let open: RunningProxy, authOnly: RunningProxy;
  before(async () => {
    if (!binary) return;
    open = await startDanted(binary);
    authOnly = await startDanted(binary, "username");
  });
  after(async () => {
    await open?.stop();
    await authOnly?.stop();
  });

  it("tunnels ws: and wss: without authentication", { skip }, async () => {
    const proxy = `socks5://127.0.0.1:${open.port}`;
    assert.equal(await echoThrough(plain.url, { proxy }), "through the proxy");
    assert.equal(await echoThrough(secure.url, { proxy, tls: { ca: CA } }), "through the proxy");
    // A host name goes to the proxy to resolve.
    const byName = `wss://localhost:${secure.port}/`;
    assert.equal(await echoThrough(byName, { proxy, tls: { ca: CA } }), "through the proxy");
  });

  it("a proxy that insists on username auth is WS_ERR_PROXY_AUTH without credentials", {
    skip,
  }, async () => {
    const { err } = await failure(plain.url, { proxy: `socks5://127.0.0.1:${authOnly.port}` });
    assert.ok(err instanceof ProxyError, String(err));
    assert.equal(err.code, "WS_ERR_PROXY_AUTH");
  });

  it("a refused target is WS_ERR_PROXY_REFUSED with the SOCKS5 reply code", { skip }, async () => {
    const dead = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const { err } = await failure(`ws://127.0.0.1:${dead}/`, {
      proxy: `socks5://127.0.0.1:${open.port}`,
    });
    assert.ok(err instanceof ProxyError, String(err));
    assert.equal(err.code, "WS_ERR_PROXY_REFUSED");
    assert.equal(err.status, 5);
  });
});

/** A loopback server of this test; `onSocket` plays the proxy. */
async function withProxyServer(
  onSocket: (socket: net.Socket) => void,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    await fn((server.address() as net.AddressInfo).port);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
}

/** Reads exactly `n` bytes from `socket` (which must be paused and unread otherwise). */
function readN(socket: net.Socket, n: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error("closed"));
    const tryRead = () => {
      const b = socket.read(n) as Uint8Array | null;
      if (b === null) return;
      socket.off("readable", tryRead);
      socket.off("close", onClose);
      resolve(new Uint8Array(b));
    };
    socket.on("readable", tryRead);
    socket.once("close", onClose);
    tryRead();
  });
}

/**
 * A SOCKS5 server with username/password auth (RFC 1929) that only accepts `user`/`pass`, then
 * connects to the requested IPv4 address and pipes.
 */
function socks5AuthProxy(user: string, pass: string, seen: string[]) {
  return (s: net.Socket) => {
    (async () => {
      const [ver, n] = await readN(s, 2);
      const methods = await readN(s, n);
      if (ver !== 5 || !methods.includes(2)) return s.end(Uint8Array.of(5, 0xff));
      s.write(Uint8Array.of(5, 2));
      const [, ulen] = await readN(s, 2);
      const u = new TextDecoder().decode(await readN(s, ulen));
      const [plen] = await readN(s, 1);
      const p = new TextDecoder().decode(await readN(s, plen));
      seen.push(`${u}:${p}`);
      if (u !== user || p !== pass) return s.end(Uint8Array.of(1, 1));
      s.write(Uint8Array.of(1, 0));
      const [, cmd, , atyp] = await readN(s, 4);
      if (cmd !== 1 || atyp !== 1) return s.end(Uint8Array.of(5, 8, 0, 1, 0, 0, 0, 0, 0, 0));
      const addr = await readN(s, 6);
      const target = net.connect({
        host: addr.subarray(0, 4).join("."),
        port: (addr[4] << 8) | addr[5],
      });
      target.on("error", () => s.destroy());
      target.once("connect", () => {
        s.write(Uint8Array.of(5, 0, 0, 1, 127, 0, 0, 1, 0, 0));
        s.pipe(target).pipe(s);
      });
      s.once("close", () => target.destroy());
    })().catch(() => s.destroy());
  };
}

describe("SOCKS5 with username and password", () => {
  it("sends the credentials (RFC 1929) and tunnels; wrong ones are WS_ERR_PROXY_AUTH", async () => {
    const seen: string[] = [];
    await withProxyServer(socks5AuthProxy("bob", "pässword", seen), async (port) => {
      const good = `socks5://bob:p%C3%A4ssword@127.0.0.1:${port}`;
      assert.equal(await echoThrough(plain.url, { proxy: good }), "through the proxy");
      assert.equal(
        await echoThrough(secure.url, { proxy: good, tls: { ca: CA } }),
        "through the proxy",
      );
      const { err } = await failure(plain.url, { proxy: `socks5://bob:guess@127.0.0.1:${port}` });
      assert.ok(err instanceof ProxyError, String(err));
      assert.equal(err.code, "WS_ERR_PROXY_AUTH");
      const none = await failure(plain.url, { proxy: `socks5://127.0.0.1:${port}` });
      assert.equal(none.err.code, "WS_ERR_PROXY_AUTH");
    });
    assert.deepEqual(seen, ["bob:pässword", "bob:pässword", "bob:guess"]);
  });
});

describe("hostile proxies", () => {
  const HANDSHAKE = 400;
  const hostile = async (
    onSocket: (s: net.Socket) => void,
    kind: "http" | "socks5",
  ): Promise<{ err: WSError; ms: number }> => {
    let result!: { err: WSError; ms: number };
    await withProxyServer(onSocket, async (port) => {
      result = await failure(plain.url, {
        proxy: `${kind}://127.0.0.1:${port}`,
        handshakeTimeout: HANDSHAKE,
      });
    });
    return result;
  };

  it("an answer that is not HTTP is WS_ERR_PROXY_INVALID", async () => {
    for (
      const answer of ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2OO OK\r\n\r\n", "\0\0\0\0\r\n\r\n"]
    ) {
      const { err } = await hostile((s) => s.once("data", () => s.write(answer)), "http");
      assert.equal(err.code, "WS_ERR_PROXY_INVALID", answer);
    }
  });

  it("a proxy that hangs fails at the handshake timeout, not later", async () => {
    for (const kind of ["http", "socks5"] as const) {
      const { err, ms } = await hostile(() => {}, kind);
      assert.equal(err.code, "WS_ERR_HANDSHAKE_TIMEOUT", kind);
      assert.ok(ms >= HANDSHAKE - 20 && ms < HANDSHAKE + 1000, `${kind}: ${ms} ms`);
    }
  });

  it("an endless header is refused at maxHeadSize, reading a bounded amount", async () => {
    let sent = 0;
    const { err, ms } = await hostile((s) => {
      s.once("data", () => {
        s.write("HTTP/1.1 200 OK\r\n");
        const chunk = `X-Junk: ${"x".repeat(1000)}\r\n`;
        const pump = () => {
          while (!s.destroyed && sent < 64 * 1024 * 1024) {
            sent += chunk.length;
            if (!s.write(chunk)) return void s.once("drain", pump);
          }
        };
        pump();
      });
    }, "http");
    assert.equal(err.code, "WS_ERR_PROXY_INVALID");
    assert.match(err.message, /too large/);
    assert.ok(ms < HANDSHAKE, `${ms} ms`);
    assert.ok(sent < 8 * 1024 * 1024, `the proxy got to write ${sent} bytes`);
  });

  it("SOCKS5 nonsense is typed: bad version, refusal, cut short, bad address type", async () => {
    const cases: Array<[string, (s: net.Socket) => void, string]> = [
      ["bad version", (s) => s.once("data", () => s.write(Uint8Array.of(4, 0))), "INVALID"],
      [
        "refused",
        (s) =>
          s.once("data", () => {
            s.write(Uint8Array.of(5, 0));
            s.once("data", () => s.write(Uint8Array.of(5, 2, 0, 1, 0, 0, 0, 0, 0, 0)));
          }),
        "REFUSED",
      ],
      ["cut short", (s) => s.once("data", () => s.end(Uint8Array.of(5))), "INVALID"],
      [
        "bad address type",
        (s) =>
          s.once("data", () => {
            s.write(Uint8Array.of(5, 0));
            s.once("data", () => s.write(Uint8Array.of(5, 0, 0, 9, 0, 0)));
          }),
        "INVALID",
      ],
    ];
    for (const [what, play, code] of cases) {
      const { err } = await hostile(play, "socks5");
      assert.ok(err instanceof ProxyError, `${what}: ${err}`);
      assert.equal(err.code, `WS_ERR_PROXY_${code}`, what);
    }
  });

  it("bytes right after the proxy's answer reach the upgrade (ws:) or fail the tunnel (wss:)", async () => {
    const early = (s: net.Socket) =>
      s.once("data", () => s.write("HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 418 Early\r\n\r\n"));
    const { err } = await hostile(early, "http");
    assert.equal(err.code, "WS_ERR_HANDSHAKE_REJECTED");
    assert.ok(err instanceof HandshakeError);
    assert.equal(err.status, 418);
    await withProxyServer(early, async (port) => {
      const r = await failure(secure.url, { proxy: `http://127.0.0.1:${port}`, tls: { ca: CA } });
      assert.equal(r.err.code, "WS_ERR_PROXY_INVALID");
    });
  });

  it("a proxy that is not there is WS_ERR_CONNECT naming the proxy", async () => {
    const dead = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const { err } = await failure(plain.url, { proxy: `http://127.0.0.1:${dead}` });
    assert.equal(err.code, "WS_ERR_CONNECT");
    assert.match(err.message, /proxy/);
  });
});
