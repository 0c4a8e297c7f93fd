// examples/websocket_standard.ts: runs on deno, bun, node
import { serve, WebSocket } from "../mod.ts";

const server = await serve({ port: 0, hostname: "127.0.0.1", protocols: ["chat"] }, (ws) => {
  ws.on("message", (m) => ws.send(m));
});

const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, ["chat"]);
ws.binaryType = "arraybuffer";
ws.onopen = () => {
  console.log("open, protocol:", ws.protocol);
  ws.send("hello");
  ws.send(new Uint8Array([1, 2, 3]));
};
ws.onmessage = ({ data }) => {
  console.log("message:", data instanceof ArrayBuffer ? new Uint8Array(data) : data);
  if (data instanceof ArrayBuffer) ws.close(1000, "done");
};
ws.onclose = async ({ code, reason, wasClean }) => {
  console.log("close:", code, reason, wasClean);
  await server.close();
};
