/**
 * `wsdriver/node`: WebSocket on an existing `node:http` (or `node:https`) server. {@link
 * createServer} makes a server that does not listen by itself; pass the HTTP server's `upgrade`
 * events to its {@link Server.handleUpgrade}.
 *
 * @example
 * ```ts
 * import { createServer as createHttpServer } from "node:http";
 * import { createServer } from "@wsdriver/wsdriver/node";
 *
 * const wss = createServer({}, (ws) => ws.on("message", (m) => ws.send(m)));
 * const http = createHttpServer((_req, res) => res.end("hello"));
 * http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head));
 * http.listen(0, "127.0.0.1", () => http.close());
 * ```
 *
 * @module
 */

export { createServer, type NodeUpgradeRequest, Server } from "./src/server.ts";
