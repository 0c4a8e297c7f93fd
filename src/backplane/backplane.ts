/**
 * A backplane makes a server's topics span processes: what one process publishes reaches the
 * subscribers of every process attached to the same backplane. This file holds what does not
 * depend on the medium (envelopes, reference-counted and batched subscriptions, sequence checks,
 * outages, recovery of missed messages); `src/backplane/redis.ts` moves the bytes through Redis.
 *
 * @module
 */

import { Emitter } from "../emitter.ts";
import type { Topics } from "../topics.ts";
import { type SendData, toBytes, type WS } from "../ws.ts";
import {
  decodeEnvelope,
  encodeEnvelope,
  encodeHead,
  type Envelope,
  ORIGIN_BYTES,
} from "./envelope.ts";
import { type StreamPosition, topicFrameHeader, withHeader } from "./position.ts";
import type { BackplaneStats } from "./stats.ts";
import type { BackplaneEvents, BackplaneOptions, GapInfo, History } from "./types.ts";

interface Resume {
  ws: WS;
  since: StreamPosition;
  /** Live messages that arrived while the history was being read (at most `maxReplay`). */
  live: Array<{ offset: number; framed: string | Uint8Array }>;
  /** More than that arrived: the client is told "not recovered". */
  overflow: boolean;
  cancelled: boolean;
  /**
   * Set once the history was sent: the position sent up to. The history reply and the live
   * messages come on different connections, so live ones up to it may still be on their way: the
   * socket joins the topic when the live stream passes it.
   */
  sent: StreamPosition | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A publisher forgets the counters of its least recently started topics beyond this many. */
const MAX_COUNTERS = 65_536;
/** A receiver remembers this many origins per topic. */
const MAX_ORIGINS = 1024;
/** First and longest pause before topics whose subscribe command failed are tried again, in ms. */
const RESUBSCRIBE_DELAY = { min: 1000, max: 30_000 };

/**
 * The medium-independent part of a backplane. Give one to `serve({ backplane })`; a backplane
 * serves one server.
 *
 * @example
 * ```ts
 * import { redisBackplane } from "@wsdriver/wsdriver/redis";
 * const backplane = redisBackplane({ url: "redis://127.0.0.1:6379" });
 * backplane.on("down", () => console.warn("redis unreachable: local delivery only"));
 * const server = await serve({ port: 8080, backplane }, (ws) => ws.subscribe("news"));
 * server.publish("news", "hello, every process"); // every subscriber of every process
 * ```
 */
export abstract class Backplane extends Emitter<BackplaneEvents> {
  // Not declared `implements TopicsBridge`: that interface is internal and stripped from the
  // published types; `topics._bridge(this)` checks the fit where it matters.
  /** This process's id in envelopes (16 hex digits, random per backplane). */
  readonly origin: string;
  /** Counters and state; the object stays the same, its values change. */
  readonly stats: BackplaneStats = {
    state: "connecting",
    outages: 0,
    published: 0,
    unsent: 0,
    received: 0,
    invalid: 0,
    duplicates: 0,
    gaps: 0,
    missed: 0,
    bytesOut: 0,
    bytesIn: 0,
    channels: 0,
    subscribeCommands: 0,
    recovered: 0,
    notRecovered: 0,
    errors: 0,
  };
  #originBytes: Uint8Array;
  #recoverable: (topic: string) => boolean;
  #closeOnGap: boolean;
  #maxReplay: number;
  #recoveryWait: number;
  /** Resumes waiting for the medium, woken by `_up` and `close`. */
  #whenUp: { promise: Promise<void>; wake: () => void } | undefined;
  #topics: Topics | undefined;
  /** Local interest per topic: subscribed sockets (counted as one) plus resumes under way. */
  #refs = new Map<string, number>();
  /** Topics subscribed on the medium, with the promise of their subscribe command. */
  #active = new Map<string, Promise<void>>();
  #flushQueued = false;
  #outSequence = new Map<string, number>();
  #inSequence = new Map<string, Map<string, number>>();
  /** The last offset delivered per recoverable topic: Redis orders them, so a lower one repeats. */
  #delivered = new Map<string, { epoch: string; offset: number }>();
  #resumes = new Map<string, Set<Resume>>();
  /** Sockets to skip when a recoverable topic's own message comes back, by `sequence:topic`. */
  #excepts = new Map<string, WS>();
  #epochs = 0;
  #wasUp = false;
  #resubscribe: { timer: ReturnType<typeof setTimeout> | undefined; delay: number } = {
    timer: undefined,
    delay: RESUBSCRIBE_DELAY.min,
  };

  /**
   * Sets up what every medium shares; a subclass connects to its medium and reports it with
   * `_up` and `_down`. Nothing is subscribed until a server takes the backplane over.
   *
   * @param options Which topics keep a history, and what to do about gaps.
   */
  constructor(options: BackplaneOptions = {}) {
    super();
    this.#originBytes = crypto.getRandomValues(new Uint8Array(ORIGIN_BYTES));
    this.origin = [...this.#originBytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    const r = options.recoverable ?? [];
    this.#recoverable = typeof r === "function" ? r : (topic) => r.includes(topic);
    this.#closeOnGap = options.closeOnGap ?? false;
    this.#maxReplay = options.maxReplay ?? 10_000;
    this.#recoveryWait = options.recoveryWait ?? 5000;
  }

  /** True while the medium is reachable. */
  get up(): boolean {
    return this.stats.state === "up";
  }

  /** Publishes an envelope; a failure only counts (at-most-once). */
  protected abstract _send(topic: string, envelope: Uint8Array): void;
  /** Appends to the topic's history and publishes, with the position inserted after `head`. */
  protected abstract _sendRecoverable(
    topic: string,
    head: Uint8Array,
    payload: Uint8Array,
    epoch: string,
  ): void;
  /**
   * Subscribes the medium to `topics`, batched: one call per turn of the event loop, and again with
   * every live topic after an outage, so it must not mind topics it already has. A rejection
   * counts as an error while the medium is up.
   */
  protected abstract _subscribe(topics: string[]): Promise<void>;
  /** Unsubscribes the medium from `topics`, the last local subscribers of which left. */
  protected abstract _unsubscribe(topics: string[]): Promise<void>;
  /** The history of `topic` after `offset`, at most `count` entries. */
  protected abstract _history(topic: string, offset: number, count: number): Promise<History>;
  /** Disconnects from the medium for good; {@link Backplane.close} calls it once. */
  protected abstract _shutdown(): Promise<void>;

  /** @internal A server takes this backplane over (see `serve({ backplane })`). */
  _attach(topics: Topics): void {
    if (this.#topics !== undefined) throw new TypeError("a backplane serves one server");
    this.#topics = topics;
    topics._bridge(this);
  }

  /** Stops: leaves every topic, disconnects. Local delivery goes on without the backplane. */
  async close(): Promise<void> {
    if (this.stats.state === "closed") return;
    this.stats.state = "closed";
    clearTimeout(this.#resubscribe.timer);
    this.#wake();
    this.#topics?._bridge(undefined);
    await this._shutdown();
  }

  /** @internal See `TopicsBridge` in src/topics.ts. */
  ref(topic: string): void {
    this.#refs.set(topic, (this.#refs.get(topic) ?? 0) + 1);
    this.#queueFlush();
  }

  /** @internal */
  unref(topic: string): void {
    const n = (this.#refs.get(topic) ?? 0) - 1;
    if (n > 0) this.#refs.set(topic, n);
    else this.#refs.delete(topic);
    this.#queueFlush();
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Subscriptions made in one turn (a burst of connections) go out as one command.
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    if (!this.#flushQueued) return;
    this.#flushQueued = false;
    if (this.stats.state === "closed") return;
    const add: string[] = [], remove: string[] = [];
    for (const topic of this.#refs.keys()) if (!this.#active.has(topic)) add.push(topic);
    for (const topic of this.#active.keys()) if (!this.#refs.has(topic)) remove.push(topic);
    if (add.length > 0) this.#subscribe(add);
    if (remove.length > 0) {
      for (const topic of remove) {
        this.#active.delete(topic);
        this.#inSequence.delete(topic);
        this.#delivered.delete(topic);
      }
      this.#unsubscribe(remove);
    }
    this.stats.channels = this.#active.size;
  }

  /** Subscribes the medium to `topics`, which are active from now on. */
  #subscribe(topics: string[]): void {
    this.stats.subscribeCommands++;
    const done: Promise<void> = this._subscribe(topics).then(() => {
      this.#resubscribe.delay = RESUBSCRIBE_DELAY.min;
    }, (err) => {
      // While down, `_up` subscribes every active topic again.
      if (!this.up) return;
      this.#failed(err);
      // Refused while up (an ACL, a command lost with its connection): the topics would stay
      // deaf. They are forgotten, and the next flush, after a pause, subscribes them again.
      for (const topic of topics) if (this.#active.get(topic) === done) this.#active.delete(topic);
      this.stats.channels = this.#active.size;
      const r = this.#resubscribe;
      if (r.timer !== undefined) return;
      r.timer = setTimeout(() => {
        r.timer = undefined;
        this.#queueFlush();
      }, r.delay);
      r.delay = Math.min(RESUBSCRIBE_DELAY.max, r.delay * 2);
    });
    for (const topic of topics) this.#active.set(topic, done);
  }

  /** Unsubscribes the medium from `topics`; a failure only counts while the medium is up. */
  #unsubscribe(topics: string[]): void {
    this.stats.subscribeCommands++;
    this._unsubscribe(topics).catch((err) => {
      if (this.up) this.#failed(err);
    });
  }

  #failed(err: unknown): void {
    this.stats.errors++;
    this.emit("error", err);
  }

  /** @internal Publishes locally and to every other process. */
  publish(topic: string, data: SendData, options: { except?: WS }): number {
    const topics = this.#topics!;
    const isText = typeof data === "string";
    const payload = isText ? encoder.encode(data) : toBytes(data);
    const recoverable = this.#recoverable(topic);
    const sequence = (this.#outSequence.get(topic) ?? 0) + 1;
    if (sequence === 1 && this.#outSequence.size >= MAX_COUNTERS) {
      // Forgotten counters restart at 1, which receivers take as a fresh start, not a gap.
      this.#outSequence.delete(this.#outSequence.keys().next().value!);
    }
    this.#outSequence.set(topic, sequence);
    this.stats.published++;
    const head = encodeHead(this.#originBytes, sequence, topic, isText, recoverable && this.up);
    if (!this.up) {
      this.stats.unsent++;
      const local = recoverable ? withHeader(topicFrameHeader("d"), isText ? data : payload) : data;
      return topics.publish(topic, local, { except: options.except, local: true });
    }
    if (recoverable) {
      // Delivered when it comes back with its position, in the same order on every process.
      if (options.except) {
        // Echoes that never come (a failed command) are forgotten in bulk.
        if (this.#excepts.size >= MAX_COUNTERS) this.#excepts.clear();
        this.#excepts.set(`${sequence}:${topic}`, options.except);
      }
      this.stats.bytesOut += head.length + payload.length;
      this._sendRecoverable(topic, head, payload, `${this.origin}${(this.#epochs++).toString(36)}`);
      const subscribers = topics.subscribers(topic);
      return subscribers.size - (options.except && subscribers.has(options.except) ? 1 : 0);
    }
    const delivered = topics.publish(topic, data, { except: options.except, local: true });
    const envelope = encodeEnvelope(head, payload);
    this.stats.bytesOut += envelope.length;
    this._send(topic, envelope);
    return delivered;
  }

  /** Counts a failed command; its message is lost (at-most-once). */
  protected _error(err: unknown): void {
    this.#failed(err);
  }

  /** Delivers an envelope that came from the medium to this process's subscribers. */
  protected _received(bytes: Uint8Array): void {
    this.stats.received++;
    this.stats.bytesIn += bytes.length;
    const env = decodeEnvelope(bytes);
    if (env === undefined) {
      this.stats.invalid++;
      return;
    }
    const own = env.origin === this.origin;
    const positioned = env.epoch !== "";
    // Own plain messages were delivered locally when published.
    if (own && !positioned) return;
    if (!this.#refs.has(env.topic)) return;
    if (!own && !this.#inOrder(env)) return;
    const data = env.isText ? decoder.decode(env.payload) : env.payload;
    const topics = this.#topics!;
    if (!positioned) {
      topics.publish(env.topic, data, { local: true });
      return;
    }
    const last = this.#delivered.get(env.topic);
    if (last !== undefined && last.epoch === env.epoch && env.offset <= last.offset) {
      this.stats.duplicates++;
      return;
    }
    this.#delivered.set(env.topic, { epoch: env.epoch, offset: env.offset });
    const framed = withHeader(topicFrameHeader("d", env), data);
    const resumes = this.#resumes.get(env.topic);
    let caughtUp: Resume[] | undefined;
    if (resumes) {
      for (const r of [...resumes]) {
        const sent = r.sent;
        if (sent === undefined) {
          if (r.live.length < this.#maxReplay) r.live.push({ offset: env.offset, framed });
          else r.overflow = true;
        } else if (env.epoch !== sent.epoch || env.offset > sent.offset) {
          this.#finish(env.topic, r, true); // joins: this message reaches it with the others
        } else if (env.offset === sent.offset) {
          (caughtUp ??= []).push(r); // already sent: joins after it
        }
      }
    }
    const key = `${env.sequence}:${env.topic}`;
    const except = own ? this.#excepts.get(key) : undefined;
    if (except) this.#excepts.delete(key);
    topics.publish(env.topic, framed, { except, local: true });
    if (caughtUp) { for (const r of caughtUp) this.#finish(env.topic, r, true); }
  }

  /** Checks an origin's sequence on a topic: reports a gap, drops what was already seen. */
  #inOrder(env: Envelope): boolean {
    let origins = this.#inSequence.get(env.topic);
    if (!origins) this.#inSequence.set(env.topic, origins = new Map());
    const last = origins.get(env.origin);
    if (last !== undefined && env.sequence !== 1) {
      if (env.sequence <= last) {
        this.stats.duplicates++;
        return false;
      }
      if (env.sequence > last + 1) {
        this.#gap({
          topic: env.topic,
          cause: "sequence",
          origin: env.origin,
          missed: env.sequence - last - 1,
        });
      }
    } else if (last === undefined && origins.size >= MAX_ORIGINS) {
      origins.delete(origins.keys().next().value!);
    }
    origins.set(env.origin, env.sequence);
    return true;
  }

  #gap(info: GapInfo): void {
    this.stats.gaps++;
    this.stats.missed += info.missed ?? 0;
    this.emit("gap", info);
    if (!this.#closeOnGap) return;
    for (const ws of [...this.#topics!.subscribers(info.topic)]) {
      if (ws.readyState === "open") ws.close(1013, "messages lost: reload");
    }
  }

  /** The medium is reachable (again). */
  protected _up(): void {
    if (this.stats.state === "up" || this.stats.state === "closed") return;
    const after = this.#wasUp;
    this.#wasUp = true;
    this.stats.state = "up";
    // Topics joined while unreachable were not subscribed: every live one again (idempotent).
    const topics = [...this.#active.keys()];
    if (topics.length > 0) this.#subscribe(topics);
    this.#wake();
    this.emit("up");
    if (!after) return;
    // What other processes published meanwhile is lost: one gap per live topic says so, and the
    // origins' counters start afresh (their skipped sequences would only repeat it).
    this.#inSequence.clear();
    for (const topic of topics) {
      this.#gap({ topic, cause: "outage", origin: "", missed: undefined });
    }
  }

  #wake(): void {
    this.#whenUp?.wake();
    this.#whenUp = undefined;
  }

  /** Resolves when the medium is up or the backplane closed, or after `ms`. */
  async #untilUp(ms: number): Promise<void> {
    if (this.up || this.stats.state === "closed") return;
    if (!this.#whenUp) {
      let wake!: () => void;
      const promise = new Promise<void>((resolve) => wake = resolve);
      this.#whenUp = { promise, wake };
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
    try {
      await Promise.race([this.#whenUp.promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The medium is unreachable. */
  protected _down(error?: Error): void {
    if (this.stats.state !== "up") return;
    this.stats.state = "down";
    this.#excepts.clear();
    this.stats.outages++;
    this.emit("down", error);
  }

  /** @internal `ws.subscribe(topic, { since })`: replays what it missed, then joins live. */
  resume(topic: string, ws: WS, since: StreamPosition): void {
    const r: Resume = {
      ws,
      since,
      live: [],
      overflow: false,
      cancelled: false,
      sent: undefined,
    };
    let set = this.#resumes.get(topic);
    if (!set) this.#resumes.set(topic, set = new Set());
    set.add(r);
    this.ref(topic);
    this.#flush();
    this.#recover(topic, r).catch((err) => {
      this.#failed(err);
      this.#finish(topic, r, false);
    });
  }

  /** Ends a resume: the socket joins the topic (if still open and subscribed) or not. */
  #finish(topic: string, r: Resume, join: boolean): void {
    const set = this.#resumes.get(topic);
    if (!set?.delete(r)) return;
    if (set.size === 0) this.#resumes.delete(topic);
    const ws = r.ws;
    if (join && !r.cancelled && ws.readyState === "open" && ws.isSubscribed(topic)) {
      this.#topics!._add(topic, ws);
    }
    this.unref(topic);
  }

  /** @internal The socket left the topic (or closed) before its resume finished. */
  cancel(topic: string, ws: WS): void {
    const set = this.#resumes.get(topic);
    if (!set) return;
    for (const r of [...set]) {
      if (r.ws !== ws) continue;
      r.cancelled = true;
      // Waiting for the live stream only: nothing more to do.
      if (r.sent !== undefined) this.#finish(topic, r, false);
    }
  }

  async #recover(topic: string, r: Resume): Promise<void> {
    let history: History | undefined;
    try {
      // Redis not reachable yet (a process still connecting) or for now (an outage): the resume
      // waits for it rather than tell every client that reconnects to reload.
      await this.#untilUp(this.#recoveryWait);
      // Subscribed first: whatever the history read misses arrives live, buffered in `r.live`.
      // `_up` subscribed the topic again if it was joined while the medium was unreachable.
      await this.#active.get(topic);
      if (this.up) history = await this._history(topic, r.since.offset, this.#maxReplay + 1);
    } catch (err) {
      this.#failed(err);
    }
    const { ws, since } = r;
    if (r.cancelled || ws.readyState !== "open" || !ws.isSubscribed(topic)) {
      return this.#finish(topic, r, false);
    }
    const entries = history?.entries ?? [];
    // Offsets are consecutive: the history covers the gap exactly if it holds all of them.
    const recovered = history !== undefined && !r.overflow && history.epoch === since.epoch &&
      since.offset <= history.offset && entries.length === history.offset - since.offset &&
      entries.length <= this.#maxReplay;
    const at = history && history.epoch !== ""
      ? { epoch: history.epoch, offset: history.offset }
      : undefined;
    let replayed = 0, sent = 0;
    try {
      if (recovered) {
        for (const bytes of entries) {
          const env = decodeEnvelope(bytes);
          if (env === undefined) continue;
          sent = env.offset;
          const data = env.isText ? decoder.decode(env.payload) : env.payload;
          ws.send(withHeader(topicFrameHeader("d", env), data));
          replayed++;
        }
        ws.sendText(topicFrameHeader("r", at));
      } else {
        ws.sendText(topicFrameHeader("n", at));
      }
      let seen = Math.max(at?.offset ?? 0, sent);
      // After an overflow the client reloads anyway: live messages resume from the next one.
      if (!r.overflow) {
        for (const m of r.live) {
          if (m.offset > seen) {
            ws.send(m.framed);
            seen = m.offset;
          }
        }
      }
      r.sent = at === undefined ? undefined : { epoch: at.epoch, offset: seen };
    } catch {
      return this.#finish(topic, r, false); // closed meanwhile
    }
    r.live = [];
    if (recovered) this.stats.recovered++;
    else this.stats.notRecovered++;
    this.emit("recovery", { topic, ws, recovered, replayed });
    // Joins now if the live stream is already past what was sent, else with its next message.
    const live = this.#delivered.get(topic);
    const sentTo = r.sent;
    if (
      sentTo === undefined || r.overflow ||
      (live !== undefined && live.epoch === sentTo.epoch && live.offset >= sentTo.offset)
    ) {
      this.#finish(topic, r, true);
    }
  }
}
