// examples/rpc.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts";
import { Rpc, RpcError } from "../rpc.ts"; // from an installed package: "wsdriver/rpc"

const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
  // Attach in the handler, before the first request can arrive.
  const rpc = new Rpc(ws, {
    responder: async (data, ctx) => {
      if (data === "time") return new Date().toISOString();
      if (data === "whoami") return `you are ${await ctx.request("your name?")}`; // ask back
      if (data instanceof Uint8Array) return data.slice().reverse(); // binary in, binary out
      throw Object.assign(new Error(`unknown command ${data}`), { code: "E_UNKNOWN" });
    },
  });
  rpc.on("message", (data) => console.log("plain message:", data)); // everything that is not RPC
});

const client = new Rpc(connect(server.url), { responder: () => "ann" });
console.log(await client.request("time", { timeout: 2000 })); // an ISO date
console.log(await client.request("whoami")); // "you are ann"
try {
  await client.request("dance");
} catch (err) {
  if (err instanceof RpcError) console.log(err.code, err.appCode, err.message);
  // RPC_ERR_REMOTE E_UNKNOWN unknown command dance
}
client.connection.send("hello"); // a plain message, beside the RPC traffic
await client.shutdown({ timeout: 5000 }); // waits for in-flight requests, then closes
await server.close();
