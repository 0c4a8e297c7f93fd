/**
 * Opens a client's byte stream to its target: directly over TCP or TLS, over a unix domain
 * socket, or through a proxy tunnel (with TLS to the target inside it for `wss:`).
 *
 * @module
 */

import { WSError } from "../errors.ts";
import type { ClientTls, Conn, Transport } from "../transport/conn.ts";
import { nodeTransport, startTls } from "../transport/node.ts";
import { type ProxyConfig, proxyHandshake, tunnel } from "./proxy.ts";
import type { Target } from "./target.ts";

/** How to reach a target. */
export interface DialOptions {
  transport: Transport;
  proxy?: ProxyConfig;
  tls?: ClientTls;
  signal: AbortSignal;
  /** Largest HTTP proxy answer head. */
  maxHeadSize?: number;
}

function connectError(where: string, err: Error): WSError {
  return new WSError("WS_ERR_CONNECT", `cannot connect to ${where}: ${err.message}`, undefined, {
    cause: err,
  });
}

/**
 * Connects to `target`. Rejects with a `WSError` (`WS_ERR_CONNECT` when a socket cannot be
 * opened, a `ProxyError` when the proxy refuses) or the signal's reason once it aborts.
 *
 * @example
 * ```ts
 * const conn = await dial(parseTarget("wss://example.com/"), {
 *   transport: defaultTransport(),
 *   proxy: parseProxy("socks5://127.0.0.1:1080"),
 *   signal: new AbortController().signal,
 * });
 * ```
 */
export async function dial(target: Target, options: DialOptions): Promise<Conn> {
  const { transport, proxy, signal } = options;
  const tls = target.secure ? options.tls ?? true : undefined;
  if (!proxy) {
    const where = target.socketPath ?? target.host;
    return await transport.connect({
      hostname: target.hostname,
      port: target.port,
      path: target.socketPath,
      tls,
      signal,
    }).catch((err: Error) => {
      throw signal.aborted ? err : connectError(where, err);
    });
  }
  // TLS inside the tunnel goes through node:tls on every runtime, as direct TLS does on Deno and
  // Bun: only node:tls starts TLS on a connection that is already open.
  const conn = await (tls ? nodeTransport : transport).connect({
    hostname: proxy.hostname,
    port: proxy.port,
    signal,
  }).catch((err: Error) => {
    throw signal.aborted ? err : connectError(`the proxy ${proxy.display}`, err);
  });
  const handshake = proxyHandshake(proxy, target.hostname, target.port, options.maxHeadSize);
  const tunneled = await tunnel(conn, handshake, { signal, detach: tls !== undefined });
  if (!tls) return tunneled;
  return await startTls(tunneled, target.hostname, tls, signal).catch((err: Error) => {
    throw signal.aborted ? err : connectError(target.host, err);
  });
}
