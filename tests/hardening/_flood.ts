/**
 * Helpers of the hardening tests: process RSS sampling and floods written with backpressure, so
 * that what a test measures is the peer under attack, not the attacker's own send buffer.
 */

import type * as net from "node:net";
import process from "node:process";
import { withTimeout } from "../_helpers.ts";

/** The process's resident set size, in bytes. */
export function rss(): number {
  return process.memoryUsage().rss;
}

/**
 * Collectors may run late (Bun's always, Node 24's after a burst): garbage of a flood, long dead,
 * would pass for retained memory. Where the runtime offers a collection (`Bun.gc`, or `gc` under
 * `--expose-gc`, which the Node test commands and `npm run test:deno` pass), each sample runs one
 * first. Without it, a whole Deno suite's heap let one flood's garbage reach 101 MiB of RSS.
 */
const g = globalThis as { Bun?: { gc(force: boolean): void }; gc?: () => void };
const collect: ((force: boolean) => void) | undefined = g.Bun?.gc ??
  (typeof g.gc === "function" ? () => g.gc!() : undefined);

/** Samples the RSS every few milliseconds and keeps the peak; `stop` returns it. */
export function rssPeak(): { stop(): number } {
  collect?.(true);
  let peak = rss();
  const timer = setInterval(() => {
    collect?.(true);
    peak = Math.max(peak, rss());
  }, collect ? 20 : 5);
  return {
    stop() {
      clearInterval(timer);
      collect?.(true);
      return Math.max(peak, rss());
    },
  };
}

/** One MiB. */
export const MiB = 1024 * 1024;

/**
 * Writes `block` `times` times on `socket`, waiting for `drain` whenever the socket's buffer is
 * full; rejects after `ms` or if the socket closes first.
 */
export function pump(
  socket: net.Socket,
  block: Uint8Array,
  times: number,
  ms = 8000,
): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      let sent = 0;
      const onClose = () => reject(new Error(`socket closed after ${sent} of ${times} blocks`));
      socket.once("close", onClose);
      const go = () => {
        while (sent < times) {
          sent++;
          if (!socket.write(block)) {
            socket.once("drain", go);
            return;
          }
        }
        socket.off("close", onClose);
        resolve();
      };
      go();
    }),
    ms,
    "the flood to be written",
  );
}

/** `count` copies of `frame`, back to back. */
export function repeat(frame: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(frame.length * count);
  for (let i = 0; i < count; i++) out.set(frame, i * frame.length);
  return out;
}

/**
 * Writes `block` up to `times` times on `socket` while the peer reads; returns how many blocks
 * were written once all were, or once the peer stopped reading for `stallMs` (no `drain`).
 */
export function pumpUntilStalled(
  socket: net.Socket,
  block: Uint8Array,
  times: number,
  stallMs = 500,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let sent = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.off("drain", go);
      socket.off("close", finish);
      resolve(sent);
    };
    function go() {
      clearTimeout(timer);
      while (sent < times) {
        sent++;
        if (!socket.write(block)) {
          timer = setTimeout(finish, stallMs);
          return;
        }
      }
      finish();
    }
    socket.on("drain", go);
    socket.once("close", finish);
    go();
  });
}
