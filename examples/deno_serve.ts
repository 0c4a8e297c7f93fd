// examples/deno_serve.ts: runs on deno
import { connect } from "../mod.ts";
import { fromWebSocket } from "../deno.ts";

// Deno.serve + Deno.upgradeWebSocket
const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req, info) => {
  const remoteAddress = info.remoteAddr.hostname; // Deno forbids reading it after the upgrade
  const { socket, response } = Deno.upgradeWebSocket(req);
  const ws = fromWebSocket(socket, { request: req, remoteAddress });
  ws.on("message", (m) => ws.send(m));
  return response;
});

const ws = connect(`ws://127.0.0.1:${server.addr.port}/`);
ws.on("open", () => ws.send("via Deno.serve"));
ws.on("message", (m) => {
  console.log("echo:", m);
  ws.close();
});
ws.on("close", () => server.shutdown());
