/**
 * Interop peer logic for a standard (WHATWG) `WebSocket` object, shared by the Deno peer (client:
 * `new WebSocket`, server: `Deno.upgradeWebSocket`) and the Bun client peer. Not a test file.
 *
 * The peer protocol (the same in every peer, see tests/interop/README.md):
 * - every message that is not a command is echoed back with its type, and reported on stdout as
 *   `{"event":"message","binary":…,"length":…,"sha256":…}` (length and hash of its bytes);
 * - text commands: `cmd:close` (close with 4001 "peer bye"), `cmd:ping` (send a ping "peer-ping"
 *   and report its pong), `cmd:fragment` (send a fragmented text and binary message); a command
 *   the API cannot do is reported as `{"event":"unsupported","cmd":…}`;
 * - `open`, `ping`/`pong` (where observable), `close` and `error` are reported as JSON lines.
 */
import { createHash } from "node:crypto";

/** Subprotocols a peer server speaks (the wsdriver server speaks the same). */
export const SUPPORTED = ["interop.v2", "interop.v1"];
/** Subprotocols a peer client offers: only `interop.v1` is acceptable to the servers. */
export const OFFERED = ["bogus.v0", "interop.v1"];

/** Prints one JSON line on stdout. */
export function report(obj: Record<string, unknown>): void {
  console.log(JSON.stringify(obj));
}

function describeBytes(binary: boolean, bytes: Uint8Array): Record<string, unknown> {
  return {
    event: "message",
    binary,
    length: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

const decoder = new TextDecoder();

function payloadText(data: unknown): string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return decoder.decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) {
    return decoder.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return String(data);
}

/** Non-standard extensions some runtimes add to `WebSocket` (Bun: `ping()`). */
interface PingExtension {
  ping?: (data?: string) => void;
}

/**
 * Runs the peer protocol on `ws`; resolves once it is closed. `ping` and `pong` events are
 * reported if the runtime emits them (Bun does, Deno does not). A server passes the subprotocol it
 * put in its 101 as `serverProtocol`: Deno's upgraded socket reports `protocol` as "".
 */
export function runWebPeer(ws: WebSocket, serverProtocol?: string): Promise<void> {
  ws.binaryType = "arraybuffer";
  const ping = (ws as unknown as PingExtension).ping;
  return new Promise((resolve) => {
    ws.addEventListener(
      "open",
      () =>
        report({
          event: "open",
          protocol: serverProtocol ?? ws.protocol,
          extensions: ws.extensions,
        }),
    );
    ws.addEventListener("message", (e: MessageEvent) => {
      const data = e.data;
      if (typeof data === "string") {
        if (data.startsWith("cmd:")) return command(data);
        ws.send(data);
        report(describeBytes(false, new TextEncoder().encode(data)));
      } else {
        const bytes = new Uint8Array(data as ArrayBuffer);
        ws.send(bytes);
        report(describeBytes(true, bytes));
      }
    });
    // Not in the standard: Bun emits them, Deno does not.
    for (const type of ["ping", "pong"]) {
      ws.addEventListener(type, (e) => {
        report({ event: type, data: payloadText((e as MessageEvent).data) });
      });
    }
    ws.addEventListener("error", (e) => {
      report({ event: "error", message: String((e as ErrorEvent).message ?? e.type) });
    });
    ws.addEventListener("close", (e: CloseEvent) => {
      report({ event: "close", code: e.code, reason: e.reason, clean: e.wasClean });
      resolve();
    });
    function command(cmd: string): void {
      if (cmd === "cmd:close") ws.close(4001, "peer bye");
      else if (cmd === "cmd:ping" && typeof ping === "function") ping.call(ws, "peer-ping");
      else report({ event: "unsupported", cmd });
    }
  });
}
