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
 * Deno: its own sockets for TCP, `node:tls` for TLS. A Deno `TlsConn` whose TLS handshake never
 * completes cannot be closed (the TCP socket stays open, denoland/deno#14547), so a silent client
 * could hold a server socket forever; Deno's `node:tls` closes at once and bounds the handshake.
 */
const denoRuntimeTransport: Transport = {
  name: "Deno.listen + node:tls",
  listen: (options, onConn) =>
    (options.tls ? nodeTransport : denoTransport).listen(options, onConn),
  connect: (options) => (options.tls ? nodeTransport : denoTransport).connect(options),
};

/**
 * The transport for this runtime: Deno's own sockets on Deno (with `node:tls` for TLS),
 * `node:net`/`node:tls` on Node and Bun.
 *
 * @example
 * ```ts
 * const conn = await defaultTransport().connect({ hostname: "127.0.0.1", port: 8080 });
 * ```
 */
export function defaultTransport(): Transport {
  return currentRuntime() === "deno" ? denoRuntimeTransport : nodeTransport;
}
