/**
 * The types a {@link WS} shares with the modules around it (streams, topics, the server): kept
 * apart from the class so that those modules and `WS` do not import each other.
 *
 * @module
 */

import type { StreamPosition } from "./backplane/position.ts";
import type { WSError } from "./errors.ts";

/** Connection state; it only moves forward. */
export type ReadyState = "connecting" | "open" | "closing" | "closed";

/** Events of a {@link WS}, with their listener arguments. */
export type WSEvents = {
  /** The opening handshake completed. */
  open: [];
  /** A complete message: text as a string, binary as a `Uint8Array`. */
  message: [data: string | Uint8Array, isBinary: boolean];
  /** A ping arrived (it is answered automatically). */
  ping: [payload: Uint8Array];
  /** A pong arrived. */
  pong: [payload: Uint8Array];
  /** Something went wrong: the peer broke the protocol, or the handshake failed. `close` follows. */
  error: [error: WSError];
  /** The connection is closed. `code` is 1006 if it dropped without a close frame. */
  close: [code: number, reason: string, wasClean: boolean];
  /** The outgoing buffer was flushed to the operating system. */
  drain: [];
};

/** What the server saw in the upgrade request. */
export interface UpgradeRequest {
  /** Path of the request target, e.g. `/chat/lobby`. */
  path: string;
  /** Parameters of the matched resource pattern, e.g. `{ room: "lobby" }` for `/chat/:room`. */
  params: Record<string, string>;
  /** Query of the request target. */
  query: URLSearchParams;
  /** All request headers. */
  headers: Headers;
}

/** Data accepted by {@link WS.send}. */
export type SendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** Options of one send. */
export interface SendOptions {
  /**
   * With permessage-deflate negotiated: true compresses this message whatever its size, false
   * sends it uncompressed; by default, messages from the deflate `threshold` up are compressed.
   */
  compress?: boolean;
}

/** Called once the data was written to the socket, or with the error that prevented it. */
export type SendCallback = (error?: Error) => void;

/** Options of {@link WS.subscribe}. */
export interface SubscribeOptions {
  /**
   * The last position the client saw on a recoverable topic (see `parsePosition`): it is first
   * sent every message after it, or told "not recovered", then live ones. Needs a backplane that
   * keeps the topic's history; ignored otherwise.
   */
  since?: StreamPosition;
}

/**
 * @internal What a server's socket asks of the server's topic registry (a `Topics`), which keeps
 * the topics each socket joined: the socket itself keeps none of it.
 */
export interface TopicRegistry<S> {
  _subscribe(ws: S, topic: string, since: StreamPosition | undefined): void;
  _unsubscribe(ws: S, topic: string): void;
  /** The topics `ws` joined, if any. */
  _topicsOf(ws: S): ReadonlySet<string> | undefined;
  /** `ws` closed: it leaves every topic. */
  _leave(ws: S): void;
}
