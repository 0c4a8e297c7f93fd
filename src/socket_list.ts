/**
 * The server's lists of sockets (its clients, each sweeper's sockets): arrays in which every member
 * keeps its own position, so that adding and removing cost O(1) and no hash table churns with each
 * connection. JavaScriptCore keeps the keys deleted from a small `Set` or `Map` reachable from the
 * tables it rehashed since its last full collection: with a `Set` of clients, every socket that
 * opened and closed between two collections survived the young-generation collection and was
 * marked again and again until the next full one (on Bun, about 6% of the handshake rate).
 *
 * @module
 */

/** The field in which a member keeps its position in a list of that kind (-1: in none). */
export type SlotKey = "_clientSlot" | "_sweepSlot";

/**
 * Members in no particular order. `cursor` splits them for a walk that spans several turns: those
 * before it were visited, and a removal keeps it so (no member is skipped, none visited twice).
 *
 * @example
 * ```ts
 * const list = new SocketList<{ _clientSlot: number; _sweepSlot: number }>("_clientSlot");
 * const socket = { _clientSlot: -1, _sweepSlot: -1 };
 * list.add(socket);
 * list.remove(socket); // true
 * ```
 */
export class SocketList<T extends Record<SlotKey, number>> {
  /** The members; read it, change it only through the methods. */
  readonly items: T[] = [];
  /** Members before this index were visited by the walk under way (0: none under way). */
  cursor = 0;
  readonly #slot: SlotKey;

  /** A list whose members keep their position in `slot`. */
  constructor(slot: SlotKey) {
    this.#slot = slot;
  }

  get size(): number {
    return this.items.length;
  }

  has(member: T): boolean {
    const at = member[this.#slot];
    return at >= 0 && this.items[at] === member;
  }

  /** Adds `member` unless it is in the list already. */
  add(member: T): void {
    if (this.has(member)) return;
    member[this.#slot] = this.items.length;
    this.items.push(member);
  }

  /** Removes `member`; false if it was not in the list. */
  remove(member: T): boolean {
    if (!this.has(member)) return false;
    const items = this.items, slot = this.#slot;
    let hole = member[slot];
    if (hole < this.cursor) {
      // The last visited member fills the hole, so that the unvisited ones stay after the cursor.
      const boundary = --this.cursor;
      if (hole !== boundary) {
        const visited = items[boundary];
        items[hole] = visited;
        visited[slot] = hole;
        hole = boundary;
      }
    }
    const last = items.pop()!;
    if (hole < items.length) {
      items[hole] = last;
      last[slot] = hole;
    }
    member[slot] = -1;
    return true;
  }

  /** Empties the list. */
  clear(): void {
    for (const member of this.items) member[this.#slot] = -1;
    this.items.length = 0;
    this.cursor = 0;
  }
}
