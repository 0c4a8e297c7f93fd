/**
 * A socket's messages as an async iterator, with backpressure: what `for await (const m of ws)`
 * and `messages()` use. It needs only a socket's events and `pause`/`resume`, so that `WS` can
 * use it without importing the stream helpers, which name `WS`.
 *
 * @module
 */

import type { Emitter } from "./emitter.ts";
import { WSError } from "./errors.ts";
import type { ReadyState, WSEvents } from "./socket_types.ts";

/**
 * A message read from a socket by {@link messages} or {@link toStreams}: text as a string, binary
 * as a `Uint8Array`. Narrow it with `typeof m === "string"` to tell the two apart.
 */
export type Message = string | Uint8Array;

/** What {@link iterateMessages} reads from: a `WS`. */
export interface MessageSocket extends Emitter<WSEvents> {
  readonly readyState: ReadyState;
  pause(): void;
  resume(): void;
}

/** Default {@link StreamOptions.highWaterMark}: 16 messages. */
export const DEFAULT_READ_HIGH_WATER_MARK = 16;

/**
 * See `messages` in stream.ts: `readHighWaterMark` is the number of unread messages above which
 * the socket is paused.
 */
export function iterateMessages(
  ws: MessageSocket,
  readHighWaterMark: number = DEFAULT_READ_HIGH_WATER_MARK,
): AsyncIterableIterator<Message> {
  const highWaterMark = Math.max(1, readHighWaterMark);
  let queue: Message[] = [];
  let head = 0;
  let ended = ws.readyState === "closed";
  let failure: WSError | undefined;
  let lastError: WSError | undefined;
  let waiter:
    | { resolve(r: IteratorResult<Message>): void; reject(e: unknown): void }
    | undefined;

  const onMessage = (data: Message) => {
    if (waiter !== undefined) {
      const w = waiter;
      waiter = undefined;
      return w.resolve({ value: data, done: false });
    }
    queue.push(data);
    if (queue.length - head >= highWaterMark) ws.pause();
  };
  const onError = (error: WSError) => (lastError = error);
  const onClose = (code: number, _reason: string, wasClean: boolean) => {
    ended = true;
    detach();
    if (!wasClean) {
      failure = lastError ??
        new WSError("WS_ERR_ABNORMAL_CLOSE", `the connection closed abnormally (${code})`, code);
    }
    if (waiter !== undefined) {
      const w = waiter;
      waiter = undefined;
      settleEnd(w.resolve, w.reject);
    }
  };
  const detach = () => {
    ws.off("message", onMessage);
    ws.off("error", onError);
    ws.off("close", onClose);
  };
  const settleEnd = (
    resolve: (r: IteratorResult<Message>) => void,
    reject: (e: unknown) => void,
  ) => {
    const f = failure;
    failure = undefined;
    if (f) reject(f);
    else resolve({ value: undefined, done: true });
  };
  if (!ended) {
    ws.on("message", onMessage);
    ws.on("error", onError);
    ws.on("close", onClose);
  }

  return {
    next(): Promise<IteratorResult<Message>> {
      if (head < queue.length) {
        const value = queue[head++];
        if (head === queue.length) {
          queue = [];
          head = 0;
        }
        if (!ended && queue.length - head < highWaterMark) ws.resume();
        return Promise.resolve({ value, done: false });
      }
      return new Promise((resolve, reject) => {
        if (ended) settleEnd(resolve, reject);
        else waiter = { resolve, reject };
      });
    },
    return(): Promise<IteratorResult<Message>> {
      const wasEnded = ended;
      ended = true;
      detach();
      queue = [];
      head = 0;
      failure = undefined;
      if (!wasEnded) ws.resume();
      waiter?.resolve({ value: undefined, done: true });
      waiter = undefined;
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
