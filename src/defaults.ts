/**
 * The default of every connection and server option, in one place: the code reads them from here,
 * and `tests/options_table.test.ts` checks the README's option tables against them.
 *
 * A per-connection setting has the same name, shape and default on `serve`, on a resource and on
 * `connect`; only `heartbeat` differs, on for servers (to find dead peers) and off for clients.
 *
 * @module
 */

/**
 * The defaults of the per-connection settings, the same on both sides (see {@link DEFAULTS}).
 *
 * @example
 * ```ts
 * const d: ConnectionDefaults = DEFAULTS.client;
 * console.log(d.maxPayload); // 67108864
 * ```
 */
export interface ConnectionDefaults {
  /** Subprotocols spoken or offered: none. */
  readonly protocols: readonly string[];
  /** Largest message accepted, in bytes (64 MiB); over it the connection closes with 1009. */
  readonly maxPayload: number;
  /** Milliseconds to wait for the closing handshake (5 s). */
  readonly closeTimeout: number;
  /** Outgoing bytes above which the socket stops reading (1 MiB). */
  readonly highWaterMark: number;
  /** Milliseconds without a data message before closing with 1001: off. */
  readonly idleTimeout: false;
  /** permessage-deflate: off. */
  readonly deflate: false;
  /** Milliseconds for the opening handshake (10 s). */
  readonly handshakeTimeout: number;
  /** Largest HTTP head accepted, in bytes (16 KiB). */
  readonly maxHeadSize: number;
}

/** What a per-connection setting is by default, on either side. */
const CONNECTION: ConnectionDefaults = {
  protocols: [],
  maxPayload: 64 * 1024 * 1024,
  closeTimeout: 5_000,
  highWaterMark: 1024 * 1024,
  idleTimeout: false,
  deflate: false,
  handshakeTimeout: 10_000,
  maxHeadSize: 16 * 1024,
};

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
  readonly server: ConnectionDefaults & {
    readonly port: 8080;
    readonly hostname: "0.0.0.0";
    readonly heartbeat: { readonly interval: 30_000; readonly timeout: 10_000 };
    readonly slowConsumer: "drop";
    readonly slowConsumerCode: 1013;
    readonly maxBodySize: number;
    readonly stats: true;
  };
  readonly client: ConnectionDefaults & {
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
