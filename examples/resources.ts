// examples/resources.ts: runs on deno, bun, node
import { connect, serve } from "../mod.ts";

const checkToken = (auth: string | null) => Promise.resolve(auth === "Bearer t0ken");

const server = await serve<{ user: string }>({
  port: 0,
  hostname: "127.0.0.1",
  maxClients: 10_000, // over it: 503
  origins: "*", // or ["https://example.com"], { prefix: [...] }, or (origin) => boolean; else 403
  resources: {
    "/chat/:room": {
      maxClients: 100,
      // Return nothing or { data } to accept, or a Response to refuse with its status/headers/body.
      accept: async (info) =>
        (await checkToken(info.headers.get("authorization")))
          ? { data: { user: "ann" } }
          : new Response("who are you?", {
            status: 401,
            headers: { "WWW-Authenticate": "Bearer" },
          }),
      handler: (ws) => {
        console.log(ws.data.user, "joined", ws.request!.params.room, ws.request!.query.get("lang"));
        console.log(server.clientsOf("/chat/:room").size, "in /chat/:room"); // server.clients: all
        ws.close();
      },
    },
    "/echo": (ws) => ws.on("message", (m) => ws.send(m)),
  },
});

const stranger = connect(`${server.url}/chat/lobby`);
stranger.on("error", (err) => console.log("refused:", err.message)); // 401
stranger.on("close", () => {
  const ann = connect(`${server.url}/chat/lobby?lang=en`, {
    headers: { authorization: "Bearer t0ken" },
  });
  ann.on("close", () => server.close());
});
