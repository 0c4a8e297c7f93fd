/**
 * Running cases and reporting results, shared by the tests (server.test.ts, client.test.ts) and
 * scripts/conformance.ts.
 */

import { type Case, compareIds, DEFAULT_CASE_TIMEOUT, GROUPS } from "./cases.ts";
import { CaseFailure, type Fuzzer } from "./fuzzer.ts";

/** The outcome of one case. */
export interface CaseResult {
  id: string;
  group: number;
  ok: boolean;
  /** Why it failed (undefined when ok). */
  reason?: string;
  /** Wall time of the case in milliseconds. */
  ms: number;
}

/** A failed result for a case that could not even start (e.g. the handshake failed). */
export function failedResult(c: Case, reason: string, ms = 0): CaseResult {
  return { id: c.id, group: c.group, ok: false, reason, ms };
}

/**
 * Plays case `c` on the open fuzzer connection `f`, within the case's deadline, then disposes of
 * the connection (the socket is closed when this resolves).
 */
export async function runCaseOn(c: Case, f: Fuzzer): Promise<CaseResult> {
  const t0 = performance.now();
  const limit = c.timeout ?? DEFAULT_CASE_TIMEOUT;
  let reason: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = c.run(f);
  run.catch(() => {}); // settled below; never an unhandled rejection after a deadline
  try {
    await Promise.race([
      run,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CaseFailure(`the case did not finish within ${limit} ms`)),
          limit,
        );
      }),
    ]);
  } catch (err) {
    reason = err instanceof CaseFailure
      ? err.message
      : `the fuzzer failed: ${(err as Error)?.stack ?? err}`;
  } finally {
    clearTimeout(timer);
    await f.dispose();
    // After a deadline the case's own waits end at once (disposed); give it a bounded moment.
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([run.catch(() => {}), new Promise((r) => (t = setTimeout(r, 1000)))]);
    clearTimeout(t);
  }
  return { id: c.id, group: c.group, ok: reason === undefined, reason, ms: performance.now() - t0 };
}

/** OK count and total per group, in group order. */
export function summarize(
  results: readonly CaseResult[],
): Map<number, { ok: number; total: number }> {
  const out = new Map<number, { ok: number; total: number }>();
  for (const g of Object.keys(GROUPS).map(Number).sort((a, b) => a - b)) {
    out.set(g, { ok: 0, total: 0 });
  }
  for (const r of results) {
    const s = out.get(r.group) ?? { ok: 0, total: 0 };
    s.total++;
    if (r.ok) s.ok++;
    out.set(r.group, s);
  }
  for (const [g, s] of out) if (s.total === 0) out.delete(g);
  return out;
}

/** One column of the report: a runtime (or a direction) and its results. */
export interface ReportColumn {
  name: string;
  results: readonly CaseResult[];
  /** Wall time of the whole run, in ms. */
  ms?: number;
}

/** Pads the cells of a markdown table so it reads well as plain text too. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(3, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(rows[0]),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.slice(1).map(line),
  ]
    .join("\n");
}

/**
 * A markdown table, case group × column with OK counts, a total and a time row, followed by the
 * non-OK case ids with their reasons.
 */
export function markdownReport(columns: readonly ReportColumn[]): string {
  const sums = columns.map((c) => summarize(c.results));
  const groups = [...new Set(sums.flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
  const rows: string[][] = [["case group", ...columns.map((c) => c.name)]];
  for (const g of groups) {
    rows.push([
      `${g} ${GROUPS[g] ?? ""}`.trim(),
      ...sums.map((s) => {
        const x = s.get(g);
        return x ? `${x.ok}/${x.total}` : "—";
      }),
    ]);
  }
  rows.push([
    "**all**",
    ...columns.map((c) => `**${c.results.filter((r) => r.ok).length}/${c.results.length}**`),
  ]);
  if (columns.some((c) => c.ms !== undefined)) {
    rows.push([
      "time",
      ...columns.map((c) => (c.ms === undefined ? "—" : `${(c.ms / 1000).toFixed(1)} s`)),
    ]);
  }
  const lines = [table(rows)];
  const failures = columns.flatMap((c) =>
    [...c.results].filter((r) => !r.ok).sort((a, b) => compareIds(a.id, b.id)).map((r) =>
      `- ${c.name} ${r.id}: \`${(r.reason ?? "").replaceAll("`", "'")}\``
    )
  );
  lines.push("", failures.length === 0 ? "Every case OK." : ["Not OK:", ...failures].join("\n"));
  return lines.join("\n");
}
