/**
 * The WebSocket client: `connect(url)`.
 *
 * @module
 */

import { HandshakeError, TimeoutError, WSError } from "./errors.ts";
import { type HeartbeatOptions, Sweeper } from "./heartbeat.ts";
import { checkServerResponse, encodeClientRequest, generateKey } from "./protocol/handshake.ts";
import {
  HeadReader,
  HttpParseError,
  parseResponseHead,
  type ResponseHead,
} from "./protocol/http.ts";
import {
  type DeflateOptions,
  type DeflateParams,
  offerDeflate,
  PerMessageDeflate,
} from "./protocol/deflate.ts";
import type { HeadersInput } from "./protocol/headers.ts";
import type { ClientTls, Transport } from "./transport/conn.ts";
import type { RawFraming } from "./protocol/raw.ts";
import { checkConnectOptions } from "./options.ts";
import { defaultTransport } from "./transport/runtime.ts";
import { WS } from "./ws.ts";
import { connDriver } from "./driver/open.ts";
import { dial } from "./client/dial.ts";
import { type ProxyConfig, proxyFor } from "./client/proxy.ts";
import {
  DEFAULT_MAX_REDIRECTS,
  isRedirect,
  redirectHeaders,
  redirectTarget,
} from "./client/redirect.ts";
import { parseTarget, type Target } from "./client/target.ts";
import { DEFAULTS } from "./defaults.ts";

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: readonly string[];
  /** Extra request headers, e.g. `Authorization` or `Origin`. */
  headers?: HeadersInput;
  /** Milliseconds for TCP connect, TLS and the upgrade together (default 10000). */
  handshakeTimeout?: number;
  /** TLS options for `wss:` URLs, e.g. a custom CA. */
  tls?: ClientTls;
  /** Largest message accepted, in bytes (default 64 MiB); over it: close 1009. */
  maxPayload?: number;
  /** Milliseconds to wait for the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Largest response head accepted, in bytes (default 16 KiB). */
  maxHeadSize?: number;
  /** Abandons the connection attempt. */
  signal?: AbortSignal;
  /** Ping the server when it is quiet and drop it if it stays silent (default off). */
  heartbeat?: HeartbeatOptions | false;
  /** Close with 1001 after this many milliseconds without a data message (default `false`: off). */
  idleTimeout?: number | false;
  /** Outgoing bytes above which the socket stops reading until the buffer drains (default 1 MiB). */
  highWaterMark?: number;
  /** Offer permessage-deflate (RFC 7692), with these options if an object (default off). */
  deflate?: boolean | DeflateOptions;
  /** For `tcp://` URLs (raw TCP, no WebSocket): how messages are delimited (default `"line"`). */
  framing?: RawFraming;
  /**
   * Tunnel through a proxy: `http://[user:pass@]host:port` (HTTP `CONNECT`, with Basic proxy
   * authentication) or `socks5://[user:pass@]host:port`; `true` takes it from the environment
   * (`HTTPS_PROXY` for `wss:`, `HTTP_PROXY` for `ws:`, then `ALL_PROXY`; `NO_PROXY` exempts
   * hosts). Default: no proxy, whatever the environment says.
   */
  proxy?: string | URL | boolean;
  /**
   * Follow redirect answers (301, 302, 303, 307, 308) to the upgrade request (default off).
   * `Authorization` and `Cookie` are not sent to another origin; `wss:` to `ws:` is refused.
   */
  followRedirects?: boolean;
  /** Most redirects followed before failing with `WS_ERR_REDIRECT_LIMIT` (default 10). */
  maxRedirects?: number;
  /** @internal Socket implementation; the runtime's by default. */
  transport?: Transport;
}

/** Default {@link ConnectOptions.handshakeTimeout}: 10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT: number = DEFAULTS.client.handshakeTimeout;

/**
 * Opens a WebSocket connection. Returns at once with a socket in the `connecting` state; `open`
 * or `error` + `close` follow. Messages sent before `open` are queued. Throws a TypeError for a
 * URL that is not `ws:`, `wss:`, `ws+unix:/path/to.sock:/resource` or `tcp:`, or a bad `proxy`; an `InvalidOptionError` for a bad option.
 *
 * @example
 * ```ts
 * import { connect } from "@wsdriver/wsdriver";
 * const ws = connect("ws://127.0.0.1:8080/chat", { protocols: ["chat"] });
 * ws.on("open", () => ws.send("hi"));
 * ws.on("message", (data) => console.log(data));
 * ```
 */
export function connect(url: string | URL, options: ConnectOptions = {}): WS {
  checkConnectOptions(options);
  const first = parseTarget(url);
  const protocols = options.protocols ?? DEFAULTS.client.protocols;
  const deflate = options.deflate === true ? {} : options.deflate || undefined;
  const firstHeaders = new Headers(options.headers);
  if (deflate) firstHeaders.set("Sec-WebSocket-Extensions", offerDeflate(deflate));
  const maxRedirects = options.followRedirects ? options.maxRedirects ?? DEFAULT_MAX_REDIRECTS : 0;
  // Before anything starts: a bad proxy URL throws here, like a bad URL.
  const firstProxy = proxyFor(first, options.proxy);
  const ws = new WS({
    side: "client",
    maxPayload: options.maxPayload,
    closeTimeout: options.closeTimeout,
    highWaterMark: options.highWaterMark,
    raw: first.raw ? options.framing ?? DEFAULTS.raw.framing : undefined,
  }, { url: first.href });
  if (options.heartbeat || options.idleTimeout) {
    const sweeper = new Sweeper({
      heartbeat: options.heartbeat || undefined,
      idleTimeout: options.idleTimeout || undefined,
    });
    ws.once("open", () => sweeper.add(ws));
  }
  const transport = options.transport ?? defaultTransport();
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const ac = new AbortController();
  /** Stops the handshake timer and the abort listener: the attempt has settled either way. */
  const settle = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  };
  const fail = (err: WSError) => {
    settle();
    ws._fail(err);
  };
  const closedEarly = () =>
    new HandshakeError("WS_ERR_HANDSHAKE_INVALID", "connection closed during the handshake");
  const timer = setTimeout(
    () => fail(new TimeoutError("WS_ERR_HANDSHAKE_TIMEOUT", `no handshake within ${timeout} ms`)),
    timeout,
  );
  const onAbort = () => fail(new WSError("WS_ERR_ABORTED", "connection attempt aborted"));
  if (options.signal?.aborted) queueMicrotask(onAbort);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  ws._connecting(() => {
    settle();
    ac.abort();
  });

  /** One request: to `target`, after `hops` redirects. */
  const attempt = (target: Target, headers: Headers, hops: number, proxy?: ProxyConfig) => {
    const key = generateKey();
    const request = encodeClientRequest({
      host: target.host,
      path: target.resource,
      key,
      protocols,
      headers,
    });
    dial(target, {
      transport,
      proxy,
      tls: options.tls,
      signal: ac.signal,
      maxHeadSize: options.maxHeadSize,
    }).then((conn) => {
      if (ac.signal.aborted) return conn.destroy();
      ws._connecting(() => {
        settle();
        conn.destroy();
      });
      if (target.raw) {
        // No handshake: a raw connection is open once TCP is.
        settle();
        return ws._open(connDriver(ws, conn), "");
      }
      const reader = new HeadReader(options.maxHeadSize);
      let done = false;
      conn.setHandlers({
        data(chunk) {
          if (done) return;
          const r = reader.push(chunk);
          if (!r.done) return;
          done = true;
          if ("error" in r) {
            return fail(new HandshakeError("WS_ERR_HANDSHAKE_INVALID", "response head too large"));
          }
          let protocol: string, params: DeflateParams | undefined, head: ResponseHead;
          try {
            head = parseResponseHead(r.head);
            if (options.followRedirects && isRedirect(head.status)) {
              if (hops >= maxRedirects) {
                throw new HandshakeError(
                  "WS_ERR_REDIRECT_LIMIT",
                  `more than ${maxRedirects} redirects`,
                  head.status,
                );
              }
              const next = redirectTarget(target, head.headers.get("location"), head.status);
              conn.destroy();
              ws._redirected(next.href);
              const nextHeaders = redirectHeaders(headers, target, next);
              return attempt(next, nextHeaders, hops + 1, proxyFor(next, options.proxy));
            }
            ({ protocol, deflate: params } = checkServerResponse(head, key, protocols, deflate));
          } catch (err) {
            if (!(err instanceof HttpParseError)) return fail(err as WSError);
            return fail(
              new HandshakeError("WS_ERR_HANDSHAKE_INVALID", `bad response: ${err.message}`),
            );
          }
          settle();
          if (params) {
            ws._negotiated(
              new PerMessageDeflate(params, "client", deflate!),
              head.headers.get("sec-websocket-extensions")!,
            );
          }
          ws._open(connDriver(ws, conn), protocol, undefined, r.rest);
        },
        end() {
          if (!done) fail(closedEarly());
        },
        closed(error) {
          if (!done) {
            fail(
              error
                ? new WSError("WS_ERR_CONNECT", `connection to ${target.host} failed`, undefined, {
                  cause: error,
                })
                : closedEarly(),
            );
          }
        },
        drain() {},
      });
      conn.write([request]);
    }).catch((err: Error) => {
      if (ac.signal.aborted) return;
      fail(err instanceof WSError ? err : new WSError("WS_ERR_CONNECT", err.message));
    });
  };
  attempt(first, firstHeaders, 0, firstProxy);
  return ws;
}
