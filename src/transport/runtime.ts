/**
 * Runtime detection, in one place: which transport this process uses.
 *
 * @module
 */

import { bunTransport } from "./bun.ts";
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
 * Deno: `node:net`/`node:tls` to listen, its own sockets to connect over TCP. Measured on a server
 * (`bench/`): Deno's `node:net` holds an idle connection in half the memory of `Deno.listen`
 * (whose every read is a pending async op) at equal or better throughput. For TLS, a Deno
 * `TlsConn` whose TLS handshake never completes cannot be closed (the TCP socket stays open,
 * denoland/deno#14547), so `node:tls` is used both ways.
 */
const denoRuntimeTransport: Transport = {
  name: "node:net + Deno.connect",
  listen: (options, onConn) => nodeTransport.listen(options, onConn),
  connect: (options) => (options.tls ? nodeTransport : denoTransport).connect(options),
};

/**
 * The transport for this runtime: `node:net`/`node:tls` on Node, `Bun.listen`/`Bun.connect` on
 * Bun (`node:tls` for a client's TLS), and on Deno `node:net` to listen and `Deno.connect` to connect.
 *
 * @example
 * ```ts
 * const conn = await defaultTransport().connect({ hostname: "127.0.0.1", port: 8080 });
 * ```
 */
export function defaultTransport(): Transport {
  const runtime = currentRuntime();
  return runtime === "deno"
    ? denoRuntimeTransport
    : runtime === "bun"
    ? bunTransport
    : nodeTransport;
}
