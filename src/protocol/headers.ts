/**
 * The header input type of the public options, defined here so that the published types need no
 * DOM library (`HeadersInit` is a DOM name).
 *
 * @module
 */

/**
 * Headers as options take them: a `Headers` object, a record, or name/value pairs.
 *
 * @example
 * ```ts
 * import { connect, type HeadersInput } from "@wsdriver/wsdriver";
 *
 * const headers: HeadersInput = { authorization: "Bearer t0ken" };
 * const ws = connect("ws://127.0.0.1:8080", { headers });
 * ws.on("error", () => {});
 * ```
 */
export type HeadersInput = Headers | Record<string, string> | Array<[string, string]>;
