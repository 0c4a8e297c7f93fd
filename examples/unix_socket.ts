// examples/unix_socket.ts: runs on deno, bun, node
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, serve } from "../mod.ts";

const dir = mkdtempSync(join(tmpdir(), "wsdriver-example-"));
const path = join(dir, "app.sock");

const server = await serve({ path }, (ws) => {
  ws.on("message", (data) => ws.send(`${ws.request!.path} got ${data}`));
});
console.log("listening on", server.url); // ws+unix:/tmp/…/app.sock

// `ws+unix:<socket path>:<resource>`, as the `ws` package spells it.
const ws = connect(`${server.url}:/chat`);
ws.on("open", () => ws.send("hello"));
ws.on("message", async (data) => {
  console.log(data); // "/chat got hello"
  ws.close();
  await server.close(); // removes the socket file
  rmSync(dir, { recursive: true });
});
