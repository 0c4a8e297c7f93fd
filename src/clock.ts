/**
 * The clock of heartbeats and timeouts.
 *
 * @module
 */

// One millisecond back, so that a timestamp is never 0, which marks "not set".
const EPOCH = Date.now() - 1;

/**
 * Milliseconds since wsdriver was loaded. Every socket keeps a few timestamps: as small integers
 * they are stored in the object itself, where `Date.now()` values (over 2^31) would each be a
 * separately allocated number.
 *
 * @example
 * ```ts
 * const start = now();
 * const elapsed = now() - start;
 * ```
 */
export function now(): number {
  return Date.now() - EPOCH;
}
