/**
 * The Redis backplane: envelopes go through Redis pub/sub (one channel per topic), recoverable
 * topics also into a capped Redis Stream. Redis is spoken by `@redis/client` (node-redis), which
 * works alike on Deno, Bun and Node; `docs/backplane.md` says why it was chosen over `ioredis`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { createClient, RESP_TYPES } from "@redis/client";
import { Backplane } from "./backplane.ts";
import type { BackplaneOptions, History } from "./types.ts";

/** Options of {@link redisBackplane}. */
export interface RedisBackplaneOptions extends BackplaneOptions {
  /** Where Redis is (default `redis://127.0.0.1:6379`). */
  url?: string;
  /** Prefix of every channel and key, so that clusters can share a Redis (default `"wsd:"`). */
  prefix?: string;
  /** History of recoverable topics. */
  history?: {
    /** Messages kept per topic (default 1000). */
    maxLength?: number;
    /** Trim to exactly `maxLength` (default: Redis's cheaper approximate `MAXLEN ~`). */
    exact?: boolean;
    /** Seconds a topic's history lives after its last message; 0 (default) keeps it. */
    ttl?: number;
  };
  /** Delay before each reconnection attempt: doubling from `minDelay` to `maxDelay` ms. */
  reconnect?: { minDelay?: number; maxDelay?: number };
}

/**
 * Appends a message to a topic's stream and publishes it, atomically, so that the order of
 * offsets is the order of delivery on every process. KEYS: stream, meta hash. ARGV: envelope head,
 * payload, epoch for a topic without history, MAXLEN, "=" or "~", ttl, channel. The envelope is
 * head, offset (8 bytes, big-endian), epoch length (1 byte), epoch, payload.
 */
const PUBLISH_SCRIPT = `
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[3]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', epoch)
end
local offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
local be, n = '', offset
for i = 1, 8 do
  be = string.char(n % 256) .. be
  n = math.floor(n / 256)
end
local msg = ARGV[1] .. be .. string.char(#epoch) .. epoch .. ARGV[2]
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[5], ARGV[4], offset .. '-0', 'm', msg)
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
redis.call('PUBLISH', ARGV[7], msg)
return offset`;

/** A topic's epoch, latest offset and entries after ARGV[1] (at most ARGV[2]), read atomically. */
const HISTORY_SCRIPT = `
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then return {'', '0', {}} end
local top = redis.call('HGET', KEYS[2], 'o')
return {epoch, top, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])}`;

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");
const PUBLISH_SHA = sha1(PUBLISH_SCRIPT);
const HISTORY_SHA = sha1(HISTORY_SCRIPT);
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer };
const decoder = new TextDecoder();
/** Longest a closing backplane waits for Redis to answer the commands in flight, in ms. */
const CLOSE_WAIT = 1000;
/** The client takes strings and Buffers only: a Buffer view of the same bytes, not a copy. */
const buf = (b: Uint8Array | string): Buffer | string =>
  typeof b === "string" || b instanceof Buffer
    ? b
    : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

type Client = ReturnType<typeof createClient>;
type Arg = string | Uint8Array;

/**
 * Topics across processes through Redis. Give it to `serve({ backplane })`; the server closes it.
 * While Redis is unreachable, local delivery goes on, `publish` does not throw, and the backplane
 * reconnects with backoff and subscribes every live topic again by itself.
 *
 * @example
 * ```ts
 * import { serve } from "@wsdriver/wsdriver";
 * import { redisBackplane } from "@wsdriver/wsdriver/redis";
 *
 * const backplane = redisBackplane({ url: "redis://127.0.0.1:6379", recoverable: ["feed"] });
 * backplane.on("gap", (g) => console.warn("lost messages of", g.topic));
 * const server = await serve({ port: 8080, backplane }, (ws) => {
 *   ws.subscribe("chat");
 *   ws.on("message", (m) => server.publish("chat", m)); // every subscriber, every process
 * });
 * ```
 */
export class RedisBackplane extends Backplane {
  /** Where Redis is. */
  readonly url: string;
  /** Prefix of its channels and keys: what to look for, or clean up, in Redis. */
  readonly prefix: string;
  #pub: Client;
  #sub: Client;
  #maxLength: string;
  #trim: "=" | "~";
  #ttl: string;
  #listener = (message: Buffer) => this._received(message);
  #delay: (retries: number) => number;
  #retryTimers = new Set<ReturnType<typeof setTimeout>>();

  /**
   * Opens two Redis connections at once (pub/sub needs one of its own) and keeps retrying them;
   * it never throws for an unreachable Redis, it reports `down` and goes on locally.
   * {@link redisBackplane} is the same call.
   *
   * @param options Where Redis is, the key prefix, the history and the reconnect delays.
   */
  constructor(options: RedisBackplaneOptions = {}) {
    super(options);
    this.url = options.url ?? "redis://127.0.0.1:6379";
    this.prefix = options.prefix ?? "wsd:";
    this.#maxLength = String(options.history?.maxLength ?? 1000);
    this.#trim = options.history?.exact ? "=" : "~";
    this.#ttl = String(options.history?.ttl ?? 0);
    const min = options.reconnect?.minDelay ?? 100, max = options.reconnect?.maxDelay ?? 5000;
    this.#delay = (retries) =>
      Math.min(max, min * 2 ** Math.min(retries, 16)) * (0.75 + Math.random() / 2);
    const clientOptions = {
      url: this.url,
      // At-most-once: a command while Redis is unreachable fails now instead of piling up.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: this.#delay,
      },
    };
    this.#pub = createClient(clientOptions);
    this.#sub = createClient(clientOptions);
    // Loaded before anything else is sent on a (new) connection, so that no EVALSHA meets a Redis
    // without the script: a NOSCRIPT retry would run after later publishes and reorder them.
    this.#pub.on("ready", () => {
      for (const script of [PUBLISH_SCRIPT, HISTORY_SCRIPT]) {
        this.#pub.sendCommand(["SCRIPT", "LOAD", script]).catch((err) => this._error(err));
      }
    });
    for (const client of [this.#pub, this.#sub]) {
      client.on("ready", () => this.#state());
      client.on("end", () => this.#state());
      client.on("reconnecting", () => this.#state());
      client.on("error", (err: Error) => this.#state(err));
      this.#connect(client, 0);
    }
  }

  /** The client retries a lost connection by itself, but not a first one that failed. */
  #connect(client: Client, retries: number): void {
    client.connect().catch(() => {
      if (this.stats.state === "closed" || client.isOpen) return;
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer);
        this.#connect(client, retries + 1);
      }, this.#delay(retries));
      this.#retryTimers.add(timer);
    });
  }

  /** Up when both connections are ready; down when either is not. */
  #state(error?: Error): void {
    if (this.stats.state === "closed") return;
    if (this.#pub.isReady && this.#sub.isReady) this._up();
    else this._down(error);
  }

  #channel(topic: string): string {
    return `${this.prefix}c:${topic}`;
  }

  /** A plain `PUBLISH`: no history, so nothing to resume from, and the cheapest command. */
  protected _send(topic: string, envelope: Uint8Array): void {
    this.#pub.sendCommand(["PUBLISH", this.#channel(topic), buf(envelope)])
      .catch((err) => this._error(err));
  }

  /** One script appends to the stream and publishes, so offsets follow the order of delivery. */
  protected _sendRecoverable(
    topic: string,
    head: Uint8Array,
    payload: Uint8Array,
    epoch: string,
  ): void {
    this.#script(PUBLISH_SCRIPT, PUBLISH_SHA, [
      `${this.prefix}s:${topic}`,
      `${this.prefix}m:${topic}`,
    ], [
      head,
      payload,
      epoch,
      this.#maxLength,
      this.#trim,
      this.#ttl,
      this.#channel(topic),
    ]).catch((err) => this._error(err));
  }

  /** `SUBSCRIBE` on the subscriber connection, one channel per topic under the prefix. */
  protected _subscribe(topics: string[]): Promise<void> {
    return this.#sub.subscribe(topics.map((t) => this.#channel(t)), this.#listener, true);
  }

  /** `UNSUBSCRIBE` from the topics' channels. */
  protected _unsubscribe(topics: string[]): Promise<void> {
    return this.#sub.unsubscribe(topics.map((t) => this.#channel(t)), this.#listener, true);
  }

  /** Reads epoch, latest offset and entries in one script, so they agree with each other. */
  protected async _history(topic: string, offset: number, count: number): Promise<History> {
    const [epoch, top, entries] = await this.#script(
      HISTORY_SCRIPT,
      HISTORY_SHA,
      [`${this.prefix}s:${topic}`, `${this.prefix}m:${topic}`],
      [String(offset), String(count)],
    ) as [Uint8Array, Uint8Array, Array<[Uint8Array, Uint8Array[]]>];
    return {
      epoch: decoder.decode(epoch),
      offset: Number(decoder.decode(top)),
      entries: entries.map(([, fields]) => fields[1]),
    };
  }

  /** Stops the retries of a first connection and closes both connections. */
  protected async _shutdown(): Promise<void> {
    for (const timer of this.#retryTimers) clearTimeout(timer);
    await Promise.all([this.#pub, this.#sub].map((c) => this.#end(c)));
  }

  /**
   * Lets a ready connection finish its commands, for at most {@link CLOSE_WAIT} ms, and drops any
   * other: the client's `close()` waits for its queue to drain, which a lost connection never
   * does (a subscription made before the loss stays in it), so a server would never close.
   */
  async #end(client: Client): Promise<void> {
    if (!client.isReady) return client.destroy();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => timer = setTimeout(resolve, CLOSE_WAIT, false));
    const drained = await Promise.race([client.close().then(() => true), late]);
    clearTimeout(timer);
    if (!drained) client.destroy();
  }

  /** Runs a script by its digest; with EVAL if the Redis lost it (`SCRIPT FLUSH`). */
  async #script(script: string, sha: string, keys: string[], args: Arg[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args.map(buf)];
    const options = { typeMapping: BUFFERS };
    try {
      return await this.#pub.sendCommand(["EVALSHA", sha, ...tail], options);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith("NOSCRIPT")) throw err;
      return await this.#pub.sendCommand(["EVAL", script, ...tail], options);
    }
  }
}

/**
 * Creates a {@link RedisBackplane}.
 *
 * @example
 * ```ts
 * const server = await serve({ port: 8080, backplane: redisBackplane({ url: "redis://127.0.0.1:6379" }) }, (ws) => ws.subscribe("news"));
 * ```
 */
export function redisBackplane(options: RedisBackplaneOptions = {}): RedisBackplane {
  return new RedisBackplane(options);
}
