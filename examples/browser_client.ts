// examples/browser_client.ts: runs on deno, bun
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
