/**
 * The proxy handshakes of src/protocol/proxy.ts byte by byte, without sockets: what goes out, and
 * what every split of the proxy's answers does.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProxyError } from "../../src/errors.ts";
import {
  HttpConnectHandshake,
  type ProxyHandshake,
  type ProxyStep,
  Socks5Handshake,
} from "../../src/protocol/proxy.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (...b: number[]) => Uint8Array.of(...b);

/** Feeds `answer` in pieces of `size` bytes; returns every step. */
function feed(hs: ProxyHandshake, answer: Uint8Array, size: number): ProxyStep[] {
  const steps: ProxyStep[] = [];
  for (let i = 0; i < answer.length; i += size) {
    const step = hs.receive(answer.subarray(i, i + size));
    steps.push(step);
    if (step.done) break;
  }
  return steps;
}

function proxyError(fn: () => unknown, code: string): ProxyError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProxyError, String(err));
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe("HTTP CONNECT handshake", () => {
  it("asks for host:port, with Basic credentials in UTF-8", () => {
    assert.equal(
      dec.decode(new HttpConnectHandshake({ hostname: "example.com", port: 443 }).start()),
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    );
    const v6 = new HttpConnectHandshake({
      hostname: "::1",
      port: 80,
      username: "ä",
      password: "p",
    });
    assert.equal(
      dec.decode(v6.start()),
      "CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\nProxy-Authorization: Basic w6Q6cA==\r\n\r\n",
    );
  });

  it("is done at the end of a 2xx head, in any split, keeping what follows", () => {
    const answer = enc.encode("HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\nAB");
    for (const size of [1, 2, 7, answer.length]) {
      const hs = new HttpConnectHandshake({ hostname: "h", port: 1 });
      const steps = feed(hs, answer, size);
      const last = steps.at(-1)!;
      assert.ok(last.done, `size ${size}`);
      assert.ok(steps.slice(0, -1).every((s) => !s.done && !s.send));
      if (size === answer.length) assert.equal(dec.decode(last.rest), "AB");
    }
  });

  it("types refusals, auth, garbage and oversized heads", () => {
    const hs = () => new HttpConnectHandshake({ hostname: "h", port: 1 }, 64);
    const e407 = proxyError(
      () => hs().receive(enc.encode("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")),
      "WS_ERR_PROXY_AUTH",
    );
    assert.equal(e407.status, 407);
    const e502 = proxyError(
      () => hs().receive(enc.encode("HTTP/1.0 502 Bad Gateway\r\n\r\n")),
      "WS_ERR_PROXY_REFUSED",
    );
    assert.equal(e502.status, 502);
    proxyError(() => hs().receive(enc.encode("HELLO\r\n\r\n")), "WS_ERR_PROXY_INVALID");
    proxyError(() => hs().receive(enc.encode("x".repeat(65))), "WS_ERR_PROXY_INVALID");
  });
});

describe("SOCKS5 handshake", () => {
  it("without credentials: offers no-auth, then CONNECT with the address type of the host", () => {
    const cases: Array<[string, number[]]> = [
      ["127.0.0.1", [1, 127, 0, 0, 1]],
      ["::1", [4, ...new Array(15).fill(0), 1]],
      ["2001:db8::ffff:1.2.3.4", [
        4,
        0x20,
        1,
        0x0d,
        0xb8,
        ...new Array(6).fill(0),
        0xff,
        0xff,
        1,
        2,
        3,
        4,
      ]],
      ["example.com", [3, 11, ...enc.encode("example.com")]],
      ["256.1.1.1", [3, 9, ...enc.encode("256.1.1.1")]],
    ];
    for (const [hostname, addr] of cases) {
      const hs = new Socks5Handshake({ hostname, port: 0x1f90 });
      assert.deepEqual(hs.start(), bytes(5, 1, 0));
      const step = hs.receive(bytes(5, 0));
      assert.deepEqual(step.send, bytes(5, 1, 0, ...addr, 0x1f, 0x90), hostname);
      assert.equal(step.done, false);
    }
  });

  it("with credentials: RFC 1929 sub-negotiation, then CONNECT; replies in any split", () => {
    const reply = bytes(5, 0, 0, 3, 4, ...enc.encode("host"), 0, 80, 0xaa);
    for (const size of [1, 3, reply.length]) {
      const hs = new Socks5Handshake({
        hostname: "10.0.0.1",
        port: 80,
        username: "u",
        password: "pw",
      });
      assert.deepEqual(hs.start(), bytes(5, 1, 2));
      assert.deepEqual(hs.receive(bytes(5, 2)).send, bytes(1, 1, 117, 2, 112, 119));
      assert.deepEqual(hs.receive(bytes(1, 0)).send, bytes(5, 1, 0, 1, 10, 0, 0, 1, 0, 80));
      const last = feed(hs, reply, size).at(-1)!;
      assert.ok(last.done, `size ${size}`);
      if (size === reply.length) assert.deepEqual(last.rest, bytes(0xaa));
    }
  });

  it("types every refusal and every malformed answer", () => {
    const plain = () => new Socks5Handshake({ hostname: "h", port: 1 });
    const authed = () =>
      new Socks5Handshake({ hostname: "h", port: 1, username: "u", password: "p" });
    proxyError(() => plain().receive(bytes(5, 0xff)), "WS_ERR_PROXY_AUTH");
    proxyError(() => plain().receive(bytes(5, 2)), "WS_ERR_PROXY_AUTH");
    proxyError(() => authed().receive(bytes(5, 0)), "WS_ERR_PROXY_AUTH");
    proxyError(() => plain().receive(bytes(4, 0)), "WS_ERR_PROXY_INVALID");
    const a = authed();
    a.receive(bytes(5, 2));
    proxyError(() => a.receive(bytes(1, 1)), "WS_ERR_PROXY_AUTH");
    const b = authed();
    b.receive(bytes(5, 2));
    proxyError(() => b.receive(bytes(2, 0)), "WS_ERR_PROXY_INVALID");
    for (let code = 1; code <= 9; code++) {
      const c = plain();
      c.receive(bytes(5, 0));
      const err = proxyError(() => c.receive(bytes(5, code, 0, 1)), "WS_ERR_PROXY_REFUSED");
      assert.equal(err.status, code);
    }
    const d = plain();
    d.receive(bytes(5, 0));
    proxyError(() => d.receive(bytes(5, 0, 0, 7)), "WS_ERR_PROXY_INVALID");
    const e = plain();
    e.receive(bytes(5, 0));
    proxyError(() => e.receive(bytes(6, 0, 0, 1)), "WS_ERR_PROXY_INVALID");
  });

  it("refuses credentials and host names SOCKS5 cannot carry", () => {
    assert.throws(
      () => new Socks5Handshake({ hostname: "h", port: 1, username: "", password: "p" }),
      TypeError,
    );
    assert.throws(
      () =>
        new Socks5Handshake({ hostname: "h", port: 1, username: "u".repeat(256), password: "p" }),
      TypeError,
    );
    assert.throws(() => new Socks5Handshake({ hostname: "h".repeat(256), port: 1 }), TypeError);
  });
});
