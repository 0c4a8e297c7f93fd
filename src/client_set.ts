/**
 * `server.clients` and `server.clientsOf(pattern)`: live, read-only sets over the server's list of
 * clients (see `socket_list.ts` for why a list and not a `Set`).
 *
 * @module
 */

import type { SlotKey, SocketList } from "./socket_list.ts";

/** What a view needs of a socket: its list slots and its resource pattern. */
export type Listed = Record<SlotKey, number> & { readonly _resource: string };

/**
 * A live, read-only `Set` of a server's clients: all of them, or those of one resource. It changes
 * as clients come and go; iterating it walks the clients there were when the walk began, so that
 * closing sockets meanwhile (e.g. `for (const ws of server.clients) ws.close()`) skips none.
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * const server = await serve({ port: 0 }, () => {});
 * console.log(server.clients.size); // 0
 * for (const ws of server.clients) ws.send("hello");
 * await server.close();
 * ```
 */
export class ClientSet<T extends Listed> implements ReadonlySet<T> {
  readonly #list: SocketList<T>;
  /** The resource of a view of one resource's clients. */
  readonly #pattern: string | undefined;
  /** Clients per resource pattern, for the size of a view of one resource. */
  readonly #counts: ReadonlyMap<string, number> | undefined;

  /** @internal Made by the server. */
  constructor(list: SocketList<T>, pattern?: string, counts?: ReadonlyMap<string, number>) {
    this.#list = list;
    this.#pattern = pattern;
    this.#counts = counts;
  }

  get size(): number {
    const pattern = this.#pattern;
    return pattern === undefined ? this.#list.size : this.#counts?.get(pattern) ?? 0;
  }

  has(value: T): boolean {
    return this.#list.has(value) &&
      (this.#pattern === undefined || value._resource === this.#pattern);
  }

  #snapshot(): T[] {
    const items = this.#list.items, pattern = this.#pattern;
    return pattern === undefined ? items.slice() : items.filter((ws) => ws._resource === pattern);
  }

  forEach(callback: (value: T, key: T, set: ReadonlySet<T>) => void, thisArg?: unknown): void {
    for (const ws of this.#snapshot()) callback.call(thisArg, ws, ws, this);
  }

  values(): SetIterator<T> {
    // An array's iterator walks the snapshot as a Set's would, without a Set built for it.
    return this.#snapshot().values() as unknown as SetIterator<T>;
  }

  keys(): SetIterator<T> {
    return this.values();
  }

  entries(): ReturnType<Set<T>["entries"]> {
    return this.#snapshot().map((ws): [T, T] => [ws, ws]).values() as unknown as ReturnType<
      Set<T>["entries"]
    >;
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.values();
  }

  get [Symbol.toStringTag](): string {
    return "ClientSet";
  }

  // ES2024's set methods, on a snapshot. Their types are spelled out here: the npm build compiles
  // against ES2022, which does not have them.
  union<U>(other: SetLike<U>): Set<T | U> {
    return this.#set().union(other);
  }

  intersection<U>(other: SetLike<U>): Set<T & U> {
    return this.#set().intersection(other);
  }

  difference<U>(other: SetLike<U>): Set<T> {
    return this.#set().difference(other);
  }

  symmetricDifference<U>(other: SetLike<U>): Set<T | U> {
    return this.#set().symmetricDifference(other);
  }

  isSubsetOf(other: SetLike<unknown>): boolean {
    return this.#set().isSubsetOf(other);
  }

  isSupersetOf(other: SetLike<unknown>): boolean {
    return this.#set().isSupersetOf(other);
  }

  isDisjointFrom(other: SetLike<unknown>): boolean {
    return this.#set().isDisjointFrom(other);
  }

  #set(): SetMethods<T> {
    return new Set(this.#snapshot()) as unknown as SetMethods<T>;
  }
}

/**
 * A `Set`'s iterator: `SetIterator<T>` where the TypeScript lib has it (with ES2025's iterator
 * helpers under `esnext`), `IterableIterator<T>` in older ones.
 */
type SetIterator<T> = ReturnType<Set<T>["values"]>;

/** What ES2024's set methods take (`ReadonlySetLike`). */
interface SetLike<U> {
  readonly size: number;
  has(value: U): boolean;
  keys(): Iterator<U>;
}

/** ES2024's set methods of a `Set<T>`. */
interface SetMethods<T> {
  union<U>(other: SetLike<U>): Set<T | U>;
  intersection<U>(other: SetLike<U>): Set<T & U>;
  difference<U>(other: SetLike<U>): Set<T>;
  symmetricDifference<U>(other: SetLike<U>): Set<T | U>;
  isSubsetOf(other: SetLike<unknown>): boolean;
  isSupersetOf(other: SetLike<unknown>): boolean;
  isDisjointFrom(other: SetLike<unknown>): boolean;
}
