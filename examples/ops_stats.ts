// examples/ops_stats.ts: runs on deno, bun, node
import { connect, handleMetrics, serve, type Server } from "../mod.ts";

const server: Server = await serve({
  port: 0,
  hostname: "127.0.0.1",
  // One line serves the Prometheus text at /metrics.
  fetch: (req) => handleMetrics(server, req) ?? new Response("not found", { status: 404 }),
  resources: { "/echo": (ws) => ws.on("message", (m) => ws.send(m)) },
});
server.on("connection", (ws) => console.log("open", ws.remoteAddress, ws.request?.path));
server.on("disconnect", (_ws, i) => console.log("closed", i.code, `${i.duration} ms`, i.bytesIn));
server.on("refused", (i) => console.log("refused", i.status, i.reason));

const ws = connect(`${server.url}/echo`);
await new Promise<void>((resolve) => ws.once("open", () => resolve()));
for (let i = 0; i < 3; i++) {
  const echoed = new Promise((resolve) => ws.once("message", resolve));
  ws.send(`hello ${i}`);
  await echoed;
}
const gone = new Promise((resolve) => server.once("disconnect", resolve));
ws.close();
await gone;

const stats = server.stats();
console.log(stats.connectionsTotal, stats.messagesIn, stats.bytesOut, stats.closes);
const metrics = await (await fetch(server.url.replace("ws", "http") + "/metrics")).text();
console.log(metrics.split("\n").filter((l) => l.startsWith("wsdriver_messages")).join("\n"));
await server.close();
if (stats.messagesIn !== 3 || !metrics.includes("wsdriver_messages_received_total")) {
  throw new Error("unexpected figures");
}
