/**
 * `wsdriver/raw`: the sans-I/O framing of raw TCP connections (newline-delimited text or
 * length-prefixed messages), for peers that speak to a server's `raw` port without WebSocket.
 *
 * @example
 * ```ts
 * import { RawProtocol } from "@wsdriver/wsdriver/raw";
 *
 * const p = new RawProtocol({ framing: "line", maxPayload: 65536 }, {
 *   message: (data) => console.log("got", data),
 *   ping() {},
 *   pong() {},
 *   close() {},
 *   error: (err) => console.error(err),
 *   write() {},
 * });
 * p.receive(new TextEncoder().encode("hello\n"));
 * ```
 *
 * @module
 */

export {
  type RawFraming,
  RawProtocol,
  type RawProtocolOptions,
  RawType,
} from "./src/protocol/raw.ts";
