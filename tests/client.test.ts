/**
 * Tests of src/client.ts over real loopback sockets: a raw node:net server plays good and bad
 * servers byte by byte; the real wsdriver server covers the happy paths, over TCP and TLS.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { connect, type ConnectOptions } from "../src/client.ts";
import { HandshakeError, ProtocolError, StateError, TimeoutError, WSError } from "../src/errors.ts";
import { serve, type ServeOptions, type Server } from "../src/server.ts";
import type { WS } from "../src/ws.ts";
import { clientFrame, closeCodeOf, FIXTURES, headEnd, RawClient, withTimeout } from "./_helpers.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type CloseArgs = [code: number, reason: string, wasClean: boolean];

/** Sec-WebSocket-Accept for a key, computed here independently of src/. */
function acceptFor(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** An unmasked frame, as a server sends it (payload under 126 bytes). */
function serverFrame(opcode: number, payload: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  assert.ok(data.length < 126);
  return concat(new Uint8Array([0x80 | opcode, data.length]), data);
}

/** A close payload: 2-byte code and UTF-8 reason. */
function closePayload(code: number, reason = ""): Uint8Array {
  return concat(new Uint8Array([code >> 8, code & 0xff]), encoder.encode(reason));
}

/** A frame as a client sends it, with its mask. */
interface MaskedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  mask: Uint8Array;
  /** Unmasked payload. */
  payload: Uint8Array;
}

/** Decodes complete frames (masked or not) from `b`; an incomplete tail is ignored. */
function decodeClientFrames(b: Uint8Array): MaskedFrame[] {
  const out: MaskedFrame[] = [];
  let p = 0;
  for (let guard = 0; guard < 10_000 && p + 2 <= b.length; guard++) {
    const masked = (b[p + 1] & 0x80) !== 0;
    let len = b[p + 1] & 0x7f;
    let h = 2;
    if (len === 126) {
      if (p + 4 > b.length) break;
      len = (b[p + 2] << 8) | b[p + 3];
      h = 4;
    } else if (len === 127) {
      if (p + 10 > b.length) break;
      len = Number(new DataView(b.buffer, b.byteOffset + p + 2, 8).getBigUint64(0));
      h = 10;
    }
    const maskLen = masked ? 4 : 0;
    if (p + h + maskLen + len > b.length) break;
    const mask = b.slice(p + h, p + h + maskLen);
    const payload = b.slice(p + h + maskLen, p + h + maskLen + len);
    if (masked) { for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3]; }
    out.push({
      fin: (b[p] & 0x80) !== 0,
      rsv: (b[p] >> 4) & 0x7,
      opcode: b[p] & 0x0f,
      masked,
      mask,
      payload,
    });
    p += h + maskLen + len;
  }
  return out;
}

/** One TCP connection accepted by a {@link RawServer}: a {@link RawClient} that can read requests. */
class Peer extends RawClient {
  /** Waits for the client's upgrade request; returns its head (without the blank line). */
  async request(): Promise<RequestSeen> {
    const b = await this.waitFor((r) => headEnd(r) > 0, 5000, "the upgrade request");
    const end = headEnd(b);
    const [requestLine, ...lines] = latin1(b.subarray(0, end - 4)).split("\r\n");
    const headers = new Headers();
    const names: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(":");
      assert.ok(colon > 0, `malformed header line ${JSON.stringify(line)}`);
      names.push(line.slice(0, colon));
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    return { requestLine, headers, names, end };
  }
}

interface RequestSeen {
  requestLine: string;
  headers: Headers;
  names: string[];
  /** Index just past the head in `received`. */
  end: number;
}

/** A node:net server on 127.0.0.1 that hands out its connections as {@link Peer}s. */
class RawServer {
  readonly server: net.Server;
  readonly peers: Peer[] = [];
  #waiters: Array<() => void> = [];
  port = 0;

  private constructor() {
    this.server = net.createServer((socket) => {
      this.peers.push(new Peer(socket));
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    });
  }

  static async listen(): Promise<RawServer> {
    const s = new RawServer();
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        s.server.once("error", reject);
        s.server.listen(0, "127.0.0.1", () => resolve());
      }),
      5000,
      "the raw server to listen",
    );
    s.port = (s.server.address() as net.AddressInfo).port;
    return s;
  }

  /** The `i`-th accepted connection (waits for it). */
  async peer(i = 0, ms = 5000): Promise<Peer> {
    const deadline = Date.now() + ms;
    while (this.peers.length <= i) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no connection #${i} within ${ms} ms`);
      await withTimeout(new Promise<void>((r) => this.#waiters.push(r)), left, "a connection")
        .catch(() => {});
    }
    return this.peers[i];
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.destroy();
    await withTimeout(
      new Promise<void>((resolve) => this.server.close(() => resolve())),
      5000,
      "the raw server to close",
    );
  }
}

/** Everything a client reported until its close event. */
interface Outcome {
  events: string[];
  error: WSError | undefined;
  close: CloseArgs;
}

/** Records open/error/close of `ws` (attach right after connect) until `close`, bounded. */
function outcome(ws: WS, ms = 5000): Promise<Outcome> {
  const events: string[] = [];
  let error: WSError | undefined;
  ws.on("open", () => events.push("open"));
  ws.on("error", (err) => {
    events.push("error");
    error = err;
  });
  return withTimeout(
    new Promise<Outcome>((resolve) =>
      ws.once("close", (...close) => {
        events.push("close");
        resolve({ events, error, close });
      })
    ),
    ms,
    "the client's close event",
  );
}

/** Waits for `open`; rejects on `error` or after a bound. */
function opened(ws: WS, ms = 5000): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", (err) => reject(new Error(`client failed: ${err.code}: ${err.message}`)));
    }),
    ms,
    "the client to open",
  );
}

/** Closes a client (if needed) and waits for its close event, bounded; never throws. */
async function closeClient(ws: WS | undefined): Promise<void> {
  if (ws === undefined || ws.readyState === "closed") return;
  const closed = withTimeout(
    new Promise<void>((r) => ws.once("close", () => r())),
    6000,
    "close",
  ).catch(() => {});
  if (ws.readyState !== "closing") ws.close();
  await closed;
}

/** Drops a client at once (no closing handshake) and waits for its close event, bounded. */
async function dropClient(ws: WS | undefined): Promise<void> {
  if (ws === undefined || ws.readyState === "closed") return;
  const closed = withTimeout(
    new Promise<void>((r) => ws.once("close", () => r())),
    6000,
    "close",
  ).catch(() => {});
  ws.terminate();
  await closed;
}

/** The next message of `ws`, bounded. */
function nextMessage(ws: WS, ms = 5000): Promise<[string | Uint8Array, boolean]> {
  return withTimeout(
    new Promise<[string | Uint8Array, boolean]>((r) => ws.once("message", (d, b) => r([d, b]))),
    ms,
    "a message",
  );
}

async function echoServer(opts: Partial<ServeOptions> = {}): Promise<Server> {
  return await serve({ port: 0, hostname: "127.0.0.1", ...opts }, (ws) => {
    ws.on("message", (data) => {
      if (ws.readyState === "open") ws.send(data);
    });
  });
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A correct 101 answer to `req`, with extra header lines. */
function switching(req: RequestSeen, extra: string[] = []): string {
  const key = req.headers.get("sec-websocket-key") ?? "";
  return [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${acceptFor(key)}`,
    ...extra,
  ].join("\r\n") + "\r\n\r\n";
}

/** Connects to a raw server and completes the handshake by hand; returns the open client. */
/**
 * Runs `body` against a fresh {@link RawServer} and returns its result: the client it passes to
 * `track` is dropped and the server closed afterwards, whether `body` passed or failed.
 */
async function withRawServer<T>(
  body: (raw: RawServer, track: (ws: WS) => WS) => Promise<T>,
): Promise<T> {
  const raw = await RawServer.listen();
  let ws: WS | undefined;
  try {
    return await body(raw, (client) => (ws = client));
  } finally {
    await dropClient(ws);
    await raw.close();
  }
}

async function rawSession(
  raw: RawServer,
  opts: ConnectOptions = {},
  after: (req: RequestSeen) => Uint8Array = () => new Uint8Array(0),
): Promise<{ ws: WS; peer: Peer; req: RequestSeen }> {
  const ws = connect(raw.url, opts);
  const open = opened(ws);
  const peer = await raw.peer(raw.peers.length);
  const req = await peer.request();
  peer.write(concat(encoder.encode(switching(req)), after(req)));
  await open;
  return { ws, peer, req };
}

describe("connect: URLs", () => {
  it("throws a TypeError synchronously for non-WebSocket URLs and fragments", () => {
    for (const url of ["http://x", "https://x/", "ftp://x", "ws://x/#frag", "wss://x/path#a"]) {
      assert.throws(() => connect(url), TypeError, url);
    }
    assert.throws(() => connect("not a url"), TypeError);
  });

  it("accepts ws:// URLs (string or URL object)", async () => {
    const server = await echoServer();
    let a: WS | undefined, b: WS | undefined;
    try {
      a = connect(server.url);
      b = connect(new URL(`${server.url}/path?q=1`));
      assert.equal(a.readyState, "connecting");
      await Promise.all([opened(a), opened(b)]);
      assert.equal(b.url, `${server.url}/path?q=1`);
    } finally {
      await closeClient(a);
      await closeClient(b);
      await server.close();
    }
  });
});

describe("connect: the upgrade request on the wire", () => {
  it("sends GET, path and query, Host with port, a fresh key, version, protocols and headers", async () => {
    const raw = await RawServer.listen();
    const clients: WS[] = [];
    try {
      const keys: string[] = [];
      for (let i = 0; i < 2; i++) {
        const ws = connect(`${raw.url}/chat/room?x=1&y=%20two`, {
          protocols: ["chat", "superchat"],
          headers: { Origin: "http://example.com", "X-Custom": "yes", Authorization: "Bearer t" },
        });
        clients.push(ws);
        const open = opened(ws);
        const peer = await raw.peer(i);
        const req = await peer.request();
        assert.equal(req.requestLine, "GET /chat/room?x=1&y=%20two HTTP/1.1");
        const h = req.headers;
        assert.equal(h.get("host"), `127.0.0.1:${raw.port}`);
        assert.equal(h.get("upgrade")?.toLowerCase(), "websocket");
        assert.ok(h.get("connection")!.toLowerCase().split(/\s*,\s*/).includes("upgrade"));
        const key = h.get("sec-websocket-key")!;
        assert.match(key, /^[A-Za-z0-9+/]{22}==$/, "24 chars of base64");
        assert.equal(atob(key).length, 16, "16 bytes");
        keys.push(key);
        assert.equal(h.get("sec-websocket-version"), "13");
        assert.equal(h.get("sec-websocket-protocol"), "chat, superchat");
        assert.equal(h.get("origin"), "http://example.com");
        assert.equal(h.get("x-custom"), "yes");
        assert.equal(h.get("authorization"), "Bearer t");
        assert.equal(h.get("sec-websocket-extensions"), null, "no extension offered");
        assert.equal(
          req.names.filter((n) => n.toLowerCase() === "host").length,
          1,
          "one Host header",
        );
        assert.equal(peer.received.length, req.end, "nothing after the head");
        peer.write(switching(req, ["Sec-WebSocket-Protocol: superchat"]));
        await open;
        assert.equal(ws.protocol, "superchat");
      }
      assert.notEqual(keys[0], keys[1], "a fresh key per connection");
    } finally {
      await Promise.all(clients.map(dropClient));
      await raw.close();
    }
  });

  it("omits Sec-WebSocket-Protocol when no subprotocol is offered", async () => {
    await withRawServer(async (raw, track) => {
      const s = await rawSession(raw);
      const ws = track(s.ws);
      assert.equal(s.req.requestLine, "GET / HTTP/1.1");
      assert.equal(s.req.headers.get("sec-websocket-protocol"), null);
      assert.equal(ws.protocol, "");
    });
  });
});

interface BadAnswer {
  name: string;
  /** What the raw server answers to the request (it then leaves the connection open). */
  answer: (req: RequestSeen) => string;
  code: string;
  status?: number;
  options?: ConnectOptions;
}

const BAD_ANSWERS: BadAnswer[] = [
  {
    name: "403 Forbidden",
    answer: () => "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nConnection: close\r\n\r\nnope!\n",
    code: "WS_ERR_HANDSHAKE_REJECTED",
    status: 403,
  },
  {
    name: "404 Not Found",
    answer: () => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    code: "WS_ERR_HANDSHAKE_REJECTED",
    status: 404,
  },
  {
    name: "a 200 OK to an upgrade",
    answer: () => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    code: "WS_ERR_HANDSHAKE_REJECTED",
    status: 200,
  },
  {
    name: "a wrong Sec-WebSocket-Accept",
    answer: () =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptFor("dGhlIHNhbXBsZSBub25jZQ==")}\r\n\r\n`,
    code: "WS_ERR_HANDSHAKE_INVALID",
    status: 101,
  },
  {
    name: "no Sec-WebSocket-Accept",
    answer: () =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    code: "WS_ERR_HANDSHAKE_INVALID",
    status: 101,
  },
  {
    name: "a 101 without Upgrade",
    answer: (req) =>
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptFor(req.headers.get("sec-websocket-key")!)}\r\n\r\n`,
    code: "WS_ERR_HANDSHAKE_INVALID",
    status: 101,
  },
  {
    name: "a 101 without Connection: upgrade",
    answer: (req) =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
      `Sec-WebSocket-Accept: ${acceptFor(req.headers.get("sec-websocket-key")!)}\r\n\r\n`,
    code: "WS_ERR_HANDSHAKE_INVALID",
    status: 101,
  },
  {
    name: "a subprotocol that was not offered",
    answer: (req) => switching(req, ["Sec-WebSocket-Protocol: other"]),
    code: "WS_ERR_HANDSHAKE_INVALID",
    status: 101,
    options: { protocols: ["chat"] },
  },
  {
    name: "a subprotocol when none was offered",
    answer: (req) => switching(req, ["Sec-WebSocket-Protocol: chat"]),
    code: "WS_ERR_HANDSHAKE_INVALID",
    status: 101,
  },
  {
    name: "an extension that was not offered",
    answer: (req) => switching(req, ["Sec-WebSocket-Extensions: permessage-deflate"]),
    code: "WS_ERR_HANDSHAKE_INVALID",
    status: 101,
  },
  {
    name: "garbage instead of HTTP",
    answer: () => "SSH-2.0-OpenSSH_9.6\r\nthis is not http\r\n\r\n",
    code: "WS_ERR_HANDSHAKE_INVALID",
  },
  {
    name: "a response head over maxHeadSize",
    answer: () => "HTTP/1.1 101 Switching Protocols\r\nX-Padding: " + "p".repeat(2000) + "\r\n",
    code: "WS_ERR_HANDSHAKE_INVALID",
    options: { maxHeadSize: 1024 },
  },
];

/** Connects to a raw server that answers with `answer` (or closes); returns the outcome. */
async function badAnswer(
  answer: ((req: RequestSeen) => string) | "close",
  options: ConnectOptions = {},
): Promise<Outcome> {
  return await withRawServer(async (raw, track) => {
    const ws = track(connect(raw.url, options));
    const result = outcome(ws);
    const peer = await raw.peer();
    const req = await peer.request();
    if (answer === "close") peer.socket.end();
    else peer.write(answer(req));
    const out = await result;
    assert.equal(ws.readyState, "closed");
    // The client gives the connection up: its side of TCP closes.
    if (answer !== "close") peer.socket.end();
    await peer.waitClosed(3000);
    return out;
  });
}

function assertFailed(out: Outcome, code: string, cls: typeof WSError = WSError): void {
  assert.deepEqual(out.events, ["error", "close"]);
  assert.ok(out.error instanceof cls, `${out.error?.name} is a ${cls.name}`);
  assert.equal(out.error.code, code, out.error.message);
  assert.deepEqual(out.close, [1006, "", false]);
}

describe("connect: bad servers", () => {
  for (const c of BAD_ANSWERS) {
    it(`${c.name} → ${c.code}, then close 1006`, async () => {
      const out = await badAnswer(c.answer, c.options);
      assertFailed(out, c.code, HandshakeError);
      assert.equal((out.error as HandshakeError).status, c.status);
    });
  }

  it("the server closing without an answer → WS_ERR_HANDSHAKE_INVALID, then close 1006", async () => {
    const out = await badAnswer("close");
    assertFailed(out, "WS_ERR_HANDSHAKE_INVALID", HandshakeError);
  });

  it("a server that never answers → TimeoutError WS_ERR_HANDSHAKE_TIMEOUT after handshakeTimeout", async () => {
    await withRawServer(async (raw, track) => {
      const t0 = Date.now();
      const ws = track(connect(raw.url, { handshakeTimeout: 300 }));
      const result = outcome(ws);
      const peer = await raw.peer();
      await peer.request();
      const out = await result;
      const took = Date.now() - t0;
      assertFailed(out, "WS_ERR_HANDSHAKE_TIMEOUT", TimeoutError);
      assert.ok(took >= 250 && took <= 3000, `timed out after ${took} ms`);
      assert.equal(ws.readyState, "closed");
      await peer.waitClosed(3000);
    });
  });

  it("connection refused → WS_ERR_CONNECT, then close 1006", async () => {
    const port = await closedPort();
    const ws = connect(`ws://127.0.0.1:${port}`);
    const out = await outcome(ws);
    assertFailed(out, "WS_ERR_CONNECT");
    assert.ok(out.error?.cause !== undefined, "the socket error is the cause");
    assert.equal(ws.readyState, "closed");
  });
});

describe("connect: abandoning the attempt", () => {
  it("an AbortSignal aborts a pending handshake with WS_ERR_ABORTED", async () => {
    await withRawServer(async (raw, track) => {
      const ac = new AbortController();
      const ws = track(connect(raw.url, { signal: ac.signal }));
      const result = outcome(ws);
      const peer = await raw.peer();
      await peer.request();
      ac.abort();
      const out = await result;
      assertFailed(out, "WS_ERR_ABORTED");
      assert.equal(ws.readyState, "closed");
      await peer.waitClosed(3000);
    });
  });

  it("an already aborted signal fails the connection asynchronously", async () => {
    await withRawServer(async (raw, track) => {
      const ws = track(connect(raw.url, { signal: AbortSignal.abort() }));
      assert.equal(ws.readyState, "connecting", "connect() itself does not throw or emit");
      const out = await outcome(ws);
      assertFailed(out, "WS_ERR_ABORTED");
      // If the TCP connection got through before the abort, the client drops it.
      for (const p of raw.peers) await p.waitClosed(3000);
    });
  });

  it("ws.close() during the handshake → close 1006, no open", async () => {
    await withRawServer(async (raw, track) => {
      const ws = track(connect(raw.url));
      const result = outcome(ws);
      const peer = await raw.peer();
      const req = await peer.request();
      ws.close();
      assert.equal(ws.readyState, "closed");
      const out = await result;
      assertFailed(out, "WS_ERR_CLOSED_BEFORE_OPEN", StateError);
      await peer.waitClosed(3000);
      assert.equal(req.requestLine, "GET / HTTP/1.1");
      assert.equal(ws.readyState, "closed");
    });
  });

  it("ws.close() right after connect() → close 1006, no open, queued sends fail", async () => {
    const server = await echoServer();
    let ws: WS | undefined;
    try {
      ws = connect(server.url);
      const result = outcome(ws);
      const sendResult = new Promise<Error | undefined>((r) => ws!.send("queued", r));
      ws.close();
      const out = await result;
      assertFailed(out, "WS_ERR_CLOSED_BEFORE_OPEN", StateError);
      const err = await withTimeout(sendResult, 1000, "the send callback");
      assert.ok(err instanceof WSError, "the queued send reports the failure");
      assert.equal(server.clients.size, 0);
    } finally {
      await dropClient(ws);
      await server.close();
    }
  });

  it("aborting the signal after open changes nothing", async () => {
    const server = await echoServer();
    let ws: WS | undefined;
    try {
      const ac = new AbortController();
      ws = connect(server.url, { signal: ac.signal });
      const errors: WSError[] = [];
      ws.on("error", (e) => errors.push(e));
      await opened(ws);
      ac.abort();
      const msg = nextMessage(ws);
      ws.send("still open");
      assert.deepEqual(await msg, ["still open", false]);
      assert.equal(ws.readyState, "open");
      assert.deepEqual(errors, []);
    } finally {
      await closeClient(ws);
      await server.close();
    }
  });
});

describe("connect: frames after the handshake", () => {
  it("delivers frames the server sent in the same write as its 101", async () => {
    await withRawServer(async (raw, track) => {
      const ws = track(connect(raw.url));
      const got: Array<[string | Uint8Array, boolean]> = [];
      const events: string[] = [];
      let twoMessages!: () => void;
      const done = new Promise<void>((r) => (twoMessages = r));
      ws.on("open", () => events.push("open"));
      ws.on("message", (data, isBinary) => {
        events.push("message");
        got.push([data, isBinary]);
        if (got.length === 2) twoMessages();
      });
      const peer = await raw.peer();
      const req = await peer.request();
      peer.write(
        concat(
          encoder.encode(switching(req)),
          serverFrame(0x1, "hello from the 101 write"),
          serverFrame(0x2, new Uint8Array([9, 8, 7])),
        ),
      );
      await withTimeout(done, 5000, "two messages");
      assert.deepEqual(events, ["open", "message", "message"]);
      assert.deepEqual(got, [["hello from the 101 write", false], [
        new Uint8Array([9, 8, 7]),
        true,
      ]]);
    });
  });

  it("masks every frame it sends, with a fresh key", async () => {
    await withRawServer(async (raw, track) => {
      const s = await rawSession(raw);
      const ws = track(s.ws);
      const { peer, req } = s;
      const big = new Uint8Array(70_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      ws.send("hello");
      ws.send(new Uint8Array([1, 2, 3, 4, 5]));
      ws.send(big);
      ws.ping("p");
      ws.pong();
      ws.close(1000, "bye");
      const b = await peer.waitFor(
        (r) => decodeClientFrames(r.subarray(req.end)).length >= 6,
        5000,
        "six frames",
      );
      const frames = decodeClientFrames(b.subarray(req.end));
      assert.deepEqual(frames.map((f) => f.opcode), [0x1, 0x2, 0x2, 0x9, 0xa, 0x8]);
      for (const f of frames) {
        assert.ok(f.masked, `opcode ${f.opcode} masked`);
        assert.equal(f.mask.length, 4);
        assert.ok(f.fin);
        assert.equal(f.rsv, 0);
      }
      assert.equal(decoder.decode(frames[0].payload), "hello");
      assert.deepEqual(frames[1].payload, new Uint8Array([1, 2, 3, 4, 5]));
      assert.deepEqual(frames[2].payload, big);
      assert.equal(decoder.decode(frames[3].payload), "p");
      assert.equal(frames[4].payload.length, 0);
      assert.deepEqual(frames[5].payload, closePayload(1000, "bye"));
      const keys = new Set(frames.map((f) => f.mask.join(",")));
      assert.ok(keys.size >= 5, `masking keys vary (${keys.size} distinct of 6)`);
      // Finish the closing handshake as a server: echo the close, then close TCP.
      const closed = withTimeout(
        new Promise<CloseArgs>((r) => ws.once("close", (...a) => r(a))),
        5000,
        "close",
      );
      peer.write(serverFrame(0x8, closePayload(1000)));
      peer.socket.end();
      assert.deepEqual(await closed, [1000, "", true]);
    });
  });

  it("fails the connection with 1002 when the server sends a masked frame", async () => {
    await withRawServer(async (raw, track) => {
      const s = await rawSession(raw);
      const ws = track(s.ws);
      const { peer, req } = s;
      const result = outcome(ws);
      const messages: unknown[] = [];
      ws.on("message", (d) => messages.push(d));
      peer.write(clientFrame(0x1, "masked, which servers must not do"));
      const b = await peer.waitFor(
        (r) => decodeClientFrames(r.subarray(req.end)).length >= 1,
        5000,
        "the client's close frame",
      );
      const [close] = decodeClientFrames(b.subarray(req.end));
      assert.equal(close.opcode, 0x8);
      assert.ok(close.masked, "the close frame is masked too");
      assert.equal(closeCodeOf({ fin: true, opcode: 8, payload: close.payload }), 1002);
      peer.socket.end();
      const out = await result;
      assert.deepEqual(out.events, ["error", "close"]);
      assert.ok(out.error instanceof ProtocolError);
      assert.equal(out.error.closeCode, 1002);
      assert.deepEqual(out.close, [1002, "", false]);
      assert.deepEqual(messages, []);
      await peer.waitClosed(3000);
    });
  });

  it("a close frame sent right after the 101 closes the client cleanly", async () => {
    await withRawServer(async (raw, track) => {
      const ws = track(connect(raw.url));
      const result = outcome(ws);
      const peer = await raw.peer();
      const req = await peer.request();
      peer.write(
        concat(encoder.encode(switching(req)), serverFrame(0x8, closePayload(4321, "go"))),
      );
      const b = await peer.waitFor(
        (r) => decodeClientFrames(r.subarray(req.end)).length >= 1,
        5000,
        "the close echo",
      );
      const [echo] = decodeClientFrames(b.subarray(req.end));
      assert.equal(echo.opcode, 0x8);
      assert.ok(echo.masked);
      assert.equal(closeCodeOf({ fin: true, opcode: 8, payload: echo.payload }), 4321);
      peer.socket.end();
      const out = await result;
      assert.deepEqual(out.events, ["open", "close"]);
      assert.deepEqual(out.close, [4321, "go", true]);
    });
  });
});

describe("connect: wss", () => {
  const ca = readFileSync(join(FIXTURES, "ca.pem"), "utf8");
  const tls = {
    cert: readFileSync(join(FIXTURES, "cert.pem"), "utf8"),
    key: readFileSync(join(FIXTURES, "key.pem"), "utf8"),
  };

  for (const host of ["127.0.0.1", "localhost"]) {
    it(`echoes over wss://${host} with the test CA`, async () => {
      const server = await echoServer({ tls });
      let ws: WS | undefined;
      try {
        assert.equal(server.url, `wss://127.0.0.1:${server.port}`);
        ws = connect(`wss://${host}:${server.port}/secure`, { tls: { ca } });
        await opened(ws);
        const msg = nextMessage(ws);
        ws.send("over tls");
        assert.deepEqual(await msg, ["over tls", false]);
        const bin = new Uint8Array(100_000).fill(42);
        const msg2 = nextMessage(ws);
        ws.send(bin);
        assert.deepEqual(await msg2, [bin, true]);
        const [serverSide] = server.clients;
        assert.equal(serverSide.url, `wss://${host}:${server.port}/secure`);
      } finally {
        await closeClient(ws);
        await server.close();
      }
    });
  }

  it("handshakeTimeout bounds a TLS handshake that never completes, and the socket is dropped", async () => {
    // A TCP server that accepts and never speaks TLS.
    await withRawServer(async (raw, track) => {
      const t0 = Date.now();
      const ws = track(
        connect(`wss://127.0.0.1:${raw.port}`, { tls: { ca }, handshakeTimeout: 300 }),
      );
      const result = outcome(ws);
      const peer = await raw.peer();
      // The ClientHello arrives (TLS record type 22, handshake).
      await peer.waitFor((b) => b.length > 0, 5000, "the ClientHello");
      assert.equal(peer.received[0], 22);
      const out = await result;
      const took = Date.now() - t0;
      assertFailed(out, "WS_ERR_HANDSHAKE_TIMEOUT", TimeoutError);
      assert.ok(took >= 250 && took <= 3000, `timed out after ${took} ms`);
      // The client must not keep the TCP connection after giving up on it.
      await peer.waitClosed(3000);
    });
  });

  it("an AbortSignal aborts a pending TLS handshake and drops the socket", async () => {
    await withRawServer(async (raw, track) => {
      const ac = new AbortController();
      const ws = track(connect(`wss://127.0.0.1:${raw.port}`, { tls: { ca }, signal: ac.signal }));
      const result = outcome(ws);
      const peer = await raw.peer();
      await peer.waitFor((b) => b.length > 0, 5000, "the ClientHello");
      ac.abort();
      assertFailed(await result, "WS_ERR_ABORTED");
      await peer.waitClosed(3000);
    });
  });

  it("fails with WS_ERR_CONNECT when the certificate is not trusted", async () => {
    const server = await echoServer({ tls });
    let ws: WS | undefined;
    try {
      ws = connect(`wss://127.0.0.1:${server.port}`);
      const out = await outcome(ws);
      assertFailed(out, "WS_ERR_CONNECT");
      assert.equal(server.clients.size, 0);
    } finally {
      await dropClient(ws);
      await server.close();
    }
  });
});
