// examples/streams.ts: runs on deno, bun, node
import { connect, sendStream, serve, toStreams, WebSocketStream } from "../mod.ts";

// Server: every text message comes back in capitals, binary ones as their size.
const server = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
  const { readable, writable } = toStreams(ws);
  readable
    .pipeThrough(
      new TransformStream<string | Uint8Array, string>({
        transform: (m, out) => out.enqueue(typeof m === "string" ? m.toUpperCase() : `${m.length}`),
      }),
    )
    .pipeTo(writable)
    .catch(() => {}); // the client went away
});
const url = `ws://127.0.0.1:${server.port}/`;

// Client 1: WebSocketStream.
const wss = new WebSocketStream(url);
const { readable, writable } = await wss.opened;
const writer = writable.getWriter();
const reader = readable.getReader();
await writer.write("hello streams"); // resolves at once, or once the buffer has drained
console.log((await reader.read()).value); // HELLO STREAMS
wss.close({ closeCode: 1000, reason: "bye" });
console.log(await wss.closed); // the server's answer: { closeCode: 1000, reason: "" }

// Client 2: for await over a socket, and 4 MiB sent as one message in 64 KiB fragments.
const ws = connect(url);
ws.send("one");
ws.send("two");
async function* chunks() {
  for (let i = 0; i < 64; i++) yield new Uint8Array(64 * 1024);
}
ws.once("open", () => sendStream(ws, chunks()));
const replies: string[] = [];
for await (const message of ws) {
  replies.push(String(message));
  if (replies.length === 3) break; // leaves the socket open
}
console.log(replies); // [ "ONE", "TWO", "4194304" ]
ws.close();
await server.close();
