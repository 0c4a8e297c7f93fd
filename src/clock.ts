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
  const t = Date.now() - EPOCH;
  // The difference of two doubles is a double even when it is a whole number: V8 would box it,
  // and a field once given a boxed number boxes its every value (16 bytes per timestamp). `| 0`
  // makes it an integer; past 2^31 ms (24 days) it stays a double, which is still correct.
  return t <= 0x7fffffff ? t | 0 : t;
}
