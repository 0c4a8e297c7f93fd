/**
 * Unit tests of src/protocol/handshake.ts: the RFC 6455 §4 opening handshake, both sides.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HandshakeError, WSError } from "../../src/errors.ts";
import {
  acceptKey,
  checkClientRequest,
  checkServerResponse,
  encodeAcceptResponse,
  encodeClientRequest,
  generateKey,
  selectProtocol,
  splitList,
} from "../../src/protocol/handshake.ts";
import {
  HeadReader,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "../../src/protocol/http.ts";

const dec = new TextDecoder();

/** RFC 6455 §1.3 example key and its accept value. */
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function headOf(bytes: Uint8Array): string {
  const r = new HeadReader().push(bytes);
  assert.ok(r.done && "head" in r, "a complete head");
  assert.equal(r.rest.length, 0, "nothing after the head");
  return r.head;
}

function response(status: number, headers: Record<string, string>, text = "X"): ResponseHead {
  return { version: "HTTP/1.1", status, statusText: text, headers: new Headers(headers) };
}

const GOOD_RESPONSE = {
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Accept": ACCEPT,
};

function request(
  headers: Record<string, string>,
  method = "GET",
  version = "HTTP/1.1",
): RequestHead {
  return { method, target: "/chat", version, headers: new Headers(headers) };
}

const GOOD_REQUEST: Record<string, string> = {
  Host: "server.example.com",
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Key": KEY,
  "Sec-WebSocket-Version": "13",
};

/** GOOD_REQUEST with some headers changed; undefined removes one. */
function variant(changes: Record<string, string | undefined>): Record<string, string> {
  const h: Record<string, string> = { ...GOOD_REQUEST };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete h[k];
    else h[k] = v;
  }
  return h;
}

describe("acceptKey", () => {
  it("gives the RFC 6455 example value", () => {
    assert.equal(acceptKey(KEY), ACCEPT);
  });

  it("depends on the key", () => {
    assert.notEqual(acceptKey("x3JJHMbDL1EzLkh9GBhXDw=="), ACCEPT);
    assert.equal(acceptKey("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
  });
});

describe("generateKey", () => {
  it("is 24 base64 characters encoding 16 bytes", () => {
    for (let i = 0; i < 50; i++) {
      const key = generateKey();
      assert.equal(key.length, 24, key);
      assert.match(key, /^[A-Za-z0-9+/]{22}==$/);
      assert.equal(atob(key).length, 16, key);
    }
  });

  it("is random", () => {
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) keys.add(generateKey());
    assert.equal(keys.size, 200);
  });

  it("is accepted by checkClientRequest", () => {
    for (let i = 0; i < 50; i++) {
      const key = generateKey();
      const r = checkClientRequest(request(variant({ "Sec-WebSocket-Key": key })));
      assert.deepEqual(r, { ok: true, key, protocols: [] }, key);
    }
  });
});

describe("splitList", () => {
  it("splits, trims and drops empty items", () => {
    assert.deepEqual(splitList(null), []);
    assert.deepEqual(splitList(""), []);
    assert.deepEqual(splitList("chat"), ["chat"]);
    assert.deepEqual(splitList(" chat ,superchat,, v2 , "), ["chat", "superchat", "v2"]);
  });
});

describe("encodeClientRequest", () => {
  it("contains the request line and every required header", () => {
    const bytes = encodeClientRequest({ host: "example.com:8080", path: "/chat?x=1", key: KEY });
    const text = dec.decode(bytes);
    assert.ok(text.startsWith("GET /chat?x=1 HTTP/1.1\r\n"), text);
    assert.ok(text.endsWith("\r\n\r\n"), text);
    const req = parseRequestHead(headOf(bytes));
    assert.equal(req.method, "GET");
    assert.equal(req.target, "/chat?x=1");
    assert.equal(req.version, "HTTP/1.1");
    assert.equal(req.headers.get("host"), "example.com:8080");
    assert.equal(req.headers.get("upgrade"), "websocket");
    assert.equal(req.headers.get("connection"), "Upgrade");
    assert.equal(req.headers.get("sec-websocket-key"), KEY);
    assert.equal(req.headers.get("sec-websocket-version"), "13");
    assert.equal(req.headers.has("sec-websocket-protocol"), false);
    assert.equal(req.headers.has("sec-websocket-extensions"), false);
  });

  it("is exactly this for the RFC example", () => {
    const bytes = encodeClientRequest({ host: "server.example.com", path: "/chat", key: KEY });
    assert.equal(
      dec.decode(bytes),
      "GET /chat HTTP/1.1\r\n" +
        "connection: Upgrade\r\n" +
        "host: server.example.com\r\n" +
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "sec-websocket-version: 13\r\n" +
        "upgrade: websocket\r\n" +
        "\r\n",
    );
  });

  it("joins offered protocols with ', ' in order", () => {
    const bytes = encodeClientRequest({
      host: "h",
      path: "/",
      key: KEY,
      protocols: ["v2.chat", "chat", "superchat"],
    });
    const req = parseRequestHead(headOf(bytes));
    assert.equal(req.headers.get("sec-websocket-protocol"), "v2.chat, chat, superchat");
  });

  it("sends no protocol header for an empty list", () => {
    const bytes = encodeClientRequest({ host: "h", path: "/", key: KEY, protocols: [] });
    assert.equal(parseRequestHead(headOf(bytes)).headers.has("sec-websocket-protocol"), false);
  });

  it("adds extra headers, but cannot be made to send wrong handshake headers", () => {
    const bytes = encodeClientRequest({
      host: "h",
      path: "/",
      key: KEY,
      headers: {
        Origin: "http://example.com",
        Upgrade: "h2c",
        Connection: "keep-alive",
        "Sec-WebSocket-Version": "8",
      },
    });
    const req = parseRequestHead(headOf(bytes));
    assert.equal(req.headers.get("origin"), "http://example.com");
    assert.equal(req.headers.get("upgrade"), "websocket");
    assert.equal(req.headers.get("connection"), "Upgrade");
    assert.equal(req.headers.get("sec-websocket-version"), "13");
    assert.equal(checkClientRequest(req).ok, true);
  });

  it("rejects a protocol offered twice", () => {
    assert.throws(
      () => encodeClientRequest({ host: "h", path: "/", key: KEY, protocols: ["chat", "chat"] }),
      TypeError,
    );
    assert.throws(
      () => encodeClientRequest({ host: "h", path: "/", key: KEY, protocols: ["a", "b", "a"] }),
      TypeError,
    );
  });

  it("rejects protocols that are not HTTP tokens", () => {
    for (const p of ["", "a b", "a,b", "chat/1", "é", "a\tb", "(x)", 'q"', "x;y", "a=b"]) {
      assert.throws(
        () => encodeClientRequest({ host: "h", path: "/", key: KEY, protocols: ["ok", p] }),
        TypeError,
        JSON.stringify(p),
      );
    }
  });

  it("accepts all token characters", () => {
    const p = "!#$%&'*+-.^_`|~09AZaz";
    const bytes = encodeClientRequest({ host: "h", path: "/", key: KEY, protocols: [p] });
    assert.equal(parseRequestHead(headOf(bytes)).headers.get("sec-websocket-protocol"), p);
  });
});

describe("checkServerResponse", () => {
  it("accepts a valid 101 without a protocol", () => {
    assert.deepEqual(checkServerResponse(response(101, GOOD_RESPONSE), KEY, []), { protocol: "" });
    assert.deepEqual(checkServerResponse(response(101, GOOD_RESPONSE), KEY, ["chat"]), {
      protocol: "",
    });
  });

  it("accepts a valid 101 with an offered protocol", () => {
    const res = response(101, { ...GOOD_RESPONSE, "Sec-WebSocket-Protocol": "chat" });
    assert.deepEqual(checkServerResponse(res, KEY, ["superchat", "chat"]), { protocol: "chat" });
  });

  it("accepts tokens in any case and in lists", () => {
    const res = response(101, {
      Upgrade: "WebSocket",
      Connection: "keep-alive, UPGRADE",
      "Sec-WebSocket-Accept": ACCEPT,
    });
    assert.deepEqual(checkServerResponse(res, KEY, []), { protocol: "" });
  });

  it("accepts what encodeAcceptResponse produces", () => {
    const bytes = encodeAcceptResponse(KEY, "chat", { "X-Server": "wsdriver" });
    const res = parseResponseHead(headOf(bytes));
    assert.deepEqual(checkServerResponse(res, KEY, ["chat"]), { protocol: "chat" });
  });

  const isHandshakeError = (code: string, status: number | undefined) => (e: unknown) => {
    assert.ok(e instanceof HandshakeError, `a HandshakeError, got ${e}`);
    assert.ok(e instanceof WSError);
    assert.equal(e.name, "HandshakeError");
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    return true;
  };

  for (const status of [200, 301, 400, 403, 404, 426, 500, 503]) {
    it(`a ${status} is WS_ERR_HANDSHAKE_REJECTED with the status kept`, () => {
      assert.throws(
        () => checkServerResponse(response(status, GOOD_RESPONSE, "Nope"), KEY, []),
        isHandshakeError("WS_ERR_HANDSHAKE_REJECTED", status),
      );
    });
  }

  const INVALID: [string, Record<string, string>, string[]][] = [
    ["missing Upgrade", { Connection: "Upgrade", "Sec-WebSocket-Accept": ACCEPT }, []],
    ["Upgrade: h2c", { ...GOOD_RESPONSE, Upgrade: "h2c" }, []],
    ["missing Connection", { Upgrade: "websocket", "Sec-WebSocket-Accept": ACCEPT }, []],
    ["Connection: keep-alive", { ...GOOD_RESPONSE, Connection: "keep-alive" }, []],
    ["missing Sec-WebSocket-Accept", { Upgrade: "websocket", Connection: "Upgrade" }, []],
    ["wrong Sec-WebSocket-Accept", {
      ...GOOD_RESPONSE,
      "Sec-WebSocket-Accept": acceptKey("x3JJHMbDL1EzLkh9GBhXDw=="),
    }, []],
    ["Sec-WebSocket-Accept of the wrong case", {
      ...GOOD_RESPONSE,
      "Sec-WebSocket-Accept": ACCEPT.toLowerCase(),
    }, []],
    ["a protocol that was not offered", {
      ...GOOD_RESPONSE,
      "Sec-WebSocket-Protocol": "superchat",
    }, ["chat"]],
    [
      "a protocol when none was offered",
      { ...GOOD_RESPONSE, "Sec-WebSocket-Protocol": "chat" },
      [],
    ],
    ["two protocols", { ...GOOD_RESPONSE, "Sec-WebSocket-Protocol": "chat, v2" }, ["chat", "v2"]],
    ["an unexpected Sec-WebSocket-Extensions", {
      ...GOOD_RESPONSE,
      "Sec-WebSocket-Extensions": "permessage-deflate",
    }, []],
  ];
  for (const [name, headers, offered] of INVALID) {
    it(`${name} is WS_ERR_HANDSHAKE_INVALID (status 101)`, () => {
      assert.throws(
        () => checkServerResponse(response(101, headers), KEY, offered),
        isHandshakeError("WS_ERR_HANDSHAKE_INVALID", 101),
      );
    });
  }
});

describe("checkClientRequest", () => {
  it("accepts the RFC 6455 example request", () => {
    assert.deepEqual(checkClientRequest(request(GOOD_REQUEST)), {
      ok: true,
      key: KEY,
      protocols: [],
    });
  });

  it("returns the offered protocols in order", () => {
    const r = checkClientRequest(
      request(variant({ "Sec-WebSocket-Protocol": "chat, superchat ,v2" })),
    );
    assert.deepEqual(r, { ok: true, key: KEY, protocols: ["chat", "superchat", "v2"] });
  });

  it("accepts what encodeClientRequest produces", () => {
    const key = generateKey();
    const bytes = encodeClientRequest({ host: "h:1", path: "/", key, protocols: ["a", "b"] });
    assert.deepEqual(checkClientRequest(parseRequestHead(headOf(bytes))), {
      ok: true,
      key,
      protocols: ["a", "b"],
    });
  });

  for (
    const [name, headers] of [
      ["Connection: UPGRADE", variant({ Connection: "UPGRADE" })],
      ["Connection: keep-alive, Upgrade", variant({ Connection: "keep-alive, Upgrade" })],
      ["Upgrade: WebSocket", variant({ Upgrade: "WebSocket" })],
      ["Upgrade: WEBSOCKET with spaces", variant({ Upgrade: "  WEBSOCKET  " })],
      ["Upgrade: websocket, h2c", variant({ Upgrade: "websocket, h2c" })],
    ] as const
  ) {
    it(`accepts ${name}`, () => {
      assert.deepEqual(checkClientRequest(request(headers)), { ok: true, key: KEY, protocols: [] });
    });
  }

  interface Bad {
    name: string;
    req: RequestHead;
    status: number;
    code: string;
    headers?: Record<string, string>;
  }
  const BAD: Bad[] = [
    {
      name: "POST",
      req: request(GOOD_REQUEST, "POST"),
      status: 405,
      code: "WS_ERR_BAD_METHOD",
      headers: { allow: "GET" },
    },
    { name: "HEAD", req: request(GOOD_REQUEST, "HEAD"), status: 405, code: "WS_ERR_BAD_METHOD" },
    {
      name: "HTTP/1.0",
      req: request(GOOD_REQUEST, "GET", "HTTP/1.0"),
      status: 400,
      code: "WS_ERR_BAD_HTTP_VERSION",
    },
    {
      name: "HTTP/2.0",
      req: request(GOOD_REQUEST, "GET", "HTTP/2.0"),
      status: 400,
      code: "WS_ERR_BAD_HTTP_VERSION",
    },
    {
      name: "no Host",
      req: request(variant({ Host: undefined })),
      status: 400,
      code: "WS_ERR_NO_HOST",
    },
    {
      name: "no Upgrade",
      req: request(variant({ Upgrade: undefined })),
      status: 426,
      code: "WS_ERR_NOT_UPGRADE",
      headers: { upgrade: "websocket" },
    },
    {
      name: "Upgrade: h2c",
      req: request(variant({ Upgrade: "h2c" })),
      status: 426,
      code: "WS_ERR_NOT_UPGRADE",
      headers: { upgrade: "websocket" },
    },
    {
      name: "no Connection",
      req: request(variant({ Connection: undefined })),
      status: 400,
      code: "WS_ERR_BAD_CONNECTION",
    },
    {
      name: "Connection: keep-alive",
      req: request(variant({ Connection: "keep-alive" })),
      status: 400,
      code: "WS_ERR_BAD_CONNECTION",
    },
    {
      name: "version 8",
      req: request(variant({ "Sec-WebSocket-Version": "8" })),
      status: 426,
      code: "WS_ERR_BAD_VERSION",
      headers: { "sec-websocket-version": "13" },
    },
    {
      name: "version 13, 8",
      req: request(variant({ "Sec-WebSocket-Version": "13, 8" })),
      status: 426,
      code: "WS_ERR_BAD_VERSION",
      headers: { "sec-websocket-version": "13" },
    },
    {
      name: "missing version",
      req: request(variant({ "Sec-WebSocket-Version": undefined })),
      status: 426,
      code: "WS_ERR_BAD_VERSION",
      headers: { "sec-websocket-version": "13" },
    },
    {
      name: "missing key",
      req: request(variant({ "Sec-WebSocket-Key": undefined })),
      status: 400,
      code: "WS_ERR_BAD_KEY",
    },
    {
      name: "key not base64",
      req: request(variant({ "Sec-WebSocket-Key": "not a base64 key!!!!!!==" })),
      status: 400,
      code: "WS_ERR_BAD_KEY",
    },
    {
      name: "key of 15 bytes",
      req: request(variant({ "Sec-WebSocket-Key": btoa("a".repeat(15)) })),
      status: 400,
      code: "WS_ERR_BAD_KEY",
    },
    {
      name: "key of 17 bytes",
      req: request(variant({ "Sec-WebSocket-Key": btoa("a".repeat(17)) })),
      status: 400,
      code: "WS_ERR_BAD_KEY",
    },
    {
      name: "key without padding",
      req: request(variant({ "Sec-WebSocket-Key": KEY.slice(0, 22) })),
      status: 400,
      code: "WS_ERR_BAD_KEY",
    },
    {
      name: "key with non-zero padding bits",
      req: request(variant({ "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZR==" })),
      status: 400,
      code: "WS_ERR_BAD_KEY",
    },
    {
      name: "empty key",
      req: request(variant({ "Sec-WebSocket-Key": "" })),
      status: 400,
      code: "WS_ERR_BAD_KEY",
    },
  ];

  for (const b of BAD) {
    it(`${b.name} → ${b.status} ${b.code}`, () => {
      const r = checkClientRequest(b.req);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.status, b.status);
      assert.equal(r.code, b.code);
      assert.equal(typeof r.body, "string");
      assert.ok(r.body.length > 0);
      for (const [k, v] of Object.entries(b.headers ?? {})) {
        assert.equal(r.headers.get(k), v, `header ${k}`);
      }
    });
  }

  it("checks in order: method, version, Host, Upgrade, Connection, version, key", () => {
    const all = request({}, "POST", "HTTP/1.0");
    assert.equal((checkClientRequest(all) as { code: string }).code, "WS_ERR_BAD_METHOD");
    assert.equal(
      (checkClientRequest(request({}, "GET", "HTTP/1.0")) as { code: string }).code,
      "WS_ERR_BAD_HTTP_VERSION",
    );
    assert.equal((checkClientRequest(request({})) as { code: string }).code, "WS_ERR_NO_HOST");
  });
});

describe("selectProtocol", () => {
  it("picks the first offered protocol that is accepted", () => {
    assert.equal(selectProtocol(["v2.chat", "chat"], ["chat"]), "chat");
    assert.equal(selectProtocol(["a", "b", "c"], ["c", "b"]), "b");
    assert.equal(selectProtocol(["a"], ["a"]), "a");
  });

  it("is '' when none matches", () => {
    assert.equal(selectProtocol([], ["chat"]), "");
    assert.equal(selectProtocol(["chat"], []), "");
    assert.equal(selectProtocol(["Chat"], ["chat"]), "", "protocol names are case-sensitive");
  });
});

describe("encodeAcceptResponse", () => {
  it("is exactly the RFC 6455 101 for the example key", () => {
    assert.equal(
      dec.decode(encodeAcceptResponse(KEY, "")),
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "connection: Upgrade\r\n" +
        `sec-websocket-accept: ${ACCEPT}\r\n` +
        "upgrade: websocket\r\n" +
        "\r\n",
    );
  });

  it("includes the chosen protocol and extra headers", () => {
    const res = parseResponseHead(
      headOf(encodeAcceptResponse(KEY, "chat", { "X-Server": "wsdriver", Upgrade: "h2c" })),
    );
    assert.equal(res.status, 101);
    assert.equal(res.headers.get("sec-websocket-protocol"), "chat");
    assert.equal(res.headers.get("x-server"), "wsdriver");
    assert.equal(res.headers.get("upgrade"), "websocket", "extra headers cannot override");
    assert.equal(res.headers.get("sec-websocket-accept"), ACCEPT);
    assert.equal(res.headers.has("content-length"), false);
  });

  it("writes the usual 101 with a protocol and extensions as Headers would order them", () => {
    const ext = "permessage-deflate; server_max_window_bits=12";
    // The same answer through the general path (extra headers): fields sorted, lower case.
    const viaHeaders = (protocol: string, extensions: string) =>
      dec.decode(encodeAcceptResponse(KEY, protocol, {}, extensions));
    for (const [protocol, extensions] of [["", ""], ["chat", ""], ["", ext], ["chat", ext]]) {
      const bytes = encodeAcceptResponse(KEY, protocol, undefined, extensions || undefined);
      assert.equal(
        dec.decode(bytes),
        viaHeaders(protocol, extensions),
        `${protocol} ${extensions}`,
      );
    }
  });

  it("encodes a protocol above U+007F as UTF-8, as before", () => {
    const bytes = encodeAcceptResponse(KEY, "ch\u00e2t");
    assert.equal(dec.decode(bytes), viaNothing("ch\u00e2t"));
    const res = parseResponseHead(headOf(bytes));
    assert.equal(res.status, 101);
  });
});

function viaNothing(protocol: string): string {
  return "HTTP/1.1 101 Switching Protocols\r\n" +
    "connection: Upgrade\r\n" +
    `sec-websocket-accept: ${ACCEPT}\r\n` +
    `sec-websocket-protocol: ${protocol}\r\n` +
    "upgrade: websocket\r\n" +
    "\r\n";
}
