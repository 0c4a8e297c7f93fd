/**
 * The README's option tables say what the code does: every default shown is the one in
 * `DEFAULTS`, every default in `DEFAULTS` is shown, and every option marked "resource" is
 * accepted (and checked) on a resource.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS } from "../src/defaults.ts";
import { InvalidOptionError } from "../src/errors.ts";
import { checkServeOptions } from "../src/options.ts";
import { ROOT } from "./_helpers.ts";

interface Row {
  option: string;
  defaultText: string;
  resource: boolean;
}

/** The rows of the first table after the paragraph that starts with `lead`. */
function table(readme: string, lead: string): Row[] {
  const at = readme.indexOf(lead);
  assert.ok(at >= 0, `README has "${lead}"`);
  const lines = readme.slice(at).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const header = lines[first].split("|").map((c) => c.trim());
  const rows: Row[] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split("|").map((c) => c.trim());
    rows.push({
      option: cells[header.indexOf("option")].replaceAll("`", ""),
      defaultText: cells[header.indexOf("default")],
      resource: cells[header.indexOf("resource")] === "✓",
    });
  }
  assert.ok(rows.length > 5, `the table after "${lead}" has rows`);
  return rows;
}

const BYTES = new Set(["maxPayload", "highWaterMark", "maxHeadSize", "maxBodySize"]);
const MILLIS = new Set(["closeTimeout", "handshakeTimeout", "idleTimeout"]);

/** How the README writes `value`, the default of `option`. */
function shown(option: string, value: unknown): string {
  if (value === undefined) return "none";
  if (typeof value === "number" && BYTES.has(option)) {
    return value >= 1024 * 1024 ? `${value / 1024 / 1024} MiB` : `${value / 1024} KiB`;
  }
  if (typeof value === "number" && MILLIS.has(option)) return `${value} ms`;
  if (typeof value === "object" && value !== null && "interval" in value && "timeout" in value) {
    return `${value.interval} ms / ${value.timeout} ms`;
  }
  return `\`${Array.isArray(value) ? "[]" : String(value)}\``;
}

const readme = readFileSync(join(ROOT, "README.md"), "utf8");

describe("the README's option tables", () => {
  for (
    const [side, lead, defaults] of [
      ["serve", "`serve(options, handler)` resolves", DEFAULTS.server],
      ["connect", "`connect(url, options)` returns", DEFAULTS.client],
    ] as const
  ) {
    it(`show ${side}'s defaults as DEFAULTS.${side === "serve" ? "server" : "client"} has them`, () => {
      const rows = table(readme, lead);
      const byOption = new Map(rows.map((r) => [r.option, r]));
      for (const r of rows) {
        const value = (defaults as unknown as Record<string, unknown>)[r.option];
        assert.equal(r.defaultText, shown(r.option, value), `${side} option ${r.option}`);
      }
      for (const option of Object.keys(defaults)) {
        assert.ok(byOption.has(option), `${side}'s table shows ${option}`);
      }
    });
  }

  it("mark as per resource exactly what a resource accepts", () => {
    const handler = () => {};
    // No option takes a symbol.
    const badValue = Symbol("bad");
    for (const r of table(readme, "`serve(options, handler)` resolves")) {
      const name = `resources["/r"].${r.option}`;
      let error: unknown;
      try {
        checkServeOptions({ resources: { "/r": { handler, [r.option]: badValue } } });
      } catch (e) {
        error = e;
      }
      const checked = error instanceof InvalidOptionError && error.option === name;
      assert.equal(checked, r.resource, `${r.option}: checked on a resource is ${checked}`);
    }
  });
});
