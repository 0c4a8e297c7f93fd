/**
 * What subscribers of a recoverable topic see: every message comes with a one-line header that
 * names its position (epoch and offset) in the topic's history, so that a client can come back
 * with the last position it saw and be sent exactly what it missed. Plain text, the same for text
 * and binary messages, described in `docs/backplane.md`; no dependency on the backplane itself, so
 * clients import it from the root module.
 *
 * @module
 */

/** Where a message sits in a recoverable topic's history. */
export interface StreamPosition {
  /** Names one life of the topic's history; a new epoch means the old offsets mean nothing. */
  epoch: string;
  /** The message's offset in that history, from 1. */
  offset: number;
}

/**
 * A frame of a recoverable topic, as {@link parseTopicFrame} reads it:
 * - `"message"`: a message (`data` keeps its type: text as a string, binary as bytes);
 *   `position` is `undefined` if it was published while Redis was unreachable;
 * - `"recovered"`: after a resume, every missed message came before this frame;
 * - `"not-recovered"`: the history no longer covers what was missed (or the epoch changed): reload
 *   the state; `position` is where live messages continue from.
 */
export interface TopicFrame {
  /** What the frame is; only `"message"` carries application data. */
  kind: "message" | "recovered" | "not-recovered";
  /** Where it sits: keep the last one seen, to resume from it after a reconnect. */
  position: StreamPosition | undefined;
  /** The message without its header (`""` for the other kinds). */
  data: string | Uint8Array;
}

/** The prefix of every header line. */
export const TOPIC_FRAME_PREFIX = "wsd1 ";

const KINDS = { d: "message", r: "recovered", n: "not-recovered" } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EPOCH = /^[0-9A-Za-z_-]{1,64}$/;

/** @internal The header line of a frame: `wsd1 <kind> <epoch> <offset>\n`, `-` for no position. */
export function topicFrameHeader(kind: "d" | "r" | "n", position?: StreamPosition): string {
  return position === undefined
    ? `${TOPIC_FRAME_PREFIX}${kind} - -\n`
    : `${TOPIC_FRAME_PREFIX}${kind} ${position.epoch} ${position.offset}\n`;
}

/** @internal `data` with a header line in front, of the same type (text or binary). */
export function withHeader(header: string, data: string | Uint8Array): string | Uint8Array {
  if (typeof data === "string") return header + data;
  const h = encoder.encode(header);
  const out = new Uint8Array(h.length + data.length);
  out.set(h, 0);
  out.set(data, h.length);
  return out;
}

/**
 * Reads a frame that a subscriber of a recoverable topic received; `undefined` if it has no
 * header (not from a recoverable topic).
 *
 * @example
 * ```ts
 * let last: StreamPosition | undefined;
 * ws.on("message", (data) => {
 *   const f = parseTopicFrame(data);
 *   if (f?.kind === "message") {
 *     last = f.position ?? last;
 *     render(f.data);
 *   } else if (f?.kind === "not-recovered") reloadEverything();
 * });
 * // after a reconnect: connect(`ws://host/feed?since=${formatPosition(last)}`)
 * ```
 */
export function parseTopicFrame(data: string | Uint8Array): TopicFrame | undefined {
  const isText = typeof data === "string";
  const head = isText ? data.slice(0, 96) : decoder.decode(data.subarray(0, 96));
  if (!head.startsWith(TOPIC_FRAME_PREFIX)) return;
  const nl = head.indexOf("\n");
  if (nl < 0) return;
  const [k, epoch, offset] = head.slice(TOPIC_FRAME_PREFIX.length, nl).split(" ");
  const kind = KINDS[k as keyof typeof KINDS];
  if (kind === undefined || epoch === undefined || offset === undefined) return;
  let position: StreamPosition | undefined;
  if (epoch !== "-") {
    position = parsePosition(`${epoch}:${offset}`);
    if (position === undefined) return;
  }
  // The header is ASCII: its length in characters is its length in bytes.
  return { kind, position, data: isText ? data.slice(nl + 1) : data.subarray(nl + 1) };
}

/**
 * A position as text, `epoch:offset`, e.g. for a query parameter.
 *
 * @example
 * ```ts
 * formatPosition({ epoch: "k3J9x", offset: 42 }); // "k3J9x:42"
 * ```
 */
export function formatPosition(position: StreamPosition): string {
  return `${position.epoch}:${position.offset}`;
}

/**
 * Reads `epoch:offset` (as {@link formatPosition} writes it); `undefined` if malformed, so that a
 * hostile client's value is refused rather than trusted.
 *
 * @example
 * ```ts
 * const since = parsePosition(ws.request!.query.get("since") ?? "");
 * ws.subscribe("feed", { since }); // since undefined: just subscribe
 * ```
 */
export function parsePosition(text: string): StreamPosition | undefined {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return;
  const epoch = text.slice(0, colon), digits = text.slice(colon + 1);
  if (!EPOCH.test(epoch) || !/^[0-9]{1,15}$/.test(digits)) return;
  return { epoch, offset: Number(digits) };
}
