/**
 * Fails when the modules under src/ import each other in a cycle. Every relative import counts,
 * `import type` included: a cycle of types still ties the modules together for a reader and for a
 * refactor, even when it vanishes at run time.
 *
 * Usage: deno run -A scripts/check_cycles.ts   (part of `npm run check`)
 */

const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
const SRC = `${ROOT}/src`;

/** `import ... from "x"`, `export ... from "x"`, `import "x"` and `import("x")`. */
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...(await walk(path)));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/** Drops comments so that examples in JSDoc do not count as imports. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

const files = await walk(SRC);
const graph = new Map<string, string[]>();
for (const file of files) {
  const deps: string[] = [];
  for (const m of code(await Deno.readTextFile(file)).matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith(".")) deps.push(resolve(file, spec));
  }
  graph.set(file, deps.filter((d) => d.startsWith(`${SRC}/`)));
}

// Tarjan's strongly connected components: every component of more than one module (or a module
// importing itself) is a cycle.
let index = 0;
const idx = new Map<string, number>(), low = new Map<string, number>();
const stack: string[] = [], onStack = new Set<string>();
const cycles: string[][] = [];
function visit(v: string): void {
  idx.set(v, index), low.set(v, index), index++;
  stack.push(v), onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
  }
}
for (const f of files) if (!idx.has(f)) visit(f);

const rel = (p: string) => p.slice(ROOT.length + 1);
if (cycles.length > 0) {
  console.error(`check_cycles: ${cycles.length} import cycle(s) in src/:`);
  for (const scc of cycles) {
    const inside = new Set(scc);
    console.error(`  modules: ${scc.map(rel).join(", ")}`);
    for (const f of scc) {
      const deps = (graph.get(f) ?? []).filter((d) => inside.has(d));
      console.error(`    ${rel(f)} -> ${deps.map(rel).join(", ")}`);
    }
  }
  Deno.exit(1);
}
console.log(`check_cycles: no import cycles among ${files.length} modules in src/`);
