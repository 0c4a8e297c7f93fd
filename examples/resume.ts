// examples/resume.ts: runs on deno, bun, node
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import process from "node:process";
import { parsePosition, ReconnectingClient, ResumableTopic, serve, type Server } from "../mod.ts";
import { redisBackplane } from "../redis.ts"; // from an installed package: "wsdriver/redis"

// REDIS_URL, or a redis-server of our own on a free port (apt-get install -y redis-server).
const redisPort = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});
const ownRedis = process.env.REDIS_URL ? undefined : spawn("redis-server", [
  ...["--port", String(redisPort), "--bind", "127.0.0.1", "--save", ""],
], { stdio: "ignore" });
const redis = process.env.REDIS_URL ?? `redis://127.0.0.1:${redisPort}`;

/** A server of the cluster: `/feed?since=EPOCH:OFFSET` resumes topic "feed" from there. */
async function feedServer(port: number): Promise<Server> {
  const backplane = redisBackplane({ url: redis, recoverable: ["feed"] });
  // Listen once Redis is up: a server that cannot read the history yet answers "not recovered".
  await new Promise<void>((resolve) => backplane.once("up", () => resolve()));
  return await serve({ port, hostname: "127.0.0.1", backplane }, (ws) => {
    ws.subscribe("feed", { since: parsePosition(ws.request!.query.get("since") ?? "") });
  });
}

const publisher = await feedServer(0); // another process of the cluster, in real life
let server = await feedServer(0);

const feed = new ResumableTopic(`ws://127.0.0.1:${server.port}/feed`); // + ?since=EPOCH:OFFSET
const client = new ReconnectingClient(feed.url, { minDelay: 100, maxDelay: 2000 });
feed.attach(client);
const got: string[] = [];
feed.on("message", (data) => got.push(String(data))); // every message once, in order
feed.on("recovered", (at) => console.log(`recovered up to offset ${at?.offset}`));
feed.on("not-recovered", () => console.log("not recovered: reload the state")); // history gone
const received = (n: number) =>
  new Promise<void>((resolve) => {
    const check = () => got.length >= n && (feed.off("message", check), resolve());
    feed.on("message", check);
  });

await new Promise<void>((resolve) => client.once("open", () => resolve()));
for (const m of ["one", "two", "three"]) publisher.publish("feed", m);
await received(3);
await server.close(); // the client's server goes away...
for (const m of ["four", "five"]) publisher.publish("feed", m); // ...while the cluster goes on
server = await feedServer(server.port); // ...and comes back: the client resumes from offset 3
await received(5);
publisher.publish("feed", "six"); // live again
await received(6);
console.log(got.join(" ")); // recovered up to offset 5 (on a fresh Redis), then: one two ... six

await client.close();
await server.close();
await publisher.close();
ownRedis?.kill();
