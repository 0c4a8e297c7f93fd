// examples/http.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts";

const server = await serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (_req) => new Response("<h1>hello</h1>", { headers: { "Content-Type": "text/html" } }),
}, (ws) => ws.on("message", (m) => ws.send(m)));

const page = await fetch(server.url.replace(/^ws/, "http"));
console.log(page.status, await page.text()); // 200 <h1>hello</h1>
const ws = connect(server.url);
ws.on("open", () => ws.send("and a socket"));
ws.on("message", (m) => {
  console.log("echo:", m);
  ws.close();
});
ws.on("close", () => server.close());
