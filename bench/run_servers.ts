/**
 * The benchmark's servers: wsdriver on each runtime and its peer (`ws`, `Deno.upgradeWebSocket`,
 * `Bun.serve`), the C reference server, the stand-ins for the peers of `--baseline` and
 * `--stats-cost` and for wsdriver of `--floor`; and where the runner finds its tools.
 *
 * @module
 */

export const ROOT = Deno.realPathSync(new URL("..", import.meta.url));
export const BENCH = `${ROOT}/bench`;
export const BUILD = `${BENCH}/.build`;
export const DENO = `${ROOT}/node_modules/.bin/deno`;
export const BUN = `${ROOT}/node_modules/.bin/bun`;
export const NODE = "node";

/**
 * A copy of npm/esm taken at the start (`snapshot`: its directory), in a temporary directory
 * removed at the end: the Node servers run on it, whatever happens to npm/ meanwhile (and bench/
 * gets no JavaScript to check).
 */
export const npm = { snapshot: "" };

export type Runtime = "deno" | "bun" | "node";

export interface ServerSpec {
  id: string;
  label: string;
  runtime: Runtime | "ref";
  role: "wsdriver" | "peer" | "ref";
  cmd: (profileDir?: string) => string[];
  env?: () => Record<string, string>;
}

function cpuProf(dir: string | undefined): string[] {
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

export const SERVERS: ServerSpec[] = [
  {
    id: "wsdriver-deno",
    label: "wsdriver",
    runtime: "deno",
    role: "wsdriver",
    cmd: () => [DENO, "run", "-A", `${BENCH}/servers/wsdriver.ts`],
  },
  {
    id: "deno-native",
    label: "Deno.upgradeWebSocket",
    runtime: "deno",
    role: "peer",
    cmd: () => [DENO, "run", "-A", `${BENCH}/servers/deno_native.ts`],
  },
  {
    id: "wsdriver-bun",
    label: "wsdriver",
    runtime: "bun",
    role: "wsdriver",
    cmd: () => [BUN, `${BENCH}/servers/wsdriver.ts`],
  },
  {
    id: "bun-native",
    label: "Bun.serve (uWS)",
    runtime: "bun",
    role: "peer",
    cmd: () => [BUN, `${BENCH}/servers/bun_native.ts`],
  },
  {
    id: "wsdriver-node",
    label: "wsdriver",
    runtime: "node",
    role: "wsdriver",
    cmd: (p) => [NODE, ...cpuProf(p), `${BENCH}/servers/wsdriver_node.mjs`],
    env: () => ({ WSDRIVER_MODULE: `file://${npm.snapshot}/mod.js` }),
  },
  {
    id: "ws-node",
    label: "ws",
    runtime: "node",
    role: "peer",
    cmd: (p) => [NODE, ...cpuProf(p), `${BENCH}/servers/ws_node.mjs`],
  },
  {
    id: "ref-c",
    label: "C reference (ceiling)",
    runtime: "ref",
    role: "ref",
    cmd: () => [`${BUILD}/refserver`],
  },
];

/** The wsdriver servers of another checkout in `dir`, standing in for the peers. */
export function baselineServers(dir: string): ServerSpec[] {
  const label = "wsdriver (baseline)";
  return [
    {
      id: "baseline-deno",
      label,
      runtime: "deno",
      role: "peer",
      cmd: () => [DENO, "run", "-A", `${dir}/bench/servers/wsdriver.ts`],
    },
    {
      id: "baseline-bun",
      label,
      runtime: "bun",
      role: "peer",
      cmd: () => [BUN, `${dir}/bench/servers/wsdriver.ts`],
    },
    {
      id: "baseline-node",
      label,
      runtime: "node",
      role: "peer",
      cmd: (p) => [NODE, ...cpuProf(p), `${BENCH}/servers/wsdriver_node.mjs`],
      env: () => ({ WSDRIVER_MODULE: `file://${dir}/npm/esm/mod.js` }),
    },
  ];
}

/**
 * `servers/floor.mjs`, the least a JavaScript WebSocket server does, on each runtime: with
 * `--floor` it stands in for wsdriver (`role` "wsdriver"), to show which of issue 15's targets any
 * JavaScript server on that runtime can reach; with `--vs-floor` for the peers, to show what
 * wsdriver costs above it.
 */
export function floorServers(role: "wsdriver" | "peer"): ServerSpec[] {
  const file = `${BENCH}/servers/floor.mjs`;
  const cmds: Record<Runtime, (p?: string) => string[]> = {
    deno: () => [DENO, "run", "-A", file],
    bun: () => [BUN, file],
    node: (p) => [NODE, ...cpuProf(p), file],
  };
  return (["deno", "bun", "node"] as const).map((rt) => ({
    id: `floor-${rt}`,
    label: "minimal JS server",
    runtime: rt,
    role,
    cmd: cmds[rt],
  }));
}

/** This build's wsdriver servers with `stats: false`, standing in for the peers. */
export function statsOffServers(): ServerSpec[] {
  return SERVERS.filter((s) => s.role === "wsdriver").map((s) => ({
    ...s,
    id: `stats-off-${s.runtime}`,
    label: "stats off",
    role: "peer",
    env: () => ({ ...s.env?.(), WSDRIVER_BENCH_STATS: "off" }),
  }));
}

/** Each runtime's name in titles. */
export const RUNTIME_NAME: Readonly<Record<Runtime, string>> = {
  node: "Node",
  deno: "Deno",
  bun: "Bun",
};

/** The section titles of the peers proper. */
export const RUNTIME_TITLE: Readonly<Record<Runtime, string>> = {
  node: "Node vs `ws`",
  deno: "Deno vs native",
  bun: "Bun vs native (uWS)",
};
