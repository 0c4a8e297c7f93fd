// examples/node_http.ts: runs on deno, bun, node
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "../mod.ts";
import { createServer } from "../node.ts";

const wss = createServer({ resources: { "/ws": (ws) => ws.on("message", (m) => ws.send(m)) } });
const http = createHttpServer((_req, res) => res.end("hello"));
http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head));
http.listen(0, "127.0.0.1", () => {
  const ws = connect(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`);
  ws.on("open", () => ws.send("through node:http"));
  ws.on("message", (m) => {
    console.log("echo:", m);
    ws.close();
  });
  ws.on("close", async () => {
    await wss.close();
    http.close();
  });
});
