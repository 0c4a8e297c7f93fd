/**
 * Client proxies: which proxy a URL goes through (an explicit one, or `HTTPS_PROXY`, `HTTP_PROXY`,
 * `ALL_PROXY` and `NO_PROXY` from the environment), and the tunnel through it over a {@link Conn}.
 *
 * @module
 */

import { ProxyError } from "../errors.ts";
import {
  HttpConnectHandshake,
  type ProxyHandshake,
  Socks5Handshake,
  type TunnelTarget,
} from "../protocol/proxy.ts";
import type { Conn, ConnHandlers } from "../transport/conn.ts";
import type { Target } from "./target.ts";

/** A proxy, parsed. */
export interface ProxyConfig {
  /** `"http"`: HTTP `CONNECT`; `"socks5"`: SOCKS5. */
  kind: "http" | "socks5";
  hostname: string;
  port: number;
  username?: string;
  password?: string;
  /** The proxy URL without credentials, for messages. */
  display: string;
}

/** Reads an environment variable on any runtime (Deno needs `--allow-env`). */
function env(name: string): string | undefined {
  const g = globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
    process?: { env: Record<string, string | undefined> };
  };
  return g.Deno ? g.Deno.env.get(name) : g.process?.env[name];
}

/** The lower-case variable wins over the upper-case one, as in curl. */
function envPair(name: string): string | undefined {
  const v = env(name.toLowerCase()) ?? env(name.toUpperCase());
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/**
 * Whether `NO_PROXY` (a comma- or space-separated list of host names, domain suffixes like
 * `.example.com` or `*.example.com`, IP addresses, each with an optional `:port`, or `*` for all)
 * exempts `hostname` and `port`.
 *
 * @example
 * ```ts
 * noProxyMatches("localhost,.internal:8080", "api.internal", 8080); // true
 * ```
 */
export function noProxyMatches(noProxy: string, hostname: string, port: number): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  for (let entry of noProxy.toLowerCase().split(/[\s,]+/)) {
    if (entry === "") continue;
    if (entry === "*") return true;
    let entryPort: number | undefined;
    const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry);
    if (m) {
      entry = m[1];
      entryPort = Number(m[2]);
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    entry = entry.replace(/^\[|\]$/g, "").replace(/^\*?\./, "").replace(/\.$/, "");
    if (entry === "") continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/**
 * Parses a proxy URL: `http://[user:pass@]host:port` for HTTP `CONNECT` (port 80 by default, a
 * URL without a scheme is taken as `http://`), or `socks5://` / `socks5h://` (port 1080 by
 * default; host names are always resolved by the proxy). Throws a TypeError for anything else.
 *
 * @example
 * ```ts
 * parseProxy("socks5://alice:secret@127.0.0.1:1080").kind; // "socks5"
 * ```
 */
export function parseProxy(proxy: string | URL): ProxyConfig {
  const text = String(proxy);
  const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  let kind: ProxyConfig["kind"], port: number;
  if (u.protocol === "http:") {
    kind = "http";
    port = u.port === "" ? 80 : Number(u.port);
  } else if (u.protocol === "socks5:" || u.protocol === "socks5h:") {
    kind = "socks5";
    port = u.port === "" ? 1080 : Number(u.port);
  } else {
    throw new TypeError(`unsupported proxy scheme ${u.protocol} (http:, socks5: or socks5h:)`);
  }
  const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  if (hostname === "") throw new TypeError(`a proxy URL needs a host: ${u.protocol}//`);
  const credentials = u.username !== "" || u.password !== "";
  const username = credentials ? decodeURIComponent(u.username) : undefined;
  const password = credentials ? decodeURIComponent(u.password) : undefined;
  if (kind === "socks5" && credentials) {
    for (const part of [username!, password!]) {
      const n = new TextEncoder().encode(part).length;
      if (n < 1 || n > 255) throw new TypeError("SOCKS5 user and password take 1 to 255 bytes");
    }
  }
  return {
    kind,
    hostname,
    port,
    username,
    password,
    display: `${u.protocol}//${u.host}`,
  };
}

/**
 * The proxy for `target`: `proxy` itself if it is a URL; with `true`, the environment's
 * (`https_proxy` for `wss:`, `http_proxy` for `ws:`, then `all_proxy`, unless `no_proxy` exempts
 * the host; upper-case names too); none for unix sockets, with `false`, or when unset.
 *
 * @example
 * ```ts
 * proxyFor(parseTarget("wss://example.com"), true); // from HTTPS_PROXY, if set
 * ```
 */
export function proxyFor(
  target: Target,
  proxy: string | URL | boolean | undefined,
): ProxyConfig | undefined {
  if (target.socketPath !== undefined || proxy === undefined || proxy === false) return undefined;
  if (proxy !== true) return parseProxy(proxy);
  const url = envPair(target.secure ? "https_proxy" : "http_proxy") ?? envPair("all_proxy");
  if (url === undefined) return undefined;
  const noProxy = envPair("no_proxy");
  if (noProxy !== undefined && noProxyMatches(noProxy, target.hostname, target.port)) {
    return undefined;
  }
  return parseProxy(url);
}

/**
 * The handshake that asks `proxy` for a tunnel to `hostname:port`.
 *
 * @example
 * ```ts
 * const hs = proxyHandshake(parseProxy("socks5://127.0.0.1:1080"), "example.com", 443);
 * ```
 */
export function proxyHandshake(
  proxy: ProxyConfig,
  hostname: string,
  port: number,
  maxHeadSize?: number,
): ProxyHandshake {
  const t: TunnelTarget = {
    hostname,
    port,
    username: proxy.username,
    password: proxy.password,
  };
  return proxy.kind === "http" ? new HttpConnectHandshake(t, maxHeadSize) : new Socks5Handshake(t);
}

/** Events that arrive between the end of the proxy handshake and the next `setHandlers`. */
class Held implements ConnHandlers {
  chunks: Uint8Array[] = [];
  ended = false;
  isClosed = false;
  error: Error | undefined;

  data(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  end(): void {
    this.ended = true;
  }
  closed(error?: Error): void {
    this.isClosed = true;
    this.error = error;
  }
  drain(): void {}
}

/** A tunnel: the proxy's connection, with what came after the proxy's answer delivered first. */
class TunnelConn implements Conn {
  #conn: Conn;
  #held: Held | undefined;

  constructor(conn: Conn, held: Held) {
    this.#conn = conn;
    this.#held = held;
  }

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }
  get remotePort(): number {
    return this.#conn.remotePort;
  }
  get bufferedAmount(): number {
    return this.#conn.bufferedAmount;
  }
  get written(): number {
    return this.#conn.written;
  }

  setHandlers(handlers: ConnHandlers): void {
    this.#conn.setHandlers(handlers);
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    // Held bytes may lie in a transport's shared read buffer: passed on as shared.
    for (const chunk of held.chunks) handlers.data(chunk, true);
    if (held.ended) handlers.end();
    if (held.isClosed) handlers.closed(held.error);
  }
  write(chunks: readonly Uint8Array[], callback?: (error?: Error) => void): void {
    this.#conn.write(chunks, callback);
  }
  end(): void {
    this.#conn.end();
  }
  close(): void {
    this.#conn.close();
  }
  destroy(): void {
    this.#conn.destroy();
  }
  pause(): void {
    this.#conn.pause();
  }
  resume(): void {
    this.#conn.resume();
  }
}

/**
 * Runs `handshake` over `conn` (a fresh connection to the proxy) and resolves with the tunnel.
 * With `detach`, the tunnel is for TLS: the connection is paused at the end of the handshake and
 * resolved as is, and bytes after the proxy's answer are an error (a TLS server never speaks
 * first). Every failure destroys `conn` and rejects with a {@link ProxyError} (or the abort
 * reason).
 *
 * @example
 * ```ts
 * const conn = await defaultTransport().connect({ hostname: "127.0.0.1", port: 3128 });
 * const hs = proxyHandshake(parseProxy("http://127.0.0.1:3128"), "example.com", 80);
 * const tunneled = await tunnel(conn, hs, {});
 * ```
 */
export function tunnel(
  conn: Conn,
  handshake: ProxyHandshake,
  options: { signal?: AbortSignal; detach?: boolean },
): Promise<Conn> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      conn.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal!.reason);
    if (signal?.aborted) return fail(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const cutShort = (error?: Error) =>
      fail(
        new ProxyError(
          "WS_ERR_PROXY_INVALID",
          `the proxy closed the connection during its handshake${
            error ? `: ${error.message}` : ""
          }`,
        ),
      );
    conn.setHandlers({
      data(chunk) {
        if (settled) return;
        let step;
        try {
          step = handshake.receive(chunk);
        } catch (err) {
          return fail(err);
        }
        if (step.send) conn.write([step.send]);
        if (!step.done) return;
        const rest = step.rest ?? new Uint8Array(0);
        if (options.detach && rest.length > 0) {
          return fail(
            new ProxyError("WS_ERR_PROXY_INVALID", "the proxy sent data after its answer"),
          );
        }
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        if (options.detach) {
          conn.pause();
          return resolve(conn);
        }
        const held = new Held();
        if (rest.length > 0) held.chunks.push(rest);
        conn.setHandlers(held);
        resolve(new TunnelConn(conn, held));
      },
      end: () => cutShort(),
      closed: cutShort,
      drain() {},
    });
    conn.write([handshake.start()]);
  });
}
