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

/**
 * `chunks` with each run of consecutive chunks smaller than `limit` joined into buffers of at most
 * `limit` bytes; larger chunks are kept as they are. What waits in a send buffer then costs about
 * its bytes: kept apart, a million 2-byte pongs would cost a queue entry (~100 bytes) each.
 *
 * @example
 * ```ts
 * coalesce([new Uint8Array([1]), new Uint8Array([2])], 1024); // [Uint8Array [1, 2]]
 * ```
 */
export function coalesce(chunks: readonly Uint8Array[], limit: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = chunks.length;
  let i = 0;
  while (i < n) {
    let j = i, total = 0;
    while (j < n && chunks[j].length < limit && total + chunks[j].length <= limit) {
      total += chunks[j++].length;
    }
    if (j - i > 1) {
      out.push(concatBytes(chunks.slice(i, j), total));
      i = j;
    } else {
      out.push(chunks[i++]);
    }
  }
  return out;
}
