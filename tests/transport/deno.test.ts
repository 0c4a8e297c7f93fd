/**
 * src/transport/deno.ts keeps the transport contract. Deno only: elsewhere it is skipped.
 */

import { denoTransport } from "../../src/transport/deno.ts";
import { describeTransport } from "./_contract.ts";

describeTransport(
  "denoTransport",
  denoTransport,
  (globalThis as { Deno?: unknown }).Deno === undefined ? "Deno only" : false,
);
