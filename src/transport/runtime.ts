/**
 * Runtime detection, in one place: which transport this process uses.
 *
 * @module
 */

import type { Transport } from "./conn.ts";
import { denoTransport } from "./deno.ts";
import { nodeTransport } from "./node.ts";

/** The JavaScript runtime this process runs on. */
export type Runtime = "deno" | "bun" | "node";

/**
 * Detects the runtime.
 *
 * @example
 * ```ts
 * if (currentRuntime() === "deno") console.log("on Deno");
 * ```
 */
export function currentRuntime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/**
 * The transport for this runtime: Deno's own sockets on Deno, `node:net`/`node:tls` on Node and Bun.
 *
 * @example
 * ```ts
 * const conn = await defaultTransport().connect({ hostname: "127.0.0.1", port: 8080 });
 * ```
 */
export function defaultTransport(): Transport {
  return currentRuntime() === "deno" ? denoTransport : nodeTransport;
}
