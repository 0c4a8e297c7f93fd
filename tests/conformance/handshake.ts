/**
 * The opening handshake (RFC 6455 §4), done by hand for the fuzzing client and server, so that
 * nothing of wsdriver's own code is used on the fuzzer's side.
 */

import { createHash } from "node:crypto";
import type * as net from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Largest handshake head accepted. */
const MAX_HEAD = 16 * 1024;

/** The Sec-WebSocket-Accept value for `key`. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** A random Sec-WebSocket-Key. */
export function randomKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

/** A parsed HTTP head: the first line and the headers (names lower-cased). */
export interface Head {
  line: string;
  headers: Map<string, string>;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function parseHead(b: Uint8Array): Head {
  const [line, ...rest] = latin1(b).split("\r\n");
  const headers = new Map<string, string>();
  for (const l of rest) {
    const c = l.indexOf(":");
    if (c <= 0) continue;
    const name = l.slice(0, c).trim().toLowerCase();
    const value = l.slice(c + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { line, headers };
}

/** True if the comma-separated header `value` contains `token` (case-insensitive). */
export function hasToken(value: string | undefined, token: string): boolean {
  return (value ?? "").split(",").some((t) => t.trim().toLowerCase() === token);
}

/**
 * Reads an HTTP head from `socket` (up to the blank line); resolves with the head and the bytes
 * that followed it. Rejects on timeout, EOF or a head over 16 KiB.
 */
export function readHead(
  socket: net.Socket,
  ms: number,
): Promise<{ head: Head; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let buf = new Uint8Array(0);
    const done = (err: Error | undefined, value?: { head: Head; rest: Uint8Array }) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Uint8Array) => {
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      for (let i = Math.max(0, buf.length - chunk.length - 3); i + 3 < buf.length; i++) {
        if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
          return done(undefined, { head: parseHead(buf.subarray(0, i)), rest: buf.slice(i + 4) });
        }
      }
      if (buf.length > MAX_HEAD) done(new Error("handshake head over 16 KiB"));
    };
    const onEnd = () => done(new Error("the connection closed during the handshake"));
    const onError = (err: Error) =>
      done(new Error(`socket error during the handshake: ${err.message}`));
    const timer = setTimeout(() => done(new Error(`no handshake within ${ms} ms`)), ms);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.once("error", onError);
  });
}
