// examples/refused.ts: runs on deno, bun, node
import { serve } from "../mod.ts";

const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => ws.close());
server.on("refused", (info) => console.log(`refused ${info.path}: ${info.status} ${info.reason}`));

// A plain GET, without `Upgrade: websocket`, is answered with 426 before any WebSocket exists.
const res = await fetch(`http://127.0.0.1:${server.port}/chat`);
console.log("the client got", res.status, await res.text());
await server.close();
