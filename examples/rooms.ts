// examples/rooms.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts";

const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
  ws.subscribe("lobby");
  ws.on("message", (m) => server.publish("lobby", m, { except: ws }));
});

const ann = connect(server.url), bob = connect(server.url);
let open = 0;
const ready = () => ++open === 2 && ann.send("hi all");
ann.on("open", ready);
bob.on("open", ready);
bob.on("message", async (m) => {
  console.log("bob got:", m); // ann does not get her own message
  await server.close();
});
