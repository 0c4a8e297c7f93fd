/**
 * Proxy handshakes without I/O: HTTP `CONNECT` (RFC 9110 §9.3.6) and SOCKS5 (RFC 1928, with
 * username/password authentication from RFC 1929). The caller writes what `start` and `receive`
 * return and feeds what the proxy sends; once `receive` says `done`, the connection is a tunnel to
 * the target and `rest` holds bytes that came after the proxy's answer.
 *
 * @module
 */

import { ProxyError } from "../errors.ts";
import { concatBytes } from "./bytes.ts";
import { DEFAULT_MAX_HEAD_SIZE, HeadReader, HttpParseError, parseResponseHead } from "./http.ts";

/** Where the tunnel goes, and the proxy's credentials. */
export interface TunnelTarget {
  /** Host name or IP address (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** Proxy credentials, if any. */
  username?: string;
  password?: string;
}

/** What a handshake step produced. */
export interface ProxyStep {
  /** Bytes to write to the proxy, if any. */
  send?: Uint8Array;
  /** The tunnel is up. */
  done: boolean;
  /** With `done`: bytes received after the proxy's answer (the target's). */
  rest?: Uint8Array;
}

/** One proxy handshake. `receive` throws a {@link ProxyError} when the proxy refuses or errs. */
export interface ProxyHandshake {
  /** The first bytes to write. */
  start(): Uint8Array;
  /** Bytes from the proxy. */
  receive(chunk: Uint8Array): ProxyStep;
}

const encoder = new TextEncoder();

function invalid(message: string): ProxyError {
  return new ProxyError("WS_ERR_PROXY_INVALID", message);
}

/** `host:port`, with IPv6 addresses in brackets. */
function authority(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** Base64 of a UTF-8 string, without `btoa`'s Latin-1 limit. */
function base64(text: string): string {
  let bin = "";
  for (const b of encoder.encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * The HTTP `CONNECT` handshake, with `Proxy-Authorization: Basic` when credentials are given. An
 * answer head over `maxHeadSize` bytes is refused before more is buffered.
 *
 * @example
 * ```ts
 * const hs = new HttpConnectHandshake({ hostname: "example.com", port: 443 });
 * conn.write([hs.start()]);
 * // for each chunk: const step = hs.receive(chunk); if (step.done) ... the tunnel is up
 * ```
 */
export class HttpConnectHandshake implements ProxyHandshake {
  #target: TunnelTarget;
  #reader: HeadReader;
  #done = false;

  constructor(target: TunnelTarget, maxHeadSize = DEFAULT_MAX_HEAD_SIZE) {
    this.#target = target;
    this.#reader = new HeadReader(maxHeadSize);
  }

  start(): Uint8Array {
    const t = this.#target;
    const where = authority(t.hostname, t.port);
    let head = `CONNECT ${where} HTTP/1.1\r\nHost: ${where}\r\n`;
    if (t.username !== undefined || t.password !== undefined) {
      head += `Proxy-Authorization: Basic ${base64(`${t.username ?? ""}:${t.password ?? ""}`)}\r\n`;
    }
    return encoder.encode(head + "\r\n");
  }

  receive(chunk: Uint8Array): ProxyStep {
    if (this.#done) throw invalid("data after the proxy handshake ended");
    const r = this.#reader.push(chunk);
    if (!r.done) return { done: false };
    this.#done = true;
    if ("error" in r) throw invalid("the proxy's answer head is too large");
    let status: number, statusText: string;
    try {
      ({ status, statusText } = parseResponseHead(r.head));
    } catch (err) {
      if (err instanceof HttpParseError) throw invalid(`bad answer from the proxy: ${err.message}`);
      throw err;
    }
    // A 401 to CONNECT can only be about the proxy's own credentials (tinyproxy answers wrong
    // ones so): the target has not been reached.
    if (status === 407 || status === 401) {
      throw new ProxyError(
        "WS_ERR_PROXY_AUTH",
        `the proxy wants other credentials (${status})`,
        status,
      );
    }
    if (status < 200 || status > 299) {
      throw new ProxyError(
        "WS_ERR_PROXY_REFUSED",
        `the proxy answered ${status} ${statusText}`.trim(),
        status,
      );
    }
    return { done: true, rest: r.rest };
  }
}

/** SOCKS5 reply codes (RFC 1928 §6), for messages. */
const SOCKS_REPLIES: Record<number, string> = {
  1: "general failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

const enum Socks {
  Version = 5,
  NoAuth = 0,
  UserPass = 2,
  NoAcceptable = 0xff,
  Connect = 1,
  IPv4 = 1,
  Domain = 3,
  IPv6 = 4,
}

type SocksState = "method" | "auth" | "reply" | "done";

/** Bytes of an IPv4 address, or undefined if `host` is not one. */
function ipv4Bytes(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** Bytes of an IPv6 address (with `::` and an optional trailing IPv4 part), or undefined. */
function ipv6Bytes(host: string): number[] | undefined {
  if (!host.includes(":")) return undefined;
  const halves = host.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const v4 = i === parts.length - 1 ? ipv4Bytes(parts[i]) : undefined;
      if (v4) {
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/i.test(parts[i])) {
        out.push(parseInt(parts[i], 16));
      } else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]), tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(missing).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * The SOCKS5 handshake for a `CONNECT` to the target; IP addresses are sent as such, host names
 * for the proxy to resolve. Offers username/password authentication only when credentials are
 * given. Every answer is read with a fixed bound (at most 262 bytes).
 *
 * @example
 * ```ts
 * const hs = new Socks5Handshake({ hostname: "127.0.0.1", port: 8080, username: "u", password: "p" });
 * conn.write([hs.start()]);
 * ```
 */
export class Socks5Handshake implements ProxyHandshake {
  #target: TunnelTarget;
  #state: SocksState = "method";
  #buf = new Uint8Array(0);

  constructor(target: TunnelTarget) {
    const { username, password } = target;
    if (username !== undefined || password !== undefined) {
      const u = encoder.encode(username ?? ""), p = encoder.encode(password ?? "");
      if (u.length < 1 || u.length > 255 || p.length < 1 || p.length > 255) {
        throw new TypeError("SOCKS5 username and password must be 1 to 255 bytes each");
      }
    }
    if (encoder.encode(target.hostname).length > 255) {
      throw new TypeError("SOCKS5 host names are at most 255 bytes");
    }
    this.#target = target;
  }

  get #auth(): boolean {
    return this.#target.username !== undefined || this.#target.password !== undefined;
  }

  start(): Uint8Array {
    return this.#auth
      ? Uint8Array.of(Socks.Version, 1, Socks.UserPass)
      : Uint8Array.of(Socks.Version, 1, Socks.NoAuth);
  }

  receive(chunk: Uint8Array): ProxyStep {
    if (this.#state === "done") throw invalid("data after the proxy handshake ended");
    const buf = new Uint8Array(this.#buf.length + chunk.length);
    buf.set(this.#buf);
    buf.set(chunk, this.#buf.length);
    this.#buf = buf;
    let send: Uint8Array | undefined;
    for (;;) {
      const need = this.#need();
      if (need === 0 || this.#buf.length < need) return { send, done: false };
      const msg = this.#buf.subarray(0, need);
      this.#buf = this.#buf.subarray(need);
      const out = this.#step(msg);
      // #step moved the state on (TypeScript keeps the narrowing from the check above).
      if ((this.#state as SocksState) === "done") return { send, done: true, rest: this.#buf };
      if (out) send = send ? concatBytes([send, out], send.length + out.length) : out;
    }
  }

  /** Bytes the current answer takes (0: not known yet, wait for more). */
  #need(): number {
    const b = this.#buf;
    switch (this.#state) {
      case "method":
      case "auth":
        return 2;
      case "reply": {
        if (b.length < 4) return 0;
        if (b[0] !== Socks.Version) throw invalid(`not a SOCKS5 reply (version ${b[0]})`);
        if (b[1] !== 0) {
          const what = SOCKS_REPLIES[b[1]] ?? `reply ${b[1]}`;
          throw new ProxyError("WS_ERR_PROXY_REFUSED", `the SOCKS5 proxy refused: ${what}`, b[1]);
        }
        if (b[3] === Socks.IPv4) return 10;
        if (b[3] === Socks.IPv6) return 22;
        if (b[3] === Socks.Domain) return b.length < 5 ? 0 : 7 + b[4];
        throw invalid(`bad address type ${b[3]} in the SOCKS5 reply`);
      }
      default:
        return 0;
    }
  }

  /** Handles one complete answer; returns what to send next. */
  #step(msg: Uint8Array): Uint8Array | undefined {
    switch (this.#state) {
      case "method": {
        if (msg[0] !== Socks.Version) throw invalid(`not a SOCKS5 answer (version ${msg[0]})`);
        const offered = this.#auth ? Socks.UserPass : Socks.NoAuth;
        if (msg[1] === Socks.NoAcceptable || msg[1] !== offered) {
          throw new ProxyError(
            "WS_ERR_PROXY_AUTH",
            this.#auth
              ? "the SOCKS5 proxy does not accept username/password authentication"
              : "the SOCKS5 proxy wants authentication",
          );
        }
        if (offered === Socks.UserPass) {
          this.#state = "auth";
          return this.#credentials();
        }
        this.#state = "reply";
        return this.#request();
      }
      case "auth":
        if (msg[0] !== 1) throw invalid(`bad SOCKS5 authentication answer (version ${msg[0]})`);
        if (msg[1] !== 0) {
          throw new ProxyError("WS_ERR_PROXY_AUTH", "the SOCKS5 proxy refused the credentials");
        }
        this.#state = "reply";
        return this.#request();
      default:
        this.#state = "done";
        return undefined;
    }
  }

  #credentials(): Uint8Array {
    const u = encoder.encode(this.#target.username ?? "");
    const p = encoder.encode(this.#target.password ?? "");
    return Uint8Array.of(1, u.length, ...u, p.length, ...p);
  }

  #request(): Uint8Array {
    const { hostname, port } = this.#target;
    const v4 = ipv4Bytes(hostname), v6 = v4 ? undefined : ipv6Bytes(hostname);
    let addr: number[];
    if (v4) addr = [Socks.IPv4, ...v4];
    else if (v6) addr = [Socks.IPv6, ...v6];
    else {
      const name = encoder.encode(hostname);
      addr = [Socks.Domain, name.length, ...name];
    }
    return Uint8Array.of(Socks.Version, Socks.Connect, 0, ...addr, port >> 8, port & 0xff);
  }
}
