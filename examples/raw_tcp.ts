// examples/raw_tcp.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts";

const server = await serve({
  port: 0,
  hostname: "127.0.0.1",
  raw: { framing: "line", path: "/chat" },
  resources: {
    "/chat": (ws) => {
      ws.subscribe("chat");
      ws.on("message", (m) => server.publish("chat", m)); // nc users and browsers, one room
    },
  },
});
const tcp = connect(`tcp://127.0.0.1:${server.port}`, { framing: "line" }); // the same client API
tcp.on("open", () => tcp.send("hello over TCP"));
tcp.on("message", (m) => {
  console.log("room:", m);
  tcp.close();
});
tcp.on("close", () => server.close());
