/**
 * Peer bench server on Deno: `Deno.serve` + `Deno.upgradeWebSocket` (Deno's own WebSocket, in
 * Rust). `/` echoes each message as the same type; `/broadcast` relays every message to every
 * client on `/broadcast` (a loop over the sockets). With `BENCH_TLS_CERT` and `BENCH_TLS_KEY` (PEM
 * files) it serves `wss:` (`Deno.serve`'s own TLS). No permessage-deflate: Deno's WebSocket has
 * none. Prints `listening on PORT`.
 *
 * ```sh
 * deno run -A bench/servers/deno_native.ts [port]
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

/** The slice of the Deno namespace used here, typed locally (no Deno types needed). */
interface DenoServe {
  serve(
    options: {
      port: number;
      hostname: string;
      cert?: string;
      key?: string;
      onListen(addr: { port: number }): void;
    },
    handler: (req: Request) => Response,
  ): unknown;
  upgradeWebSocket(
    req: Request,
    options?: { idleTimeout?: number },
  ): { socket: WebSocket; response: Response };
}

const Deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
const port = Number(process.argv[2] ?? 0);
const cert = process.env.BENCH_TLS_CERT, key = process.env.BENCH_TLS_KEY;
const subscribers = new Set<WebSocket>();

Deno.serve({
  port,
  hostname: "127.0.0.1",
  ...cert && key ? { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") } : {},
  onListen: (addr) => console.log(`listening on ${addr.port}`),
}, (req) => {
  // No ping timer: the other servers have no heartbeat either.
  const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
  socket.binaryType = "arraybuffer";
  const path = req.url.slice(req.url.indexOf("/", 8));
  if (path === "/broadcast") {
    socket.onopen = () => subscribers.add(socket);
    socket.onclose = () => subscribers.delete(socket);
    socket.onmessage = (e) => {
      for (const s of subscribers) {
        if (s.readyState === WebSocket.OPEN) s.send(e.data);
      }
    };
  } else {
    socket.onmessage = (e) => socket.send(e.data);
  }
  return response;
});

// Exit cleanly on SIGTERM (the runner stops servers so), so that --cpu-prof writes its profile.
process.on("SIGTERM", () => process.exit(0));
