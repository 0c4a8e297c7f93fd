/**
 * The demo behind `npm start`: a chat server. Every message sent to `/chat` (or `/chat/<room>`)
 * goes to every client in that room; `/echo` echoes. Listens on 127.0.0.1:8080, or on the port in
 * the PORT environment variable (0 picks a free one).
 *
 * ```sh
 * deno run -A examples/chat.ts
 * ```
 *
 * @module
 */

import process from "node:process";
import { serve, type WS } from "../mod.ts";
import { Rpc } from "../rpc.ts";

const rooms = new Map<string, Set<WS>>();

/** The chat page served at `/`: it joins `/chat` on the same host. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>wsdriver chat</title>
<style>body{font:16px system-ui;max-width:40em;margin:2em auto}#log{border:1px solid #ccc;height:20em;overflow:auto;padding:.5em}</style>
<h1>wsdriver chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" autofocus size="50"> <button>Send</button></form>
<script>
const log = document.getElementById("log");
const show = (line) => { const p = document.createElement("div"); p.textContent = line; log.append(p); };
const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/chat");
ws.onopen = () => show("* connected");
ws.onmessage = (e) => show(e.data);
ws.onclose = (e) => show("* closed " + e.code);
document.getElementById("form").onsubmit = (e) => {
  e.preventDefault();
  const text = document.getElementById("text");
  if (text.value) ws.send(text.value);
  text.value = "";
};
</script>
`;

const server = await serve({
  port: Number(process.env.PORT ?? 8080),
  hostname: process.env.HOST ?? "127.0.0.1",
  // `nc 127.0.0.1 8080` users join /chat too: one line, one message. Browsers open connections
  // ahead of their requests (preconnect), so a silent socket is taken as raw only after 3 s.
  raw: { path: "/chat", detectTimeout: 3000 },
  fetch: (request) =>
    new URL(request.url).pathname === "/"
      ? new Response(PAGE, { headers: { "Content-Type": "text/html; charset=utf-8" } })
      : new Response("not found", { status: 404 }),
}, (ws) => {
  const path = ws.request!.path;
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
        if (verb === "who") return `${rooms.get(arg ?? "/chat")?.size ?? 0} in ${arg ?? "/chat"}`;
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
  let room = rooms.get(path);
  if (!room) rooms.set(path, room = new Set());
  const members = room;
  members.add(ws);
  ws.on("message", (data) => {
    for (const member of members) {
      if (member.readyState === "open") member.send(data);
    }
  });
  ws.on("close", () => {
    members.delete(ws);
    if (members.size === 0) rooms.delete(path);
  });
});

console.log(`wsdriver chat demo listening on ${server.url}
  page:  ${server.url.replace(/^ws/, "http")}/   (open it in two browser tabs)
  chat:  ${server.url}/chat   (or ${server.url}/chat/<room>)
  echo:  ${server.url}/echo
  rpc:   ${server.url}/rpc    (requests "time" and "who /chat", with wsdriver's Rpc)
Connect from another terminal:
  deno run -A cli.ts connect ${server.url}/chat
  bun cli.ts connect ${server.url}/chat
  nc ${server.hostname} ${server.port}        (raw TCP: type a line, press Enter)
Stop with Ctrl+C.`);

const stop = async () => {
  await server.close(1001, "demo shutting down");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
