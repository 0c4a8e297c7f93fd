/**
 * What a server counts: plain numbers, kept where the work already happens. A socket counts its
 * own messages and bytes (one field increment each, no allocation); its resource keeps the rare
 * events (opens, closes by code, pauses, timeouts) and folds a socket's figures in when it
 * closes. {@link Server.stats} adds the open sockets' figures at the time it is called.
 *
 * @module
 */

import type { BackplaneStats } from "../backplane/stats.ts";

/**
 * Messages and bytes, each way.
 *
 * @example
 * ```ts
 * const { messagesIn, bytesOut }: TrafficStats = ws.traffic();
 * ```
 */
export interface TrafficStats {
  /** Data messages received (whole messages, after reassembly). */
  messagesIn: number;
  /** Data messages sent (each `send`, and each delivery of a `publish`). */
  messagesOut: number;
  /** Bytes received from the socket: frames with their headers (raw clients: their bytes). */
  bytesIn: number;
  /** Bytes handed to the socket: frames with their headers, control frames included. */
  bytesOut: number;
}

/**
 * The figures of one resource (or, summed, of a whole server).
 *
 * @example
 * ```ts
 * const chat: ResourceStats | undefined = server.stats().resources["/chat/:room"];
 * ```
 */
export interface ResourceStats extends TrafficStats {
  /** Sockets open (or closing) now. */
  connections: number;
  /** Sockets opened since the server started. */
  connectionsTotal: number;
  /** Closed sockets by close code (1006: dropped without a close frame). */
  closes: Record<string, number>;
  /** Times a socket stopped reading because its outgoing buffer was over the high-water mark. */
  backpressurePauses: number;
  /** Sockets dropped because they did not answer a heartbeat ping in time. */
  heartbeatTimeouts: number;
}

/** Which limit acted (see {@link LimitsOptions}). */
export type RateLimitKind = "messages" | "bytes" | "connections" | "handshakes";

/**
 * Everything {@link Server.stats} reports. The top-level figures are the sums of `resources`.
 *
 * @example
 * ```ts
 * const s: ServerStats = server.stats();
 * console.log(s.connections, s.resources["/chat/:room"]?.messagesIn, s.refused["429"] ?? 0);
 * ```
 */
export interface ServerStats extends ResourceStats {
  /** Milliseconds since the server was created. */
  uptime: number;
  /** Connections in their opening handshake now. */
  handshaking: number;
  /** Refused handshakes (and plain HTTP requests answered with an error) by HTTP status. */
  refused: Record<string, number>;
  /** Times `publish` skipped or closed a subscriber over its high-water mark. */
  slowConsumerDrops: number;
  /** Topics with at least one subscriber. */
  topics: number;
  /** Subscriptions over all topics. */
  subscribers: number;
  /** Times a limit acted, by limit. */
  rateLimited: Record<RateLimitKind, number>;
  /** Per resource pattern (`"*"`: the `serve` handler). */
  resources: Record<string, ResourceStats>;
  /** The backplane's figures, when the server has one. */
  backplane?: BackplaneStats;
}

/** What a socket counts of itself (see {@link WS.traffic}). */
export interface SocketCounters {
  _messagesIn: number;
  _messagesOut: number;
  _bytesIn: number;
  _bytesOut: number;
}

/** @internal The counters of one resource, shared by its sockets through their settings. */
export class ResourceCounters {
  connectionsTotal = 0;
  /** Figures of closed sockets; open ones are added when a snapshot is taken. */
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  backpressurePauses = 0;
  heartbeatTimeouts = 0;
  closes: Map<number, number> = new Map();

  /** A socket closed with `code`: its figures move here. */
  closed(ws: SocketCounters, code: number): void {
    this.messagesIn += ws._messagesIn;
    this.messagesOut += ws._messagesOut;
    this.bytesIn += ws._bytesIn;
    this.bytesOut += ws._bytesOut;
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
  }

  /** A snapshot: these counters plus the open sockets' figures. */
  snapshot(open: Iterable<SocketCounters>): ResourceStats {
    const s: ResourceStats = {
      connections: 0,
      connectionsTotal: this.connectionsTotal,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      closes: Object.fromEntries([...this.closes].sort((a, b) => a[0] - b[0])),
      backpressurePauses: this.backpressurePauses,
      heartbeatTimeouts: this.heartbeatTimeouts,
    };
    for (const ws of open) {
      s.connections++;
      s.messagesIn += ws._messagesIn;
      s.messagesOut += ws._messagesOut;
      s.bytesIn += ws._bytesIn;
      s.bytesOut += ws._bytesOut;
    }
    return s;
  }
}

/** @internal Adds `b` into `a` (the server's sums of its resources). */
export function addResourceStats(a: ResourceStats, b: ResourceStats): void {
  a.connections += b.connections;
  a.connectionsTotal += b.connectionsTotal;
  a.messagesIn += b.messagesIn;
  a.messagesOut += b.messagesOut;
  a.bytesIn += b.bytesIn;
  a.bytesOut += b.bytesOut;
  a.backpressurePauses += b.backpressurePauses;
  a.heartbeatTimeouts += b.heartbeatTimeouts;
  for (const [code, n] of Object.entries(b.closes)) a.closes[code] = (a.closes[code] ?? 0) + n;
}

/** @internal Empty figures. */
export function emptyResourceStats(): ResourceStats {
  return {
    connections: 0,
    connectionsTotal: 0,
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    closes: {},
    backpressurePauses: 0,
    heartbeatTimeouts: 0,
  };
}
