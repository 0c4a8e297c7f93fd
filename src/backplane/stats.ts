/**
 * What a backplane counts: plain values, read by the server's stats and metrics (which must not
 * depend on the rest of the backplane's types, as those name the socket).
 *
 * @module
 */

/** Where a backplane is; plain values, cheap to read (e.g. for metrics). */
export interface BackplaneStats {
  /** `"connecting"` (never up yet), `"up"`, `"down"` or `"closed"`. */
  state: "connecting" | "up" | "down" | "closed";
  /** Times it went down. */
  outages: number;
  /** Messages published by this process. */
  published: number;
  /** Published while down: delivered locally only. */
  unsent: number;
  /** Envelopes received from the medium (this process's own echoes included). */
  received: number;
  /** Received envelopes that did not decode (another version, garbage). */
  invalid: number;
  /** Envelopes dropped as already seen (a sequence that went back). */
  duplicates: number;
  /** Gaps reported. */
  gaps: number;
  /** Messages known lost in those gaps (an outage's are not counted: nobody knows how many). */
  missed: number;
  /** Bytes of envelopes sent. */
  bytesOut: number;
  /** Bytes of envelopes received. */
  bytesIn: number;
  /** Topics subscribed on the medium now. */
  channels: number;
  /** Subscribe and unsubscribe commands sent (batched: far fewer than subscriptions). */
  subscribeCommands: number;
  /** Resumes that sent every missed message. */
  recovered: number;
  /** Resumes whose client was told "not recovered": the history did not cover what it missed. */
  notRecovered: number;
  /** Commands that failed (each lost at most its own message). */
  errors: number;
}
