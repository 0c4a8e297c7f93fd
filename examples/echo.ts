// examples/echo.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts"; // from an installed package: "wsdriver"

// Server: echo every message back, as text or binary as it came.
const server = await serve({ port: 0, hostname: "127.0.0.1", protocols: ["chat"] }, (ws) => {
  console.log("client on", ws.request?.path, "from", ws.remoteAddress, "protocol", ws.protocol);
  ws.on("message", (data) => ws.send(data)); // string → text, Uint8Array → binary
  ws.on("close", (code, reason, wasClean) => console.log("gone", code, reason, wasClean));
});

// Client: connect() returns at once, in the "connecting" state.
const ws = connect(`${server.url}/chat`, { protocols: ["chat"] });
ws.on("open", () => ws.send("hello"));
ws.on("message", (data) => {
  console.log("echo:", data);
  ws.close(1000, "done");
});
ws.on("close", async () => await server.close());
