/**
 * The demo behind `npm start`: a chat with names, rooms, who is in them and recent history (page
 * at `/`), a live dashboard of the server's own figures (`/dashboard`, from `server.stats()`),
 * Prometheus metrics (`/metrics`). Every message sent to `/chat` (or `/chat/<room>`) goes to
 * every client in that room; `/echo` echoes, `/rpc` answers requests. Listens on 127.0.0.1:8080,
 * or on the port in the PORT environment variable (0 picks a free one).
 *
 * ```sh
 * deno run -A examples/chat.ts
 * ```
 *
 * @module
 */

import process from "node:process";
import { handleMetrics, serve, type Server } from "../mod.ts";
import { Rpc } from "../rpc.ts";
import { CHAT_PAGE } from "./demo/chat_page.ts";
import { DASHBOARD_PAGE } from "./demo/dashboard_page.ts";
import { Rooms } from "./demo/rooms.ts";
import { DASHBOARD_TOPIC, Sampler } from "./demo/sampler.ts";

const rooms = new Rooms();

const html = (page: string) =>
  new Response(page, { headers: { "Content-Type": "text/html; charset=utf-8" } });

const server: Server = await serve({
  port: Number(process.env.PORT ?? 8080),
  hostname: process.env.HOST ?? "127.0.0.1",
  // `nc 127.0.0.1 8080` users join /chat too: one line, one message. Browsers open connections
  // ahead of their requests (preconnect), so a silent socket is taken as raw only after 3 s.
  raw: { path: "/chat", detectTimeout: 3000 },
  // A chatty or greedy client is slowed down, not allowed to crowd out the others.
  limits: { messagesPerSecond: 50, messageBurst: 100, connectionsPerAddress: 200 },
  fetch: (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/") return html(CHAT_PAGE);
    if (path === "/dashboard") return html(DASHBOARD_PAGE);
    return handleMetrics(server, request) ?? new Response("not found", { status: 404 });
  },
}, (ws) => {
  const path = ws.request!.path;
  if (path === "/dashboard/live") {
    ws.send(sampler.history());
    ws.subscribe(DASHBOARD_TOPIC);
    return;
  }
  if (path === "/echo") {
    ws.on("message", (data) => ws.send(data));
    return;
  }
  if (path === "/rpc") {
    // Request/response over the same kind of socket: "who <room>" lists a room's size, "time"
    // answers the server's clock, anything else is a typed remote error.
    new Rpc(ws, {
      responder: (data) => {
        const [verb, arg] = String(data).split(" ");
        if (verb === "time") return new Date().toISOString();
        if (verb === "who") return `${rooms.size(arg ?? "/chat")} in ${arg ?? "/chat"}`;
        throw Object.assign(new Error(`unknown request ${JSON.stringify(verb)}`), {
          code: "UNKNOWN",
        });
      },
    });
    return;
  }
  if (path !== "/chat" && !path.startsWith("/chat/")) {
    ws.close(4404, "no such room: use /chat, /chat/<room>, /echo or /rpc");
    return;
  }
  rooms.join(ws, path);
});

const sampler = new Sampler(server, Number(process.env.SAMPLE_INTERVAL ?? 1000));

const http = server.url.replace(/^ws/, "http");
console.log(`wsdriver chat demo listening on ${server.url}
  page:  ${http}/   (open it in two browser tabs)
  dashboard: ${http}/dashboard   metrics: ${http}/metrics
  chat:  ${server.url}/chat   (or ${server.url}/chat/<room>)
  echo:  ${server.url}/echo
  rpc:   ${server.url}/rpc    (requests "time" and "who /chat", with wsdriver's Rpc)
Connect from another terminal:
  deno run -A cli.ts connect ${server.url}/chat
  bun cli.ts connect ${server.url}/chat
  nc ${server.hostname} ${server.port}        (raw TCP: type a line, press Enter)
Stop with Ctrl+C.`);

const stop = async () => {
  sampler.stop();
  await server.close(1001, "demo shutting down");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
