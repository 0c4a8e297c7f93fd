/**
 * src/transport/bun.ts keeps the transport contract. Bun only: elsewhere it is skipped.
 */

import { bunTransport } from "../../src/transport/bun.ts";
import { describeTransport } from "./_contract.ts";

describeTransport(
  "bunTransport",
  bunTransport,
  (globalThis as { Bun?: unknown }).Bun === undefined ? "Bun only" : false,
);
