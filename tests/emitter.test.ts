import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Emitter, listenerError } from "../src/emitter.ts";

type Events = { a: [n: number]; b: [s: string, t: string]; c: [] };

class Probe extends Emitter<Events> {
  fire<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    return this.emit(event, ...args);
  }
}

describe("Emitter", () => {
  it("calls listeners in order with their arguments, per event", () => {
    const e = new Probe();
    const got: string[] = [];
    assert.equal(e.fire("a", 1), false);
    e.on("a", (n) => got.push(`a1:${n}`));
    e.on("b", (s, t) => got.push(`b:${s}${t}`));
    e.on("a", (n) => got.push(`a2:${n}`));
    e.on("a", (n) => got.push(`a3:${n}`));
    assert.equal(e.fire("a", 7), true);
    assert.equal(e.fire("b", "x", "y"), true);
    assert.equal(e.fire("c"), false);
    assert.deepEqual(got, ["a1:7", "a2:7", "a3:7", "b:xy"]);
    assert.equal(e.listenerCount("a"), 3);
    assert.equal(e.listenerCount("b"), 1);
    assert.equal(e.listenerCount("c"), 0);
  });

  it("once listeners run once; off removes on and once listeners", () => {
    const e = new Probe();
    const got: number[] = [];
    const on = (n: number) => got.push(n);
    const once = (n: number) => got.push(-n);
    e.once("a", once);
    e.on("a", on);
    e.fire("a", 1);
    e.fire("a", 2);
    assert.deepEqual(got, [-1, 1, 2]);
    e.off("a", on);
    assert.equal(e.listenerCount("a"), 0);
    assert.equal(e.fire("a", 3), false);
    e.once("b", () => got.push(99));
    e.off("b", (() => {}) as never);
    assert.equal(e.listenerCount("b"), 1);
    e.once("c", once as never);
    e.off("c", once as never);
    assert.equal(e.listenerCount("c"), 0);
  });

  it("emit runs the listeners present when it started", () => {
    const e = new Probe();
    const got: string[] = [];
    const second = () => got.push("second");
    e.on("c", () => {
      got.push("first");
      e.off("c", second);
      e.on("c", () => got.push("added"));
    });
    e.on("c", second);
    e.fire("c");
    assert.deepEqual(got, ["first", "second"]);
    got.length = 0;
    e.fire("c");
    assert.deepEqual(got, ["first", "added"]);
  });

  it("a listener that throws does not stop the others; its error is logged, never rethrown", () => {
    const e = new Probe();
    const got: number[] = [];
    const boom = new Error("boom");
    e.on("a", () => {
      throw boom;
    });
    e.on("a", (n) => got.push(n));
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      e.fire("a", 5);
    } finally {
      console.error = original;
    }
    assert.deepEqual(got, [5]);
    assert.equal(logged.length, 1);
    assert.ok(logged[0].includes(boom));
  });

  it("ignores what a synchronous listener returns, null included", () => {
    const e = new Probe();
    const got: number[] = [];
    e.on("a", () => null as unknown as void);
    e.on("a", () => ({ then: 5 }) as unknown as void);
    e.on("a", (n) => got.push(n));
    e.fire("a", 1);
    assert.deepEqual(got, [1]);
  });

  it("hands throwing and rejecting listeners' errors to [listenerError]", async () => {
    const failed: Array<[unknown, string]> = [];
    class Routed extends Probe {
      protected override [listenerError](error: unknown, event: keyof Events): void {
        failed.push([error, event]);
      }
    }
    const e = new Routed();
    e.on("a", () => {
      throw new Error("sync");
    });
    e.on("b", async () => {
      await null;
      throw new Error("async");
    });
    e.fire("a", 1);
    e.fire("b", "x", "y");
    for (let i = 0; i < 10 && failed.length < 2; i++) await null;
    assert.deepEqual(failed.map(([err, ev]) => [(err as Error).message, ev]), [
      ["sync", "a"],
      ["async", "b"],
    ]);
  });
});
