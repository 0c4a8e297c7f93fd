/**
 * What a backplane reports and takes: its options, events, and what a medium returns for a
 * topic's history (its counters are in stats.ts).
 *
 * @module
 */

import type { WS } from "../ws.ts";

/** Which topics keep a history that subscribers can resume from: names, or a predicate. */
export type RecoverablePolicy = readonly string[] | ((topic: string) => boolean);

/** Options every backplane takes. */
export interface BackplaneOptions {
  /**
   * Topics whose messages are also kept in a bounded history, so that a subscriber that comes back
   * with `ws.subscribe(topic, { since })` is first sent what it missed (default none). Their
   * subscribers get every message with a position header (see {@link parseTopicFrame}).
   */
  recoverable?: RecoverablePolicy;
  /**
   * Close the local subscribers of a topic with 1013 (try again later) when messages of it were
   * lost (a sequence gap, or an outage of the backplane), so that their clients reconnect and
   * reload (default `false`: the `gap` event only).
   */
  closeOnGap?: boolean;
  /** Most missed messages sent to one resuming subscriber; more is "not recovered" (default 10000). */
  maxReplay?: number;
  /**
   * Longest a resume waits, in ms, for a backplane that is not up (still connecting after a start,
   * or in an outage) before it answers "not recovered" (default 5000). Clients that reconnect to a
   * process that has just started would otherwise all be told to reload.
   */
  recoveryWait?: number;
}

/** Messages of a topic were lost between processes. */
export interface GapInfo {
  /** The topic whose subscribers missed messages; reload its state if it matters. */
  topic: string;
  /** `"sequence"`: an origin's sequence skipped; `"outage"`: the backplane was unreachable. */
  cause: "sequence" | "outage";
  /** The origin whose messages were lost (`""` for an outage: anyone's). */
  origin: string;
  /** How many were lost, if known. */
  missed: number | undefined;
}

/** The outcome of a resume (`ws.subscribe(topic, { since })`). */
export interface RecoveryInfo {
  /** The topic resumed. */
  topic: string;
  /** The subscriber that resumed; on `recovered: false` its client has to reload the topic. */
  ws: WS;
  /** True if every missed message was sent; false if the client was told "not recovered". */
  recovered: boolean;
  /** Messages sent from the history. */
  replayed: number;
}

/** Events of a {@link Backplane}. */
export type BackplaneEvents = {
  /** Connected (again); every live topic is subscribed again. */
  up: [];
  /** Unreachable: local delivery goes on, remote messages are lost until `up`. */
  down: [error: Error | undefined];
  /** Messages were lost (see {@link GapInfo}). */
  gap: [info: GapInfo];
  /** A resume finished. */
  recovery: [info: RecoveryInfo];
  /** Something failed that did not stop the backplane (a command, a malformed message). */
  error: [error: unknown];
};

/** What a medium returns for a recoverable topic's history. */
export interface History {
  /** The topic's epoch, `""` if it has no history at all. */
  epoch: string;
  /** The offset of its latest message (0 if none). */
  offset: number;
  /** Envelopes after the asked offset, oldest first (at most the asked count). */
  entries: Uint8Array[];
}
