/**
 * Resources registered by path (exact, or with `:name` segments), and the origin policy of each.
 *
 * @module
 */

/**
 * Which `Origin` headers a resource admits (checked against browsers; a request without `Origin`,
 * i.e. not from a browser, passes the list and prefix forms):
 * - `"*"`: any origin (the default);
 * - an array of exact origins, e.g. `["https://example.com"]`;
 * - `{ prefix: [...] }`: origins starting with one of the prefixes;
 * - a function of the origin (`null` when absent) that returns whether to admit it.
 */
export type OriginPolicy =
  | "*"
  | readonly string[]
  | { prefix: readonly string[] }
  | ((origin: string | null) => boolean);

/**
 * True if `origin` passes `policy`.
 *
 * @example
 * ```ts
 * originAllowed({ prefix: ["http://localhost"] }, "http://localhost:3000"); // true
 * ```
 */
export function originAllowed(policy: OriginPolicy | undefined, origin: string | null): boolean {
  if (policy === undefined || policy === "*") return true;
  if (typeof policy === "function") return policy(origin);
  if (origin === null) return true;
  if ("prefix" in policy) return policy.prefix.some((p) => origin.startsWith(p));
  return (policy as readonly string[]).includes(origin);
}

interface Route<R> {
  pattern: string;
  regex: RegExp;
  names: string[];
  resource: R;
}

/**
 * Maps paths to resources. Patterns are exact paths or have `:name` segments, which match one
 * non-empty path segment each; the first registered match wins.
 *
 * @example
 * ```ts
 * const router = new Router<string>();
 * router.add("/chat/:room", "chat");
 * router.match("/chat/lobby"); // { resource: "chat", params: { room: "lobby" } }
 * ```
 */
export class Router<R> {
  #routes: Route<R>[] = [];

  /** Registers `resource` at `pattern`. Throws a TypeError for a pattern not starting with `/`. */
  add(pattern: string, resource: R): void {
    if (!pattern.startsWith("/")) {
      throw new TypeError(`resource path must start with "/": ${pattern}`);
    }
    const names: string[] = [];
    const source = pattern.split("/").map((seg) => {
      if (seg.startsWith(":") && seg.length > 1) {
        names.push(seg.slice(1));
        return "([^/]+)";
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }).join("/");
    this.#routes.push({ pattern, regex: new RegExp(`^${source}$`), names, resource });
  }

  /** The resource for `path` with its decoded parameters, or undefined. */
  match(path: string): { resource: R; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      } catch {
        return undefined;
      }
      return { resource: route.resource, params };
    }
    return undefined;
  }
}
