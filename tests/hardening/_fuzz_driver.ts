/**
 * Runs {@link ConnScript}s against a server over loopback, and watches the process while they run:
 * uncaught errors and unhandled rejections (on every runtime), and the peak RSS.
 */

import * as net from "node:net";
import process from "node:process";
import { withTimeout } from "../_helpers.ts";
import { concat } from "./_fuzz_bytes.ts";
import { chunks, type ConnScript } from "./_fuzz_streams.ts";

/** What became of one scripted connection. */
export interface ConnOutcome {
  /** The client's local port, to match it with the server's `ws.remotePort`. */
  localPort: number;
  /** Why the connection did not end in time, or undefined if it did. */
  hung?: string;
  bytesIn: number;
  /** The first bytes received (up to 512), as Latin-1. */
  head: string;
  /** Everything received, up to {@link KEEP_RECEIVED} bytes. */
  received: Uint8Array;
  /**
   * The longest time between two writes (the first counted from the connect), and from the
   * connect to the last write: how slow this process was. A client stalled long enough has met
   * the server's timeouts, and the test expects less of it.
   */
  maxGapMs: number;
  spanMs: number;
}

/** Received bytes kept per connection for checking echoes. */
export const KEEP_RECEIVED = 1 << 20;

const latin1 = new TextDecoder("latin1");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Connects to `port`, plays `script`, then waits up to `closeWithin` ms for the socket to be
 * closed (by the server, or by the script's own ending).
 */
export async function playScript(
  port: number,
  script: ConnScript,
  closeWithin: number,
): Promise<ConnOutcome> {
  const socket = net.connect({ port, host: "127.0.0.1" });
  let bytesIn = 0, head = "";
  const kept: Uint8Array[] = [];
  socket.on("data", (b: Uint8Array) => {
    if (bytesIn + b.length <= KEEP_RECEIVED) kept.push(new Uint8Array(b));
    bytesIn += b.length;
    if (head.length < 512) head += latin1.decode(b.subarray(0, 512 - head.length));
  });
  // Resets, EPIPE after the server hung up: expected, the script goes on regardless.
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  const connected = new Promise<void>((r) => socket.once("connect", () => r()));
  await withTimeout(Promise.race([connected, closed]), 5000, "TCP connect");
  const outcome: ConnOutcome = {
    localPort: socket.localPort ?? 0,
    bytesIn: 0,
    head: "",
    received: new Uint8Array(0),
    maxGapMs: 0,
    spanMs: 0,
  };
  const writes = chunks(script);
  const start = performance.now();
  let last = start;
  for (let i = 0; i < writes.length && !socket.destroyed; i++) {
    const pause = script.delays[i % script.delays.length];
    if (pause > 0) await sleep(pause);
    if (!socket.destroyed) socket.write(writes[i]);
    outcome.maxGapMs = Math.max(outcome.maxGapMs, performance.now() - last);
    last = performance.now();
  }
  outcome.spanMs = last - start;
  if (!socket.destroyed) {
    if (script.ending === "end") socket.end();
    else if (script.ending === "destroy") socket.destroy();
    else if (script.ending === "reset") {
      const s = socket as net.Socket & { resetAndDestroy?: () => void };
      if (typeof s.resetAndDestroy === "function") s.resetAndDestroy();
      else socket.destroy();
    }
  }
  try {
    await withTimeout(closed, closeWithin, "the connection to close");
  } catch (e) {
    outcome.hung = (e as Error).message;
    socket.destroy();
  }
  outcome.bytesIn = bytesIn;
  outcome.head = head;
  outcome.received = concat(kept);
  return outcome;
}

/** Collects uncaught errors and unhandled rejections until `stop()`. */
export function trapErrors(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
  if (deno) {
    const onRejection = (e: PromiseRejectionEvent) => {
      e.preventDefault();
      errors.push(e.reason);
    };
    const onError = (e: ErrorEvent) => {
      e.preventDefault();
      errors.push(e.error ?? e.message);
    };
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("error", onError);
    return {
      errors,
      stop() {
        globalThis.removeEventListener("unhandledrejection", onRejection);
        globalThis.removeEventListener("error", onError);
      },
    };
  }
  const onRejection = (reason: unknown) => errors.push(reason);
  const onException = (error: unknown) => errors.push(error);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return {
    errors,
    stop() {
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
    },
  };
}

/** Samples the process RSS every `everyMs` until `stop()`, which returns the peak in bytes. */
export function sampleRss(everyMs = 50): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}
