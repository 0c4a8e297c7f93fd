/**
 * Peer bench server on Node: npm `ws`, compression off. Run it with `WS_NO_BUFFER_UTIL=1` and
 * `WS_NO_UTF_8_VALIDATE=1` (the runner does) so that `ws` uses no native addon either.
 * `/` echoes each message as the same type; `/broadcast` relays every message to every client on
 * `/broadcast` (a loop over the clients: `ws` frames each send). Prints `listening on PORT`.
 *
 * ```sh
 * node bench/servers/ws_node.mjs [port]
 * ```
 *
 * @module
 */

import process from "node:process";
import { WebSocket, WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 0);
const subscribers = new Set();
const wss = new WebSocketServer({
  host: "127.0.0.1",
  port,
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
// Exit cleanly on SIGTERM (the runner stops servers so), so that --cpu-prof writes its profile.
process.on("SIGTERM", () => process.exit(0));
