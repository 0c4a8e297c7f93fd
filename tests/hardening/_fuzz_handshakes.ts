/**
 * Opening handshakes of the fuzz test, and what else a connection may start with: valid upgrade
 * requests (with deflate offers, good and bad), byte-mutated ones, ones built from odd parts
 * (request lines, header values, duplicated, missing and malformed lines, bare LF), plain HTTP
 * requests, an oversized head, garbage, nothing.
 */

import fc from "fast-check";
import { bytes, concat, encoder, pick } from "./_fuzz_bytes.ts";

const KEY_B64 = "dGhlIHNhbXBsZSBub25jZQ==";

/**
 * Offers of permessage-deflate: usual ones, and ones a server must decline or refuse (or accept,
 * but that the fuzzer's compressed messages may then break).
 */
const goodOffer: fc.Arbitrary<string> = fc.constantFrom(
  "permessage-deflate",
  "permessage-deflate; client_max_window_bits",
  "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
  "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
  "x-webkit-deflate-frame, permessage-deflate",
);
const badOffer: fc.Arbitrary<string> = fc.constantFrom(
  "permessage-deflate; server_max_window_bits=7",
  "permessage-deflate; client_max_window_bits=16",
  "permessage-deflate; foo=bar, permessage-deflate",
  "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
  'permessage-deflate; client_max_window_bits="10"',
  // Valid, but the fuzzer compresses with a 32 KiB window: a reference further back than 512
  // bytes breaks the promise, and the server must fail the connection (not crash).
  "permessage-deflate; client_max_window_bits=9",
);

function upgradeHead(path: string, extra: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY_B64}\r\nSec-WebSocket-Version: 13\r\n` +
    `${extra}\r\n`;
}

/** A valid opening handshake (offering deflate when `deflate`), and whether all of it is usual. */
function upgrade(deflate: boolean): fc.Arbitrary<{ head: Uint8Array; usual: boolean }> {
  return fc.record({
    path: pick([4, fc.constantFrom("/", "/a/b?c=d")], [
      1,
      fc.constantFrom("/%00", "*", "/?" + "q".repeat(300), "/deny", "/nowhere"),
    ]),
    offer: deflate
      ? pick([4, goodOffer.map((o): [string, boolean] => [o, true])], [
        1,
        badOffer.map((o): [string, boolean] => [o, false]),
      ])
      : fc.constant(undefined),
    proto: fc.boolean(),
  }).map(({ path, offer, proto }) => ({
    head: encoder.encode(
      upgradeHead(
        path,
        (offer ? `Sec-WebSocket-Extensions: ${offer[0]}\r\n` : "") +
          (proto ? "Sec-WebSocket-Protocol: chat, superchat\r\n" : ""),
      ),
    ),
    usual: (path === "/" || path === "/a/b?c=d") && (offer?.[1] ?? true),
  }));
}

/** A handshake with 1-4 random byte edits (replace, insert, delete) or cut short. */
const mutatedUpgrade: fc.Arbitrary<Uint8Array> = fc.tuple(
  upgrade(false).map((u) => u.head),
  fc.array(fc.tuple(fc.constantFrom("replace", "insert", "delete", "cut"), fc.nat(), fc.nat(255)), {
    minLength: 1,
    maxLength: 4,
  }),
).map(([head, edits]) => {
  const b = Array.from(head);
  for (const [op, at, v] of edits) {
    const i = at % b.length;
    if (op === "replace") b[i] = v;
    else if (op === "insert") b.splice(i, 0, v);
    else if (op === "delete") b.splice(i, 1);
    else b.length = Math.max(1, i);
  }
  return new Uint8Array(b);
});

/** Header lines of a valid handshake, by name, and odd values for each. */
const ODD_VALUES: Record<string, string[]> = {
  Host: ["", "127.0.0.1:99999", "a b", "[::1", "x".repeat(300)],
  Upgrade: ["WebSocket", "websocket, h2c", "h2c", "", "web socket"],
  Connection: ["keep-alive, Upgrade", "upgrade", "close", "Upgrade,,", "keep-alive"],
  "Sec-WebSocket-Key": [
    "",
    "short",
    "!!!!!!!!!!!!!!!!!!!!!!==",
    "dGhlIHNhbXBsZSBub25jZQ",
    `${KEY_B64}, ${KEY_B64}`,
    "AAAAAAAAAAAAAAAAAAAAAAAA",
  ],
  "Sec-WebSocket-Version": ["8", "13, 8", "", "013", "13 ", "-1"],
};

/** Header lines a handshake does not need, some of them malformed. */
const ODD_LINES = [
  "Content-Length: 5",
  "Content-Length: -1",
  "Transfer-Encoding: chunked",
  "X-Empty:",
  "X-Fold: a\r\n b",
  "NoColon",
  ": no name",
  "X-Nul: a\u0000b",
  "X-Utf8: \u00e9\u00e8",
  "X Space: v",
  "Sec-WebSocket-Protocol: ,,,",
  "Sec-WebSocket-Protocol: chat, chat",
  'Sec-WebSocket-Extensions: permessage-deflate; x="',
  "Sec-WebSocket-Extensions: ;;;",
  "Origin: null",
  `X-Long: ${"v".repeat(7000)}`,
  Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}`).join("\r\n"),
];

/**
 * A handshake built from parts with odd choices: request lines, header values, duplicated or
 * missing headers, extra (malformed) lines, bare LF line ends. Some are still valid.
 */
const oddUpgrade: fc.Arbitrary<Uint8Array> = fc.record({
  method: pick([6, fc.constant("GET")], [1, fc.constantFrom("get", "POST", "HEAD", "GET ", "")]),
  target: pick(
    [4, fc.constant("/")],
    [1, fc.constantFrom("http://127.0.0.1/", "//x", "/a b", "/\u00e9", "", "/#f", "%")],
  ),
  version: pick(
    [6, fc.constant("HTTP/1.1")],
    [1, fc.constantFrom("HTTP/1.0", "HTTP/2", "http/1.1", "HTTP/1.10", "HTTP/1.1 x")],
  ),
  headers: fc.array(
    fc.tuple(
      fc.constantFrom(...Object.keys(ODD_VALUES)),
      fc.constantFrom("keep", "odd", "drop", "twice", "case"),
      fc.nat(),
    ),
    { minLength: 1, maxLength: 4 },
  ),
  extra: fc.array(fc.constantFrom(...ODD_LINES), { maxLength: 3 }),
  eol: pick([6, fc.constant("\r\n")], [1, fc.constant("\n")]),
}).map(({ method, target, version, headers, extra, eol }) => {
  const base: Record<string, string> = {
    Host: "Host: 127.0.0.1",
    Upgrade: "Upgrade: websocket",
    Connection: "Connection: Upgrade",
    "Sec-WebSocket-Key": `Sec-WebSocket-Key: ${KEY_B64}`,
    "Sec-WebSocket-Version": "Sec-WebSocket-Version: 13",
  };
  const lines = new Map(Object.entries(base).map(([name, line]) => [name, [line]]));
  for (const [name, how, n] of headers) {
    const line = base[name];
    const odd = ODD_VALUES[name][n % ODD_VALUES[name].length];
    if (how === "odd") lines.set(name, [`${name}: ${odd}`]);
    else if (how === "drop") lines.set(name, []);
    else if (how === "twice") lines.set(name, [line, `${name}: ${odd}`]);
    else if (how === "case") lines.set(name, [n % 2 ? line.toUpperCase() : line.toLowerCase()]);
  }
  const all = [`${method} ${target} ${version}`, ...[...lines.values()].flat(), ...extra];
  return encoder.encode(all.join(eol) + eol + eol);
});

/** A plain HTTP POST whose Content-Length is right, short, long or absent. */
const post: fc.Arbitrary<Uint8Array> = fc.tuple(
  bytes(0, 2000),
  fc.constantFrom("right", "less", "more", "none", "huge"),
).map(([body, length]) => {
  const n = length === "right"
    ? body.length
    : length === "less"
    ? body.length >> 1
    : length === "more"
    ? body.length + 10
    : 2 ** 40;
  const head = `POST /p HTTP/1.1\r\nHost: x\r\n${
    length === "none" ? "" : `Content-Length: ${n}\r\n`
  }\r\n`;
  return concat([encoder.encode(head), body]);
});

/** What a connection starts with: its name, bytes, and whether it is a usual valid handshake. */
export function prelude(deflate: boolean): fc.Arbitrary<[string, Uint8Array, boolean]> {
  const named = (name: string, a: fc.Arbitrary<Uint8Array>) =>
    a.map((b): [string, Uint8Array, boolean] => [name, b, false]);
  const bigHead = encoder.encode(upgradeHead("/", `X-Big: ${"b".repeat(20_000)}\r\n`));
  return pick(
    [12, upgrade(deflate).map((u): [string, Uint8Array, boolean] => ["upgrade", u.head, u.usual])],
    [2, named("mutated", mutatedUpgrade)],
    [3, named("odd-upgrade", oddUpgrade)],
    [1, named("garbage", bytes(1, 600))],
    [1, named("plain-http", fc.constant(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))],
    [1, named("big-head", fc.constant(bigHead))],
    [1, named("http-post", post)],
    [1, named("nothing", fc.constant(new Uint8Array(0)))],
  );
}
