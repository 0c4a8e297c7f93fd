/**
 * A reconnecting client survives a server restart: a fresh token on every attempt, its
 * subscription restored by `onOpen`, and what it sent while the server was down delivered after
 * the reconnect, in order. Starts its own server on a free port and exits 0.
 *
 * ```sh
 * deno run -A examples/reconnecting.ts
 * ```
 *
 * @module
 */

import { ReconnectingClient, serve, type Server, type WS } from "../mod.ts";

const log: string[] = [];
const handler = (ws: WS<{ user: string }>) => {
  ws.on("message", (m) => {
    log.push(`${ws.data.user}: ${m}`);
    if (ws.readyState === "open") ws.send(`ack ${m}`);
  });
};
const options = (port: number) => ({
  port,
  hostname: "127.0.0.1",
  accept: (info: { headers: Headers }) => ({ data: { user: info.headers.get("authorization")! } }),
});
let server: Server<{ user: string }> = await serve(options(0), handler);
const port = server.port;

let tokens = 0;
/** Stands for a call to an auth server. */
const freshToken = () => new Promise<string>((r) => setTimeout(() => r(`token-${++tokens}`), 5));
const client = new ReconnectingClient(`ws://127.0.0.1:${port}/feed`, {
  headers: async () => ({ Authorization: await freshToken() }), // asked before every attempt
  onOpen: (ws, { reconnected }) => ws.send(reconnected ? "resubscribe" : "subscribe"),
  minDelay: 100,
  maxDelay: 2000,
  maxRetries: 20,
});
client.on("retry", (attempt, delay) => console.log(`attempt ${attempt} in ${delay} ms`));

const acked = (what: string) =>
  new Promise<void>((resolve) => {
    const check = (m: string | Uint8Array) => {
      if (m !== `ack ${what}`) return;
      client.off("message", check);
      resolve();
    };
    client.on("message", check);
  });

client.send("one"); // queued until the first connection is open
await acked("one");
await server.close(); // the server goes away...
client.send("two"); // ...so these wait in the client's queue
client.send("three");
server = await serve(options(port), handler); // ...and comes back

await acked("three");
await client.close();
await server.close();
console.log(log.join("\n"));
// token-1: subscribe, token-1: one, token-2: resubscribe, token-2: two, token-2: three
