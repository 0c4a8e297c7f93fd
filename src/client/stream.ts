/**
 * `WebSocketStream`: the shape of the WHATWG proposal of that name, on wsdriver's client.
 *
 * @module
 */

import { connect, type ConnectOptions } from "../client.ts";
import { WSError } from "../errors.ts";
import {
  closedOf,
  type StreamOptions,
  toStreams,
  type WebSocketCloseInfo,
  type WebSocketStreams,
} from "../stream.ts";
import type { WS } from "../ws.ts";

/** Options of a {@link WebSocketStream}: {@link connect}'s and the streams' own. */
export interface WebSocketStreamOptions extends ConnectOptions, StreamOptions {}

/** What `opened` resolves with. */
export interface WebSocketStreamOpen extends Omit<WebSocketStreams, "closed"> {
  /** The subprotocol the server chose, or `""`. */
  protocol: string;
  /** The extensions agreed, or `""`. */
  extensions: string;
}

/**
 * A client connection as streams: `opened` resolves with a `readable` of messages and a
 * `writable` for sending, `closed` with the close code and reason. A reader that stops reading
 * stops the socket from reading the server; writes resolve once the buffer drains. `signal`
 * aborts the connection attempt.
 *
 * @example
 * ```ts
 * import { WebSocketStream } from "@wsdriver/wsdriver";
 * const wss = new WebSocketStream("ws://127.0.0.1:8080/echo");
 * const { readable, writable } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write("hello");
 * const { value } = await readable.getReader().read();
 * wss.close({ closeCode: 1000, reason: "done" });
 * console.log(value, await wss.closed);
 * ```
 */
export class WebSocketStream {
  /** The URL connected to. */
  readonly url: string;
  /** Resolves with the streams once the connection is open; rejects if it cannot open. */
  readonly opened: Promise<WebSocketStreamOpen>;
  /** Resolves with `{ closeCode, reason }` after a clean close; rejects after an unclean one. */
  readonly closed: Promise<WebSocketCloseInfo>;
  #ws: WS;

  /**
   * Starts connecting at once; await `opened` for the streams. A failure to connect rejects
   * `opened` rather than throwing here, as the proposal has it.
   *
   * @param url Where to connect (`ws:` or `wss:`).
   * @param options {@link connect}'s options and the streams' high-water marks.
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    const ws = this.#ws = connect(url, options);
    this.url = ws.url;
    this.closed = closedOf(ws);
    this.opened = new Promise((resolve, reject) => {
      let error: WSError | undefined;
      ws.on("error", (e) => (error = e));
      ws.once("open", () => {
        const { readable, writable } = toStreams(ws, options);
        resolve({ readable, writable, protocol: ws.protocol, extensions: ws.extensions });
      });
      ws.once("close", () => {
        reject(error ?? new WSError("WS_ERR_CLOSED_BEFORE_OPEN", "closed before it opened"));
      });
    });
    this.opened.catch(() => {});
  }

  /** Closes with `closeCode` (default 1000) and `reason`; abandons a connection still opening. */
  close(info: WebSocketCloseInfo = {}): void {
    const ws = this.#ws;
    if (ws.readyState === "connecting") ws.terminate();
    else if (ws.readyState === "open") ws.close(info.closeCode ?? 1000, info.reason ?? "");
  }
}
