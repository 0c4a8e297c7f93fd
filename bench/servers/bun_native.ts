/**
 * Peer bench server on Bun: `Bun.serve` with its native WebSocket (uWebSockets), compression off
 * unless `BENCH_DEFLATE=1`. `/` echoes each message as the same type; `/broadcast` relays every
 * message to every client on `/broadcast` (`ws.subscribe` + `server.publish`). With
 * `BENCH_TLS_CERT` and `BENCH_TLS_KEY` (PEM files) it serves `wss:` (`Bun.serve`'s own TLS).
 * Prints `listening on PORT`.
 *
 * ```sh
 * bun bench/servers/bun_native.ts [port]
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

/** The slice of Bun's API used here, typed locally (no Bun types needed). */
interface BunSocket {
  data: { broadcast: boolean };
  send(data: string | Uint8Array, compress?: boolean): number;
  subscribe(topic: string): void;
}
interface BunServer {
  port: number;
  upgrade(req: Request, options: { data: { broadcast: boolean } }): boolean;
  publish(topic: string, data: string | Uint8Array, compress?: boolean): number;
}
interface BunServeOptions {
  port: number;
  hostname: string;
  tls?: { cert: string; key: string };
  fetch(req: Request, server: BunServer): Response | undefined;
  websocket: {
    perMessageDeflate: boolean;
    idleTimeout: number;
    maxPayloadLength: number;
    open(ws: BunSocket): void;
    message(ws: BunSocket, message: string | Uint8Array): void;
  };
}

const Bun = (globalThis as unknown as { Bun: { serve(o: BunServeOptions): BunServer } }).Bun;
const port = Number(process.argv[2] ?? 0);
// Bun compresses a message only when asked to: with permessage-deflate on, every reply is.
const deflate = process.env.BENCH_DEFLATE === "1";
const cert = process.env.BENCH_TLS_CERT, key = process.env.BENCH_TLS_KEY;

const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  tls: cert && key
    ? { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") }
    : undefined,
  fetch(req, server) {
    const path = req.url.slice(req.url.indexOf("/", 8));
    if (server.upgrade(req, { data: { broadcast: path === "/broadcast" } })) return undefined;
    return new Response("expected a WebSocket upgrade", { status: 400 });
  },
  websocket: {
    perMessageDeflate: deflate,
    idleTimeout: 0, // no ping timer: the other servers have no heartbeat either
    maxPayloadLength: 64 * 1024 * 1024,
    open(ws) {
      if (ws.data.broadcast) ws.subscribe("b");
    },
    message(ws, message) {
      if (ws.data.broadcast) server.publish("b", message, deflate);
      else ws.send(message, deflate);
    },
  },
});
console.log(`listening on ${server.port}`);
// Exit cleanly on SIGTERM (the runner stops servers so), so that --cpu-prof writes its profile.
process.on("SIGTERM", () => process.exit(0));
