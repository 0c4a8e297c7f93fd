/**
 * A short `console.log` form for the public classes: the few fields a reader wants (state, url,
 * protocol, buffered bytes), instead of every private slot and internal member. Node and Bun look
 * for `Symbol.for("nodejs.util.inspect.custom")`, Deno for `Symbol.for("Deno.customInspect")`.
 * Installed on the prototype from outside the class, so the published types do not change.
 *
 * @module
 */

const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");
const DENO_INSPECT = Symbol.for("Deno.customInspect");

/** Formats `name { key: value, ... }` with strings quoted. */
function format(name: string, fields: Record<string, unknown>): string {
  const parts = Object.entries(fields).map(([k, v]) =>
    `${k}: ${typeof v === "string" ? JSON.stringify(v) : String(v)}`
  );
  return `${name} { ${parts.join(", ")} }`;
}

/**
 * Makes `console.log(x)` print `name { ...fields(x) }` on Node, Bun and Deno for every instance
 * of `cls`.
 *
 * @example
 * ```ts
 * class Point {
 *   x = 1;
 *   y = 2;
 * }
 * installInspect(Point, "Point", (p) => ({ x: p.x }));
 * console.log(new Point()); // Point { x: 1 }
 * ```
 */
export function installInspect<T>(
  // deno-lint-ignore no-explicit-any
  cls: abstract new (...args: any[]) => T,
  name: string,
  fields: (instance: T) => Record<string, unknown>,
): void {
  const inspect = {
    value(this: T): string {
      return format(name, fields(this));
    },
    configurable: true,
    writable: true,
  };
  Object.defineProperty(cls.prototype, NODE_INSPECT, inspect);
  Object.defineProperty(cls.prototype, DENO_INSPECT, inspect);
}
