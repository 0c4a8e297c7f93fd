import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SocketList } from "../src/socket_list.ts";
import { mulberry32 } from "./_helpers.ts";

interface Member {
  id: number;
  _clientSlot: number;
  _sweepSlot: number;
}

const member = (id: number): Member => ({ id, _clientSlot: -1, _sweepSlot: -1 });

/** The list is consistent: every member's slot is its index, and nothing else claims it. */
function assertConsistent(list: SocketList<Member>): void {
  list.items.forEach((m, i) => assert.equal(m._sweepSlot, i, `member ${m.id} at ${i}`));
  assert.ok(list.cursor >= 0 && list.cursor <= list.size, `cursor ${list.cursor}`);
}

describe("SocketList", () => {
  it("adds once, removes in O(1), and tells membership by the member's own slot", () => {
    const list = new SocketList<Member>("_sweepSlot");
    const [a, b, c] = [member(1), member(2), member(3)];
    list.add(a);
    list.add(b);
    list.add(a);
    list.add(c);
    assert.equal(list.size, 3);
    assert.ok(list.remove(a));
    assert.ok(!list.remove(a), "a second remove finds nothing");
    assert.equal(a._sweepSlot, -1);
    assert.ok(!list.has(a) && list.has(b) && list.has(c));
    assert.equal(b._clientSlot, -1, "the other kind of slot is untouched");
    assertConsistent(list);
    // A member of another list with the same slot number is not a member of this one.
    const other = new SocketList<Member>("_sweepSlot");
    const d = member(4);
    other.add(d);
    assert.ok(!list.has(d));
    assert.ok(!list.remove(d));
    assert.ok(other.has(d));
    list.clear();
    assert.equal(list.size, 0);
    assert.equal(b._sweepSlot, -1);
  });

  it("a walk across removals visits every member that stays, once (500 random walks)", () => {
    const rand = mulberry32(15);
    for (let round = 0; round < 500; round++) {
      const list = new SocketList<Member>("_sweepSlot");
      const n = 1 + Math.floor(rand() * 40);
      const all = Array.from({ length: n }, (_, i) => member(i));
      for (const m of all) list.add(m);
      const removed = new Set<number>();
      const visits = new Map<number, number>();
      list.cursor = 0;
      for (let steps = 0; list.cursor < list.size && steps < 10_000; steps++) {
        // Visit the next member, then remove a random member (visited or not) now and then.
        const m = list.items[list.cursor++];
        visits.set(m.id, (visits.get(m.id) ?? 0) + 1);
        if (rand() < 0.4) {
          const victim = all[Math.floor(rand() * n)];
          if (list.remove(victim)) removed.add(victim.id);
        }
        assertConsistent(list);
      }
      for (const m of all) {
        const count = visits.get(m.id) ?? 0;
        assert.ok(count <= 1, `member ${m.id} visited ${count} times (round ${round})`);
        if (!removed.has(m.id)) assert.equal(count, 1, `member ${m.id} missed (round ${round})`);
      }
    }
  });
});
