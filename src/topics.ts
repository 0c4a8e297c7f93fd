/**
 * Rooms (topics) and broadcast: a frame is encoded once and the same bytes are written to every
 * subscriber, and a subscriber whose outgoing buffer is over the high-water mark is skipped or
 * closed, so one slow client cannot make the server's memory grow without bound.
 *
 * @module
 */

import {
  encodeFrame,
  encodeIntoSlab,
  frameSlab,
  Opcode,
  SLAB_FRAME_LIMIT,
} from "./protocol/frame.ts";
import type { StreamPosition } from "./backplane/position.ts";
import type { SendData } from "./socket_types.ts";
import { toBytes, type WS } from "./ws.ts";
import { DEFAULTS } from "./defaults.ts";

/** What to do with a subscriber whose outgoing buffer is over its high-water mark. */
export type SlowConsumerPolicy = "drop" | "close";

/** Options of a {@link Topics} registry. */
export interface TopicsOptions {
  /** `"drop"`: skip the message for that subscriber (default); `"close"`: close it. */
  slowConsumer?: SlowConsumerPolicy;
  /** Close code for `slowConsumer: "close"`: 1008 (policy) or 1013 (try again later, default). */
  slowConsumerCode?: 1008 | 1013;
}

/** Options of {@link Topics.publish}. */
export interface PublishOptions {
  /** A socket that must not receive it, typically the sender. */
  except?: WS;
  /** @internal Deliver to this process's subscribers only (a backplane delivering). */
  local?: boolean;
}

/**
 * @internal What a backplane does for a {@link Topics} registry: it is told when a topic gets its
 * first and loses its last local subscriber, and it publishes across processes.
 */
export interface TopicsBridge {
  publish(topic: string, data: SendData, options: PublishOptions): number;
  ref(topic: string): void;
  unref(topic: string): void;
  resume(topic: string, ws: WS, since: StreamPosition): void;
  cancel(topic: string, ws: WS): void;
}

const encoder = new TextEncoder();

/**
 * A registry of topics and their subscribers. Each server has one (`server.topics`).
 *
 * @example
 * ```ts
 * const server = await serve({ port: 8080 }, (ws) => {
 *   ws.subscribe("lobby");
 *   ws.on("message", (m) => server.publish("lobby", m, { except: ws }));
 * });
 * ```
 */
export class Topics {
  #topics = new Map<string, Set<WS>>();
  /**
   * The topics each socket joined (sockets that joined none are not here). Weak, though `_leave`
   * deletes each entry: JavaScriptCore keeps the keys deleted from a small `Map` reachable until
   * its next full collection (see `socket_list.ts`), a `WeakMap`'s not. With every socket joining a
   * topic as it opens, Bun's handshakes ran 1.045× faster (6 pairs, 5 higher); Node within noise.
   */
  #joined = new WeakMap<WS, Set<string>>();
  #bridge: TopicsBridge | undefined;
  /** What `publish` does with a slow subscriber. */
  readonly slowConsumer: SlowConsumerPolicy;
  /** Close code when `slowConsumer` is `"close"`. */
  readonly slowConsumerCode: 1008 | 1013;
  /** Times `publish` skipped or closed a subscriber over its high-water mark. */
  slowConsumerDrops = 0;
  /** @internal Told of each subscriber skipped or closed for being slow (the server's `slow`). */
  _onSlow: ((ws: WS, topic: string) => void) | undefined;

  /** An empty registry. */
  constructor(options: TopicsOptions = {}) {
    this.slowConsumer = options.slowConsumer ?? DEFAULTS.server.slowConsumer;
    this.slowConsumerCode = options.slowConsumerCode ?? DEFAULTS.server.slowConsumerCode;
  }

  /** @internal Set by a backplane attached to the server (`undefined` detaches it). */
  _bridge(bridge: TopicsBridge | undefined): void {
    this.#bridge = bridge;
  }

  /** @internal Adds `ws` to `topic`'s subscribers (see `_subscribe`), or resumes it from `since`. */
  _add(topic: string, ws: WS, since?: StreamPosition): void {
    if (since !== undefined && this.#bridge !== undefined) {
      return this.#bridge.resume(topic, ws, since);
    }
    let set = this.#topics.get(topic);
    if (!set) {
      this.#topics.set(topic, set = new Set());
      this.#bridge?.ref(topic);
    }
    set.add(ws);
  }

  /** @internal Removes `ws` from `topic`'s subscribers (see `_unsubscribe`). */
  _remove(topic: string, ws: WS): void {
    this.#bridge?.cancel(topic, ws);
    const set = this.#topics.get(topic);
    if (!set) return;
    set.delete(ws);
    if (set.size === 0) {
      this.#topics.delete(topic);
      this.#bridge?.unref(topic);
    }
  }

  /** @internal Use `ws.subscribe`. */
  _subscribe(ws: WS, topic: string, since: StreamPosition | undefined): void {
    let joined = this.#joined.get(ws);
    if (joined?.has(topic)) return;
    if (!joined) this.#joined.set(ws, joined = new Set());
    joined.add(topic);
    this._add(topic, ws, since);
  }

  /** @internal Use `ws.unsubscribe`. */
  _unsubscribe(ws: WS, topic: string): void {
    const joined = this.#joined.get(ws);
    if (!joined?.delete(topic)) return;
    if (joined.size === 0) this.#joined.delete(ws);
    this._remove(topic, ws);
  }

  /** @internal See `ws.topics`. */
  _topicsOf(ws: WS): ReadonlySet<string> | undefined {
    return this.#joined.get(ws);
  }

  /** @internal A socket closed: it leaves every topic it joined. */
  _leave(ws: WS): void {
    const joined = this.#joined.get(ws);
    if (!joined) return;
    this.#joined.delete(ws);
    for (const topic of joined) this._remove(topic, ws);
  }

  /** Subscribers of `topic` (empty if none). */
  subscribers(topic: string): ReadonlySet<WS> {
    return this.#topics.get(topic) ?? new Set();
  }

  /** Topics with at least one subscriber. */
  get names(): string[] {
    return [...this.#topics.keys()];
  }

  /** How many topics have subscribers, and how many subscriptions there are over all of them. */
  counts(): { topics: number; subscribers: number } {
    let subscribers = 0;
    for (const set of this.#topics.values()) subscribers += set.size;
    return { topics: this.#topics.size, subscribers };
  }

  /**
   * Sends `data` to every open subscriber of `topic` (a string as text, bytes as binary); returns
   * how many got it. The frame is encoded once for all of them.
   */
  publish(topic: string, data: SendData, options: PublishOptions = {}): number {
    if (this.#bridge !== undefined && !options.local) {
      return this.#bridge.publish(topic, data, options);
    }
    const set = this.#topics.get(topic);
    if (!set) return 0;
    const isText = typeof data === "string";
    const payload = isText ? encoder.encode(data) : toBytes(data);
    const opcode = isText ? Opcode.Text : Opcode.Binary;
    let plain: Uint8Array[] | undefined;
    let rangeBuf: Uint8Array | undefined, rangeStart = 0, rangeEnd = 0;
    // One compressed frame per set of compression parameters, for peers without context takeover.
    let compressed: Map<string, Uint8Array[]> | undefined;
    let delivered = 0;
    for (const ws of set) {
      if (ws === options.except || ws.readyState !== "open") continue;
      if (ws._overHighWaterMark()) {
        this.slowConsumerDrops++;
        if (this.slowConsumer === "close") ws.close(this.slowConsumerCode, "slow consumer");
        this._onSlow?.(ws, topic);
        continue;
      }
      const d = ws._deflate;
      if (d !== undefined && payload.length >= d.threshold) {
        if (!d.statelessOut) {
          // Context takeover: this peer's compressed stream is its own.
          if (isText) ws.sendText(data);
          else ws.sendBinary(payload);
          delivered++;
          continue;
        }
        compressed ??= new Map();
        let chunks = compressed.get(d.outKey);
        if (!chunks) {
          compressed.set(
            d.outKey,
            chunks = encodeFrame(opcode, d.compress(payload), { rsv1: true }),
          );
        }
        ws._sendEncoded(chunks, isText ? data : payload);
      } else if (payload.length + 4 <= SLAB_FRAME_LIMIT) {
        // Encoded once into the frame slab: a subscriber's frames of one burst of publishes lie
        // next to each other there, and go out as one write without a copy.
        if (rangeEnd === 0) {
          rangeStart = encodeIntoSlab(opcode, payload);
          rangeBuf = frameSlab.buf;
          rangeEnd = frameSlab.pos;
        }
        ws._sendRange(rangeBuf!, rangeStart, rangeEnd, isText ? data : payload);
      } else {
        ws._sendEncoded(plain ??= encodeFrame(opcode, payload), isText ? data : payload);
      }
      delivered++;
    }
    return delivered;
  }
}
