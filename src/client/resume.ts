/**
 * The client side of a recoverable topic: remembers the position of the last message seen and
 * puts it into the URL of every new attempt (`?since=EPOCH:OFFSET`, as `cli.ts relay` reads it), so
 * that a reconnecting client gets exactly what it missed; tells the application when the history
 * no longer covers the gap. No sockets and no timers: it runs on every entry point, browsers too.
 *
 * @module
 */

import { Emitter } from "../emitter.ts";
import { formatPosition, parseTopicFrame, type StreamPosition } from "../backplane/position.ts";
import type { Provider } from "./reconnecting_socket.ts";

/** Events of a {@link ResumableTopic}. */
export type ResumableTopicEvents = {
  /**
   * A message of the topic, without its header, once (a message at or before the last position
   * seen is dropped). `position` is `undefined` for one delivered while the server's Redis was
   * unreachable, and for a message that is not a topic frame (passed on as it came).
   */
  message: [data: string | Uint8Array, isBinary: boolean, position: StreamPosition | undefined];
  /** A resume delivered everything missed; live messages follow `position`. */
  recovered: [position: StreamPosition | undefined];
  /**
   * The history no longer covers what was missed (trimmed, expired, or a new epoch): messages are
   * lost, reload the state. Live messages follow `position` (`undefined`: the topic has no history).
   */
  "not-recovered": [position: StreamPosition | undefined];
};

/** Options of a {@link ResumableTopic}. */
export interface ResumableTopicOptions {
  /** The query parameter that carries the position (default `"since"`, as `cli.ts relay`). */
  param?: string;
  /** Where to resume from on the first attempt (e.g. a position saved across page loads). */
  since?: StreamPosition;
}

/** What {@link ResumableTopic.attach} listens to: a `ReconnectingClient`, a `WS`. */
export interface MessageSource {
  /** Adds a listener for the connection's messages. */
  on(event: "message", listener: (data: string | Uint8Array, isBinary: boolean) => void): unknown;
  /** Removes it. */
  off(event: "message", listener: (data: string | Uint8Array, isBinary: boolean) => void): unknown;
}

/**
 * One recoverable topic read over a reconnecting connection: give its {@link url} to the client as
 * the URL provider, {@link attach} it to the client, and listen to its events instead of the
 * client's `message`. One connection carries one recoverable topic (frames do not name their
 * topic): for several topics, use one client and one `ResumableTopic` each.
 *
 * @example
 * ```ts
 * import { ReconnectingClient, ResumableTopic } from "@wsdriver/wsdriver";
 * const feed = new ResumableTopic("ws://127.0.0.1:8080/feed");
 * const client = new ReconnectingClient(feed.url); // each attempt asks feed.url for ?since=
 * feed.attach(client);
 * feed.on("message", (data) => console.log(data)); // every message once, in order
 * feed.on("not-recovered", () => location.reload()); // the history no longer covers the gap
 * ```
 */
export class ResumableTopic extends Emitter<ResumableTopicEvents> {
  #base: Provider<string | URL>;
  #param: string;
  #position: StreamPosition | undefined;
  #duplicates = 0;

  /**
   * `url` is the topic's URL without the position (a value, or a function asked before each
   * attempt). Throws a TypeError for a `param` that is not a plain query parameter name.
   */
  constructor(url: Provider<string | URL>, options: ResumableTopicOptions = {}) {
    super();
    this.#base = url;
    this.#param = options.param ?? "since";
    if (!/^[A-Za-z0-9_.~-]+$/.test(this.#param)) {
      throw new TypeError(`not a plain query parameter name: ${this.#param}`);
    }
    this.#position = options.since;
  }

  /**
   * The URL provider for a `ReconnectingClient`: the base URL (itself asked again each time if a
   * function), with the last position seen as the query parameter, replacing one already there.
   */
  readonly url = async (): Promise<string> => {
    const base = String(
      typeof this.#base === "function" ? await this.#base() : this.#base,
    );
    const since = this.since;
    return since === undefined ? base : withParam(base, this.#param, since);
  };

  /** The position of the last message seen (or of the last resume's outcome). */
  get position(): StreamPosition | undefined {
    return this.#position;
  }

  /**
   * {@link position} as `epoch:offset`, `undefined` before the first one: for a server that takes
   * it in a message rather than in the URL (send it from the client's `onOpen`).
   */
  get since(): string | undefined {
    return this.#position === undefined ? undefined : formatPosition(this.#position);
  }

  /** Messages dropped because they were at or before the last position seen. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * Reads one message of the connection: updates the position and emits `message`, `recovered`
   * or `not-recovered`. {@link attach} calls it for every message of a client.
   */
  receive(data: string | Uint8Array, isBinary: boolean): void {
    const frame = parseTopicFrame(data);
    if (frame === undefined) {
      this.emit("message", data, isBinary, undefined);
      return;
    }
    const position = frame.position;
    if (frame.kind !== "message") {
      this.#position = position;
      this.emit(frame.kind, position);
      return;
    }
    if (position !== undefined) {
      const last = this.#position;
      // A seam that delivers twice (a server that replays from `since` inclusive) stays invisible.
      if (last !== undefined && last.epoch === position.epoch && position.offset <= last.offset) {
        this.#duplicates++;
        return;
      }
      this.#position = position;
    }
    this.emit("message", frame.data, isBinary, position);
  }

  /** Reads every message of `source` (see {@link receive}); returns a function that stops it. */
  attach(source: MessageSource): () => void {
    const listener = (data: string | Uint8Array, isBinary: boolean) => this.receive(data, isBinary);
    source.on("message", listener);
    return () => void source.off("message", listener);
  }
}

/** `url` with `name=value` as its only `name` query parameter; relative URLs too (browsers). */
function withParam(url: string, name: string, value: string): string {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const kept = q < 0
    ? []
    : url.slice(q + 1).split("&").filter((p) => p !== "" && p.split("=", 1)[0] !== name);
  // ":" may stay as it is in a query: `?since=EPOCH:OFFSET`, as the relay documents it.
  kept.push(`${name}=${encodeURIComponent(value).replace(/%3A/g, ":")}`);
  return `${path}?${kept.join("&")}`;
}
