// examples/redirect.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts";

const server = await serve({
  port: 0,
  hostname: "127.0.0.1",
  accept: (info) =>
    info.path === "/old"
      ? new Response(null, { status: 301, headers: { Location: "/new" } })
      : undefined,
}, (ws) => ws.send(`welcome to ${ws.request!.path}`));

const ws = connect(`${server.url}/old`, { followRedirects: true, maxRedirects: 5 });
ws.on("message", async (data) => {
  console.log(data, "at", ws.url); // "welcome to /new at ws://127.0.0.1:…/new"
  ws.close();
  await server.close();
});
ws.on("error", (err) => console.error(err.code)); // e.g. WS_ERR_REDIRECT_LIMIT on a loop
