/**
 * `WS_ERROR_CODES` (and so the `WSErrorCode` union) is the one list of the library's error codes:
 * every `WS_ERR_*` code the source raises is in it, and it lists none that nothing raises.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { WS_ERROR_CODES } from "../src/errors.ts";
import { ROOT } from "./_helpers.ts";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith(".ts") ? [path] : [];
  });
}

describe("WS_ERROR_CODES", () => {
  it("lists exactly the codes raised in src/", () => {
    const raised = new Set<string>();
    for (const file of sources(join(ROOT, "src"))) {
      if (file.endsWith("errors.ts")) continue;
      const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
      for (const m of text.matchAll(/["'`](WS_ERR_[A-Z0-9_]+)["'`]/g)) raised.add(m[1]);
    }
    const listed = new Set<string>(WS_ERROR_CODES);
    assert.deepEqual([...raised].filter((c) => !listed.has(c)).sort(), [], "raised, not listed");
    assert.deepEqual([...listed].filter((c) => !raised.has(c)).sort(), [], "listed, not raised");
    assert.equal(listed.size, WS_ERROR_CODES.length, "no duplicates");
  });
});
