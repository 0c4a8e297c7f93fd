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
 * Where an emitter's listener errors go: a method keyed by this symbol, which subclasses override
 * (a server's socket hands them to its server). Not a named method, so that it stays out of sight.
 *
 * @example
 * ```ts
 * class Quiet extends Emitter<{ tick: [] }> {
 *   protected override [listenerError](error: unknown): void {
 *     metrics.count("listener-error", error);
 *   }
 * }
 * ```
 */
export const listenerError: unique symbol = Symbol("listenerError");

/**
 * Logs an application error nobody listens for, with `console.error`: never rethrown, since a
 * throw that escapes an event turn kills a Node or Deno process.
 *
 * @example
 * ```ts
 * logUnhandled(new Error("a handler failed"), "wsdriver: a connection handler threw");
 * ```
 */
export function logUnhandled(error: unknown, what: string): void {
  console.error(`${what} (add an "error" listener to handle it):`, error);
}

/**
 * Typed `on`/`once`/`off`/`emit`. Unlike `node:events`, an `error` with no listener is not thrown:
 * nothing a peer sends may take the process down. A listener that throws, or returns a promise
 * that rejects, does not stop the others; its error goes to `[listenerError]`, which logs it with
 * `console.error` unless a subclass routes it elsewhere.
 *
 * @example
 * ```ts
 * class Clock extends Emitter<{ tick: [n: number] }> {}
 * new Clock().on("tick", (n) => console.log(n));
 * ```
 */
export class Emitter<E extends EventMap> {
  /**
   * Listeners, created on first use, as a flat list: event, listeners, event, listeners, … where
   * "listeners" is one entry or an array of them. An `on` entry is the function itself and a
   * `once` entry a wrapper. Sockets have a few events with mostly one listener each: this keeps an
   * idle socket's listeners in one small array (an object keyed by event would be a dictionary).
   */
  #listeners: Array<keyof E | Entry<E> | Entry<E>[]> | undefined;

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
    const all = this.#listeners;
    const at = all ? all.indexOf(event) : -1;
    if (at < 0) return this;
    const entries = all![at + 1] as Entry<E> | Entry<E>[];
    const matches = (l: Entry<E>) =>
      l === listener || (typeof l !== "function" && l.once === listener);
    if (!Array.isArray(entries)) {
      if (matches(entries)) this.#remove(at);
      return this;
    }
    const i = entries.findIndex(matches);
    if (i >= 0) {
      // Copy on write: emit iterates a snapshot even if a listener adds or removes listeners.
      const copy = entries.slice();
      copy.splice(i, 1);
      all![at + 1] = copy.length === 1 ? copy[0] : copy;
    }
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount<K extends keyof E>(event: K): number {
    const all = this.#listeners;
    const at = all ? all.indexOf(event) : -1;
    if (at < 0) return 0;
    const entries = all![at + 1];
    return Array.isArray(entries) ? entries.length : 1;
  }

  /** Calls the listeners of `event` in order; true if there were any. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const all = this.#listeners;
    if (all === undefined) return false;
    const at = all.indexOf(event);
    if (at < 0) return false;
    const entries = all[at + 1] as Entry<E> | Entry<E>[];
    if (!Array.isArray(entries)) {
      this.#call(event, entries, args);
      return true;
    }
    for (const l of entries) this.#call(event, l, args);
    return true;
  }

  #remove(at: number): void {
    const all = this.#listeners!;
    this.#listeners = all.length === 2 ? undefined : [...all.slice(0, at), ...all.slice(at + 2)];
  }

  #call<K extends keyof E>(event: K, l: Entry<E>, args: E[K]): void {
    let fn: Listener<E, keyof E>;
    if (typeof l === "function") {
      fn = l;
    } else {
      fn = l.once;
      this.off(event, fn);
    }
    let result: unknown;
    try {
      result = fn(...args);
    } catch (err) {
      this[listenerError](err, event);
      return;
    }
    // An async listener's rejection is its throw; a listener returns undefined on the hot path.
    if (
      result !== undefined && result !== null &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      (result as PromiseLike<unknown>).then(undefined, (err) => this[listenerError](err, event));
    }
  }

  /** A listener of `event` threw or rejected with `error`. */
  protected [listenerError](error: unknown, event: keyof E): void {
    logUnhandled(error, `wsdriver: a "${String(event)}" listener threw`);
  }

  #add<K extends keyof E>(event: K, entry: Entry<E>): void {
    const all = this.#listeners;
    const at = all ? all.indexOf(event) : -1;
    if (at < 0) {
      // Built at its exact size: `push` would reserve room for many more.
      this.#listeners = all ? [...all, event, entry] : [event, entry];
      return;
    }
    const entries = all![at + 1] as Entry<E> | Entry<E>[];
    all![at + 1] = Array.isArray(entries) ? [...entries, entry] : [entries, entry];
  }
}

type Entry<E extends EventMap> = Listener<E, keyof E> | { once: Listener<E, keyof E> };
