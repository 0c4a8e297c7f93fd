/**
 * The browser client: `connect` and `Rpc` from the browser entry (what the npm package's `browser`
 * condition resolves to) over the native `WebSocket`. The same code runs in a page; here it runs on
 * Deno or Bun, whose `WebSocket` is the standard one, against a server it starts.
 *
 * ```sh
 * deno run -A examples/browser_client.ts   # or: bun examples/browser_client.ts
 * ```
 *
 * @module
 */

import { serve } from "../mod.ts";
import { Rpc as ServerRpc } from "../rpc.ts";
// In a page or a bundle: import { connect, Rpc } from "wsdriver";
import { connect, Rpc } from "../browser.ts";

const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
  new ServerRpc(ws, { responder: (data) => `hello, ${data}` });
});

const ws = connect(`${server.url}/rpc`);
const rpc = new Rpc(ws);
console.log(await rpc.request("browser", { timeout: 5000 })); // "hello, browser"
ws.close();
await server.close();
