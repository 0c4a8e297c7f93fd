import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { headTemplate, ownCopy } from "../src/head_templates.ts";
import { parseRequestFields, parseRequestHead } from "../src/protocol/http.ts";
import { ServerRequest } from "../src/request.ts";

/** A browser-like upgrade request for `path`, with `key` and `extra` header lines. */
function head(key: string, path = "/chat", extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key:  ${key} \r\nSec-WebSocket-Version: 13` +
    `\r\nOrigin: https://example.com${extra}`;
}

const KEYS = ["dGhlIHNhbXBsZSBub25jZQ==", "AQIDBAUGBwgJCgsMDQ4PEA==", "x3JJHMbDL1EzLkh9GBhXDw=="];

/** Where the key is in `h`. */
function keyRange(h: string, key: string): [number, number] {
  const at = h.indexOf(key);
  return [at, at + key.length];
}

/** Keeps `h` as an upgraded socket does. */
function kept(h: string, path = "/chat", search = ""): ServerRequest {
  const { headers } = parseRequestFields(h);
  const key = headers.get("sec-websocket-key")!;
  return ServerRequest._ofUpgrade(path, search, h, headers, key, "ws");
}

describe("head templates", () => {
  it("gives like heads one template, and unlike heads their own", () => {
    const [a, b, c] = KEYS.map((k) => headTemplate(head(k), ...keyRange(head(k), k)));
    assert.equal(a, b);
    assert.equal(b, c);
    assert.equal(a.with(""), head(""));
    const other = head(KEYS[0], "/chat", "\r\nCookie: s=1");
    const d = headTemplate(other, ...keyRange(other, KEYS[0]));
    assert.notEqual(d, a);
    assert.ok(d.after.endsWith("Cookie: s=1"));
    // Heads of the same length that differ in one character outside the key.
    const near = head(KEYS[0]).replace("example.com:8080", "example.com:8081");
    assert.notEqual(headTemplate(near, ...keyRange(near, KEYS[0])), a);
    assert.equal(headTemplate(head(KEYS[1]), ...keyRange(head(KEYS[1]), KEYS[1])), a);
  });

  it("tells apart heads that differ only where the hash does not look", () => {
    // Index 5 is not among the characters hashed (every fourth): both heads hash alike.
    const x = head(KEYS[0], "/xhat"), y = head(KEYS[0], "/yhat");
    const tx = headTemplate(x, ...keyRange(x, KEYS[0])),
      ty = headTemplate(y, ...keyRange(y, KEYS[0]));
    assert.notEqual(tx, ty);
    for (let round = 0; round < 3; round++) {
      assert.equal(headTemplate(x, ...keyRange(x, KEYS[0])), tx);
      assert.equal(headTemplate(y, ...keyRange(y, KEYS[0])), ty);
    }
    assert.equal(tx.with(KEYS[0]), x);
    assert.equal(ty.with(KEYS[0]), y);
  });

  it("stays right when the table starts over (many unlike or large heads)", () => {
    const first = head(KEYS[0], "/first");
    const t0 = headTemplate(first, ...keyRange(first, KEYS[0]));
    for (let i = 0; i < 300; i++) {
      const h = head(KEYS[1], `/p${i}`, i % 50 === 0 ? "\r\nX-Big: " + "b".repeat(100_000) : "");
      const t = headTemplate(h, ...keyRange(h, KEYS[1]));
      assert.equal(t.with(KEYS[1]), h);
    }
    assert.equal(t0.with(KEYS[2]), head(KEYS[2], "/first"));
    const again = headTemplate(first, ...keyRange(first, KEYS[0]));
    assert.equal(again.with(KEYS[0]), first);
    assert.equal(headTemplate(first, ...keyRange(first, KEYS[0])), again);
  });

  it("keeps each socket's headers, key included, and its URL", () => {
    for (const k of KEYS) {
      for (const extra of ["", "\r\nCookie: id=42", "\r\nX-Long: " + "v".repeat(3000)]) {
        const h = head(k, "/chat/lobby-1234?x=1", extra);
        const r = kept(h, "/chat/lobby-1234", "?x=1");
        assert.deepEqual([...r.headers], [...parseRequestHead(h).headers], `${k} ${extra.length}`);
        assert.equal(r.headers.get("sec-websocket-key"), k);
        assert.equal(r._href(), "ws://example.com:8080/chat/lobby-1234?x=1");
        assert.equal(r.path, "/chat/lobby-1234");
        assert.equal(r.query.get("x"), "1");
      }
    }
  });

  it("rebuilds the URL from the template before the headers are read", () => {
    const r = kept(head(KEYS[2], "/a?b=c"), "/a", "?b=c");
    assert.equal(r._href(), "ws://example.com:8080/a?b=c");
    assert.equal(r.headers.get("origin"), "https://example.com");
    assert.equal(r._href(), "ws://example.com:8080/a?b=c");
  });

  it("copies strings as they are", () => {
    for (
      const s of [
        "",
        "short",
        "a".repeat(13),
        "é€\u0100".repeat(40),
        "é€\u0100".repeat(400),
        "x".repeat(5000),
      ]
    ) {
      assert.equal(ownCopy(s), s);
    }
    const h = head(KEYS[0], "/" + "p".repeat(100));
    assert.equal(ownCopy(h.slice(4, 105)), "/" + "p".repeat(100));
  });
});
