import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Deadlines } from "../src/deadlines.ts";
import { withTimeout } from "./_helpers.ts";

const MS = 30;

describe("Deadlines", () => {
  it("expires timeouts in arming order, with their values, not before their time", async () => {
    const got: Array<[string, number, number]> = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const start = performance.now();
    const q = new Deadlines<string>(MS, (target, value) => {
      got.push([target, value, performance.now() - start]);
      if (got.length === 3) done();
    });
    q.arm("a", 1);
    await new Promise((r) => setTimeout(r, 5));
    q.arm("b", 2);
    q.arm("c");
    await withTimeout(finished, 2000, "three timeouts");
    assert.deepEqual(got.map(([t, v]) => [t, v]), [["a", 1], ["b", 2], ["c", 0]]);
    // A timer may fire up to a millisecond early by the clock.
    for (const [, , at] of got) assert.ok(at >= MS - 1, `expired after ${at} ms`);
    assert.ok(got[1][2] >= 5 + MS - 1, `the later one waited its own time (${got[1][2]} ms)`);
  });

  it("never expires a cancelled timeout, and cancelling twice or after expiry is harmless", async () => {
    const got: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const q = new Deadlines<string>(MS, (target) => {
      got.push(target);
      if (target === "last") done();
    });
    const first = q.arm("first");
    const middle = q.arm("middle");
    q.arm("last");
    middle.cancel();
    middle.cancel();
    first.cancel();
    await withTimeout(finished, 2000, "the last timeout");
    assert.deepEqual(got, ["last"]);
    first.cancel();
  });

  it("arms again from inside an expiry, and runs again after everything was cancelled", async () => {
    const got: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const q: Deadlines<string> = new Deadlines<string>(MS, (target) => {
      got.push(target);
      if (target === "again") q.arm("then");
      else done();
    });
    q.arm("cancelled").cancel();
    q.arm("again");
    await withTimeout(finished, 2000, "the re-armed timeout");
    assert.deepEqual(got, ["again", "then"]);
  });
});
