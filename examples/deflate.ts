// examples/deflate.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts";

const server = await serve({
  port: 0,
  hostname: "127.0.0.1",
  deflate: { threshold: 1024, level: 6 },
}, (ws) => {
  console.log(ws.extensions); // e.g. "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
  ws.on("message", (m) => ws.send(m));
});
const ws = connect(server.url, { deflate: true });
ws.on("open", () => ws.send("squeeze me ".repeat(200)));
ws.on("message", (m) => {
  console.log("echo of", (m as string).length, "chars");
  ws.close();
});
ws.on("close", () => server.close());
