/**
 * Bun's own WebSocket as an interop peer (not a test file).
 *
 *   bun bun_peer.ts client URL [--deflate]  # built-in WebSocket: two connections to URL, one
 *                                           # after the other, then exit
 *   bun bun_peer.ts server [--deflate]      # Bun.serve with websocket handlers on 127.0.0.1:0;
 *                                           # prints "listening on ws://127.0.0.1:PORT"
 *
 * Bun's client offers permessage-deflate by itself (`--deflate` changes nothing there); with
 * `--deflate` the server is started with `perMessageDeflate: true` (then it always asks for no
 * context takeover both ways).
 *
 * Bun can ping and observe pings and pongs (client: `ws.ping()` and "ping"/"pong" events;
 * server: `ws.ping()` and the `ping`/`pong` handlers), but cannot send fragments.
 * Typed through `globalThis` so that the npm build (tsc with Node types) and deno check compile it.
 */
import { createHash } from "node:crypto";
import process from "node:process";
import { OFFERED, report, runWebPeer, SUPPORTED } from "./web_peer.ts";

/** The parts of Bun's `ServerWebSocket` used here. */
interface ServerWebSocket {
  data: { protocol: string };
  send(data: string | Uint8Array): number;
  ping(data?: string): number;
  close(code?: number, reason?: string): void;
}

interface BunApi {
  serve(options: {
    port: number;
    hostname: string;
    fetch(req: Request, server: BunServer): Response | undefined;
    websocket: {
      maxPayloadLength: number;
      perMessageDeflate: boolean;
      open(ws: ServerWebSocket): void;
      message(ws: ServerWebSocket, message: string | Uint8Array): void;
      ping(ws: ServerWebSocket, data: Uint8Array): void;
      pong(ws: ServerWebSocket, data: Uint8Array): void;
      close(ws: ServerWebSocket, code: number, reason: string): void;
    };
  }): BunServer;
}

interface BunServer {
  port: number;
  upgrade(
    req: Request,
    options: { headers: Record<string, string>; data: { protocol: string } },
  ): boolean;
}

const bun = (globalThis as unknown as { Bun: BunApi }).Bun;
const args = process.argv.slice(2);
const deflate = args.includes("--deflate");
const [mode, url] = args.filter((a) => a !== "--deflate");
const decoder = new TextDecoder();
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

if (mode === "client" && url) {
  for (let n = 1; n <= 2; n++) {
    await runWebPeer(new WebSocket(url, OFFERED));
  }
} else if (mode === "server") {
  const server = bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) =>
        p.trim()
      );
      const protocol = SUPPORTED.find((p) => offered.includes(p));
      const headers: Record<string, string> = protocol
        ? { "Sec-WebSocket-Protocol": protocol }
        : {};
      if (srv.upgrade(req, { headers, data: { protocol: protocol ?? "" } })) return undefined;
      return new Response("WebSocket only", { status: 426 });
    },
    websocket: {
      maxPayloadLength: 64 * 1024 * 1024,
      perMessageDeflate: deflate,
      open(ws) {
        // ServerWebSocket does not tell which extensions were agreed on.
        report({ event: "open", protocol: ws.data.protocol, extensions: null });
      },
      message(ws, message) {
        if (typeof message === "string") {
          if (message === "cmd:close") return ws.close(4001, "peer bye");
          if (message === "cmd:ping") return void ws.ping("peer-ping");
          if (message.startsWith("cmd:")) return report({ event: "unsupported", cmd: message });
          ws.send(message);
          const bytes = new TextEncoder().encode(message);
          report({ event: "message", binary: false, length: bytes.length, sha256: sha256(bytes) });
        } else {
          const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
          ws.send(bytes);
          report({ event: "message", binary: true, length: bytes.length, sha256: sha256(bytes) });
        }
      },
      ping(_ws, data) {
        report({ event: "ping", data: decoder.decode(data) });
      },
      pong(_ws, data) {
        report({ event: "pong", data: decoder.decode(data) });
      },
      close(_ws, code, reason) {
        report({ event: "close", code, reason, clean: null });
      },
    },
  });
  console.log(`listening on ws://127.0.0.1:${server.port}`);
} else {
  console.error("usage: bun bun_peer.ts client URL | server");
  process.exit(2);
}
