/**
 * What a client URL points at: a TCP host and port (`ws:`, `wss:`, `tcp:`) or a unix domain
 * socket (`ws+unix:/path/to.sock:/resource`, as the `ws` package spells it).
 *
 * @module
 */

/** A parsed client URL. */
export interface Target {
  /** The URL as given, normalized. */
  href: string;
  secure: boolean;
  /** A `tcp:` URL: raw TCP, no WebSocket handshake. */
  raw: boolean;
  /** Host name or address, IPv6 without brackets (`localhost` for a unix socket). */
  hostname: string;
  port: number;
  /** The unix domain socket, for `ws+unix:` URLs. */
  socketPath?: string;
  /** The `Host` header. */
  host: string;
  /** Request target: path and query. */
  resource: string;
  /** Who the URL belongs to, to tell cross-origin redirects: scheme, host and port, or socket. */
  origin: string;
}

/**
 * Parses a client URL; throws a TypeError for one that is not `ws:`, `wss:`, `ws+unix:` or
 * `tcp:` (with a port), or that has a fragment.
 *
 * @example
 * ```ts
 * parseTarget("ws+unix:/run/app.sock:/chat?room=1").socketPath; // "/run/app.sock"
 * ```
 */
export function parseTarget(url: string | URL): Target {
  const u = new URL(url);
  if (u.hash !== "") throw new TypeError("a WebSocket URL may not have a fragment");
  if (u.protocol === "ws+unix:") {
    if (u.host !== "") throw new TypeError(`a ws+unix: URL names no host: ${u.href}`);
    const colon = u.pathname.indexOf(":");
    const socketPath = decodeURIComponent(colon < 0 ? u.pathname : u.pathname.slice(0, colon));
    if (socketPath === "") throw new TypeError(`a ws+unix: URL needs a socket path: ${u.href}`);
    const path = colon < 0 ? "/" : u.pathname.slice(colon + 1);
    if (!path.startsWith("/")) throw new TypeError(`bad resource in ${u.href}`);
    return {
      href: u.href,
      secure: false,
      raw: false,
      hostname: "localhost",
      port: 0,
      socketPath,
      host: "localhost",
      resource: path + u.search,
      origin: `ws+unix:${socketPath}`,
    };
  }
  const raw = u.protocol === "tcp:";
  if (u.protocol !== "ws:" && u.protocol !== "wss:" && !raw) {
    throw new TypeError(`not a WebSocket or tcp: URL: ${u.href}`);
  }
  if (raw && u.port === "") throw new TypeError("a tcp: URL needs a port");
  const secure = u.protocol === "wss:";
  const port = u.port === "" ? (secure ? 443 : 80) : Number(u.port);
  return {
    href: u.href,
    secure,
    raw,
    hostname: u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname,
    port,
    host: u.host,
    resource: u.pathname + u.search,
    origin: `${u.protocol}//${u.hostname}:${port}`,
  };
}
