/**
 * Streams over a {@link WS}, on either side: its messages as an async iterator or a
 * `ReadableStream`, a `WritableStream` into it, and one large message sent in fragments from an
 * async iterable or a `ReadableStream`. Backpressure is real both ways: a consumer that does not
 * read pauses the socket, and writers wait for the buffer to drain.
 *
 * @module
 */

import { StateError, WSError } from "./errors.ts";
import { iterateMessages, type Message } from "./message_iterator.ts";
import type { SendData, WS } from "./ws.ts";

/** Options of {@link messages} and {@link toStreams}. */
export interface StreamOptions {
  /** Messages received and not yet read above which the socket stops reading (default 16). */
  highWaterMark?: number;
  /**
   * Bytes waiting to be written above which writes wait until they are written (default: the
   * socket's `highWaterMark`, 1 MiB).
   */
  writeHighWaterMark?: number;
}

export { DEFAULT_READ_HIGH_WATER_MARK, type Message } from "./message_iterator.ts";

/**
 * The messages of `ws` as an async iterator (this is what `for await (const m of ws)` uses). It
 * ends after a clean close and throws the connection's error (or a `WS_ERR_ABNORMAL_CLOSE`
 * `WSError`) after an unclean one. When `highWaterMark` messages wait unread, the socket is paused
 * until the loop catches up. Leaving the loop early (`break`) detaches the iterator: the socket
 * stays open and its `message` listeners get what follows.
 *
 * @example
 * ```ts
 * const ws = connect("ws://127.0.0.1:8080/feed");
 * for await (const message of messages(ws, { highWaterMark: 4 })) {
 *   await slowlyStore(message); // the server is not read while four messages wait
 * }
 * ```
 */
export function messages(ws: WS, options: StreamOptions = {}): AsyncIterableIterator<Message> {
  return iterateMessages(ws, options.highWaterMark);
}

/** How a connection ended, as `WebSocketStream`'s `closed` reports it. */
export interface WebSocketCloseInfo {
  /** The close code (1000 if none was given). */
  closeCode?: number;
  /** The close reason. */
  reason?: string;
}

/** A socket as a pair of streams (see {@link toStreams}). */
export interface WebSocketStreams {
  /** Messages received: text as strings, binary as `Uint8Array`s. */
  readable: ReadableStream<Message>;
  /** Messages to send: strings as text, bytes as binary. */
  writable: WritableStream<SendData>;
  /** Resolves after a clean close, rejects after an unclean one. */
  closed: Promise<WebSocketCloseInfo>;
}

/**
 * Resolves with the close code and reason once `ws` closes cleanly; rejects if it did not.
 *
 * @example
 * ```ts
 * const { closeCode, reason } = await closedOf(ws);
 * ```
 */
export function closedOf(ws: WS): Promise<WebSocketCloseInfo> {
  const p = new Promise<WebSocketCloseInfo>((resolve, reject) => {
    let error: WSError | undefined;
    ws.on("error", (e) => (error = e));
    ws.once("close", (closeCode, reason, wasClean) => {
      if (wasClean) resolve({ closeCode, reason });
      else {
        reject(
          error ??
            new WSError(
              "WS_ERR_ABNORMAL_CLOSE",
              `the connection closed abnormally (${closeCode})`,
              closeCode,
            ),
        );
      }
    });
  });
  // Whoever does not look at `closed` learns of the failure through the streams.
  p.catch(() => {});
  return p;
}

/** Sends through `send`, and waits for the write if more than `limit` bytes are buffered. */
function sendAndWait(
  ws: WS,
  limit: number,
  send: (callback: (error?: Error) => void) => void,
): Promise<void> | undefined {
  let done = false, failed: Error | undefined;
  let wake: (() => void) | undefined;
  send((error) => {
    done = true;
    failed = error;
    wake?.();
  });
  if (done || ws.bufferedAmount <= limit) return undefined;
  return new Promise<void>((resolve, reject) => {
    wake = () => (failed ? reject(failed) : resolve());
  });
}

/**
 * `ws` as a `ReadableStream` of the messages it receives and a `WritableStream` of messages to
 * send, with backpressure both ways: while the readable's consumer does not read, the socket stops
 * reading its peer; a write whose data leaves more than `writeHighWaterMark` bytes buffered
 * resolves only once it is written. Cancelling the readable or closing the writable closes the
 * socket. Works on server and client sockets alike.
 *
 * @example
 * ```ts
 * serve({ port: 8080 }, async (ws) => {
 *   const { readable, writable } = toStreams(ws);
 *   await readable.pipeThrough(new TransformStream({ transform: (m, c) => c.enqueue(m) }))
 *     .pipeTo(writable); // an echo server with backpressure
 * });
 * ```
 */
export function toStreams(ws: WS, options: StreamOptions = {}): WebSocketStreams {
  const it = messages(ws, options);
  const limit = options.writeHighWaterMark ?? ws.highWaterMark;
  const closed = closedOf(ws);
  const closeSocket = () => {
    if (ws.readyState === "open" || ws.readyState === "connecting") ws.close();
  };
  const readable = new ReadableStream<Message>({
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (err) {
        controller.error(err);
      }
    },
    cancel() {
      it.return?.();
      closeSocket();
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<SendData>({
    write(chunk) {
      return sendAndWait(ws, limit, (cb) => ws.send(chunk, cb));
    },
    async close() {
      closeSocket();
      await closed.catch(() => {});
    },
    abort() {
      closeSocket();
    },
  });
  return { readable, writable, closed };
}

/** Where {@link sendStream} takes the fragments of a message from. */
export type FragmentSource =
  | AsyncIterable<string | Uint8Array>
  | Iterable<string | Uint8Array>
  | ReadableStream<string | Uint8Array>;

async function* chunksOf(source: FragmentSource): AsyncGenerator<string | Uint8Array> {
  if (typeof (source as ReadableStream).getReader === "function") {
    const reader = (source as ReadableStream<string | Uint8Array>).getReader();
    try {
      while (true) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* source as AsyncIterable<string | Uint8Array>;
}

/**
 * Sends one message in fragments, one per chunk of `source` (strings make a text message, bytes a
 * binary one; all chunks must be of one kind), without holding the whole message in memory: each
 * fragment waits for the buffer to drain below `writeHighWaterMark`. No other message may be sent
 * on `ws` until the returned promise resolves. If `source` fails midway, the message cannot be
 * finished: the connection is closed with 1011 and the error rethrown.
 *
 * @example
 * ```ts
 * const file = await Deno.open("big.bin");
 * await sendStream(ws, file.readable); // a binary message of the file's size, 64 KiB at a time
 * ```
 */
export async function sendStream(
  ws: WS,
  source: FragmentSource,
  options: Pick<StreamOptions, "writeHighWaterMark"> & { binary?: boolean } = {},
): Promise<void> {
  const limit = options.writeHighWaterMark ?? ws.highWaterMark;
  let held: string | Uint8Array | undefined;
  let kind: "text" | "binary" | undefined;
  const send = async (data: string | Uint8Array, fin: boolean) => {
    const k = typeof data === "string" ? "text" : "binary";
    if (kind !== undefined && k !== kind) {
      throw new StateError("WS_ERR_FRAGMENT_TYPE", "a fragment must have the type of its message");
    }
    kind = k;
    await sendAndWait(ws, limit, (cb) => ws.sendFragment(data, fin, cb));
  };
  try {
    // One chunk is held back: only the last fragment has `fin` set.
    for await (const chunk of chunksOf(source)) {
      if (held !== undefined) await send(held, false);
      held = chunk;
    }
  } catch (err) {
    // Fragments went out: the message can only be ended by ending the connection.
    if (kind !== undefined && ws.readyState === "open") ws.close(1011, "message source failed");
    throw err;
  }
  await send(held ?? (kind === "binary" || options.binary ? new Uint8Array(0) : ""), true);
}
