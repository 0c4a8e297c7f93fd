// examples/proxy.ts: runs on deno, bun, node
import * as net from "node:net";
import { connect, serve } from "../mod.ts";

// A stand-in proxy: answers one CONNECT per connection, then pipes both ways.
const tunnels: string[] = [];
const proxy = net.createServer((client) => {
  client.once("data", (head) => {
    const [, host, port] = /^CONNECT ([^\s:]+):(\d+) /.exec(head.toString("latin1")) ?? [];
    if (!host) return client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    tunnels.push(`${host}:${port}`);
    const target = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection established\r\n\r\n");
      client.pipe(target).pipe(client);
    });
    target.on("error", () => client.destroy());
    client.on("error", () => target.destroy());
  });
});
await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
const proxyPort = (proxy.address() as net.AddressInfo).port;

const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
  ws.on("message", (data) => ws.send(`echo: ${data}`));
});

// An explicit proxy (credentials go in the URL: http://user:pass@host:port). With `proxy: true`,
// HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment decide instead.
const ws = connect(server.url, { proxy: `http://127.0.0.1:${proxyPort}` });
ws.on("open", () => ws.send("through the proxy"));
ws.on("message", async (data) => {
  console.log(data, "via", tunnels); // "echo: through the proxy via [ '127.0.0.1:…' ]"
  ws.close();
  await server.close();
  proxy.close();
});
ws.on("error", (err) => console.error(err.code)); // e.g. WS_ERR_PROXY_AUTH, WS_ERR_PROXY_REFUSED
