/** Helpers of the server hardening tests: opening attempts, RSS, plain HTTP over a raw socket. */
import process from "node:process";
import { connect } from "../../src/client.ts";
import { HandshakeError } from "../../src/errors.ts";
import type { WS } from "../../src/ws.ts";
import { headEnd, RawClient, withTimeout } from "../_helpers.ts";

/** The process's resident set size in bytes, on every runtime. */
export function rss(): number {
  const mu = process.memoryUsage as unknown as { rss?: () => number };
  return typeof mu.rss === "function" ? mu.rss() : process.memoryUsage().rss;
}

/** Opens a client: the open socket, or the HTTP status of a refused handshake. */
export function tryOpen(url: string, ms = 5000): Promise<WS | number> {
  const ws = connect(url);
  return withTimeout(
    new Promise<WS | number>((resolve, reject) => {
      ws.once("open", () => resolve(ws));
      ws.once("error", (err) => {
        if (err instanceof HandshakeError && err.status !== undefined) resolve(err.status);
        else reject(err);
      });
    }),
    ms,
    `opening ${url}`,
  );
}

/** Tries to open a client until it opens (bounded); throws with the last status otherwise. */
export async function openEventually(url: string, ms = 5000): Promise<WS> {
  const deadline = Date.now() + ms;
  let last: number | undefined;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    const r = await tryOpen(url);
    if (typeof r !== "number") return r;
    last = r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`could not open ${url} within ${ms} ms (last status ${last})`);
}

/** Closes sockets and waits for their close events (bounded); never throws. */
export async function closeAll(sockets: Iterable<WS>): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const ws of sockets) {
    if (ws.readyState === "closed") continue;
    waits.push(new Promise((r) => ws.once("close", r)));
    if (ws.readyState === "open") ws.close();
    else ws.terminate();
  }
  await withTimeout(Promise.all(waits), 5000, "sockets to close").catch(() => {});
}

/** A parsed HTTP response read from a raw socket. */
export interface RawResponse {
  statusLine: string;
  headers: string;
  body: string;
}

/** Sends `request` on a new raw connection and reads the response until the server ends it. */
export async function httpExchange(port: number, request: string, ms = 5000): Promise<RawResponse> {
  const client = await RawClient.connect(port);
  try {
    client.write(request);
    await client.waitClosed(ms).catch(() => {});
    const r = client.received;
    const end = headEnd(r);
    const text = new TextDecoder().decode(r);
    if (end < 0) throw new Error(`no complete response head; got ${JSON.stringify(text)}`);
    const head = new TextDecoder().decode(r.subarray(0, end - 4));
    const nl = head.indexOf("\r\n");
    return {
      statusLine: nl < 0 ? head : head.slice(0, nl),
      headers: nl < 0 ? "" : head.slice(nl + 2),
      body: new TextDecoder().decode(r.subarray(end)),
    };
  } finally {
    client.destroy();
  }
}
