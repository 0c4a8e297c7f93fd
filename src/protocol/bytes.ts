/**
 * Byte helpers shared by the protocol core, the server and the transports.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/**
 * Joins `parts` into one buffer; a single part is returned as is (no copy). `total`, if known,
 * saves a pass over the parts.
 *
 * @example
 * ```ts
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[], total = -1): Uint8Array {
  if (parts.length === 1) return parts[0];
  if (parts.length === 0) return EMPTY;
  if (total < 0) {
    total = 0;
    for (const p of parts) total += p.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
