/**
 * `wsdriver/deno`: the `WS` API over a standard `WebSocket`, such as the socket that
 * `Deno.upgradeWebSocket` returns inside `Deno.serve`, or a client `WebSocket` of Deno, Bun or a
 * browser.
 *
 * @example
 * ```ts
 * import { fromWebSocket } from "@wsdriver/wsdriver/deno";
 *
 * const server = Deno.serve({ port: 0, hostname: "127.0.0.1" }, (req, info) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   const ws = fromWebSocket(socket, { request: req, remoteAddress: info.remoteAddr.hostname });
 *   ws.on("message", (m) => ws.send(m));
 *   return response;
 * });
 * await server.shutdown();
 * ```
 *
 * @module
 */

export { fromWebSocket, type FromWebSocketOptions } from "./src/adapters/websocket.ts";
