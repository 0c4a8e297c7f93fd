/**
 * `wsdriver/bun`: sockets that `Bun.serve` upgraded, with the `WS` API.
 *
 * @example
 * ```ts
 * import { bunWebSocket } from "@wsdriver/wsdriver/bun";
 *
 * // On Bun:
 * // Bun.serve({
 * //   port: 8080,
 * //   fetch: (req, server) => server.upgrade(req) ? undefined : new Response("hi"),
 * //   websocket: bunWebSocket((ws) => ws.on("message", (m) => ws.send(m))),
 * // });
 * const handlers = bunWebSocket((ws) => ws.on("message", (m) => ws.send(m)));
 * console.log(Object.keys(handlers));
 * ```
 *
 * @module
 */

export {
  type BunServerWebSocket,
  bunWebSocket,
  type BunWebSocketHandlers,
} from "./src/adapters/bun.ts";
