/**
 * wsdriver's Redis backplane: `publish` and `subscribe` across every process that shares a Redis,
 * with recoverable topics. A separate entry point, so that the root module never loads a Redis
 * client.
 *
 * @example
 * ```ts
 * import { serve } from "@wsdriver/wsdriver";
 * import { redisBackplane } from "@wsdriver/wsdriver/redis";
 *
 * const server = await serve(
 *   { port: 8080, reusePort: true, backplane: redisBackplane({ url: "redis://127.0.0.1:6379" }) },
 *   (ws) => {
 *     ws.subscribe("chat");
 *     ws.on("message", (m) => server.publish("chat", m));
 *   },
 * );
 * ```
 *
 * @module
 */

export {
  RedisBackplane,
  redisBackplane,
  type RedisBackplaneOptions,
} from "./src/backplane/redis.ts";
