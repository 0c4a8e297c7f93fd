/**
 * A slab: one buffer that many small byte runs are written into back to back, so that a run costs
 * no allocation of its own and runs written in a row lie next to each other.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/**
 * Shared space for small byte runs, written one after another: frames encoded once for many
 * sockets, small reads copied out of the runtime's buffers.
 *
 * The contract, which makes the slab safe to share without copying:
 *
 * - **reserve, write, commit.** `reserve(n)` returns the current buffer with at least `n` free
 *   bytes from `pos`. The writer writes its run at `buf[pos]` onwards, then `commit(k)` keeps the
 *   first `k` of the bytes it reserved (`k <= n`) and moves `pos` past them. Reserved bytes that
 *   are not committed stay free: the next writer may overwrite them. `buf` and `pos` are only
 *   meaningful right after `reserve`: read them then, not before.
 * - **One writer at a time.** Nothing between `reserve` and `commit` may use the same slab
 *   (no `await`, no call into code that writes to it): the slab is shared process-wide.
 * - **Committed bytes are never rewritten.** When a buffer has too little room left, `reserve`
 *   replaces it with a fresh one (of the slab's size, or of `n` bytes if that is larger) and never
 *   writes into the old one again. So views of committed bytes stay valid for as long as anyone
 *   holds them: a socket's queued write, a message being parsed, a frame sent to many subscribers.
 * - **Who holds views, and for how long.** A committed run belongs to its writer, who may hand out
 *   views of it (and write into it, as the frame parser unmasks a read in place, when nobody else
 *   sees that run). A view keeps the whole buffer alive, so views are for the short term (a write
 *   that is queued, a message until it is delivered); what is kept longer, such as a message handed
 *   to the application, is copied out. The garbage collector frees a replaced buffer once its last
 *   view is gone, as it does for Node's Buffer pool.
 *
 * @example
 * ```ts
 * const slab = new Slab(64 * 1024);
 * const buf = slab.reserve(3);
 * const start = slab.pos;
 * buf.set([1, 2, 3], start);
 * slab.commit(3);
 * const run = buf.subarray(start, slab.pos); // stays [1, 2, 3]
 * ```
 */
export class Slab {
  readonly #size: number;
  /** Allocated on first use: a process that never writes holds none. */
  #buf: Uint8Array = EMPTY;
  #pos = 0;

  /** A slab whose buffers have `size` bytes. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`a slab's size is an integer >= 1, not ${size}`);
    }
    this.#size = size;
  }

  /** The current buffer: bytes before `pos` are committed. */
  get buf(): Uint8Array {
    return this.#buf;
  }

  /** Where the next run starts in `buf`: the end of the last committed one. */
  get pos(): number {
    return this.#pos;
  }

  /**
   * The buffer, with at least `n` free bytes from `pos` on. If the current one has fewer, it is
   * replaced by a fresh buffer and `pos` goes back to 0.
   */
  reserve(n: number): Uint8Array {
    if (this.#pos + n > this.#buf.length) {
      this.#buf = new Uint8Array(n > this.#size ? n : this.#size);
      this.#pos = 0;
    }
    return this.#buf;
  }

  /** Keeps the next `n` bytes from `pos` (at most what the last `reserve` asked for). */
  commit(n: number): void {
    if (!(n >= 0 && this.#pos + n <= this.#buf.length)) {
      throw new RangeError(`cannot commit ${n} bytes: ${this.#buf.length - this.#pos} are free`);
    }
    this.#pos += n;
  }
}
