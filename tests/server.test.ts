/**
 * Tests of src/server.ts over real loopback sockets: the bytes the server puts on the wire for good
 * and bad upgrade requests, the handshake timeout, shutdown and client tracking.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { connect } from "../src/client.ts";
import { serve, type ServeOptions, type Server } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import {
  clientFrame,
  decodeFrames,
  FIXTURES,
  headEnd,
  once,
  RawClient,
  rawUpgrade,
  withTimeout,
} from "./_helpers.ts";

/** The sample key of RFC 6455 §1.3 and its accept value. */
const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const encoder = new TextEncoder();

type CloseArgs = [code: number, reason: string, wasClean: boolean];

/** A parsed HTTP response, as raw as possible. */
interface RawResponse {
  statusLine: string;
  headers: Headers;
  /** Header names exactly as sent, in order. */
  names: string[];
  body: Uint8Array;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

function parseResponse(b: Uint8Array): RawResponse {
  const end = headEnd(b);
  assert.ok(end > 0, `a complete response head in ${JSON.stringify(latin1(b))}`);
  const [statusLine, ...lines] = latin1(b.subarray(0, end - 4)).split("\r\n");
  const headers = new Headers();
  const names: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    assert.ok(colon > 0, `malformed header line ${JSON.stringify(line)}`);
    names.push(line.slice(0, colon));
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { statusLine, headers, names, body: b.subarray(end) };
}

/** True if the comma-separated header value contains `token` (case-insensitive). */
function hasToken(value: string | null, token: string): boolean {
  return (value ?? "").split(",").some((t) => t.trim().toLowerCase() === token);
}

async function start(
  opts: Partial<ServeOptions> = {},
  handler: (ws: WS) => void = echo,
): Promise<Server> {
  return await serve({ port: 0, hostname: "127.0.0.1", ...opts }, handler);
}

function echo(ws: WS): void {
  ws.on("message", (data) => {
    if (ws.readyState === "open") ws.send(data);
  });
}

/** An upgrade request head with the given request line and header lines. */
function requestOf(requestLine: string, lines: string[]): string {
  return [requestLine, ...lines].join("\r\n") + "\r\n\r\n";
}

const GOOD_HEADERS = [
  "Host: 127.0.0.1",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Key: ${RFC_KEY}`,
  "Sec-WebSocket-Version: 13",
];

/** GOOD_HEADERS without the header `name`, and with `replacement` lines added. */
function headersWithout(name: string, ...replacement: string[]): string[] {
  const lower = name.toLowerCase() + ":";
  return [...GOOD_HEADERS.filter((l) => !l.toLowerCase().startsWith(lower)), ...replacement];
}

/** Resolves once a TCP connect to `port` fails, with the error code; rejects if it connects. */
function connectError(port: number): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" });
      s.once("connect", () => {
        s.destroy();
        reject(new Error(`connected to port ${port}, which should be closed`));
      });
      s.once("error", (err: NodeJS.ErrnoException) => {
        s.destroy();
        resolve(err.code ?? err.message);
      });
    }),
    5000,
    "the TCP connect to fail",
  );
}

/** Connects a wsdriver client and waits for it to open. */
async function opened(url: string, opts: Parameters<typeof connect>[1] = {}): Promise<WS> {
  const ws = connect(url, opts);
  const failed = new Promise<never>((_, reject) =>
    ws.once("error", (err) => reject(new Error(`client failed: ${err.code} ${err.message}`)))
  );
  await Promise.race([once(ws, "open"), failed]);
  return ws;
}

/** Closes a client and waits for its close event (bounded); never throws. */
async function closeClient(ws: WS | undefined): Promise<void> {
  if (ws === undefined || ws.readyState === "closed") return;
  const closed = once(ws, "close", 6000).catch(() => {});
  if (ws.readyState === "connecting" || ws.readyState === "open") ws.close();
  await closed;
}

interface BadRequestCase {
  name: string;
  /** Bytes sent (one write). */
  send: string;
  statusLine: string;
  /** Headers the response must carry (value compared case-insensitively as a token list). */
  headers?: Record<string, string>;
}

const BAD_REQUESTS: BadRequestCase[] = [
  {
    name: "POST instead of GET",
    send: requestOf("POST / HTTP/1.1", GOOD_HEADERS),
    statusLine: "HTTP/1.1 405 Method Not Allowed",
    headers: { Allow: "GET" },
  },
  {
    name: "HTTP/1.0",
    send: requestOf("GET / HTTP/1.0", GOOD_HEADERS),
    statusLine: "HTTP/1.1 400 Bad Request",
  },
  {
    name: "missing Host",
    send: requestOf("GET / HTTP/1.1", headersWithout("Host")),
    statusLine: "HTTP/1.1 400 Bad Request",
  },
  {
    name: "plain GET without Upgrade",
    send: requestOf("GET / HTTP/1.1", ["Host: 127.0.0.1"]),
    statusLine: "HTTP/1.1 426 Upgrade Required",
    headers: { Upgrade: "websocket" },
  },
  {
    name: "Sec-WebSocket-Version: 8",
    send: requestOf(
      "GET / HTTP/1.1",
      headersWithout("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"),
    ),
    statusLine: "HTTP/1.1 426 Upgrade Required",
    headers: { "Sec-WebSocket-Version": "13" },
  },
  {
    name: "missing Sec-WebSocket-Key",
    send: requestOf("GET / HTTP/1.1", headersWithout("Sec-WebSocket-Key")),
    statusLine: "HTTP/1.1 400 Bad Request",
  },
  {
    name: "a 15-byte Sec-WebSocket-Key",
    send: requestOf(
      "GET / HTTP/1.1",
      headersWithout("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${btoa("0123456789abcde")}`),
    ),
    statusLine: "HTTP/1.1 400 Bad Request",
  },
  {
    name: "no Connection: upgrade",
    send: requestOf("GET / HTTP/1.1", headersWithout("Connection", "Connection: keep-alive")),
    statusLine: "HTTP/1.1 400 Bad Request",
  },
  {
    name: "garbage request line",
    send: "HELLO\r\n\r\n",
    statusLine: "HTTP/1.1 400 Bad Request",
  },
  {
    name: "a head over maxHeadSize (1024), without its final blank line",
    send: (() => {
      const start = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";
      return start + "a".repeat(2000 - start.length - 2) + "\r\n";
    })(),
    statusLine: "HTTP/1.1 431 Request Header Fields Too Large",
  },
];

/** Sends `c.send` to a fresh server and returns the response, after the server closed. */
async function rejectOf(c: BadRequestCase): Promise<RawResponse> {
  const server = await start({ maxHeadSize: 1024 });
  let raw: RawClient | undefined;
  try {
    raw = await RawClient.connect(server.port);
    raw.write(c.send);
    await raw.waitClosed(3000);
    return parseResponse(raw.received);
  } finally {
    raw?.destroy();
    await server.close();
  }
}

describe("serve: bad upgrade requests", () => {
  it("the 2000-byte case really is 2000 bytes without a blank line", () => {
    const big = BAD_REQUESTS[BAD_REQUESTS.length - 1].send;
    assert.equal(encoder.encode(big).length, 2000);
    assert.ok(!big.includes("\r\n\r\n"));
  });

  for (const c of BAD_REQUESTS) {
    it(`${c.name} → ${c.statusLine.slice(9)}, then the server closes`, async () => {
      const res = await rejectOf(c);
      assert.equal(res.statusLine, c.statusLine);
      for (const [name, value] of Object.entries(c.headers ?? {})) {
        assert.ok(
          hasToken(res.headers.get(name), value.toLowerCase()),
          `${name}: ${value} in ${JSON.stringify(res.names)} (got ${res.headers.get(name)})`,
        );
      }
      const length = res.headers.get("content-length");
      assert.notEqual(length, null, "a Content-Length header");
      assert.equal(Number(length), res.body.length, "Content-Length matches the body");
      assert.ok(!hasToken(res.headers.get("upgrade"), "websocket") || c.statusLine.includes("426"));
      assert.equal(res.headers.get("sec-websocket-accept"), null);
    });
  }

  // RFC 9112 §9.6: "A server that does not support persistent connections MUST send the "close"
  // connection option in every response message that does not have a 1xx status code." The server
  // closes the connection after every refusal, so every refusal must say so.
  it("every refusal carries Connection: close, since the server closes the connection", async () => {
    const missing: string[] = [];
    for (const c of BAD_REQUESTS) {
      const res = await rejectOf(c);
      if (!hasToken(res.headers.get("connection"), "close")) {
        missing.push(`${c.name}: Connection: ${res.headers.get("connection")}`);
      }
    }
    assert.deepEqual(missing, [], "refusals without Connection: close");
  });
});

describe("serve: the 101 answer", () => {
  it("accepts header names and tokens in any case", async () => {
    const server = await start();
    const raw = await RawClient.connect(server.port);
    try {
      raw.write(
        requestOf("GET /x HTTP/1.1", [
          "host: 127.0.0.1",
          "upgrade: WebSocket",
          "connection: keep-alive, Upgrade",
          `sec-websocket-key: ${RFC_KEY}`,
          "sec-websocket-version: 13",
        ]),
      );
      const b = await raw.waitFor((r) => headEnd(r) > 0, 5000, "the response head");
      const res = parseResponse(b);
      assert.equal(res.statusLine, "HTTP/1.1 101 Switching Protocols");
      assert.equal(res.headers.get("sec-websocket-accept"), RFC_ACCEPT);
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("has the RFC 6455 accept value, the configured extra headers and no body", async () => {
    const server = await start({
      headers: { "X-Powered-By": "wsdriver-test", "Set-Cookie": "session=abc; HttpOnly" },
    });
    const raw = await RawClient.connect(server.port);
    try {
      const end = await rawUpgrade(raw);
      const res = parseResponse(raw.received);
      assert.equal(res.statusLine, "HTTP/1.1 101 Switching Protocols");
      assert.equal(res.headers.get("sec-websocket-accept"), RFC_ACCEPT);
      assert.ok(hasToken(res.headers.get("upgrade"), "websocket"));
      assert.ok(hasToken(res.headers.get("connection"), "upgrade"));
      assert.equal(res.headers.get("x-powered-by"), "wsdriver-test");
      assert.equal(res.headers.get("set-cookie"), "session=abc; HttpOnly");
      assert.equal(res.headers.get("sec-websocket-protocol"), null, "no subprotocol offered");
      assert.equal(res.headers.get("sec-websocket-extensions"), null);
      assert.equal(res.headers.get("content-length"), null, "no Content-Length on a 101");
      for (const name of ["upgrade", "connection", "sec-websocket-accept"]) {
        assert.equal(
          res.names.filter((n) => n.toLowerCase() === name).length,
          1,
          `${name} sent once`,
        );
      }
      assert.equal(raw.received.length, end, "nothing follows the head");
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("selects the first subprotocol the client offers that the server speaks", async () => {
    const seen: string[] = [];
    const server = await start({ protocols: ["b", "a"] }, (ws) => {
      seen.push(ws.protocol);
      echo(ws);
    });
    const raw = await RawClient.connect(server.port);
    try {
      await rawUpgrade(raw, "/", "Sec-WebSocket-Protocol: a, b\r\n");
      const res = parseResponse(raw.received);
      assert.equal(res.headers.get("sec-websocket-protocol"), "a");
      assert.deepEqual(seen, ["a"]);
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("answers without Sec-WebSocket-Protocol when no offered subprotocol matches", async () => {
    const seen: string[] = [];
    const server = await start({ protocols: ["b", "a"] }, (ws) => {
      seen.push(ws.protocol);
      echo(ws);
    });
    const raw = await RawClient.connect(server.port);
    let ws: WS | undefined;
    try {
      const end = await rawUpgrade(raw, "/", "Sec-WebSocket-Protocol: c\r\n");
      const res = parseResponse(raw.received);
      assert.equal(res.statusLine, "HTTP/1.1 101 Switching Protocols");
      assert.equal(res.headers.get("sec-websocket-protocol"), null);
      // The connection works: an echo comes back.
      raw.write(clientFrame(0x1, "still here"));
      const got = await raw.waitFor(
        (r) => decodeFrames(r.subarray(end)).length > 0,
        5000,
        "the echo",
      );
      const [frame] = decodeFrames(got.subarray(end));
      assert.equal(frame.opcode, 0x1);
      assert.equal(new TextDecoder().decode(frame.payload), "still here");
      // And a wsdriver client offering only "c" opens with no subprotocol.
      ws = await opened(server.url, { protocols: ["c"] });
      assert.equal(ws.protocol, "");
      assert.deepEqual(seen, ["", ""]);
    } finally {
      raw.destroy();
      await closeClient(ws);
      await server.close();
    }
  });
});

describe("serve: data around the handshake", () => {
  it("delivers frames sent in the same TCP write as the upgrade request", async () => {
    const server = await start();
    const raw = await RawClient.connect(server.port);
    try {
      const head = encoder.encode(requestOf("GET / HTTP/1.1", GOOD_HEADERS));
      const f1 = clientFrame(0x1, "early bird");
      const f2 = clientFrame(0x2, new Uint8Array([0, 1, 2, 255]));
      const all = new Uint8Array(head.length + f1.length + f2.length);
      all.set(head);
      all.set(f1, head.length);
      all.set(f2, head.length + f1.length);
      raw.write(all);
      const got = await raw.waitFor(
        (r) => headEnd(r) > 0 && decodeFrames(r.subarray(headEnd(r))).length >= 2,
        5000,
        "the 101 and two echoed frames",
      );
      assert.equal(parseResponse(got).statusLine, "HTTP/1.1 101 Switching Protocols");
      const frames = decodeFrames(got.subarray(headEnd(got)));
      assert.deepEqual(frames.map((f) => [f.fin, f.opcode]), [[true, 1], [true, 2]]);
      assert.equal(new TextDecoder().decode(frames[0].payload), "early bird");
      assert.deepEqual(frames[1].payload, new Uint8Array([0, 1, 2, 255]));
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("runs the handler before delivering messages that came with the handshake", async () => {
    const order: string[] = [];
    let gotMessage!: () => void;
    const messaged = new Promise<void>((r) => (gotMessage = r));
    const server = await start({}, (ws) => {
      order.push(`handler:${ws.readyState}`);
      ws.on("open", () => order.push("open"));
      ws.on("message", (data) => {
        order.push(`message:${data}`);
        gotMessage();
      });
    });
    const raw = await RawClient.connect(server.port);
    try {
      const head = encoder.encode(requestOf("GET / HTTP/1.1", GOOD_HEADERS));
      const frame = clientFrame(0x1, "first");
      const all = new Uint8Array(head.length + frame.length);
      all.set(head);
      all.set(frame, head.length);
      raw.write(all);
      await withTimeout(messaged, 5000, "the message");
      assert.deepEqual(order, ["handler:open", "open", "message:first"]);
    } finally {
      raw.destroy();
      await server.close();
    }
  });
});

describe("serve: the closing handshake", () => {
  it("closes the TCP connection once both close frames are out, without waiting for the client's FIN", async () => {
    let closed!: Promise<CloseArgs>;
    const server = await start({ closeTimeout: 30_000 }, (ws) => {
      closed = once<CloseArgs>(ws, "close", 5000);
    });
    // Half-open allowed: the client never ends its side, not even when the server's FIN arrives.
    const socket = net.connect({ port: server.port, host: "127.0.0.1", allowHalfOpen: true });
    await once(socket, "connect");
    const raw = new RawClient(socket);
    try {
      const at = await rawUpgrade(raw);
      const ended = once(socket, "end");
      raw.write(clientFrame(0x8, new Uint8Array([0x03, 0xe8])));
      // Waiting for the client's FIN, the server would report the close after its closeTimeout.
      assert.deepEqual(await closed, [1000, "", true]);
      await ended;
      const frames = decodeFrames(raw.received.subarray(at));
      assert.deepEqual(frames.map((f) => [f.opcode, [...f.payload]]), [[0x8, [0x03, 0xe8]]]);
    } finally {
      raw.destroy();
      await server.close();
    }
  });
});

describe("serve: handshake timeout", () => {
  it("drops a client that sends nothing, and one that sends its head too slowly", async () => {
    const server = await start({ handshakeTimeout: 300 });
    let silent: RawClient | undefined, slow: RawClient | undefined;
    let interval: ReturnType<typeof setInterval> | undefined;
    try {
      const t0 = Date.now();
      silent = await RawClient.connect(server.port);
      slow = await RawClient.connect(server.port);
      const s = slow;
      s.write("GET / HTTP/1.1\r\n");
      let sent = 0;
      interval = setInterval(() => {
        if (s.ended || sent >= 200) return clearInterval(interval);
        s.write(`X-Slow-${sent++}: drip\r\n`);
      }, 50);
      const took = async (c: RawClient) => {
        await c.waitClosed(5000);
        return Date.now() - t0;
      };
      const [tSilent, tSlow] = await Promise.all([took(silent), took(slow)]);
      for (const [name, t] of [["silent", tSilent], ["slow", tSlow]] as const) {
        assert.ok(t >= 250 && t <= 3000, `${name} client dropped after ${t} ms`);
      }
      assert.ok(sent >= 2, `the slow client did send (${sent} lines)`);
      for (const c of [silent, slow]) {
        assert.ok(!latin1(c.received).includes("101"), "no 101 answer");
      }
      assert.equal(server.clients.size, 0);
    } finally {
      clearInterval(interval);
      silent?.destroy();
      slow?.destroy();
      await server.close();
    }
  });

  it("over TLS, also drops a client that never starts the TLS handshake", async () => {
    const tls = {
      cert: readFileSync(join(FIXTURES, "cert.pem"), "utf8"),
      key: readFileSync(join(FIXTURES, "key.pem"), "utf8"),
    };
    const server = await start({ tls, handshakeTimeout: 300 });
    let raw: RawClient | undefined;
    try {
      const t0 = Date.now();
      raw = await RawClient.connect(server.port);
      await raw.waitClosed(3000);
      const took = Date.now() - t0;
      assert.ok(took >= 250 && took <= 3000, `dropped after ${took} ms`);
    } finally {
      raw?.destroy();
      await server.close();
    }
  });

  it("does not drop a connection once the handshake is done", async () => {
    const server = await start({ handshakeTimeout: 300 });
    let ws: WS | undefined;
    try {
      ws = await opened(server.url);
      // Well past the handshake timeout the socket is still there, and still echoes.
      const dropped = await once(ws, "close", 800).then(() => true, () => false);
      assert.equal(dropped, false, "closed by the handshake timer");
      const msg = once<[string, boolean]>(ws, "message");
      ws.send("still open");
      assert.deepEqual(await msg, ["still open", false]);
      assert.equal(ws.readyState, "open");
    } finally {
      await closeClient(ws);
      await server.close();
    }
  });
});

describe("serve: clients and shutdown", () => {
  it("close() ends every client with 1001, stops listening and resolves", async () => {
    const server = await start();
    const port = server.port;
    let a: WS | undefined, b: WS | undefined;
    try {
      a = await opened(server.url);
      b = await opened(server.url);
      assert.equal(server.clients.size, 2);
      const closedA = once<CloseArgs>(a, "close");
      const closedB = once<CloseArgs>(b, "close");
      await withTimeout(server.close(), 6000, "server.close()");
      assert.deepEqual(await closedA, [1001, "server shutting down", true]);
      assert.deepEqual(await closedB, [1001, "server shutting down", true]);
      assert.equal(server.clients.size, 0);
      assert.equal(await connectError(port), "ECONNREFUSED");
      // A second call returns at once.
      await withTimeout(server.close(), 1000, "a second server.close()");
    } finally {
      await closeClient(a);
      await closeClient(b);
      await server.close();
    }
  });

  it("close(code, reason) sends that code and reason", async () => {
    const server = await start();
    let ws: WS | undefined;
    try {
      ws = await opened(server.url);
      const closed = once<CloseArgs>(ws, "close");
      await withTimeout(server.close(4000, "bye"), 6000, "server.close()");
      assert.deepEqual(await closed, [4000, "bye", true]);
      assert.equal(server.clients.size, 0);
    } finally {
      await closeClient(ws);
      await server.close();
    }
  });

  it("close() also drops connections still in their handshake", async () => {
    const server = await start();
    const raw = await RawClient.connect(server.port);
    try {
      raw.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      // The server must have seen the connection before close() for this to mean anything: a
      // second, complete handshake on another connection proves the server is accepting.
      const probe = await RawClient.connect(server.port);
      await rawUpgrade(probe);
      probe.destroy();
      await withTimeout(server.close(), 6000, "server.close()");
      await raw.waitClosed(3000);
      assert.ok(!latin1(raw.received).includes("101"));
    } finally {
      raw.destroy();
      await server.close();
    }
  });

  it("server.clients tracks open sockets: 0 → 2 → 1", async () => {
    const serverSide: WS[] = [];
    const server = await start({}, (ws) => {
      serverSide.push(ws);
      echo(ws);
    });
    let a: WS | undefined, b: WS | undefined;
    try {
      assert.equal(server.clients.size, 0);
      a = await opened(server.url);
      b = await opened(server.url);
      assert.equal(server.clients.size, 2);
      assert.deepEqual(new Set(server.clients), new Set(serverSide));
      assert.deepEqual([...server.clients.values()].length, 2);
      let visited = 0;
      server.clients.forEach((ws, same, set) => {
        assert.equal(ws, same);
        assert.equal(set, server.clients);
        visited++;
      });
      assert.equal(visited, 2);
      // `a` opened before `b` connected, so the first server-side socket is a's.
      const first = serverSide[0];
      const closed = once<CloseArgs>(first, "close");
      a.close(1000, "leaving");
      assert.deepEqual(await closed, [1000, "leaving", true]);
      assert.equal(server.clients.size, 1);
      assert.ok(!server.clients.has(first));
      assert.ok(server.clients.has(serverSide[1]));
    } finally {
      await closeClient(a);
      await closeClient(b);
      await server.close();
    }
  });

  it("survives clients that leave mid-handshake and serves the next one", async () => {
    const server = await start();
    let ws: WS | undefined;
    try {
      // One half-closes after a partial head: the server answers by closing.
      const halfClose = await RawClient.connect(server.port);
      halfClose.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr");
      halfClose.socket.end();
      await halfClose.waitClosed(3000);
      assert.equal(halfClose.received.length, 0, "no answer to half a request");
      // One drops the connection right after a partial head.
      const dropped = await RawClient.connect(server.port);
      dropped.write("GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-WebSocket-");
      dropped.destroy();
      await dropped.waitClosed(3000);
      // The next client is served normally.
      ws = await opened(server.url);
      const msg = once<[string, boolean]>(ws, "message");
      ws.send("after the dropouts");
      assert.deepEqual(await msg, ["after the dropouts", false]);
      assert.equal(server.clients.size, 1);
    } finally {
      await closeClient(ws);
      await server.close();
    }
  });
});
