/**
 * The relay behind `cli.ts relay`: a client on path `/NAME` subscribes to topic `NAME`, and every
 * message it sends is published to `NAME` (itself included), across every relay sharing a Redis.
 *
 * @module
 */

import { serve, type Server } from "../server.ts";
import { parsePosition } from "./position.ts";
import { redisBackplane } from "./redis.ts";

/** Options of {@link startRelay}. */
export interface RelayOptions {
  port: number;
  hostname: string;
  /** `redis://HOST:PORT`; without it, topics stay in this process. */
  redis?: string;
  /** Topics that keep a history (clients resume with `/NAME?since=EPOCH:OFFSET`). */
  recoverable?: string[];
  /** Accept permessage-deflate. */
  deflate?: boolean;
  /** Share the port with other processes (Deno and Bun). */
  reusePort?: boolean;
  /** Close a topic's subscribers with 1013 when messages of it were lost. */
  closeOnGap?: boolean;
  /** Reconnection delays to Redis, in milliseconds. */
  reconnect?: { minDelay?: number; maxDelay?: number };
  /** Where to report the backplane's state changes (default: nowhere). */
  log?: (line: string) => void;
}

/**
 * Starts a relay and resolves once it listens.
 *
 * @example
 * ```ts
 * const relay = await startRelay({ port: 8080, hostname: "127.0.0.1", redis: "redis://127.0.0.1:6379" });
 * ```
 */
export async function startRelay(options: RelayOptions): Promise<Server> {
  const log = options.log ?? (() => {});
  const backplane = options.redis === undefined ? undefined : redisBackplane({
    url: options.redis,
    recoverable: options.recoverable,
    closeOnGap: options.closeOnGap,
    reconnect: options.reconnect,
  });
  backplane?.on("up", () => log(`redis up ${options.redis}`));
  backplane?.on("down", (err) => log(`redis down${err ? `: ${err.message}` : ""}`));
  backplane?.on("gap", (g) => log(`gap on ${g.topic} (${g.cause}, missed ${g.missed ?? "?"})`));
  backplane?.on("error", (err) => log(`redis error: ${(err as Error)?.message ?? err}`));
  const server: Server = await serve({
    port: options.port,
    hostname: options.hostname,
    deflate: options.deflate,
    reusePort: options.reusePort,
    backplane,
  }, (ws) => {
    let topic = "";
    try {
      topic = decodeURIComponent(ws.request!.path.slice(1));
    } catch {
      // A malformed escape names no topic.
    }
    if (topic === "") {
      ws.close(1008, "connect to /NAME to join topic NAME");
      return;
    }
    const since = ws.request!.query.get("since");
    ws.subscribe(topic, { since: since === null ? undefined : parsePosition(since) });
    ws.on("message", (data) => server.publish(topic, data));
  });
  return server;
}
