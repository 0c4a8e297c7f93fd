/**
 * A server's connection before it becomes a {@link WS}: raw-or-HTTP detection, reading the request
 * head, plain HTTP answers, admission (resource, origin, client limits, hooks) and the upgrade.
 *
 * Over 500 lines: these phases are one state machine over one connection (the `Upgrade` class,
 * one object per connection and no closures), whose fields every phase reads; split, they would
 * pass that state back and forth.
 *
 * @module
 */

import type { DeflateOptions } from "./protocol/deflate.ts";
import { negotiateDeflate, PerMessageDeflate } from "./protocol/deflate.ts";
import { concatBytes } from "./protocol/bytes.ts";
import { CloseCode } from "./protocol/close.ts";
import { checkClientRequest, encodeAcceptResponse, selectProtocol } from "./protocol/handshake.ts";
import {
  encodeResponse,
  HeaderFields,
  HeadReader,
  HttpParseError,
  isPlainUrl,
  parseRequestFields,
  plainHref,
  type RequestHead,
  type RequestUrl,
  requestUrl,
  targetPath,
  targetSearch,
} from "./protocol/http.ts";
import { type RawFraming, RawType } from "./protocol/raw.ts";
import { ServerRequest } from "./request.ts";
import { connDriver } from "./driver/open.ts";
import { originAllowed, type Router } from "./router.ts";
import type { AddressRefusal, ResolvedConnLimits } from "./ops/limits.ts";
import type { ResourceCounters } from "./ops/stats.ts";
import type {
  RawOptions,
  RefusedInfo,
  Resource,
  ServeOptions,
  UpgradeInfo,
} from "./server_types.ts";
import type { Topics } from "./topics.ts";
import type { Conn, ConnHandlers } from "./transport/conn.ts";
import { DEFAULT_CLOSE_TIMEOUT, type SocketOwner, WS, type WSConfig } from "./ws.ts";
import { DEFAULTS } from "./defaults.ts";
import { type Deadline, Deadlines } from "./deadlines.ts";

/** A registered resource, its pattern, and the settings its sockets share (made on first use). */
export type Route<Data> = Resource<Data> & {
  pattern: string;
  config?: WSConfig<Data>;
  rawConfig?: WSConfig<Data>;
  /** The admission of a connection without hooks, the same for all of them. */
  admitted?: Admitted<Data>;
};

/** What an upgrade needs of its server (a `Server`): admission, counting, and the sockets' owner. */
export interface UpgradeHost<Data> extends SocketOwner<Data> {
  readonly clients: ReadonlySet<WS<Data>>;
  clientsOf(pattern: string): ReadonlySet<WS<Data>>;
  readonly _connLimits: ResolvedConnLimits | undefined;
  _refused(info: RefusedInfo): void;
  _admitAddress(
    conn: { readonly remoteAddress: string },
    headers: HeaderFields | undefined,
  ): AddressRefusal | undefined;
  _callbackError(error: unknown, ws: WS<Data> | undefined): void;
  _admitted(ws: WS<Data>, pattern: string): void;
  _countersOf(pattern: string): ResourceCounters | undefined;
}

/** What all connections of one server share while they are upgraded. */
export interface UpgradeContext<Data> {
  options: ServeOptions<Data>;
  server: UpgradeHost<Data>;
  router: Router<Route<Data>>;
  /** The `serve` handler, for servers without resources. */
  fallback: Route<Data> | undefined;
  topics: Topics;
  raw: RawOptions | undefined;
  /** The handshake timeout, the wait for a refused client to go, and raw detection. */
  timeouts: UpgradeTimeouts<Data>;
  /** Connections past the request checks and not yet open, per pattern: they count as clients. */
  admitting: Map<string, number>;
}

/** The timeouts of one server's connections before they open, one queue per duration. */
export interface UpgradeTimeouts<Data> {
  handshake: Deadlines<Conn>;
  refused: Deadlines<Conn>;
  /** Present when raw clients are served. */
  detect: Deadlines<Upgrade<Data>> | undefined;
}

/** Default {@link RawOptions.detectTimeout}. */
export const DEFAULT_DETECT_TIMEOUT: number = DEFAULTS.raw.detectTimeout;

/** Default {@link ServeOptions.maxBodySize}: 1 MiB. */
export const DEFAULT_MAX_BODY_SIZE: number = DEFAULTS.server.maxBodySize;

/**
 * Most bytes kept from a client while its admission is pending (hooks running); a client over it
 * is refused with 400. Reading goes on meanwhile (a paused socket would not tell that its client
 * left, and the client's slot would stay taken).
 */
export const PRE_OPEN_BUDGET = 64 * 1024;

const enum Phase {
  /** Raw clients allowed: the first bytes decide. */
  Detect,
  /** Reading the request head. */
  Head,
  /** Waiting for admission hooks; bytes that arrive are kept. */
  Admitting,
  /** Reading a plain HTTP request's body. */
  Body,
  Done,
}

const NO_BYTES = new Uint8Array(0);

function destroyConn(conn: Conn): void {
  conn.destroy();
}

/** Admitted: the resource, and the data its hooks attached. */
interface Admitted<Data> {
  resource: Route<Data>;
  data: Data | undefined;
}

/**
 * One connection being upgraded. It is the connection's handler until the socket opens (or is
 * refused): one object per connection, no closures, and nothing of it stays once the socket is
 * open.
 */
export class Upgrade<Data> implements ConnHandlers {
  #ctx: UpgradeContext<Data>;
  #conn: Conn;
  #phase: Phase;
  #reader: HeadReader | undefined;
  /** Bytes that arrived while admitting or reading a body. */
  #early: Uint8Array[] | undefined;
  #earlyBytes = 0;
  /** The pattern whose admission count this connection holds, until it opens or goes. */
  #holding: string | undefined;
  /** Request path, for the `refused` event. */
  #path = "";
  #timer: Deadline<Conn> | undefined;
  #detectTimer: Deadline<Upgrade<Data>> | undefined;
  #detected: Uint8Array = NO_BYTES;
  #body: { req: RequestHead<HeaderFields>; href: string; rest: Uint8Array } | undefined;
  #bodyLength = 0;

  constructor(
    ctx: UpgradeContext<Data>,
    conn: Conn,
    parsed?: { req: RequestHead<HeaderFields>; rest: Uint8Array },
  ) {
    this.#ctx = ctx;
    this.#conn = conn;
    this.#phase = ctx.raw && !parsed ? Phase.Detect : Phase.Head;
    this.#timer = ctx.timeouts.handshake.arm(conn);
    if (this.#phase === Phase.Detect) this.#detectTimer = ctx.timeouts.detect!.arm(this);
    conn.setHandlers(this);
    if (parsed) this.#request(parsed.req, parsed.rest);
  }

  /** @internal ConnHandlers */
  data(chunk: Uint8Array): void {
    switch (this.#phase) {
      case Phase.Head:
        return this.#head(chunk);
      case Phase.Detect:
        return this.#detect(chunk);
      case Phase.Admitting:
        // A plain HTTP request is answered once; what follows it is never read.
        if (this.#bodyLength < 0) return;
        this.#earlyBytes += chunk.length;
        if (this.#earlyBytes > PRE_OPEN_BUDGET) {
          return this.#reject(400, "too much data before the handshake completed");
        }
        (this.#early ??= []).push(chunk);
        return;
      case Phase.Body: {
        const early = this.#early ??= [];
        early.push(chunk);
        let n = this.#body!.rest.length;
        for (const c of early) n += c.length;
        if (n >= this.#bodyLength) this.#fetch();
      }
    }
  }

  /** @internal ConnHandlers */
  end(): void {
    if (this.#phase !== Phase.Done) {
      this.#phase = Phase.Done;
      this.#conn.end();
    }
  }

  /** @internal ConnHandlers */
  closed(): void {
    this.#phase = Phase.Done;
    this.#timer?.cancel();
    this.#detectTimer?.cancel();
    this.#release();
  }

  /** Gives back the admission slot held while hooks run (a hook that never settles included). */
  #release(): void {
    const pattern = this.#holding;
    if (pattern === undefined) return;
    this.#holding = undefined;
    const admitting = this.#ctx.admitting;
    admitting.set(pattern, admitting.get(pattern)! - 1);
  }

  /** @internal ConnHandlers */
  drain(): void {}

  /** The timeouts of a server with these options. */
  static timeouts<D>(options: ServeOptions<D>, raw: RawOptions | undefined): UpgradeTimeouts<D> {
    return {
      handshake: new Deadlines(
        options.handshakeTimeout ?? DEFAULTS.server.handshakeTimeout,
        destroyConn,
      ),
      refused: new Deadlines(options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT, destroyConn),
      detect: raw &&
        new Deadlines(raw.detectTimeout ?? DEFAULT_DETECT_TIMEOUT, Upgrade.#detectExpired<D>),
    };
  }

  static #detectExpired<D>(self: Upgrade<D>): void {
    if (self.#phase !== Phase.Detect) return;
    self.#phase = Phase.Admitting;
    self.#admitRaw(self.#detected);
  }

  /** Answers with an HTTP error and closes; the server's `refused` event reports it. */
  #reject(status: number, body: string, headers = new Headers()): void {
    this.#finish(encodeResponse(status, headers, body));
    this.#refused(status, body);
  }

  #refused(status: number, reason: string): void {
    const conn = this.#conn;
    this.#ctx.server._refused({
      status,
      reason,
      path: this.#path,
      remoteAddress: conn.remoteAddress,
      remotePort: conn.remotePort,
    });
  }

  /**
   * Sends the last bytes of a refused connection and ends it. A peer that never closes its side
   * must not hold the socket forever: it is dropped after the close timeout.
   */
  #finish(answer: Uint8Array): void {
    this.#phase = Phase.Done;
    this.#early = undefined;
    this.#release();
    // Nothing more is read from a refused client: what it still sends is not even looked at.
    this.#conn.pause();
    this.#timer?.cancel();
    this.#conn.write([answer]);
    this.#conn.end();
    this.#timer = this.#ctx.timeouts.refused.arm(this.#conn);
  }

  #detect(chunk: Uint8Array): void {
    const detected = this.#detected = concatBytes([this.#detected, chunk]);
    const http = looksLikeHttp(detected);
    if (http === undefined) return;
    this.#detectTimer?.cancel();
    this.#detected = NO_BYTES;
    if (http) {
      this.#phase = Phase.Head;
      this.#head(detected);
    } else {
      this.#phase = Phase.Admitting;
      this.#admitRaw(detected);
    }
  }

  #head(chunk: Uint8Array): void {
    const max = this.#ctx.options.maxHeadSize;
    const whole = this.#reader === undefined ? HeadReader.whole(chunk, max) : undefined;
    if (whole !== undefined) {
      const end = whole.length + 4;
      return this.#parse(whole, end === chunk.length ? NO_BYTES : chunk.subarray(end));
    }
    const r = (this.#reader ??= new HeadReader(max)).push(chunk);
    if (!r.done) return;
    this.#reader = undefined;
    if ("error" in r) return this.#reject(431, "request head too large");
    this.#parse(r.head, r.rest);
  }

  #parse(head: string, rest: Uint8Array): void {
    let req;
    try {
      req = parseRequestFields(head);
    } catch (err) {
      return this.#reject(400, (err as HttpParseError).message);
    }
    this.#request(req, rest, head);
  }

  /** `head`: the head as text, kept (instead of the parsed fields) by an upgraded socket. */
  #request(req: RequestHead<HeaderFields>, rest: Uint8Array, head?: string): void {
    const options = this.#ctx.options;
    const target = req.target, host = req.headers.get("host");
    this.#path = targetPath(target);
    const websocket = !options.fetch || req.headers.hasToken("upgrade", "websocket");
    const scheme = websocket ? (options.tls ? "wss" : "ws") : (options.tls ? "https" : "http");
    // The usual target and host are taken as they are, and the URL is built only if asked for.
    let url: RequestUrl | undefined;
    if (!isPlainUrl(host, target)) {
      try {
        url = requestUrl(scheme, host, target);
      } catch {
        return this.#reject(400, "invalid request target or Host");
      }
      this.#path = url.pathname;
    }
    const href = url?.href;
    if (!websocket) return this.#http(req, href ?? plainHref(scheme, host!, target), rest);
    const check = checkClientRequest(req);
    if (!check.ok) return this.#reject(check.status, check.body, check.headers);
    const search = url ? url.search : targetSearch(target);
    const request = head !== undefined
      ? ServerRequest._ofUpgrade(this.#path, search, head, req.headers, check.key, scheme)
      : new ServerRequest(
        this.#path,
        search,
        req.headers,
        href ?? plainHref(scheme, host!, target),
      );
    const admitted = this.#admission(request, req.headers, href, check.protocols);
    if (admitted === undefined) return;
    if (admitted instanceof Promise) {
      admitted.then((a) => {
        if (a) this.#open(a, request, req.headers, check.protocols, check.key, rest);
      });
    } else {
      this.#open(admitted, request, req.headers, check.protocols, check.key, rest);
    }
  }

  /**
   * The checks and hooks every connection passes, WebSocket or raw: the resource and the data to
   * attach, or undefined once the connection was refused. Synchronous unless there are hooks.
   */
  #admission(
    request: ServerRequest,
    headers: HeaderFields | undefined,
    /** Undefined when the request's head can rebuild it (`ServerRequest._href`). */
    url: string | undefined,
    protocols: string[],
    refuse: (status: number, body: string, headers?: Headers) => void = this.#refuseHttp,
  ): Admitted<Data> | Promise<Admitted<Data> | undefined> | undefined {
    const ctx = this.#ctx, options = ctx.options;
    const limited = ctx.server._admitAddress(this.#conn, headers);
    if (limited) {
      const retry = new Headers({ "Retry-After": String(limited.retryAfter) });
      return void refuse.call(this, 429, `too many ${limited.kind}`, retry);
    }
    const match = ctx.router.match(request.path);
    const resource = match ? match.resource : ctx.fallback;
    if (!resource) return void refuse.call(this, 404, "no such resource");
    if (match) request.params = match.params;
    const origins = resource.origins ?? options.origins;
    if (origins !== undefined && !originAllowed(origins, headers?.get("origin") ?? null)) {
      return void refuse.call(this, 403, "origin not allowed");
    }
    const pattern = resource.pattern;
    const serverMax = options.maxClients, resourceMax = resource.maxClients;
    if (serverMax !== undefined || resourceMax !== undefined) {
      const server = ctx.server, admitting = ctx.admitting;
      const inResource = server.clientsOf(pattern).size + (admitting.get(pattern) ?? 0);
      let total = server.clients.size;
      for (const n of admitting.values()) total += n;
      if (
        (serverMax !== undefined && total >= serverMax) ||
        (resourceMax !== undefined && inResource >= resourceMax)
      ) {
        return void refuse.call(this, 503, "too many clients", new Headers({ "Retry-After": "5" }));
      }
    }
    if (!options.accept && !resource.accept) {
      this.#admitted();
      // Nothing attached: one result per resource serves every connection (it is only read).
      return resource.admitted ??= { resource, data: undefined };
    }
    const conn = this.#conn;
    const info: UpgradeInfo = {
      url: url ?? request._href(),
      protocols,
      remoteAddress: conn.remoteAddress,
      remotePort: conn.remotePort,
      path: request.path,
      params: request.params,
      get query() {
        return request.query;
      },
      get headers() {
        return request.headers;
      },
    };
    return this.#hooks(resource, info, refuse);
  }

  async #hooks(
    resource: Route<Data>,
    info: UpgradeInfo,
    refuse: (status: number, body: string, headers?: Headers) => void,
  ): Promise<Admitted<Data> | undefined> {
    const admitting = this.#ctx.admitting, pattern = resource.pattern;
    let data: Data | undefined;
    this.#phase = Phase.Admitting;
    admitting.set(pattern, (admitting.get(pattern) ?? 0) + 1);
    this.#holding = pattern;
    try {
      for (const hook of [this.#ctx.options.accept, resource.accept]) {
        if (!hook) continue;
        const verdict = await hook(info);
        if (this.#phase !== Phase.Admitting) return; // the client left meanwhile
        if (verdict instanceof Response) {
          refuse.call(this, verdict.status, await verdict.text(), verdict.headers);
          return;
        }
        if (verdict) data = verdict.data;
      }
    } catch (err) {
      if (this.#phase === Phase.Admitting) refuse.call(this, 500, "internal error");
      this.#ctx.server._callbackError(err, undefined);
      return;
    } finally {
      this.#release();
    }
    this.#admitted();
    return { resource, data };
  }

  #refuseHttp(status: number, body: string, headers?: Headers): void {
    this.#reject(status, body, headers);
  }

  #refuseRaw(status: number, body: string): void {
    this.#finish(encodeRawRefusal(this.#ctx.raw!.framing ?? "line", status, body));
    this.#refused(status, body);
  }

  /** Admission passed: the handshake timeout no longer applies. */
  #admitted(): void {
    this.#phase = Phase.Done;
    this.#timer?.cancel();
  }

  /** Bytes that followed the head, and any that arrived during admission. */
  #rest(rest: Uint8Array): Uint8Array {
    const early = this.#early;
    return early === undefined ? rest : concatBytes([rest, ...early]);
  }

  #open(
    admitted: Admitted<Data>,
    request: ServerRequest,
    headers: HeaderFields,
    offered: string[],
    key: string,
    rest: Uint8Array,
  ): void {
    const { resource, data } = admitted;
    const ctx = this.#ctx, options = ctx.options, conn = this.#conn;
    const protocol = offered.length === 0 ? "" : selectProtocol(
      offered,
      resource.protocols ?? options.protocols ?? DEFAULTS.server.protocols,
    );
    const deflateOption = resource.deflate ?? options.deflate;
    const deflateOptions: DeflateOptions | undefined = deflateOption === true
      ? {}
      : deflateOption || undefined;
    const deflate = deflateOptions &&
      negotiateDeflate(headers.get("sec-websocket-extensions"), deflateOptions);
    conn.write([
      encodeAcceptResponse(key, protocol, resource.headers ?? options.headers, deflate?.response),
    ]);
    const ws = new WS<Data>(resource.config ??= this.#config(resource), { request, data });
    if (deflate) {
      ws._negotiated(
        new PerMessageDeflate(deflate.params, "server", deflateOptions!),
        deflate.response,
      );
    }
    ctx.server._admitted(ws, resource.pattern);
    ws._open(connDriver(ws, conn), protocol, resource.handler, this.#rest(rest));
  }

  /** The settings all sockets of `resource` share. */
  #config(resource: Route<Data>): WSConfig<Data> {
    const ctx = this.#ctx, options = ctx.options;
    const counters = ctx.server._countersOf(resource.pattern);
    return {
      side: "server",
      maxPayload: resource.maxPayload ?? options.maxPayload,
      closeTimeout: resource.closeTimeout ?? options.closeTimeout,
      highWaterMark: resource.highWaterMark ?? options.highWaterMark,
      topics: ctx.topics,
      owner: ctx.server,
      resource: resource.pattern,
      stats: counters,
      counting: counters !== undefined,
      limits: ctx.server._connLimits,
    };
  }

  #admitRaw(rest: Uint8Array): void {
    const raw = this.#ctx.raw!, conn = this.#conn;
    const host = conn.remoteAddress.includes(":") ? `[${conn.remoteAddress}]` : conn.remoteAddress;
    const url = `tcp://${host}:${conn.remotePort}`;
    const request = new ServerRequest(raw.path ?? "/", "", HeaderFields.fromList([]), url);
    this.#path = request.path;
    const admitted = this.#admission(request, undefined, url, [], this.#refuseRaw);
    if (admitted === undefined) return;
    if (admitted instanceof Promise) {
      admitted.then((a) => {
        if (a) this.#openRaw(a, request, url, rest);
      });
    } else {
      this.#openRaw(admitted, request, url, rest);
    }
  }

  #openRaw(admitted: Admitted<Data>, request: ServerRequest, url: string, rest: Uint8Array): void {
    const ctx = this.#ctx;
    const { resource, data } = admitted;
    const config = resource.rawConfig ??= {
      ...this.#config(resource),
      raw: ctx.raw!.framing ?? "line",
    };
    const ws = new WS<Data>(config, { url, request, data });
    ctx.server._admitted(ws, resource.pattern);
    ws._open(connDriver(ws, this.#conn), "", resource.handler, this.#rest(rest));
  }

  /** A plain HTTP request, for the `fetch` handler. */
  #http(req: RequestHead<HeaderFields>, href: string, rest: Uint8Array): void {
    const options = this.#ctx.options;
    if (req.headers.has("transfer-encoding")) return this.#reject(411, "send a Content-Length");
    const length = Number(req.headers.get("content-length") ?? "0");
    if (!Number.isSafeInteger(length) || length < 0) return this.#reject(400, "bad Content-Length");
    if (length > (options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE)) {
      return this.#reject(413, "body too large");
    }
    this.#phase = Phase.Body;
    this.#bodyLength = length;
    this.#body = { req, href, rest };
    if (rest.length >= length) this.#fetch();
  }

  async #fetch(): Promise<void> {
    this.#phase = Phase.Admitting;
    const { req, href, rest } = this.#body!;
    this.#body = undefined;
    // The request is read: nothing more is (one request per connection), and what a runtime
    // still delivers is dropped.
    const length = this.#bodyLength;
    this.#bodyLength = -1;
    this.#conn.pause();
    const conn = this.#conn;
    const body = this.#rest(rest).subarray(0, length) as Uint8Array<ArrayBuffer>;
    this.#early = undefined;
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    let request: Request;
    try {
      request = new Request(href, {
        method: req.method,
        headers: req.headers.toHeaders(),
        body: hasBody ? body : undefined,
      });
    } catch (err) {
      // Not the application's fault: a method or header the platform's Request refuses.
      return this.#reject(400, `bad request: ${(err as Error).message}`);
    }
    let response: unknown, bytes: Uint8Array | undefined;
    try {
      response = await this.#ctx.options.fetch!(request, {
        remoteAddress: conn.remoteAddress,
        remotePort: conn.remotePort,
      });
      if (!(response instanceof Response)) {
        throw new TypeError(`the fetch handler returned ${typeof response}, not a Response`);
      }
      // Read whole before anything is sent: a body that fails can still be answered with 500.
      if (req.method !== "HEAD") bytes = new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      if (this.#phase === Phase.Admitting) {
        this.#finish(encodeResponse(500, new Headers(), "internal error"));
      }
      this.#ctx.server._callbackError(err, undefined);
      return;
    }
    if (this.#phase !== Phase.Admitting) return;
    this.#finish(encodeResponse(response.status, response.headers, bytes));
  }
}

/**
 * True if `b` starts like an HTTP request line (an upper-case method and a space), false if it
 * cannot, undefined while it still might.
 */
function looksLikeHttp(b: Uint8Array): boolean | undefined {
  let i = 0;
  while (i < b.length && i < 16 && b[i] >= 0x41 && b[i] <= 0x5a) i++;
  if (i === b.length && i < 16) return undefined;
  return i > 0 && b[i] === 0x20;
}

/** What a refused raw client is told: a line, or a close frame of the length-prefixed framing. */
function encodeRawRefusal(framing: RawFraming, status: number, body: string): Uint8Array {
  const text = new TextEncoder().encode(framing === "line" ? `error: ${status} ${body}\n` : body);
  if (framing === "line") return text;
  const out = new Uint8Array(7 + text.length);
  out[0] = RawType.Close;
  new DataView(out.buffer).setUint32(1, 2 + text.length);
  new DataView(out.buffer).setUint16(5, CloseCode.PolicyViolation);
  out.set(text, 7);
  return out;
}
