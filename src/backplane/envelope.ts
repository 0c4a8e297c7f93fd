/**
 * The backplane envelope: how one published message travels between processes. Binary, versioned,
 * and laid out byte by byte in `docs/backplane.md`, so that a program in another language can
 * publish to and read from the same cluster.
 *
 * @module
 */

/** First byte of every envelope. */
export const ENVELOPE_MAGIC = 0xb7;
/** The envelope version this code writes and reads. */
export const ENVELOPE_VERSION = 1;
/** Bytes of an origin id. */
export const ORIGIN_BYTES = 8;
/** Flag: the envelope carries a stream offset and an epoch (a recoverable topic). */
export const FLAG_POSITION = 0x01;
/** Message type byte: the WebSocket opcode the message goes out with. */
export const TYPE_TEXT = 1;
/** Message type byte for binary messages. */
export const TYPE_BINARY = 2;
/** Fixed part before the topic: magic, version, type, flags, origin, sequence, topic length. */
export const HEAD_BYTES = 4 + ORIGIN_BYTES + 8 + 2;
/** Longest topic an envelope carries, in UTF-8 bytes. */
export const MAX_TOPIC_BYTES = 0xffff;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A decoded envelope; `payload` is a view into the received bytes, not a copy. */
export interface Envelope {
  isText: boolean;
  /** The publishing process's id, as 16 hex digits. */
  origin: string;
  /** Per origin and topic, from 1; 1 again means the origin started counting afresh. */
  sequence: number;
  topic: string;
  /** Stream offset of a recoverable topic's message (0 when absent). */
  offset: number;
  /** Epoch of a recoverable topic's stream (`""` when absent). */
  epoch: string;
  payload: Uint8Array;
}

/**
 * Encodes everything before the position and payload: a recoverable topic's publish has Redis
 * insert its offset and epoch between this head and the payload (see `docs/backplane.md`).
 */
export function encodeHead(
  origin: Uint8Array,
  sequence: number,
  topic: string,
  isText: boolean,
  withPosition: boolean,
): Uint8Array {
  const t = encoder.encode(topic);
  if (t.length > MAX_TOPIC_BYTES) throw new RangeError("topic over 65535 bytes of UTF-8");
  const head = new Uint8Array(HEAD_BYTES + t.length);
  head[0] = ENVELOPE_MAGIC;
  head[1] = ENVELOPE_VERSION;
  head[2] = isText ? TYPE_TEXT : TYPE_BINARY;
  head[3] = withPosition ? FLAG_POSITION : 0;
  head.set(origin, 4);
  const view = new DataView(head.buffer);
  view.setBigUint64(4 + ORIGIN_BYTES, BigInt(sequence));
  view.setUint16(4 + ORIGIN_BYTES + 8, t.length);
  head.set(t, HEAD_BYTES);
  return head;
}

/** A whole envelope without position, in one buffer: head and payload. */
export function encodeEnvelope(head: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/** Decodes an envelope; `undefined` for anything malformed or of another version. */
export function decodeEnvelope(b: Uint8Array): Envelope | undefined {
  if (b.length < HEAD_BYTES || b[0] !== ENVELOPE_MAGIC || b[1] !== ENVELOPE_VERSION) return;
  const type = b[2], flags = b[3];
  if ((type !== TYPE_TEXT && type !== TYPE_BINARY) || (flags & ~FLAG_POSITION) !== 0) return;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const sequence = Number(view.getBigUint64(4 + ORIGIN_BYTES));
  const topicLength = view.getUint16(4 + ORIGIN_BYTES + 8);
  let p = HEAD_BYTES + topicLength;
  if (p > b.length) return;
  let offset = 0, epoch = "";
  if (flags & FLAG_POSITION) {
    if (p + 9 > b.length) return;
    offset = Number(view.getBigUint64(p));
    const epochLength = b[p + 8];
    p += 9;
    if (p + epochLength > b.length) return;
    epoch = decoder.decode(b.subarray(p, p + epochLength));
    p += epochLength;
  }
  let origin = "";
  for (let i = 4; i < 4 + ORIGIN_BYTES; i++) origin += b[i].toString(16).padStart(2, "0");
  return {
    isText: type === TYPE_TEXT,
    origin,
    sequence,
    topic: decoder.decode(b.subarray(HEAD_BYTES, HEAD_BYTES + topicLength)),
    offset,
    epoch,
    payload: b.subarray(p),
  };
}
