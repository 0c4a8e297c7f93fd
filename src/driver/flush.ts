/**
 * Writing at the end of the turn: every driver with output queues itself once, and one microtask
 * writes them all; a large turn is written in slices that yield to I/O. Also the settling of send
 * callbacks once their bytes are out.
 *
 * @module
 */

import type { SendCallback } from "../socket_types.ts";

/** A driver with output to write (see {@link queueFlush}). */
export interface Flushable {
  /** Writes everything produced so far, in one write. */
  _flushNow(): void;
}

/** Drivers with output to write at the end of this turn, and whether that is scheduled. */
const flushQueue: Flushable[] = [];
let flushScheduled = false;
/**
 * Drivers a large turn could not write within {@link FLUSH_SLICE_MS}: written in later slices, so
 * that a broadcast to 10k sockets (one write each, ~10 µs apiece on Deno) does not hold the loop
 * for 100 ms while other connections wait. A driver stays queued (its own flag) until its slice,
 * so what it is sent meanwhile follows the broadcast, in order.
 */
let backlog: Flushable[] = [];
let backlogHead = 0;
let backlogScheduled = false;
/** Time one turn's flush, or one backlog slice, may write for before yielding to I/O. */
const FLUSH_SLICE_MS = 2;
/**
 * Drivers a turn writes before it looks at the clock, and between two looks: a turn of a few
 * hundred writes (a broadcast to a room) is never cut, since each cut costs a pass of the event
 * loop; only turns with thousands of writes are spread.
 */
const FLUSH_MIN = 512;
const FLUSH_CHECK_EVERY = 64;
/**
 * Runs `fn` once pending I/O has been served. Node and Bun: `setImmediate`, which comes right after
 * the poll for I/O (`setTimeout(0)` idles a millisecond or more per slice: a broadcast benchmark
 * lost a quarter of its throughput to it). Deno: `setTimeout(0)`, because its `setImmediate` runs
 * before completed reads are delivered, so a slice would not let other connections in (measured by
 * tests/hardening/publish_spread.test.ts).
 */
const yieldToIO: (fn: () => void) => unknown = "Deno" in globalThis
  ? (fn) => setTimeout(fn, 0)
  : (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate ??
    ((fn) => setTimeout(fn, 0));

/** Whether a slice timed from `began`, now at its `n`th write, should yield. */
function sliceDone(n: number, began: number): boolean {
  return n % FLUSH_CHECK_EVERY === 0 && performance.now() - began > FLUSH_SLICE_MS;
}

/**
 * Schedules `driver`'s write at the end of the current turn: one microtask for all sockets (a
 * broadcast reaches hundreds), and no closure per socket. The caller queues each driver once
 * until its `_flushNow` runs.
 */
export function queueFlush(driver: Flushable): void {
  flushQueue.push(driver);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flushAll);
  }
}

function flushAll(): void {
  flushScheduled = false;
  // Drivers queued while flushing (a send callback that sends) are flushed in this loop too. Only
  // a turn that can reach FLUSH_MIN writes reads the clock: an echo's turn never does.
  let i = 0, began = flushQueue.length >= FLUSH_MIN ? performance.now() : 0;
  while (i < flushQueue.length) {
    flushQueue[i++]._flushNow();
    if (i < FLUSH_MIN) continue;
    if (began === 0) began = performance.now();
    else if (sliceDone(i, began)) break;
  }
  if (i < flushQueue.length) {
    for (let j = i; j < flushQueue.length; j++) backlog.push(flushQueue[j]);
    if (!backlogScheduled) {
      backlogScheduled = true;
      yieldToIO(flushBacklog);
    }
  }
  flushQueue.length = 0;
}

function flushBacklog(): void {
  const began = performance.now();
  let i = backlogHead;
  while (i < backlog.length) {
    backlog[i++]._flushNow();
    if (sliceDone(i - backlogHead, began)) break;
  }
  if (i < backlog.length) {
    backlogHead = i;
    yieldToIO(flushBacklog);
    return;
  }
  backlog = [];
  backlogHead = 0;
  backlogScheduled = false;
}

/**
 * Runs send callbacks, kept as pairs of (mark, callback) where the mark is the transport's
 * `written` count once the callback's bytes are out: all with success, or, for a failed write,
 * success for those whose bytes went out (mark at most `written`) and `error` for the rest.
 */
export function settle(
  callbacks: Array<number | SendCallback>,
  error?: Error,
  written = 0,
): void {
  for (let i = 0; i < callbacks.length; i += 2) {
    const cb = callbacks[i + 1] as SendCallback;
    if (error === undefined || (callbacks[i] as number) <= written) cb();
    else cb(error);
  }
}
