/**
 * Unit tests of src/protocol/http.ts: the HTTP head reader, head parsers and response encoder.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_MAX_HEAD_SIZE,
  encodeResponse,
  hasToken,
  HeaderFields,
  HeadReader,
  HttpParseError,
  parseRequestFields,
  parseRequestHead,
  parseResponseHead,
  requestUrl,
} from "../../src/protocol/http.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const HEAD = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade";
const REST = new Uint8Array([0x81, 0x85, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x41]);
const ALL = concat(enc.encode(HEAD + "\r\n\r\n"), REST);
const HEAD_END = HEAD.length + 4;

describe("HeadReader", () => {
  it("has a 16 KiB default limit", () => {
    assert.equal(DEFAULT_MAX_HEAD_SIZE, 16 * 1024);
  });

  it("returns the head (without the blank line) and the rest, in one chunk", () => {
    const r = new HeadReader().push(ALL.slice());
    assert.deepEqual(r, { done: true, head: HEAD, rest: REST });
  });

  it("returns an empty rest when the chunk ends with the head", () => {
    const r = new HeadReader().push(enc.encode(HEAD + "\r\n\r\n"));
    assert.deepEqual(r, { done: true, head: HEAD, rest: new Uint8Array(0) });
  });

  it("finds the head split at every position into two chunks", () => {
    for (let s = 0; s <= ALL.length; s++) {
      const reader = new HeadReader();
      const input = ALL.slice();
      const first = reader.push(input.subarray(0, s));
      if (s >= HEAD_END) {
        assert.deepEqual(
          first,
          { done: true, head: HEAD, rest: ALL.subarray(HEAD_END, s) },
          `${s}`,
        );
      } else {
        assert.deepEqual(first, { done: false }, `split at ${s}`);
        const second = reader.push(input.subarray(s));
        assert.deepEqual(second, { done: true, head: HEAD, rest: REST }, `split at ${s}`);
      }
    }
  });

  it("finds the head split at every pair of positions into three chunks", () => {
    // Around the blank line: every way of cutting \r\n\r\n into three.
    for (let a = HEAD_END - 6; a < HEAD_END; a++) {
      for (let b = a; b <= HEAD_END + 2; b++) {
        const reader = new HeadReader();
        const input = ALL.slice();
        assert.deepEqual(reader.push(input.subarray(0, a)), { done: false }, `${a} ${b}`);
        const second = reader.push(input.subarray(a, b));
        if (b >= HEAD_END) {
          assert.deepEqual(second, {
            done: true,
            head: HEAD,
            rest: ALL.subarray(HEAD_END, b),
          }, `cuts ${a} ${b}`);
        } else {
          assert.deepEqual(second, { done: false }, `cuts ${a} ${b}`);
          assert.deepEqual(reader.push(input.subarray(b)), { done: true, head: HEAD, rest: REST });
        }
      }
    }
  });

  it("finds the head pushed one byte at a time", () => {
    const reader = new HeadReader();
    for (let i = 0; i < HEAD_END - 1; i++) {
      assert.deepEqual(reader.push(ALL.subarray(i, i + 1)), { done: false }, `byte ${i}`);
    }
    const r = reader.push(ALL.subarray(HEAD_END - 1));
    assert.deepEqual(r, { done: true, head: HEAD, rest: REST });
  });

  it("does not take \\r\\n\\r\\n spread over non-adjacent bytes or \\n\\n as the end", () => {
    const reader = new HeadReader();
    assert.deepEqual(reader.push(enc.encode("GET / HTTP/1.1\r\n\r")), { done: false });
    assert.deepEqual(reader.push(enc.encode("X\n")), { done: false });
    assert.deepEqual(reader.push(enc.encode("\n\n\r\r\n\n")), { done: false });
    assert.deepEqual(reader.push(enc.encode("\r\n\r\n")), {
      done: true,
      head: "GET / HTTP/1.1\r\n\rX\n\n\n\r\r\n\n",
      rest: new Uint8Array(0),
    });
  });

  it("keeps its own copy of a chunk it has to hold on to", () => {
    const reader = new HeadReader();
    const chunk = enc.encode("GET / HTTP/1.1\r\nHost: a");
    assert.deepEqual(reader.push(chunk), { done: false });
    chunk.fill(0x5a); // the caller reuses its buffer
    const r = reader.push(enc.encode("\r\n\r\n"));
    assert.deepEqual(r, { done: true, head: "GET / HTTP/1.1\r\nHost: a", rest: new Uint8Array(0) });
  });

  it("decodes the head as latin1 (one char per byte)", () => {
    const bytes = concat(enc.encode("GET / HTTP/1.1\r\nX-A: "), new Uint8Array([0xe9, 0xff]));
    const r = new HeadReader().push(concat(bytes, enc.encode("\r\n\r\n")));
    assert.deepEqual(r, {
      done: true,
      head: "GET / HTTP/1.1\r\nX-A: \u00e9\u00ff",
      rest: new Uint8Array(0),
    });
  });

  it("decodes bytes 0x80-0xFF as ISO-8859-1, not windows-1252, with and without rest", () => {
    const high = new Uint8Array(128).map((_, i) => 0x80 + i);
    const expected = "GET / HTTP/1.1\r\nX-A: " + String.fromCharCode(...high);
    const bytes = concat(enc.encode("GET / HTTP/1.1\r\nX-A: "), high, enc.encode("\r\n\r\n"));
    for (const rest of [new Uint8Array(0), REST]) {
      const r = new HeadReader().push(concat(bytes, rest));
      assert.deepEqual(r, { done: true, head: expected, rest });
    }
  });

  it("handles a head longer than 4096 bytes", () => {
    const head = "GET / HTTP/1.1\r\nX-Long: " + "v".repeat(10000);
    const r = new HeadReader().push(enc.encode(head + "\r\n\r\nrest"));
    assert.deepEqual(r, { done: true, head, rest: enc.encode("rest") });
  });

  it("is too-large when over maxSize without the end, in one chunk or several", () => {
    assert.deepEqual(new HeadReader(32).push(new Uint8Array(33).fill(0x41)), {
      done: true,
      error: "too-large",
    });
    const reader = new HeadReader(32);
    assert.deepEqual(reader.push(new Uint8Array(32).fill(0x41)), { done: false }, "32 is allowed");
    assert.deepEqual(reader.push(new Uint8Array(1).fill(0x41)), { done: true, error: "too-large" });
    const r2 = new HeadReader(32);
    assert.deepEqual(r2.push(new Uint8Array(20).fill(0x41)), { done: false });
    assert.deepEqual(r2.push(new Uint8Array(13).fill(0x41)), { done: true, error: "too-large" });
  });

  it("is too-large when the head ends past maxSize", () => {
    const head = enc.encode("GET / HTTP/1.1\r\nHost: abcdef\r\n\r\n"); // 32 bytes
    assert.equal(head.length, 32);
    assert.deepEqual(new HeadReader(31).push(head), { done: true, error: "too-large" });
    assert.deepEqual(new HeadReader(32).push(head), {
      done: true,
      head: "GET / HTTP/1.1\r\nHost: abcdef",
      rest: new Uint8Array(0),
    });
    // The head fits but the chunk also holds more bytes: those do not count.
    const more = concat(head, new Uint8Array(100));
    const r = new HeadReader(32).push(more);
    assert.equal(r.done && "head" in r && r.rest.length, 100);
  });

  it("the default limit refuses a 17 KiB head without an end", () => {
    const reader = new HeadReader();
    assert.deepEqual(reader.push(new Uint8Array(16 * 1024).fill(0x61)), { done: false });
    assert.deepEqual(reader.push(new Uint8Array(1024).fill(0x61)), {
      done: true,
      error: "too-large",
    });
  });
});

describe("HeadReader.whole", () => {
  it("gives the head of a chunk that holds all of it, the rest starting at its length + 4", () => {
    assert.equal(HeadReader.whole(ALL), HEAD);
    assert.deepEqual(ALL.subarray(HEAD.length + 4), REST);
    assert.equal(HeadReader.whole(enc.encode(HEAD + "\r\n\r\n")), HEAD);
  });

  it("gives nothing for a partial head or one over the limit, as the reader would wait or refuse", () => {
    assert.equal(HeadReader.whole(enc.encode(HEAD + "\r\n")), undefined);
    assert.equal(HeadReader.whole(ALL, HEAD_END - 1), undefined);
    assert.equal(HeadReader.whole(ALL, HEAD_END), HEAD);
    const r = new HeadReader(HEAD_END - 1).push(ALL);
    assert.ok(r.done && "error" in r);
  });

  it("decodes bytes 0x80-0xFF as ISO-8859-1, as the reader does", () => {
    const bytes = new Uint8Array([
      ...enc.encode("GET /"),
      0x80,
      0x9f,
      0xe9,
      ...enc.encode(" HTTP/1.1\r\n\r\n"),
    ]);
    assert.equal(HeadReader.whole(bytes), "GET /\u0080\u009f\u00e9 HTTP/1.1");
  });
});

describe("parseRequestHead", () => {
  it("gives the usual method and version, and others as sent", () => {
    for (
      const [line, method, version] of [
        ["GET / HTTP/1.1", "GET", "HTTP/1.1"],
        ["GETS / HTTP/1.1", "GETS", "HTTP/1.1"],
        ["GET / HTTP/1.0", "GET", "HTTP/1.0"],
        ["POST /x HTTP/2.0", "POST", "HTTP/2.0"],
      ]
    ) {
      const r = parseRequestFields(line + "\r\nHost: a");
      assert.equal(r.method, method);
      assert.equal(r.version, version);
      assert.equal(r.headers.get("host"), "a");
    }
  });

  it("parses the request line and headers", () => {
    const r = parseRequestHead(HEAD);
    assert.equal(r.method, "GET");
    assert.equal(r.target, "/chat?room=1");
    assert.equal(r.version, "HTTP/1.1");
    assert.equal(r.headers.get("host"), "example.com");
    assert.equal(r.headers.get("UPGRADE"), "websocket");
    assert.equal(r.headers.get("connection"), "Upgrade");
    assert.deepEqual([...r.headers.keys()], ["connection", "host", "upgrade"]);
  });

  it("parses other methods, absolute targets and HTTP/1.0", () => {
    const r = parseRequestHead("POST http://example.com/x HTTP/1.0");
    assert.deepEqual([r.method, r.target, r.version], ["POST", "http://example.com/x", "HTTP/1.0"]);
    assert.deepEqual([...r.headers], []);
  });

  it("trims header values and accepts no space after the colon", () => {
    const r = parseRequestHead(
      "GET / HTTP/1.1\r\nHost:example.com\r\nX-A: \t spaced out \t\r\nX-B:",
    );
    assert.equal(r.headers.get("host"), "example.com");
    assert.equal(r.headers.get("x-a"), "spaced out");
    assert.equal(r.headers.get("x-b"), "");
  });

  it("trims only spaces and tabs (RFC 9110 OWS): other bytes at the ends are the value's", () => {
    const r = parseRequestFields("GET / HTTP/1.1\r\nX-A: \u00a0v\u00a0 \r\nX-B: \u000bw");
    assert.equal(r.headers.get("x-a"), "\u00a0v\u00a0");
    assert.equal(r.headers.get("x-b"), "\u000bw");
  });

  it("keeps a colon inside the value", () => {
    const r = parseRequestHead("GET / HTTP/1.1\r\nHost: example.com:8080");
    assert.equal(r.headers.get("host"), "example.com:8080");
  });

  it("combines duplicate headers with ', '", () => {
    const r = parseRequestHead(
      "GET / HTTP/1.1\r\nSec-WebSocket-Protocol: chat\r\nsec-websocket-protocol: superchat, v2\r\n" +
        "Connection: keep-alive\r\nCONNECTION: Upgrade",
    );
    assert.equal(r.headers.get("sec-websocket-protocol"), "chat, superchat, v2");
    assert.equal(r.headers.get("connection"), "keep-alive, Upgrade");
  });

  const BAD_LINES = [
    "",
    "GET",
    "GET /chat",
    "GET /chat HTTP/1.1 extra",
    "get /chat HTTP/1.1",
    "GET  /chat HTTP/1.1",
    "GET /chat  HTTP/1.1",
    " GET /chat HTTP/1.1",
    "GET /chat HTTP/1",
    "GET /chat HTTP/11.1",
    "GET /chat http/1.1",
    "GET /chat FTP/1.1",
    "GET /chat HTTP/1.1 ",
    "HTTP/1.1 101 Switching Protocols",
  ];
  for (const line of BAD_LINES) {
    it(`rejects the request line ${JSON.stringify(line)}`, () => {
      assert.throws(() => parseRequestHead(line + "\r\nHost: a"), HttpParseError);
    });
  }

  const BAD_HEADERS = [
    "NoColon",
    ": no-name",
    "Bad Name: x",
    "Host : x",
    " Folded: x",
    "\tFolded: x",
    "X-(): x",
    "X-A: a\u0000b",
    "",
  ];
  for (const line of BAD_HEADERS) {
    it(`rejects the header line ${JSON.stringify(line)}`, () => {
      assert.throws(
        () => parseRequestHead("GET / HTTP/1.1\r\nHost: a\r\n" + line),
        (e: unknown) => e instanceof HttpParseError && e.name === "HttpParseError",
      );
    });
  }
});

describe("parseResponseHead", () => {
  it("parses a 101", () => {
    const r = parseResponseHead(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    );
    assert.equal(r.version, "HTTP/1.1");
    assert.equal(r.status, 101);
    assert.equal(r.statusText, "Switching Protocols");
    assert.equal(r.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert.equal(r.headers.get("upgrade"), "websocket");
  });

  it("parses a status line without a reason, or with a long one", () => {
    assert.deepEqual(
      [parseResponseHead("HTTP/1.1 404").status, parseResponseHead("HTTP/1.1 404").statusText],
      [404, ""],
    );
    const r = parseResponseHead("HTTP/1.0 503 Service Unavailable Now");
    assert.deepEqual([r.version, r.status, r.statusText], [
      "HTTP/1.0",
      503,
      "Service Unavailable Now",
    ]);
  });

  it("combines duplicate headers", () => {
    const r = parseResponseHead("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nConnection: close");
    assert.equal(r.headers.get("connection"), "Upgrade, close");
  });

  const BAD = [
    "",
    "HTTP/1.1",
    "HTTP/1.1 10",
    "HTTP/1.1 1010 Too Long",
    "HTTP/1.1  101 Switching",
    "HTTP/1.1 10a OK",
    "http/1.1 101 OK",
    "HTTP/2 101",
    "101 Switching Protocols",
    "GET / HTTP/1.1",
  ];
  for (const line of BAD) {
    it(`rejects the status line ${JSON.stringify(line)}`, () => {
      assert.throws(() => parseResponseHead(line), HttpParseError);
    });
  }

  it("rejects a malformed header line", () => {
    assert.throws(() => parseResponseHead("HTTP/1.1 101 OK\r\nUpgrade websocket"), HttpParseError);
  });
});

describe("hasToken", () => {
  it("finds a token in a comma-separated list, case-insensitively", () => {
    assert.equal(hasToken("Upgrade", "upgrade"), true);
    assert.equal(hasToken("UPGRADE", "upgrade"), true);
    assert.equal(hasToken("keep-alive, Upgrade", "upgrade"), true);
    assert.equal(hasToken("keep-alive,upgrade ,x", "upgrade"), true);
    assert.equal(hasToken("WebSocket", "websocket"), true);
  });

  it("does not match parts of tokens, missing headers or empty values", () => {
    assert.equal(hasToken(null, "upgrade"), false);
    assert.equal(hasToken("", "upgrade"), false);
    assert.equal(hasToken("upgrades", "upgrade"), false);
    assert.equal(hasToken("keep-alive", "upgrade"), false);
    assert.equal(hasToken("websocket/13", "websocket"), false);
  });

  it("folds ASCII case only: a token is ASCII (RFC 9110), so no other letter lower-cases into one", () => {
    // "\u212A" (KELVIN SIGN) lower-cases to "k", and "\u0130" to "i" and a combining dot.
    assert.equal(hasToken("websoc\u212Aet", "websocket"), false);
    assert.equal(hasToken("x, websoc\u212Aet", "websocket"), false);
    assert.equal(hasToken("x,\tWebSocket\t, y", "websocket"), true);
    assert.equal(hasToken("WEBSOCKET", "websocket"), true);
    assert.equal(hasToken("webs[cket", "websocket"), false);
  });
});

describe("HeaderFields", () => {
  const head = "GET / HTTP/1.1\r\nHOST: a\r\nX-Hostname: b\r\nHos: c\r\nhost:d\r\nX-Empty:\r\n" +
    "UpGrade:  websocket\t";
  const { headers } = parseRequestFields(head);

  it("looks names up by their whole name, whatever their case, joining repeats with ', '", () => {
    assert.equal(headers.get("host"), "a, d");
    assert.equal(headers.get("x-hostname"), "b");
    assert.equal(headers.get("hos"), "c");
    assert.equal(headers.get("upgrade"), "websocket");
    assert.equal(headers.get("x-empty"), "");
    assert.equal(headers.get("hostname"), null);
    assert.equal(headers.has("x-empty"), true);
    assert.equal(headers.has("ho"), false);
  });

  it("builds Headers with every field, and takes node:http's rawHeaders list", () => {
    assert.deepEqual([...headers.toHeaders()], [
      ["hos", "c"],
      ["host", "a, d"],
      ["upgrade", "websocket"],
      ["x-empty", ""],
      ["x-hostname", "b"],
    ]);
    const list = HeaderFields.fromList(["Host", "a", "SEC-WEBSOCKET-KEY", "k", "host", "b"]);
    assert.equal(list.get("host"), "a, b");
    assert.equal(list.get("sec-websocket-key"), "k");
    assert.equal(list.has("hostsec-websocket-key"), false);
    assert.deepEqual([...list.toHeaders()], [["host", "a, b"], ["sec-websocket-key", "k"]]);
    assert.equal(HeaderFields.fromList([]).get("host"), null);
    // What would break the text apart is left out (Node's parser lets none of it through).
    const odd = HeaderFields.fromList([
      "X-A",
      "1\r\nHost: evil",
      "Bad Name",
      "2",
      "",
      "3",
      "X-B",
      "4",
    ]);
    assert.deepEqual([...odd.toHeaders()], [["x-b", "4"]]);
  });

  it("keeps each head's fields apart when heads are parsed in turn (a shared index)", () => {
    const a = parseRequestFields("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1").headers;
    const b = parseRequestFields("GET / HTTP/1.1\r\nX-B: 2\r\nX-C: 3\r\nHost: bb").headers;
    assert.throws(() => parseRequestFields("GET / HTTP/1.1\r\nHost: c\r\nbad"), HttpParseError);
    const list = HeaderFields.fromList(["Host", "d"]);
    for (let round = 0; round < 2; round++) {
      assert.equal(a.get("host"), "a");
      assert.equal(b.get("host"), "bb");
      assert.equal(list.get("host"), "d");
      assert.equal(a.has("x-b"), false);
      assert.equal(b.get("x-c"), "3");
      assert.deepEqual([...a.toHeaders()], [["host", "a"], ["x-a", "1"]]);
    }
  });

  it("gives a head with many fields an index of its own, the shared one staying small", () => {
    const lines = Array.from({ length: 600 }, (_, i) => `X-F${i}: v${i}`);
    const big = parseRequestFields(`GET / HTTP/1.1\r\n${lines.join("\r\n")}\r\nHost: big`).headers;
    const small = parseRequestFields("GET / HTTP/1.1\r\nHost: small\r\nX-F599: s").headers;
    for (let round = 0; round < 2; round++) {
      assert.equal(big.get("host"), "big");
      assert.equal(big.get("x-f599"), "v599");
      assert.equal(big.get("x-f0"), "v0");
      assert.equal(small.get("x-f599"), "s");
      assert.equal(small.has("x-f0"), false);
      assert.equal([...big.toHeaders()].length, 601);
    }
  });

  it("finds tokens and exact values in place, as get() and hasToken() would", () => {
    const h = parseRequestFields(
      "GET / HTTP/1.1\r\nConnection: keep-alive,\tUpGrade \r\nX-Upgrade: websocket\r\n" +
        "Upgrade: h2c\r\nupgrade: WebSocket, x\r\nSec-WebSocket-Version:  13 \r\n" +
        "V: 13\r\nv: 13\r\nW: 130",
    ).headers;
    assert.equal(h.hasToken("connection", "upgrade"), true);
    assert.equal(h.hasToken("connection", "keep"), false);
    assert.equal(h.hasToken("upgrade", "websocket"), true, "in the second Upgrade field");
    assert.equal(h.hasToken("upgrade", "h2"), false);
    assert.equal(h.hasToken("x", "websocket"), false);
    assert.equal(h.is("sec-websocket-version", "13"), true);
    assert.equal(h.is("v", "13"), false, "repeated: the value is 13, 13");
    assert.equal(h.is("w", "13"), false);
    assert.equal(h.is("z", "13"), false);
    for (const [name, token] of [["connection", "upgrade"], ["upgrade", "x"], ["v", "13"]]) {
      assert.equal(h.hasToken(name, token), hasToken(h.get(name), token), `${name} ${token}`);
    }
  });

  it("refuses a header name with a character outside the token set, ASCII or not", () => {
    for (const name of ["X\u00e9", "X\u0100", "X@", 'X"', "X/"]) {
      assert.throws(() => parseRequestFields(`GET / HTTP/1.1\r\n${name}: v`), HttpParseError, name);
    }
    assert.equal(
      parseRequestFields("GET / HTTP/1.1\r\nX-!#$%&'*+-.^_`|~09az: v").headers.has(
        "x-!#$%&'*+-.^_`|~09az",
      ),
      true,
    );
  });
});

describe("encodeResponse", () => {
  it("a 101 gets no Connection: close nor Content-Length", () => {
    const headers = new Headers({
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    });
    assert.equal(
      dec.decode(encodeResponse(101, headers)),
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "connection: Upgrade\r\n" +
        "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "upgrade: websocket\r\n" +
        "\r\n",
    );
  });

  it("an error with a body gets Connection: close, Content-Type and Content-Length", () => {
    assert.equal(
      dec.decode(encodeResponse(404, new Headers(), "no such resource")),
      "HTTP/1.1 404 Not Found\r\n" +
        "Connection: close\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 16\r\n" +
        "\r\n" +
        "no such resource",
    );
  });

  it("Content-Length counts UTF-8 bytes", () => {
    const r = encodeResponse(400, new Headers(), "é€");
    assert.equal(
      dec.decode(r),
      "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 5\r\n\r\né€",
    );
  });

  it("keeps the caller's Connection and Content-Type; no body means Content-Length: 0", () => {
    const headers = new Headers({ Upgrade: "websocket", Connection: "Upgrade" });
    assert.equal(
      dec.decode(encodeResponse(426, headers)),
      "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nconnection: Upgrade\r\n" +
        "upgrade: websocket\r\n\r\n",
    );
    assert.equal(
      dec.decode(encodeResponse(403, new Headers({ "Content-Type": "text/html" }), "<b>no</b>")),
      "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 9\r\n" +
        "content-type: text/html\r\n\r\n<b>no</b>",
    );
  });

  it("names the status texts it knows, and Unknown otherwise", () => {
    const line = (status: number) =>
      dec.decode(encodeResponse(status, new Headers())).split("\r\n")[0];
    assert.equal(line(400), "HTTP/1.1 400 Bad Request");
    assert.equal(line(405), "HTTP/1.1 405 Method Not Allowed");
    assert.equal(line(426), "HTTP/1.1 426 Upgrade Required");
    assert.equal(line(101), "HTTP/1.1 101 Switching Protocols");
    assert.equal(line(404), "HTTP/1.1 404 Not Found");
    assert.equal(line(429), "HTTP/1.1 429 Too Many Requests");
    assert.equal(line(500), "HTTP/1.1 500 Internal Server Error");
    assert.equal(line(431), "HTTP/1.1 431 Request Header Fields Too Large");
    assert.equal(line(503), "HTTP/1.1 503 Service Unavailable");
    assert.equal(line(200), "HTTP/1.1 200 OK");
    assert.equal(line(599), "HTTP/1.1 599 ", "an unregistered status has an empty reason phrase");
  });

  it("its output reads back with HeadReader and parseResponseHead", () => {
    const bytes = encodeResponse(429, new Headers({ "Retry-After": "5" }), "slow down");
    const r = new HeadReader().push(bytes);
    assert.ok(r.done && "head" in r);
    const res = parseResponseHead(r.head);
    assert.equal(res.status, 429);
    assert.equal(res.statusText, "Too Many Requests");
    assert.equal(res.headers.get("retry-after"), "5");
    assert.equal(res.headers.get("content-length"), "9");
    assert.equal(dec.decode(r.rest), "slow down");
  });
});

describe("parseRequestFields", () => {
  it("looks headers up by lower-case name, joining repeats as Headers does", () => {
    const head = "GET /x HTTP/1.1\r\nHost: a\r\nX-Tag: one\r\nx-tag:  two \r\nEmpty:";
    const r = parseRequestFields(head);
    assert.equal(r.method, "GET");
    assert.equal(r.target, "/x");
    assert.equal(r.headers.get("host"), "a");
    assert.equal(r.headers.get("x-tag"), "one, two");
    assert.equal(r.headers.get("empty"), "");
    assert.equal(r.headers.get("missing"), null);
    assert.equal(r.headers.has("x-tag"), true);
    assert.equal(r.headers.has("missing"), false);
    const built = r.headers.toHeaders();
    assert.equal(built.get("x-tag"), parseRequestHead(head).headers.get("x-tag"));
    assert.deepEqual([...built], [...parseRequestHead(head).headers]);
  });

  it("refuses stray CR, LF or NUL anywhere in the head", () => {
    for (
      const bad of [
        "GET / HTTP/1.1\r\nA: b\nC: d",
        "GET / HTTP/1.1\r\nA: b\rc",
        "GET / HTTP/1.1\r\nA: \0",
      ]
    ) {
      assert.throws(() => parseRequestFields(bad), HttpParseError, JSON.stringify(bad));
    }
  });
});

describe("requestUrl", () => {
  // The fast path must give what the WHATWG URL parser gives, or fall back to it.
  const HOSTS = [
    "127.0.0.1:8080",
    "example.com",
    "Example.com",
    "127.1",
    "127.0.0.1:80",
    "x:443",
    "x:0443",
    "a.b-c.d:65535",
    "a.b:65536",
    "[::1]:8080",
    "foo.123",
    "a..b",
    "-a.com",
    "xn--bcher-kva.example",
    null,
  ];
  const TARGETS = [
    "/",
    "/chat?room=1",
    "/a/../b",
    "/a/./b",
    "/%2e/x",
    "/a%2E%2e/x",
    "/a b",
    "/a?b c",
    "/?",
    "/a#x",
    "/a\\b",
    "/a?x'y",
    "/a|b^c[d]",
    "/~user/@x:y;z=1,2*+!$&()",
    "/..",
    "/.",
    "/a/.hidden",
    "/a..b/",
    '/x?a="',
    "/\u00e9",
    "/{}",
    "//x",
  ];
  it("matches new URL() for every host and target in the table, for ws, wss and http", () => {
    for (const scheme of ["ws", "wss", "http"]) {
      for (const host of HOSTS) {
        for (const target of TARGETS) {
          let want: unknown;
          try {
            const u = new URL(target, `http://${host ?? "invalid"}`);
            u.protocol = `${scheme}:`;
            want = { href: u.href, pathname: u.pathname, search: u.search };
          } catch {
            want = "throws";
          }
          let got: unknown;
          try {
            got = { ...requestUrl(scheme, host, target) };
          } catch {
            got = "throws";
          }
          assert.deepEqual(got, want, `${scheme} ${host} ${target}`);
        }
      }
    }
  });
});
