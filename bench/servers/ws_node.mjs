/**
 * Peer bench server on Node: npm `ws`, compression off unless `BENCH_DEFLATE=1`. Run it with
 * `WS_NO_BUFFER_UTIL=1` and `WS_NO_UTF_8_VALIDATE=1` (the runner does) so that `ws` uses no
 * native addon either. `/` echoes each message as the same type; `/broadcast` relays every message
 * to every client on `/broadcast` (a loop over the clients: `ws` frames each send). With
 * `BENCH_TLS_CERT` and `BENCH_TLS_KEY` (PEM files) it serves `wss:` on `node:https`. Prints
 * `listening on PORT`.
 *
 * ```sh
 * node bench/servers/ws_node.mjs [port]
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import process from "node:process";
import { WebSocket, WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 0);
const cert = process.env.BENCH_TLS_CERT, key = process.env.BENCH_TLS_KEY;
const https = cert && key
  ? createServer({ cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") })
  : undefined;
const subscribers = new Set();
const wss = new WebSocketServer({
  ...https ? { server: https } : { host: "127.0.0.1", port },
  perMessageDeflate: process.env.BENCH_DEFLATE === "1",
  clientTracking: false,
  maxPayload: 64 * 1024 * 1024,
});
wss.on("connection", (ws, req) => {
  ws.on("error", () => {});
  if (req.url === "/broadcast") {
    subscribers.add(ws);
    ws.on("close", () => subscribers.delete(ws));
    ws.on("message", (data, isBinary) => {
      for (const s of subscribers) {
        if (s.readyState === WebSocket.OPEN) s.send(data, { binary: isBinary });
      }
    });
  } else {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  }
});
wss.on("listening", () => console.log(`listening on ${wss.address().port}`));
https?.listen(port, "127.0.0.1");
// Exit cleanly on SIGTERM (the runner stops servers so), so that --cpu-prof writes its profile.
process.on("SIGTERM", () => process.exit(0));
