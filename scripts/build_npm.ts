/**
 * Builds the npm package into `npm/` (a small stand-in for dnt, which is not
 * available here): compiles the TypeScript sources with the TypeScript
 * compiler API from the `typescript` package in node_modules (resolved via
 * package.json devDependencies, deno.json "nodeModulesDir": "manual").
 *
 * Usage:
 *   deno run -A scripts/build_npm.ts          # build npm/
 *   deno run -A scripts/build_npm.ts --test   # build, then run the tests under Node
 *
 * Output layout (rootDir = repo root):
 *   npm/package.json, npm/README.md, npm/LICENSE
 *   npm/esm/mod.js + .d.ts, npm/esm/cli.js (with a node shebang),
 *   npm/esm/src/**, npm/esm/tests/** (plus non-TS test fixtures)
 */
import ts from "typescript";

const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
const OUT_DIR = `${ROOT}/npm`;
const ESM_DIR = `${OUT_DIR}/esm`;

const DESCRIPTION =
  "WebSocket client and server (RFC 6455) that runs unchanged on Deno, Bun and Node.js";

const args = new Set(Deno.args);
const runTests = args.has("--test");
for (const a of args) {
  if (a !== "--test") {
    console.error(`build_npm: unknown argument ${a}`);
    Deno.exit(2);
  }
}

function fail(msg: string): never {
  console.error(`build_npm: error: ${msg}`);
  Deno.exit(1);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Recursively lists files (absolute paths) under `dir`, sorted; [] if `dir` is absent. */
async function walk(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...(await walk(path)));
    else if (entry.isFile) out.push(path);
  }
  return out.sort();
}

function relative(path: string): string {
  return path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : path;
}

async function readVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  if (typeof config.version !== "string") fail('deno.json has no "version"');
  return config.version;
}

// ---------------------------------------------------------------------------
// 1. collect inputs

const isTs = (p: string) => p.endsWith(".ts") || p.endsWith(".mts") || p.endsWith(".cts");

const entryPoints = [`${ROOT}/mod.ts`, `${ROOT}/cli.ts`, `${ROOT}/redis.ts`];
// Issue 14: the browser entry point (the `browser` export condition below).
entryPoints.push(`${ROOT}/browser.ts`);
for (const entry of entryPoints) {
  if (!(await exists(entry))) fail(`missing entry point ${relative(entry)}`);
}
const srcFiles = (await walk(`${ROOT}/src`)).filter(isTs);
const testFilesAll = await walk(`${ROOT}/tests`);
const testTsFiles = testFilesAll.filter(isTs);
const testAssets = testFilesAll.filter((p) => !isTs(p));
const rootNames = [...entryPoints, ...srcFiles, ...testTsFiles];

// ---------------------------------------------------------------------------
// 2. clean

await Deno.remove(OUT_DIR, { recursive: true }).catch((e) => {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
});
await Deno.mkdir(ESM_DIR, { recursive: true });

// ---------------------------------------------------------------------------
// 3. compile

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  // DOM for web type names Deno has globally but @types/node does not (e.g. HeadersInit).
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  rootDir: ROOT,
  outDir: ESM_DIR,
  declaration: true,
  sourceMap: false,
  strict: true,
  skipLibCheck: true,
  types: ["node"],
  typeRoots: [`${ROOT}/node_modules/@types`],
  allowImportingTsExtensions: true,
  rewriteRelativeImportExtensions: true,
  forceConsistentCasingInFileNames: true,
  newLine: ts.NewLineKind.LineFeed,
  noEmitOnError: true,
};

console.log(
  `build_npm: compiling ${rootNames.length} files with TypeScript ${ts.version} -> ${
    relative(ESM_DIR)
  }/`,
);

const program = ts.createProgram({ rootNames, options: compilerOptions });
const preEmit = ts.getPreEmitDiagnostics(program);
// tsc's rewriteRelativeImportExtensions only rewrites the JS output; declaration files keep
// `./x.ts` specifiers (TS >= 5.0 resolves those, older consumers don't), so rewrite them too.
const DTS_RELATIVE_TS = /((?:from|import)\s*\(?\s*)(["'])(\.\.?\/[^"'\n]*?)(?<!\.d)\.([mc]?)ts\2/g;
const writeFile: ts.WriteFileCallback = (fileName, text, writeByteOrderMark) => {
  if (/\.d\.[mc]?ts$/.test(fileName)) {
    text = text.replace(DTS_RELATIVE_TS, (_m, pre, q, path, mc) => `${pre}${q}${path}.${mc}js${q}`);
  }
  ts.sys.writeFile(fileName, text, writeByteOrderMark);
};
const preEmitErrors = preEmit.some((d) => d.category === ts.DiagnosticCategory.Error);
const emitResult = preEmitErrors ? undefined : program.emit(undefined, writeFile);
const diagnostics = [...preEmit, ...(emitResult?.diagnostics ?? [])];

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => ROOT,
  getNewLine: () => "\n",
};
if (diagnostics.length > 0) {
  const pretty = Deno.stderr.isTerminal() && !Deno.env.get("NO_COLOR");
  console.error(
    pretty
      ? ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost)
      : ts.formatDiagnostics(diagnostics, formatHost),
  );
}
const errorCount = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error).length;
if (errorCount > 0 || emitResult === undefined || emitResult.emitSkipped) {
  fail(`TypeScript compilation failed (${errorCount} error(s))`);
}

// ---------------------------------------------------------------------------
// 4. cli shebang

const cliJs = `${ESM_DIR}/cli.js`;
{
  const text = await Deno.readTextFile(cliJs);
  const body = text.startsWith("#!") ? text.slice(text.indexOf("\n") + 1) : text;
  await Deno.writeTextFile(cliJs, `#!/usr/bin/env node\n${body}`);
  await Deno.chmod(cliJs, 0o755);
}

// ---------------------------------------------------------------------------
// 5. non-TS test assets (fixtures etc.) and hand-written declaration files (tsc does not emit them)

const handWrittenDts = [...srcFiles, ...testTsFiles].filter((p) => /\.d\.[mc]?ts$/.test(p));
for (const asset of [...testAssets, ...handWrittenDts]) {
  const dest = `${ESM_DIR}/${relative(asset)}`;
  await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
  await Deno.copyFile(asset, dest);
}

// ---------------------------------------------------------------------------
// 6. package.json, README, LICENSE

const version = await readVersion();
const pkg = {
  name: "wsdriver",
  version,
  description: DESCRIPTION,
  license: "MIT",
  type: "module",
  exports: {
    ".": {
      // Issue 14: bundlers and browsers get the native-WebSocket client (listed first: the first
      // matching condition wins).
      browser: { types: "./esm/browser.d.ts", default: "./esm/browser.js" },
      types: "./esm/mod.d.ts",
      import: "./esm/mod.js",
    },
    // The Redis backplane: its own entry, so that the root module never loads a Redis client.
    "./redis": {
      types: "./esm/redis.d.ts",
      import: "./esm/redis.js",
    },
    // Issue 14: the browser client by name, e.g. for tests on a server runtime.
    "./browser": { types: "./esm/browser.d.ts", import: "./esm/browser.js" },
  },
  types: "./esm/mod.d.ts",
  bin: {
    wsdriver: "./esm/cli.js",
  },
  dependencies: {
    "@redis/client": JSON.parse(await Deno.readTextFile(`${ROOT}/package.json`)).dependencies[
      "@redis/client"
    ],
  },
  engines: {
    node: ">=20",
  },
  files: ["esm/mod.*", "esm/cli.*", "esm/redis.*", "esm/browser.*", "esm/src"],
  keywords: ["websocket", "rfc6455", "deno", "bun", "node"],
};
await Deno.writeTextFile(`${OUT_DIR}/package.json`, JSON.stringify(pkg, null, 2) + "\n");

for (const name of ["README.md", "LICENSE"]) {
  if (await exists(`${ROOT}/${name}`)) await Deno.copyFile(`${ROOT}/${name}`, `${OUT_DIR}/${name}`);
}

console.log(
  `build_npm: built ${pkg.name}@${version} in ${relative(OUT_DIR)}/ ` +
    `(${rootNames.length} sources, ${testAssets.length} test assets)`,
);

// ---------------------------------------------------------------------------
// 7. --test: run the compiled tests under Node

if (runTests) {
  const testJs = (await walk(`${ESM_DIR}/tests`)).filter((p) => p.endsWith(".test.js"));
  if (testJs.length === 0) fail(`no *.test.js files found under ${relative(ESM_DIR)}/tests`);
  const nodeArgs = ["--test", ...testJs.map(relative)];
  console.log(
    `\n=== node --test: ${testJs.length} test file(s) from ${relative(ESM_DIR)}/tests ===`,
  );
  const { code } = await new Deno.Command("node", {
    args: nodeArgs,
    cwd: ROOT,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(code);
}
