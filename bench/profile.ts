/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as written by `node --cpu-prof`, e.g. by
 * `deno run -A bench/run.ts --profile`): the functions with the most self time, and self time
 * per source file.
 *
 * ```sh
 * deno run -A bench/profile.ts bench/.build/profiles/wsdriver-node.conns100.1 [--top 25]
 * ```
 *
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function files(path: string): string[] {
  if (Deno.statSync(path).isFile) return [path];
  return [...Deno.readDirSync(path)]
    .filter((e) => e.isFile && e.name.endsWith(".cpuprofile"))
    .map((e) => `${path}/${e.name}`)
    .sort();
}

function shortUrl(url: string): string {
  if (!url) return "(native)";
  for (const dir of ["/npm/esm/", "/npm-esm/"]) {
    const i = url.lastIndexOf(dir);
    if (i >= 0) return url.slice(i + dir.length);
  }
  const n = url.lastIndexOf("/node_modules/");
  if (n >= 0) return url.slice(n + 14);
  return url.replace(/^file:\/\//, "").replace(/^node:/, "node:");
}

function summarize(path: string, top: number): void {
  const p = JSON.parse(Deno.readTextFileSync(path)) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    const name = f.functionName || "(anonymous)";
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : "";
    const key = where ? `${name} ${where}` : name;
    byFunction.set(key, (byFunction.get(key) ?? 0) + t);
    const file = f.url ? shortUrl(f.url) : name.startsWith("(") ? name : "(native)";
    byFile.set(file, (byFile.get(file) ?? 0) + t);
  }
  const pct = (t: number) => `${(t / total * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n${path}: ${(total / 1e6).toFixed(2)} s sampled\n`);
  console.log("self time by function:");
  for (const [k, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${pct(t)}  ${k}`);
  }
  console.log("\nself time by file:");
  for (const [k, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`  ${pct(t)}  ${k}`);
  }
}

let top = 25;
const paths: string[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  if (Deno.args[i] === "--top") top = Number(Deno.args[++i]);
  else paths.push(Deno.args[i]);
}
if (paths.length === 0) {
  console.error("usage: deno run -A bench/profile.ts DIR_OR_FILE... [--top N]");
  Deno.exit(2);
}
for (const path of paths) for (const f of files(path)) summarize(f, top);
