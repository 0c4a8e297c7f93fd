/**
 * Timeouts that all last the same time, on one platform timer. Every connection has a handshake
 * timeout and, while it closes, a close timeout; armed in order, they also expire in order, so a
 * linked list in arming order is a complete timer queue. A `setTimeout` and `clearTimeout` per
 * connection cost 1.3 µs on Deno (0.1-0.3 µs on Bun and Node) and a native timer each; arming here
 * is an object and a clock read. A cancelled timeout leaves the timer be: a handshake's timeout is
 * usually cancelled before the next one is armed, and clearing the timer each time cost a timer per
 * handshake again (a sixth of the garbage of a handshake on Node).
 *
 * @module
 */

/** One armed timeout of a {@link Deadlines}. */
export class Deadline<T> {
  /** When it expires (`performance.now()` ms); -1 once it expired or was cancelled. */
  at: number;
  prev: Deadline<T> | undefined = undefined;
  next: Deadline<T> | undefined = undefined;

  constructor(
    readonly queue: Deadlines<T>,
    readonly target: T,
    readonly value: number,
    at: number,
  ) {
    this.at = at;
  }

  /** Stops the timeout; one that already expired or was cancelled is left alone. */
  cancel(): void {
    this.queue.cancel(this);
  }
}

/**
 * Calls `expire(target, value)` `ms` after `arm(target, value)`, unless cancelled first. The
 * platform timer stops once it finds nothing armed, so an idle server holds none for long, and it
 * never keeps the process alive: the connections it times out do.
 *
 * @example
 * ```ts
 * const timeouts = new Deadlines(5000, (conn: { destroy(): void }) => conn.destroy());
 * const d = timeouts.arm({ destroy() {} });
 * d.cancel();
 * ```
 */
export class Deadlines<T> {
  readonly #ms: number;
  readonly #expire: (target: T, value: number) => void;
  #head: Deadline<T> | undefined = undefined;
  #tail: Deadline<T> | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #size = 0;

  /** Timeouts of `ms` milliseconds that call `expire`. */
  constructor(ms: number, expire: (target: T, value: number) => void) {
    this.#ms = ms;
    this.#expire = expire;
  }

  /** Starts a timeout for `target`; `value` is handed back to `expire`. */
  arm(target: T, value = 0): Deadline<T> {
    const d = new Deadline(this, target, value, performance.now() + this.#ms);
    const tail = this.#tail;
    if (tail === undefined) {
      this.#head = d;
    } else {
      tail.next = d;
      d.prev = tail;
    }
    this.#tail = d;
    this.#size++;
    // A pending timer fires no later than this timeout is due: it was set for an earlier one.
    if (this.#timer === undefined) this.#timer = unref(setTimeout(Deadlines.#run, this.#ms, this));
    return d;
  }

  /** Stops a timeout; one that already expired or was cancelled is left alone. */
  cancel(d: Deadline<T>): void {
    if (d.at >= 0) this.#unlink(d);
  }

  /** How many timeouts are armed. */
  get size(): number {
    return this.#size;
  }

  /** The targets of the armed timeouts, in arming order. */
  targets(): T[] {
    const out: T[] = [];
    for (let d = this.#head; d !== undefined; d = d.next) out.push(d.target);
    return out;
  }

  #unlink(d: Deadline<T>): void {
    this.#size--;
    d.at = -1;
    const { prev, next } = d;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    d.prev = d.next = undefined;
  }

  static #run<T>(self: Deadlines<T>): void {
    self.#timer = undefined;
    const t = performance.now();
    let d: Deadline<T> | undefined;
    // A timer may fire a little before its time by the clock: what is not due waits for a new one.
    while ((d = self.#head) !== undefined && d.at <= t + 1) {
      self.#unlink(d);
      self.#expire(d.target, d.value);
    }
    const head = self.#head;
    if (head !== undefined && self.#timer === undefined) {
      self.#timer = unref(setTimeout(Deadlines.#run, Math.max(1, Math.ceil(head.at - t)), self));
    }
  }
}

/** Lets the process exit while `timer` is pending (Node and Bun: `unref`; Deno: `unrefTimer`). */
function unref(timer: ReturnType<typeof setTimeout>): ReturnType<typeof setTimeout> {
  if (typeof timer === "object") (timer as { unref?(): void }).unref?.();
  else (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(timer);
  return timer;
}
