/**
 * The package version, for `wsdriver --version`. `scripts/build_npm.ts` fails when it differs
 * from deno.json's, so the two cannot drift apart.
 *
 * @module
 */

/** This wsdriver's version. */
export const VERSION = "0.1.0";
