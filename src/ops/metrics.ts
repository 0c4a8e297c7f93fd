/**
 * A server's figures in the Prometheus text exposition format (version 0.0.4): counters end in
 * `_total`, byte counts say `bytes`, every family has its `# HELP` and `# TYPE`.
 *
 * @module
 */

import type { ResourceStats, ServerStats } from "./stats.ts";

/**
 * The `Content-Type` of the text exposition format.
 *
 * @example
 * ```ts
 * new Response(prometheusText(server.stats()), { headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE } });
 * ```
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Something with figures to expose: a {@link Server}. */
export interface HasStats {
  /** Current figures, read on every scrape: keep it cheap. */
  stats(): ServerStats;
}

type Labels = Record<string, string>;

class Families {
  #out: string[] = [];
  #prefix: string;
  constructor(prefix: string) {
    this.#prefix = prefix;
  }
  family(
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: Array<[Labels, number]>,
  ): void {
    const full = `${this.#prefix}_${name}`;
    this.#out.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
      this.#out.push(`${full}${l ? `{${l}}` : ""} ${formatValue(value)}`);
    }
  }
  text(): string {
    return this.#out.join("\n") + "\n";
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function metricName(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^a-zA-Z0-9_]/g, "_").toLowerCase();
}

/**
 * The figures of {@link Server.stats} as Prometheus text: per resource (label `resource`), refused
 * handshakes by `status`, closes by `code`, limits by `limit`, and the backplane's figures.
 *
 * @example
 * ```ts
 * const text = prometheusText(server.stats());
 * // # TYPE wsdriver_connections gauge
 * // wsdriver_connections{resource="/chat/:room"} 12
 * ```
 */
export function prometheusText(stats: ServerStats, prefix = "wsdriver"): string {
  const f = new Families(prefix);
  const res = Object.entries(stats.resources);
  const perResource = (pick: (r: ResourceStats) => number): Array<[Labels, number]> =>
    res.map(([resource, r]) => [{ resource }, pick(r)]);
  f.family("connections", "gauge", "Sockets open now.", perResource((r) => r.connections));
  f.family(
    "connections_opened_total",
    "counter",
    "Sockets opened.",
    perResource((r) => r.connectionsTotal),
  );
  f.family("handshakes_in_progress", "gauge", "Connections in their opening handshake.", [
    [{}, stats.handshaking],
  ]);
  f.family(
    "handshakes_refused_total",
    "counter",
    "Handshakes and HTTP requests answered with an error, by status.",
    Object.entries(stats.refused).map(([status, n]) => [{ status }, n]),
  );
  f.family(
    "messages_received_total",
    "counter",
    "Data messages received.",
    perResource((r) => r.messagesIn),
  );
  f.family(
    "messages_sent_total",
    "counter",
    "Data messages sent.",
    perResource((r) => r.messagesOut),
  );
  f.family(
    "received_bytes_total",
    "counter",
    "Bytes received, frame headers included.",
    perResource((r) => r.bytesIn),
  );
  f.family(
    "sent_bytes_total",
    "counter",
    "Bytes sent, frame headers included.",
    perResource((r) => r.bytesOut),
  );
  f.family(
    "closes_total",
    "counter",
    "Sockets closed, by close code.",
    res.flatMap(([resource, r]) =>
      Object.entries(r.closes).map(([code, n]): [Labels, number] => [{ resource, code }, n])
    ),
  );
  f.family(
    "backpressure_pauses_total",
    "counter",
    "Times a socket stopped reading because its outgoing buffer was full.",
    perResource((r) => r.backpressurePauses),
  );
  f.family(
    "heartbeat_timeouts_total",
    "counter",
    "Sockets dropped for not answering a heartbeat ping.",
    perResource((r) => r.heartbeatTimeouts),
  );
  f.family(
    "slow_consumer_drops_total",
    "counter",
    "Times publish skipped or closed a subscriber over its high-water mark.",
    [[{}, stats.slowConsumerDrops]],
  );
  f.family("topics", "gauge", "Topics with at least one subscriber.", [[{}, stats.topics]]);
  f.family("topic_subscriptions", "gauge", "Subscriptions over all topics.", [[
    {},
    stats.subscribers,
  ]]);
  f.family(
    "rate_limited_total",
    "counter",
    "Times a limit paused or closed a connection or refused a handshake, by limit.",
    Object.entries(stats.rateLimited).map(([limit, n]) => [{ limit }, n]),
  );
  f.family("uptime_seconds", "gauge", "Seconds since the server was created.", [[
    {},
    stats.uptime / 1000,
  ]]);
  const bp = stats.backplane;
  if (bp) {
    f.family("backplane_info", "gauge", "The backplane's state (always 1).", [[{
      state: bp.state,
    }, 1]]);
    for (const [key, value] of Object.entries(bp)) {
      if (typeof value !== "number") continue;
      // Every figure but the channels subscribed now only ever grows.
      const counter = key !== "channels";
      f.family(
        `backplane_${metricName(key)}${counter ? "_total" : ""}`,
        counter ? "counter" : "gauge",
        `Backplane figure ${key}.`,
        [[{}, value]],
      );
    }
  }
  return f.text();
}

/**
 * Answers `GET /metrics` (or `path`) with `server`'s figures in Prometheus text, and returns
 * undefined for any other request: one line in a `fetch` handler.
 *
 * @example
 * ```ts
 * const server: Server = await serve({
 *   port: 8080,
 *   fetch: (req) => handleMetrics(server, req) ?? new Response("not found", { status: 404 }),
 * }, (ws) => ws.on("message", (m) => ws.send(m)));
 * ```
 */
export function handleMetrics(
  server: HasStats,
  request: Request,
  path = "/metrics",
): Response | undefined {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  if (new URL(request.url).pathname !== path) return undefined;
  return new Response(prometheusText(server.stats()), {
    headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE },
  });
}
