/**
 * Limits against abuse: token buckets per connection (messages and bytes per second) and per
 * client address (concurrent connections and handshakes per second). All off unless configured.
 *
 * @module
 */

import { now } from "../clock.ts";
import type { HeaderLookup } from "../protocol/http.ts";
import type { RateLimitKind } from "./stats.ts";

/**
 * What a connection over its message or byte budget gets.
 *
 * @example
 * ```ts
 * const policy: RateLimitPolicy = "close"; // 1008 instead of pausing
 * ```
 */
export type RateLimitPolicy = "pause" | "close";

/**
 * Limits of a server (option `limits` of {@link serve}); every limit is off unless set.
 *
 * @example
 * ```ts
 * const server = await serve({
 *   port: 0,
 *   limits: {
 *     messagesPerSecond: 100, // per connection, bursts of up to 200
 *     messageBurst: 200,
 *     bytesPerSecond: 1 << 20,
 *     policy: "pause", // stop reading until the budget refills ("close": 1008)
 *     connectionsPerAddress: 20, // over it: 429 with Retry-After
 *     handshakesPerSecond: 10,
 *     trustProxy: ["127.0.0.1"], // believe X-Forwarded-For from this proxy only
 *   },
 * }, (ws) => ws.on("message", (m) => ws.send(m)));
 * ```
 */
export interface LimitsOptions {
  /** Data messages a connection may send per second, on average. */
  messagesPerSecond?: number;
  /** Messages a connection may send at once after being quiet (default: one second's worth). */
  messageBurst?: number;
  /** Bytes a connection may send per second, on average (frames with their headers). */
  bytesPerSecond?: number;
  /** Bytes a connection may send at once after being quiet (default: one second's worth). */
  bytesBurst?: number;
  /**
   * `"pause"` (default): stop reading the connection until its budget refills, so TCP slows the
   * client down; `"close"`: close it with 1008.
   */
  policy?: RateLimitPolicy;
  /** Connections one client address may hold open at once; over it: 429. */
  connectionsPerAddress?: number;
  /** Handshakes one client address may make per second, on average; over it: 429. */
  handshakesPerSecond?: number;
  /** Handshakes one address may make at once (default: one second's worth, at least 1). */
  handshakeBurst?: number;
  /**
   * Addresses of proxies whose `X-Forwarded-For` is believed: a request from one of them counts
   * for the last address in that header that is not itself one of these proxies. Without it, the
   * header is ignored (anyone can send it).
   */
  trustProxy?: readonly string[];
  /** Decides a request's client address instead (e.g. from a header your proxy sets). */
  clientAddress?: (remoteAddress: string, headers: HeaderLookup | undefined) => string;
}

/** Seconds a refused client is told to wait when over its connection count. */
const RETRY_AFTER_CONNECTIONS = 5;

/** Idle address entries are pruned when the table grows past this (then past twice its size). */
const PRUNE_AT = 1024;

/** @internal What a limit reports to the server: counted, and the `ratelimit` event. */
export interface LimitSink {
  _rateLimited(
    kind: RateLimitKind,
    action: "pause" | "close" | "refuse",
    address: string,
    ws?: unknown,
  ): void;
}

/** @internal The socket side of a connection limiter (implemented by WS). */
export interface Throttled {
  _throttle(ms: number): void;
  _limitClose(): void;
  readonly remoteAddress: string;
  readonly readyState: string;
}

/**
 * @internal One connection's buckets. Refilled once per chunk read (one clock reading), spent
 * per message and per chunk; a connection over budget is paused for exactly the time the deficit
 * takes to refill, or closed.
 */
export class ConnLimiter {
  /** While set, the socket is not read: its budget is refilling. */
  timer: ReturnType<typeof setTimeout> | undefined;
  #opts: ResolvedConnLimits;
  #messages: number;
  #bytes: number;
  #at = now();
  #acted = false;

  constructor(opts: ResolvedConnLimits) {
    this.#opts = opts;
    this.#messages = opts.messageBurst;
    this.#bytes = opts.bytesBurst;
  }

  /** A chunk of `n` bytes arrived: refill both buckets, spend from the byte bucket. */
  bytes(ws: Throttled, n: number): void {
    const o = this.#opts, t = now(), dt = (t - this.#at) / 1000;
    this.#at = t;
    this.#acted = false;
    if (o.messagesPerSecond > 0) {
      this.#messages = Math.min(o.messageBurst, this.#messages + dt * o.messagesPerSecond);
    }
    if (o.bytesPerSecond > 0) {
      this.#bytes = Math.min(o.bytesBurst, this.#bytes + dt * o.bytesPerSecond) - n;
      if (this.#bytes < 0) this.#over(ws, "bytes", -this.#bytes / o.bytesPerSecond);
    }
  }

  /** A message arrived. */
  message(ws: Throttled): void {
    const o = this.#opts;
    if (o.messagesPerSecond > 0 && --this.#messages < 0) {
      this.#over(ws, "messages", -this.#messages / o.messagesPerSecond);
    }
  }

  #over(ws: Throttled, kind: "messages" | "bytes", seconds: number): void {
    // One action per chunk: a chunk of many small messages is one burst.
    if (this.#acted || ws.readyState !== "open") return;
    this.#acted = true;
    const o = this.#opts;
    o.sink?._rateLimited(kind, o.policy, ws.remoteAddress, ws);
    if (o.policy === "close") ws._limitClose();
    else ws._throttle(Math.ceil(seconds * 1000));
  }
}

/** @internal Connection limits with their defaults filled in. */
export interface ResolvedConnLimits {
  messagesPerSecond: number;
  messageBurst: number;
  bytesPerSecond: number;
  bytesBurst: number;
  policy: RateLimitPolicy;
  sink: LimitSink | undefined;
}

/** @internal The connection limits of `options`, or undefined if none is set. */
export function connLimits(
  options: LimitsOptions | undefined,
  sink: LimitSink,
): ResolvedConnLimits | undefined {
  const m = options?.messagesPerSecond ?? 0, b = options?.bytesPerSecond ?? 0;
  if (!(m > 0) && !(b > 0)) return undefined;
  return {
    messagesPerSecond: m,
    messageBurst: options!.messageBurst ?? m,
    bytesPerSecond: b,
    bytesBurst: options!.bytesBurst ?? b,
    policy: options!.policy ?? "pause",
    sink,
  };
}

interface AddressEntry {
  connections: number;
  tokens: number;
  at: number;
}

/** @internal A refusal by {@link AddressLimits.admit} (429), and seconds to wait. */
export interface AddressRefusal {
  kind: "connections" | "handshakes";
  retryAfter: number;
  address: string;
}

/** @internal Per client address: open connections and a handshake bucket. */
export class AddressLimits {
  #opts: LimitsOptions;
  #table = new Map<string, AddressEntry>();
  #pruneAt = PRUNE_AT;
  #trusted: Set<string>;

  constructor(opts: LimitsOptions) {
    this.#opts = opts;
    this.#trusted = new Set(opts.trustProxy ?? []);
  }

  /** True if `options` sets a per-address limit. */
  static wanted(options: LimitsOptions | undefined): boolean {
    return (options?.connectionsPerAddress ?? 0) > 0 || (options?.handshakesPerSecond ?? 0) > 0;
  }

  /** The client address of a request from `remoteAddress` with `headers`. */
  addressOf(remoteAddress: string, headers: HeaderLookup | undefined): string {
    const hook = this.#opts.clientAddress;
    if (hook) return hook(remoteAddress, headers);
    if (!this.#trusted.has(remoteAddress)) return remoteAddress;
    const forwarded = headers?.get("x-forwarded-for");
    if (!forwarded) return remoteAddress;
    const hops = forwarded.split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i].trim();
      if (hop && !this.#trusted.has(hop)) return hop;
    }
    return remoteAddress;
  }

  /** A handshake from `address` passed the other checks: admitted, or why not. */
  admit(address: string): AddressRefusal | undefined {
    const o = this.#opts, t = now();
    const rate = o.handshakesPerSecond ?? 0;
    const burst = o.handshakeBurst ?? Math.max(1, rate);
    let e = this.#table.get(address);
    if (!e) {
      if (this.#table.size >= this.#pruneAt) this.#prune(t);
      this.#table.set(address, e = { connections: 0, tokens: burst, at: t });
    }
    const max = o.connectionsPerAddress ?? 0;
    if (max > 0 && e.connections >= max) {
      return { kind: "connections", retryAfter: RETRY_AFTER_CONNECTIONS, address };
    }
    if (rate > 0) {
      e.tokens = Math.min(burst, e.tokens + (t - e.at) / 1000 * rate);
      e.at = t;
      if (e.tokens < 1) {
        return { kind: "handshakes", retryAfter: Math.ceil((1 - e.tokens) / rate), address };
      }
      e.tokens -= 1;
    }
    return undefined;
  }

  /** A connection from `address` opened (+1) or closed (-1). */
  count(address: string, delta: 1 | -1): void {
    let e = this.#table.get(address);
    if (!e) this.#table.set(address, e = { connections: 0, tokens: 0, at: now() });
    e.connections += delta;
  }

  /** Addresses tracked now (bounded: idle entries are pruned). */
  get size(): number {
    return this.#table.size;
  }

  /** Drops entries with no connection and a full bucket: they hold nothing a new one would not. */
  #prune(t: number): void {
    const rate = this.#opts.handshakesPerSecond ?? 0;
    const burst = this.#opts.handshakeBurst ?? Math.max(1, rate);
    for (const [address, e] of this.#table) {
      if (e.connections > 0) continue;
      if (rate > 0 && e.tokens + (t - e.at) / 1000 * rate < burst) continue;
      this.#table.delete(address);
    }
    this.#pruneAt = Math.max(PRUNE_AT, this.#table.size * 2);
  }
}
