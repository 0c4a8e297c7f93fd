/**
 * Following a redirect answer to a client's upgrade request: where it goes, and which request
 * headers may go along.
 *
 * @module
 */

import { HandshakeError } from "../errors.ts";
import { parseTarget, type Target } from "./target.ts";
import { DEFAULTS } from "../defaults.ts";

/** Default {@link ConnectOptions.maxRedirects}. */
export const DEFAULT_MAX_REDIRECTS: number = DEFAULTS.client.maxRedirects;

/**
 * HTTP statuses that redirect an upgrade request.
 *
 * @example
 * ```ts
 * isRedirect(308); // true
 * ```
 */
export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 ||
    status === 308;
}

function refuse(code: string, message: string, status: number): HandshakeError {
  return new HandshakeError(code, message, status);
}

/**
 * The target a redirect answer points to. `http:` and `https:` locations become `ws:` and `wss:`;
 * a path on a `ws+unix:` URL stays on its socket. Throws a {@link HandshakeError}:
 * `WS_ERR_REDIRECT_INVALID` for a missing or unusable `Location` (or one that points a network
 * URL at a unix socket), `WS_ERR_REDIRECT_INSECURE` for `wss:` to `ws:`.
 *
 * @example
 * ```ts
 * redirectTarget(parseTarget("wss://a.example/x"), "/y", 301).href; // "wss://a.example/y"
 * ```
 */
export function redirectTarget(from: Target, location: string | null, status: number): Target {
  if (location === null || location.trim() === "") {
    throw refuse("WS_ERR_REDIRECT_INVALID", `redirect (${status}) without a Location`, status);
  }
  location = location.trim();
  let next: Target;
  try {
    let href: string;
    if (from.socketPath !== undefined && location.startsWith("/") && !location.startsWith("//")) {
      href = `ws+unix:${from.socketPath}:${location}`;
    } else {
      const base = from.socketPath !== undefined ? undefined : from.href;
      const u = new URL(location, base);
      if (u.protocol === "http:") u.protocol = "ws:";
      else if (u.protocol === "https:") u.protocol = "wss:";
      u.hash = "";
      href = u.href;
    }
    next = parseTarget(href);
  } catch (err) {
    throw refuse(
      "WS_ERR_REDIRECT_INVALID",
      `cannot follow the redirect to ${JSON.stringify(location)}: ${(err as Error).message}`,
      status,
    );
  }
  if (next.raw || (next.socketPath !== undefined && from.socketPath === undefined)) {
    throw refuse("WS_ERR_REDIRECT_INVALID", `refused redirect to ${next.href}`, status);
  }
  if (from.secure && !next.secure) {
    throw refuse("WS_ERR_REDIRECT_INSECURE", `refused redirect from wss: to ${next.href}`, status);
  }
  return next;
}

/**
 * The request headers for the next hop: `Authorization` and `Cookie` only go to the origin they
 * were given for.
 *
 * @example
 * ```ts
 * redirectHeaders(headers, parseTarget("ws://a/"), parseTarget("ws://b/")).has("authorization"); // false
 * ```
 */
export function redirectHeaders(headers: Headers, from: Target, to: Target): Headers {
  if (from.origin === to.origin) return headers;
  const next = new Headers(headers);
  next.delete("authorization");
  next.delete("cookie");
  return next;
}
