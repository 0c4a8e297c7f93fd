/**
 * src/transport/node.ts keeps the transport contract, on every runtime (all three run node:net).
 */

import { nodeTransport } from "../../src/transport/node.ts";
import { describeTransport } from "./_contract.ts";

describeTransport("nodeTransport", nodeTransport, false);
