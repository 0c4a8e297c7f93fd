/**
 * The default of every connection and server option, in one place: the code reads them from here,
 * and `tests/options_table.test.ts` checks the README's option tables against them.
 *
 * A per-connection setting has the same name, shape and default on `serve`, on a resource and on
 * `connect`; only `heartbeat` differs, on for servers (to find dead peers) and off for clients.
 *
 * @module
 */

/** What a per-connection setting is by default, on either side. */
const CONNECTION = {
  /** Subprotocols spoken or offered: none. */
  protocols: [] as readonly string[],
  /** Largest message accepted, in bytes (64 MiB); over it the connection closes with 1009. */
  maxPayload: 64 * 1024 * 1024,
  /** Milliseconds to wait for the closing handshake. */
  closeTimeout: 5_000,
  /** Outgoing bytes above which the socket stops reading (1 MiB). */
  highWaterMark: 1024 * 1024,
  /** Milliseconds without a data message before closing with 1001: off. */
  idleTimeout: false,
  /** permessage-deflate: off. */
  deflate: false,
  /** Milliseconds for the opening handshake. */
  handshakeTimeout: 10_000,
  /** Largest HTTP head accepted, in bytes (16 KiB). */
  maxHeadSize: 16 * 1024,
} as const;

/**
 * The defaults of {@link serve}'s and {@link connect}'s options (and of raw TCP), frozen.
 *
 * @example
 * ```ts
 * // Twice the default close timeout, everything else as by default.
 * await serve({ port: 0, closeTimeout: DEFAULTS.server.closeTimeout * 2 }, (ws) => {});
 * ```
 */
export const DEFAULTS: {
  readonly server: typeof CONNECTION & {
    readonly port: 8080;
    readonly hostname: "0.0.0.0";
    readonly heartbeat: { readonly interval: 30_000; readonly timeout: 10_000 };
    readonly slowConsumer: "drop";
    readonly slowConsumerCode: 1013;
    readonly maxBodySize: number;
    readonly stats: true;
  };
  readonly client: typeof CONNECTION & {
    readonly heartbeat: false;
    readonly followRedirects: false;
    readonly maxRedirects: 10;
  };
  readonly raw: {
    readonly framing: "line";
    readonly detectTimeout: 300;
    readonly idleTimeout: 120_000;
  };
} = deepFreeze(
  {
    server: {
      ...CONNECTION,
      port: 8080,
      hostname: "0.0.0.0",
      heartbeat: { interval: 30_000, timeout: 10_000 },
      slowConsumer: "drop",
      slowConsumerCode: 1013,
      maxBodySize: 1024 * 1024,
      stats: true,
    },
    client: { ...CONNECTION, heartbeat: false, followRedirects: false, maxRedirects: 10 },
    raw: { framing: "line", detectTimeout: 300, idleTimeout: 120_000 },
  } as const,
);

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) deepFreeze(v);
  return Object.freeze(o);
}
