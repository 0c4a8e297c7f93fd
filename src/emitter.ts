/**
 * A small typed event emitter that behaves the same on every runtime.
 *
 * @module
 */

/** Maps event names to their listener argument lists. */
export type EventMap = { [event: string]: unknown[] };

/** A listener for event `K` of map `E`. */
export type Listener<E extends EventMap, K extends keyof E> = (...args: E[K]) => void;

/**
 * Typed `on`/`once`/`off`/`emit`. Unlike `node:events`, an `error` with no listener is not thrown:
 * nothing a peer sends may take the process down. A listener that throws does not stop the
 * others; its error is rethrown asynchronously, as an uncaught error of the application.
 *
 * @example
 * ```ts
 * class Clock extends Emitter<{ tick: [n: number] }> {}
 * new Clock().on("tick", (n) => console.log(n));
 * ```
 */
export class Emitter<E extends EventMap> {
  #listeners = new Map<keyof E, Array<{ fn: Listener<E, keyof E>; once: boolean }>>();

  /** Adds a listener. */
  on<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    this.#add(event, listener, false);
    return this;
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    this.#add(event, listener, true);
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    const i = list.findIndex((l) => l.fn === listener);
    if (i >= 0) {
      const copy = list.slice();
      copy.splice(i, 1);
      this.#listeners.set(event, copy);
    }
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount<K extends keyof E>(event: K): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Calls the listeners of `event` in order; true if there were any. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const l of list) {
      if (l.once) this.off(event, l.fn);
      try {
        l.fn(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return true;
  }

  #add<K extends keyof E>(event: K, fn: Listener<E, K>, once: boolean): void {
    const list = this.#listeners.get(event) ?? [];
    // Copy on write: emit iterates a snapshot even if a listener adds or removes listeners.
    this.#listeners.set(event, [...list, { fn: fn as Listener<E, keyof E>, once }]);
  }
}
