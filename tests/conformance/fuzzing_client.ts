/**
 * The fuzzing client: a raw `node:net` client that performs the opening handshake by hand and
 * plays cases against a WebSocket server that echoes (text as text, binary as binary). Its frames
 * are masked (a client's must be); the server's must not be.
 */

import * as net from "node:net";
import type { Case } from "./cases.ts";
import { type DeflateAgreement, readResponse } from "./compression.ts";
import { Fuzzer, type Timing } from "./fuzzer.ts";
import { acceptKey, hasToken, randomKey, readHead } from "./handshake.ts";
import { type CaseResult, failedResult, runCaseOn } from "./runner.ts";

/** Where the server under test listens. */
export interface ServerTarget {
  host: string;
  port: number;
  /** Time limits of the fuzzer's expectations. */
  timing?: Partial<Timing>;
}

const CONNECT_TIMEOUT = 5000;

/**
 * Opens a TCP connection and completes the opening handshake for `path`, offering the
 * `Sec-WebSocket-Extensions` value `offer` if given. A response that agrees on permessage-deflate
 * must be valid for the offer (RFC 7692 §5, §7.1); the fuzzer then compresses and decompresses
 * with the agreed parameters.
 */
export async function openClientFuzzer(
  target: ServerTarget,
  path: string,
  offer?: string,
): Promise<Fuzzer> {
  const socket = net.connect({ host: target.host, port: target.port });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("TCP connect timed out")), CONNECT_TIMEOUT);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect: ${err.message}`));
      });
    });
    const key = randomKey();
    const head = readHead(socket, CONNECT_TIMEOUT);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (offer === undefined ? "" : `Sec-WebSocket-Extensions: ${offer}\r\n`) + "\r\n",
    );
    const { head: res, rest } = await head;
    if (!/^HTTP\/1\.1 101( |$)/.test(res.line)) throw new Error(`expected 101, got ${res.line}`);
    if (!hasToken(res.headers.get("upgrade"), "websocket")) {
      throw new Error("no Upgrade: websocket");
    }
    if (!hasToken(res.headers.get("connection"), "upgrade")) {
      throw new Error("no Connection: upgrade");
    }
    if (res.headers.get("sec-websocket-accept") !== acceptKey(key)) {
      throw new Error("wrong Sec-WebSocket-Accept");
    }
    const response = res.headers.get("sec-websocket-extensions");
    let agreement: DeflateAgreement | undefined;
    if (response !== undefined) {
      if (offer === undefined) {
        throw new Error("the server accepted an extension that was not offered");
      }
      const r = readResponse(response, offer);
      if (typeof r === "string") throw new Error(`invalid permessage-deflate response: ${r}`);
      agreement = r;
    }
    const f = new Fuzzer(socket, "client", rest, target.timing, agreement);
    f.negotiation = { offer, response };
    return f;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** Plays one case against the server: a fresh connection to `/<case id>`. */
export async function runCaseAgainstServer(c: Case, target: ServerTarget): Promise<CaseResult> {
  const t0 = performance.now();
  let f: Fuzzer;
  try {
    f = await openClientFuzzer(target, `/${c.id}`, c.compression?.offer);
  } catch (err) {
    return failedResult(
      c,
      `opening handshake failed: ${(err as Error).message}`,
      performance.now() - t0,
    );
  }
  const r = await runCaseOn(c, f);
  r.ms = performance.now() - t0;
  return r;
}

/** Plays `cases` one after the other against the server; `onResult` sees each result. */
export async function runSuiteAgainstServer(
  cases: readonly Case[],
  target: ServerTarget,
  onResult?: (r: CaseResult) => void,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const r = await runCaseAgainstServer(c, target);
    results.push(r);
    onResult?.(r);
  }
  return results;
}
