/**
 * The npm `ws` package on Node as an interop peer (not a test file). Plain ESM JavaScript: it
 * runs on the machine's `node` (20 or later), which cannot run TypeScript.
 *
 *   node ws_peer.mjs client URL [--deflate]  # two connections to URL, one after the other, then
 *                                            # exit
 *   node ws_peer.mjs server [--deflate]      # WebSocketServer on 127.0.0.1:0; prints
 *                                            # "listening on ws://127.0.0.1:PORT"
 *
 * `--deflate` enables permessage-deflate (ws's default options): the client offers it (which a
 * ws client does by default anyway), the server accepts it (off by default in ws). The `open`
 * report's `extensions` is the Sec-WebSocket-Extensions value of the handshake ("" if none).
 *
 * `ws` can do everything the interop suite asks: ping, observe pings and pongs, and send a
 * message in fragments (`send(data, { fin: false })`). The peer protocol is described in
 * tests/interop/README.md and peers/web_peer.ts.
 */
import { createHash } from "node:crypto";
import process from "node:process";
import { WebSocket, WebSocketServer } from "ws";

const SUPPORTED = ["interop.v2", "interop.v1"];
const OFFERED = ["bogus.v0", "interop.v1"];
const MAX_PAYLOAD = 64 * 1024 * 1024;

/** The message `cmd:fragment` asks for, as text and binary, and how it is cut. */
const FRAGMENT_TEXT = "frag-ment-ed ü😀";
const FRAGMENT_BINARY = Uint8Array.from({ length: 300 }, (_, i) => (i * 3 + 1) & 0xff);

function report(obj) {
  console.log(JSON.stringify(obj));
}

function sendFragments(ws, pieces, binary) {
  pieces.forEach((piece, i) => ws.send(piece, { binary, fin: i === pieces.length - 1 }));
}

/** Runs the peer protocol on `ws`; resolves once it is closed. */
function runPeer(ws) {
  return new Promise((resolve) => {
    ws.on("message", (data, isBinary) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (!isBinary) {
        const text = data.toString("utf8");
        if (text.startsWith("cmd:")) return command(text);
      }
      ws.send(data, { binary: isBinary });
      report({
        event: "message",
        binary: isBinary,
        length: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      });
    });
    ws.on("ping", (data) => report({ event: "ping", data: data.toString("utf8") }));
    ws.on("pong", (data) => report({ event: "pong", data: data.toString("utf8") }));
    ws.on("error", (err) => report({ event: "error", message: String(err) }));
    ws.on("close", (code, reason) => {
      report({ event: "close", code, reason: reason.toString("utf8"), clean: null });
      resolve();
    });
    function command(cmd) {
      if (cmd === "cmd:close") {
        ws.close(4001, "peer bye");
      } else if (cmd === "cmd:ping") {
        ws.ping("peer-ping");
      } else if (cmd === "cmd:fragment") {
        // Text cut inside the 4-byte UTF-8 sequence of 😀 (the receiver must join the bytes
        // before decoding), with a ping between two of its fragments. Binary with an empty
        // fragment in the middle.
        const utf8 = Buffer.from(FRAGMENT_TEXT, "utf8");
        const cut = utf8.length - 2;
        ws.send(utf8.subarray(0, 5), { binary: false, fin: false });
        ws.ping("peer-between-fragments");
        sendFragments(ws, [utf8.subarray(5, cut), utf8.subarray(cut)], false);
        const b = Buffer.from(FRAGMENT_BINARY);
        sendFragments(ws, [b.subarray(0, 100), b.subarray(100, 100), b.subarray(100)], true);
      } else {
        report({ event: "unsupported", cmd });
      }
    }
  });
}

const args = process.argv.slice(2);
const deflate = args.includes("--deflate");
const [mode, url] = args.filter((a) => a !== "--deflate");
if (mode === "client" && url) {
  for (let n = 1; n <= 2; n++) {
    const ws = new WebSocket(url, OFFERED, { maxPayload: MAX_PAYLOAD, perMessageDeflate: true });
    let extensions = "";
    ws.on("upgrade", (res) => (extensions = res.headers["sec-websocket-extensions"] ?? ""));
    ws.on("open", () => report({ event: "open", protocol: ws.protocol, extensions }));
    await runPeer(ws);
  }
} else if (mode === "server") {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    maxPayload: MAX_PAYLOAD,
    perMessageDeflate: deflate,
    handleProtocols: (offered) => SUPPORTED.find((p) => offered.has(p)) ?? false,
  });
  // The response head, to report the Sec-WebSocket-Extensions value it carries.
  let extensions = "";
  wss.on("headers", (headers) => {
    const line = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
    extensions = line ? line.slice(line.indexOf(":") + 1).trim() : "";
  });
  wss.on("listening", () => console.log(`listening on ws://127.0.0.1:${wss.address().port}`));
  wss.on("connection", (ws) => {
    report({ event: "open", protocol: ws.protocol, extensions });
    runPeer(ws);
  });
} else {
  console.error("usage: node ws_peer.mjs client URL | server");
  process.exitCode = 2;
}
