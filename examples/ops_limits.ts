/**
 * Limits against abuse (README "Limits against abuse"): a client that floods is slowed to its
 * budget while another one's echoes stay fast, and a fourth connection from one address is
 * refused with 429.
 *
 * ```sh
 * deno run -A examples/ops_limits.ts
 * ```
 *
 * @module
 */

import { connect, serve, type WS } from "../mod.ts";

const server = await serve({
  port: 0,
  hostname: "127.0.0.1",
  limits: {
    messagesPerSecond: 100, // per connection; over it, stop reading ("pause") …
    policy: "pause", // … or close with 1008 ("close")
    connectionsPerAddress: 3, // the 4th gets 429 with Retry-After
  },
}, (ws) =>
  ws.on("message", (m) => {
    if (ws.readyState === "open") ws.send(m);
  }));
server.on("ratelimit", (i) => console.log("limited:", i.limit, i.action, i.address));

const open = async (): Promise<WS> => {
  const ws = connect(server.url);
  await new Promise<void>((resolve) => ws.once("open", () => resolve()));
  return ws;
};
const flooder = await open(), polite = await open();
let flooded = 0;
flooder.on("message", () => flooded++);
// 10,000 messages in 20 bursts, each while the polite client waits for an echo.
const t0 = performance.now();
for (let i = 0; i < 20; i++) {
  for (let j = 0; j < 500; j++) flooder.send("spam");
  const echoed = new Promise((resolve) => polite.once("message", resolve));
  polite.send("hi");
  await echoed;
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const ms = (performance.now() - t0) / 20 - 10;
console.log(`flooder got ${flooded} of 10000 echoes; polite round trip ${ms.toFixed(2)} ms`);

await open(); // the third connection from 127.0.0.1
const refused = connect(server.url);
const status = await new Promise<number | undefined>((resolve) =>
  refused.once("error", (e) => resolve((e as { status?: number }).status))
);
console.log("4th connection:", status);
flooder.terminate();
await server.close();
if (status !== 429 || flooded >= 5000) throw new Error("the limits did not act");
