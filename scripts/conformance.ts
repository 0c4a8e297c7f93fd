/**
 * Runs the conformance catalogue (tests/conformance, organised like Autobahn|Testsuite) against
 * the wsdriver echo server on Deno, Bun and Node (`cli.ts echo` for groups 1-10, `cli.ts echo
 * --deflate` for the compression groups 12 and 13), and prints a markdown table: case group ×
 * runtime with OK counts, then every non-OK case id with its reason.
 *
 * Usage (from the repository root):
 *   deno run -A scripts/conformance.ts [--write] [--full] [--build]
 *       [--runtime deno|bun|node]... [--case ID_OR_PREFIX]...
 *
 *   --write      replace the section between `<!-- conformance:start -->` and
 *                `<!-- conformance:end -->` in README.md (if the markers are absent: print only)
 *   --readme F   the file --write updates (default: README.md of the repository)
 *   --full       Autobahn's message counts: 1000 per case in 9.7.x/9.8.x (instead of 100) and
 *                in 12.x/13.x (instead of 5)
 *   --build      run `npm run build` first (Node runs the build in npm/)
 *   --runtime    only these runtimes (default: all three)
 *   --case       only these cases, e.g. `--case 6.4 --case 7.1.5`
 *
 * Exit status: 0 if every case is OK on every runtime, 1 otherwise, 2 on bad usage.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCases, FULL_LIMITS, SCALED_LIMITS, selectCases } from "../tests/conformance/cases.ts";
import { runSuiteAgainstServer } from "../tests/conformance/fuzzing_client.ts";
import { machineNode } from "../tests/_node_bin.ts";
import { type CaseResult, markdownReport, type ReportColumn } from "../tests/conformance/runner.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const START = "<!-- conformance:start -->";
const END = "<!-- conformance:end -->";

type Runtime = "deno" | "bun" | "node";
const RUNTIMES: Runtime[] = ["deno", "bun", "node"];
const NAMES: Record<Runtime, string> = { deno: "Deno", bun: "Bun", node: "Node" };

const USAGE =
  "usage: deno run -A scripts/conformance.ts [--write] [--readme FILE] [--full] [--build] " +
  "[--runtime deno|bun|node]... [--case ID_OR_PREFIX]...";

function usage(message: string): never {
  console.error(`conformance: ${message}\n${USAGE}`);
  Deno.exit(2);
}

// -------------------------------------------------------------------------------------------------
// Arguments

let write = false, full = false, build = false;
let readme = join(ROOT, "README.md");
const runtimes: Runtime[] = [];
const filters: string[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  const a = Deno.args[i];
  const [name, inline] = a.includes("=")
    ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
    : [a, undefined];
  const value = () => inline ?? Deno.args[++i] ?? usage(`${name} needs a value`);
  if (name === "--write") write = true;
  else if (name === "--readme") readme = value();
  else if (name === "--full") full = true;
  else if (name === "--build") build = true;
  else if (name === "--runtime") {
    const r = value();
    if (!RUNTIMES.includes(r as Runtime)) usage(`unknown runtime ${r}`);
    runtimes.push(r as Runtime);
  } else if (name === "--case") filters.push(value());
  else if (name === "--help" || name === "-h") {
    console.log(USAGE);
    Deno.exit(0);
  } else usage(`unknown argument ${a}`);
}
if (runtimes.length === 0) runtimes.push(...RUNTIMES);
const limits = full ? FULL_LIMITS : SCALED_LIMITS;
const cases = selectCases(filters, buildCases(limits));
if (cases.length === 0) usage(`no case matches ${filters.join(", ")}`);

// -------------------------------------------------------------------------------------------------
// Processes

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);

function echoCommand(runtime: Runtime, deflate: boolean): string[] {
  const args = ["echo", "--port", "0", "--host", "127.0.0.1", ...(deflate ? ["--deflate"] : [])];
  if (runtime === "deno") return [bin("deno"), "run", "-A", join(ROOT, "cli.ts"), ...args];
  if (runtime === "bun") return [bin("bun"), join(ROOT, "cli.ts"), ...args];
  return [machineNode(), join(ROOT, "npm", "esm", "cli.js"), ...args];
}

async function output(cmd: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd: ROOT, stdin: "null" })
      .output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    return { code: r.code, out: text.trim() };
  } catch (err) {
    return { code: -1, out: (err as Error).message };
  }
}

async function version(runtime: Runtime): Promise<string> {
  if (runtime === "deno") return Deno.version.deno;
  const { out } = await output(
    runtime === "bun" ? [bin("bun"), "--version"] : ["node", "--version"],
  );
  return out.split("\n")[0].replace(/^v/, "");
}

/** A running echo server and what it printed. */
interface EchoServer {
  child: Deno.ChildProcess;
  port: number;
  log: () => string;
}

async function startEcho(runtime: Runtime, deflate: boolean): Promise<EchoServer> {
  const [cmd, ...args] = echoCommand(runtime, deflate);
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  let onLine: (() => void) | undefined;
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      log += decoder.decode(chunk, { stream: true });
      onLine?.();
    }
  };
  drain(child.stdout).catch(() => {});
  drain(child.stderr).catch(() => {});
  const deadline = Date.now() + 30_000;
  let exited = false;
  child.status.then(() => {
    exited = true;
    onLine?.();
  });
  for (let round = 0; round < 10_000; round++) {
    const m = log.match(/listening on ws:\/\/127\.0\.0\.1:(\d+)/);
    if (m) return { child, port: Number(m[1]), log: () => log };
    const left = deadline - Date.now();
    if (exited || left <= 0) break;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      onLine = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  await stopEcho({ child, port: 0, log: () => log });
  throw new Error(`the ${NAMES[runtime]} echo server did not start: ${log.trim() || "no output"}`);
}

async function stopEcho(server: EchoServer): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch {
    // already gone
  }
  let t: ReturnType<typeof setTimeout> | undefined;
  const gone = await Promise.race([
    server.child.status.then(() => true),
    new Promise<boolean>((r) => (t = setTimeout(() => r(false), 5000))),
  ]);
  clearTimeout(t);
  if (!gone) {
    try {
      server.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await server.child.status;
  }
}

// -------------------------------------------------------------------------------------------------
// Run

if (build) {
  console.error("conformance: building npm/ …");
  const r = await output([bin("deno"), "run", "-A", join(ROOT, "scripts", "build_npm.ts")]);
  if (r.code !== 0) {
    console.error(r.out);
    Deno.exit(1);
  }
}

const columns: ReportColumn[] = [];
const notes: string[] = [];
for (const runtime of runtimes) {
  const name = NAMES[runtime];
  if (runtime === "node" && !existsSync(join(ROOT, "npm", "esm", "cli.js"))) {
    notes.push(`${name}: skipped, npm/esm/cli.js is missing (run \`npm run build\` or --build).`);
    continue;
  }
  const v = await version(runtime);
  const t0 = performance.now();
  const results: CaseResult[] = [];
  let started = true;
  // Groups 1-10 against `echo`, the compression groups against `echo --deflate`.
  for (const deflate of [false, true]) {
    const part = cases.filter((c) => (c.compression !== undefined) === deflate);
    if (part.length === 0) continue;
    const cmd = `cli.ts echo${deflate ? " --deflate" : ""}`;
    console.error(`conformance: ${name} ${v}: ${part.length} cases against \`${cmd}\` …`);
    let server: EchoServer;
    try {
      server = await startEcho(runtime, deflate);
    } catch (err) {
      notes.push(`${name}: ${(err as Error).message}`);
      started = false;
      break;
    }
    try {
      const target = { host: "127.0.0.1", port: server.port };
      results.push(
        ...await runSuiteAgainstServer(part, target, (r) => {
          if (!r.ok) console.error(`  ${name} ${r.id}: ${r.reason}`);
        }),
      );
    } finally {
      await stopEcho(server);
    }
  }
  if (!started) continue;
  const ms = performance.now() - t0;
  const ok = results.filter((r) => r.ok).length;
  console.error(`conformance: ${name}: ${ok}/${results.length} OK in ${(ms / 1000).toFixed(1)} s`);
  columns.push({ name: `${name} ${v}`, results, ms });
}

const rounds = limits.roundTrips;
const compressed = limits.compressedMessages;
const raw = [
  "The [Autobahn|Testsuite](https://github.com/crossbario/autobahn-testsuite) case catalogue " +
  "(same case ids, plus wsdriver's own 13.8.x-13.11.x: every window size with every context " +
  "takeover combination), with strict expected outcomes (`tests/conformance/README.md`), run by " +
  "the fuzzing client of `tests/conformance/` against the echo server on each runtime: " +
  "`cli.ts echo`, and `cli.ts echo --deflate` for the compression groups 12 and 13. 9.7.x/9.8.x " +
  `send ${rounds} messages per case${rounds === 1000 ? "" : " (Autobahn: 1000)"}, 12.x/13.x ` +
  `${compressed}${compressed === 1000 ? "" : " (Autobahn: 1000)"}. \`npm test\` runs the same ` +
  "cases in process against the server and the client on every runtime. Generated by " +
  "`deno run -A scripts/conformance.ts --write`.",
  "",
  columns.length > 0 ? markdownReport(columns) : "No runtime could be run.",
  ...(notes.length > 0 ? ["", ...notes.map((n) => `- ${n}`)] : []),
].join("\n");

/** Formats markdown the way `deno fmt` (run by `npm test`) wants it, so README.md stays clean. */
async function fmtMarkdown(text: string): Promise<string> {
  try {
    const child = new Deno.Command(bin("deno"), {
      args: ["fmt", "--ext=md", "-"],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const r = await child.output();
    return r.code === 0 ? new TextDecoder().decode(r.stdout).trimEnd() : text;
  } catch {
    return text;
  }
}

const section = await fmtMarkdown(raw);
console.log(section);

if (write) {
  const text = await Deno.readTextFile(readme);
  const a = text.indexOf(START), b = text.indexOf(END);
  if (a < 0 || b < a) {
    console.error(`conformance: ${readme} has no ${START} … ${END} section; not written.`);
  } else {
    const next = `${text.slice(0, a + START.length)}\n\n${section}\n\n${text.slice(b)}`;
    await Deno.writeTextFile(readme, next);
    console.error(`conformance: ${readme} updated.`);
  }
}

const allOk = notes.length === 0 && columns.every((c) => c.results.every((r) => r.ok));
Deno.exit(allOk ? 0 : 1);
