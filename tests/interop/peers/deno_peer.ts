/**
 * Deno's own WebSocket as an interop peer (not a test file).
 *
 *   deno run -A deno_peer.ts client URL [--deflate]  # built-in WebSocket: two connections to
 *                                                    # URL, one after the other, then exit
 *   deno run -A deno_peer.ts server [--deflate]      # Deno.serve + Deno.upgradeWebSocket on
 *                                                    # 127.0.0.1:0; prints "listening on …"
 *
 * Deno's API cannot send pings, observe pings or pongs, or send fragments. Neither its client nor
 * its server speaks permessage-deflate (Deno 2.x: no offer, offers ignored), so `--deflate`
 * changes nothing: the pair checks that wsdriver with deflate on talks to it uncompressed.
 * Typed through `globalThis` so that the npm build (tsc with Node types) compiles it too.
 */
import process from "node:process";
import { OFFERED, report, runWebPeer, SUPPORTED } from "./web_peer.ts";

interface DenoApi {
  serve(
    options: { port: number; hostname: string; onListen(addr: { port: number }): void },
    handler: (req: Request) => Response,
  ): unknown;
  upgradeWebSocket(
    req: Request,
    options?: { protocol?: string },
  ): { socket: WebSocket; response: Response };
}

const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
const [mode, url] = process.argv.slice(2).filter((a) => a !== "--deflate");

if (mode === "client" && url) {
  for (let n = 1; n <= 2; n++) {
    await runWebPeer(new WebSocket(url, OFFERED));
  }
} else if (mode === "server") {
  deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => console.log(`listening on ws://127.0.0.1:${port}`),
  }, (req) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("WebSocket only", { status: 426 });
    }
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) =>
      p.trim()
    );
    const protocol = SUPPORTED.find((p) => offered.includes(p));
    const { socket, response } = deno.upgradeWebSocket(req, protocol ? { protocol } : {});
    runWebPeer(socket, protocol ?? "").catch((err) =>
      report({ event: "error", message: String(err) })
    );
    return response;
  });
} else {
  console.error("usage: deno run -A deno_peer.ts client URL | server");
  process.exit(2);
}
