/**
 * Checking the options of the public entry points (`serve`, `createServer`, resources, `connect`,
 * socket methods): a wrong type or an impossible value is an {@link InvalidOptionError} naming the
 * option, thrown before anything starts, the same on every runtime.
 *
 * @module
 */

import { InvalidOptionError } from "./errors.ts";
import { isValidCloseCode } from "./protocol/close.ts";

/** Longest delay `setTimeout` honours; longer ones fire at once on every runtime. */
const MAX_DELAY = 0x7fffffff;

type Options = Record<string, unknown>;

/** Throws unless `value` is a plain options object (or undefined, when `optional`). */
export function checkObject(value: unknown, name: string, optional = true): Options {
  if (value === undefined && optional) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(name, "an options object", value);
  }
  return value as Options;
}

/** An integer in `min..max`, if present. */
export function checkInteger(value: unknown, name: string, min: number, max = 2 ** 53 - 1): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, value);
  }
}

/** A delay in milliseconds that timers can honour (at least `min`), if present. */
export function checkMillis(value: unknown, name: string, min = 1): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !(value >= min && value <= MAX_DELAY)) {
    throw new InvalidOptionError(
      name,
      `a number of milliseconds from ${min} to ${MAX_DELAY}`,
      value,
    );
  }
}

function checkType(value: unknown, name: string, type: "string" | "function" | "boolean"): void {
  if (value !== undefined && typeof value !== type) {
    throw new InvalidOptionError(name, `a ${type}`, value);
  }
}

function checkOneOf(value: unknown, name: string, allowed: readonly unknown[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    throw new InvalidOptionError(
      name,
      `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
      value,
    );
  }
}

/** An array of strings (e.g. subprotocols), if present. */
function checkStrings(value: unknown, name: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string" && s !== "")) {
    throw new InvalidOptionError(name, "an array of non-empty strings", value);
  }
}

function checkHeaders(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== "object" || value === null)) {
    throw new InvalidOptionError(name, "a Headers, a record or an array of pairs", value);
  }
}

function checkHeartbeat(value: unknown, name: string): void {
  if (value === undefined || value === false) return;
  const hb = checkObject(value, name, false);
  for (const k of ["interval", "timeout"]) {
    if (hb[k] === undefined) throw new InvalidOptionError(`${name}.${k}`, "given", undefined);
    checkMillis(hb[k], `${name}.${k}`);
  }
}

function checkDeflate(value: unknown, name: string): void {
  if (value === undefined || typeof value === "boolean") return;
  const d = checkObject(value, name, false);
  checkType(d.serverNoContextTakeover, `${name}.serverNoContextTakeover`, "boolean");
  checkType(d.clientNoContextTakeover, `${name}.clientNoContextTakeover`, "boolean");
  checkInteger(d.serverMaxWindowBits, `${name}.serverMaxWindowBits`, 8, 15);
  checkInteger(d.clientMaxWindowBits, `${name}.clientMaxWindowBits`, 8, 15);
  checkInteger(d.level, `${name}.level`, -1, 9);
  checkInteger(d.memLevel, `${name}.memLevel`, 1, 9);
  checkInteger(d.threshold, `${name}.threshold`, 0);
}

function checkOrigins(value: unknown, name: string): void {
  if (value === undefined || value === "*" || typeof value === "function") return;
  if (Array.isArray(value)) return checkStrings(value, name);
  if (typeof value === "object" && value !== null && "prefix" in value) {
    return checkStrings((value as { prefix: unknown }).prefix, `${name}.prefix`);
  }
  throw new InvalidOptionError(name, '"*", an array of origins, { prefix } or a function', value);
}

/** The settings a server and each of its resources share. */
function checkResourceFields(o: Options, prefix: string): void {
  checkStrings(o.protocols, `${prefix}protocols`);
  checkOrigins(o.origins, `${prefix}origins`);
  checkInteger(o.maxClients, `${prefix}maxClients`, 0);
  checkInteger(o.maxPayload, `${prefix}maxPayload`, 1);
  checkHeaders(o.headers, `${prefix}headers`);
  checkType(o.accept, `${prefix}accept`, "function");
  checkDeflate(o.deflate, `${prefix}deflate`);
  checkMillis(o.closeTimeout, `${prefix}closeTimeout`);
  checkHeartbeat(o.heartbeat, `${prefix}heartbeat`);
  if (o.idleTimeout !== false) checkMillis(o.idleTimeout, `${prefix}idleTimeout`);
  checkInteger(o.highWaterMark, `${prefix}highWaterMark`, 0);
}

/**
 * Checks the options of `serve` / `createServer` and of every resource.
 *
 * @example
 * ```ts
 * checkServeOptions({ port: "abc" }); // throws InvalidOptionError: port must be an integer…
 * ```
 */
export function checkServeOptions(options: unknown): void {
  const o = checkObject(options, "options", false);
  checkInteger(o.port, "port", 0, 65535);
  checkType(o.hostname, "hostname", "string");
  if (o.tls !== undefined) {
    const tls = checkObject(o.tls, "tls", false);
    for (const k of ["cert", "key"]) {
      if (typeof tls[k] !== "string") {
        throw new InvalidOptionError(`tls.${k}`, "a PEM string", tls[k]);
      }
    }
  }
  checkResourceFields(o, "");
  if (o.resources !== undefined) {
    const resources = checkObject(o.resources, "resources", false);
    for (const [path, r] of Object.entries(resources)) {
      const name = `resources["${path}"]`;
      if (!path.startsWith("/")) {
        throw new InvalidOptionError(name, 'a path starting with "/"', path);
      }
      if (typeof r === "function") continue;
      const res = checkObject(r, name, false);
      if (typeof res.handler !== "function") {
        throw new InvalidOptionError(`${name}.handler`, "a function", res.handler);
      }
      checkResourceFields(res, `${name}.`);
    }
  }
  checkMillis(o.handshakeTimeout, "handshakeTimeout");
  checkInteger(o.maxHeadSize, "maxHeadSize", 64);
  checkOneOf(o.slowConsumer, "slowConsumer", ["drop", "close"]);
  checkOneOf(o.slowConsumerCode, "slowConsumerCode", [1008, 1013]);
  checkType(o.fetch, "fetch", "function");
  checkInteger(o.maxBodySize, "maxBodySize", 0);
  checkType(o.stats, "stats", "boolean");
  if (o.raw !== undefined && typeof o.raw !== "boolean") {
    const raw = checkObject(o.raw, "raw", false);
    checkOneOf(raw.framing, "raw.framing", ["line", "length"]);
    checkType(raw.path, "raw.path", "string");
    checkMillis(raw.detectTimeout, "raw.detectTimeout");
    if (raw.idleTimeout !== false) checkMillis(raw.idleTimeout, "raw.idleTimeout");
  }
}

/**
 * Checks the options of `connect`.
 *
 * @example
 * ```ts
 * checkConnectOptions({ protocols: "chat" }); // throws InvalidOptionError: protocols must be…
 * ```
 */
export function checkConnectOptions(options: unknown): void {
  const o = checkObject(options, "options");
  checkStrings(o.protocols, "protocols");
  checkHeaders(o.headers, "headers");
  checkMillis(o.handshakeTimeout, "handshakeTimeout");
  if (o.tls !== undefined) checkObject(o.tls, "tls", false);
  checkInteger(o.maxPayload, "maxPayload", 1);
  checkMillis(o.closeTimeout, "closeTimeout");
  checkInteger(o.maxHeadSize, "maxHeadSize", 64);
  if (
    o.signal !== undefined &&
    (typeof o.signal !== "object" || o.signal === null || !("aborted" in o.signal))
  ) {
    throw new InvalidOptionError("signal", "an AbortSignal", o.signal);
  }
  checkHeartbeat(o.heartbeat, "heartbeat");
  if (o.idleTimeout !== false) checkMillis(o.idleTimeout, "idleTimeout");
  checkInteger(o.highWaterMark, "highWaterMark", 0);
  checkDeflate(o.deflate, "deflate");
  checkOneOf(o.framing, "framing", ["line", "length"]);
}

/**
 * Checks a ping or pong payload: a string or bytes of at most 125 bytes (checked by the caller
 * once encoded).
 */
export function checkControlPayload(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== "string" && !(value instanceof Uint8Array)) {
    throw new InvalidOptionError(name, "a string or a Uint8Array", value);
  }
}

/** Checks the arguments of `close`: a code that may be sent, and a string reason. */
export function checkCloseArgs(code: unknown, reason: unknown): void {
  if (typeof code !== "number" || !Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new InvalidOptionError("code", "1000-1003, 1007-1014 or 3000-4999", code);
  }
  if (typeof reason !== "string") throw new InvalidOptionError("reason", "a string", reason);
  if (reason.length > 41 && new TextEncoder().encode(reason).length > 123) {
    throw new InvalidOptionError("reason", "at most 123 bytes of UTF-8", reason);
  }
}

/** Checks a send callback, if given. */
export function checkCallback(value: unknown, name = "callback"): void {
  checkType(value, name, "function");
}
