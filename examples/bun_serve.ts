// examples/bun_serve.ts: runs on bun
import { connect } from "../mod.ts";
import { bunWebSocket } from "../bun.ts";

declare const Bun: {
  serve(options: object): { port: number; stop(force?: boolean): void };
};

// Bun.serve's websocket handlers
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (
    req: Request,
    server: { upgrade(req: Request, o: object): boolean },
  ) => (server.upgrade(req, { data: { user: "ann" } }) ? undefined : new Response("hi")),
  websocket: bunWebSocket<{ user: string }>((ws) => {
    ws.on("message", (m) => ws.send(`${ws.data.user}: ${m}`)); // ws.data is { user: "ann" }
  }),
});

const ws = connect(`ws://127.0.0.1:${server.port}/`);
ws.on("open", () => ws.send("via Bun.serve"));
ws.on("message", (m) => {
  console.log("echo:", m);
  ws.close();
});
ws.on("close", () => server.stop(true));
