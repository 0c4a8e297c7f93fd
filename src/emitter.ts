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
  /**
   * Listeners by event, created on first use. An `on` listener is stored as the function itself
   * and a `once` listener wrapped, so that idle sockets with a few listeners stay small.
   */
  #listeners: { [K in keyof E]?: Entry<E>[] } | undefined;

  /** Adds a listener. */
  on<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    this.#add(event, listener as Listener<E, keyof E>);
    return this;
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    this.#add(event, { once: listener as Listener<E, keyof E> });
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof E>(event: K, listener: Listener<E, K>): this {
    const list = this.#listeners?.[event];
    if (!list) return this;
    const i = list.findIndex((l) =>
      l === listener || (typeof l !== "function" && l.once === listener)
    );
    if (i >= 0) {
      // Copy on write: emit iterates a snapshot even if a listener adds or removes listeners.
      const copy = list.slice();
      copy.splice(i, 1);
      this.#listeners![event] = copy;
    }
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount<K extends keyof E>(event: K): number {
    return this.#listeners?.[event]?.length ?? 0;
  }

  /** Calls the listeners of `event` in order; true if there were any. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.#listeners?.[event];
    if (!list || list.length === 0) return false;
    for (const l of list) {
      let fn: Listener<E, keyof E>;
      if (typeof l === "function") {
        fn = l;
      } else {
        fn = l.once;
        this.off(event, fn);
      }
      try {
        fn(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return true;
  }

  #add<K extends keyof E>(event: K, entry: Entry<E>): void {
    const listeners = this.#listeners ??= Object.create(null) as { [K in keyof E]?: Entry<E>[] };
    const list = listeners[event];
    listeners[event] = list ? [...list, entry] : [entry];
  }
}

type Entry<E extends EventMap> = Listener<E, keyof E> | { once: Listener<E, keyof E> };
