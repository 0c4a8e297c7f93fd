/**
 * The RPC session on one connection: the {@link Rpc} class, which dispatches the peer's frames,
 * sends this side's requests and answers the peer's through its two in-flight tables
 * (outgoing.ts, incoming.ts), and shuts down gracefully. Also the public types that name `Rpc`.
 *
 * @module
 */

import { Emitter } from "../emitter.ts";
import { InvalidOptionError } from "../errors.ts";
import { checkInteger, checkObject } from "../options.ts";
import { encodeClosePayload } from "../protocol/close.ts";
import { DEFAULT_MAX_PAYLOAD } from "../protocol/protocol.ts";
import {
  decodeRpcFrame,
  encodeErrorFrame,
  frameId,
  HEADER_SIZE,
  isRpcMessage,
  malformed,
  type RpcData,
  type RpcFrame,
  RpcKind,
  type RpcSendData,
} from "./codec.ts";
import {
  checkTimeout,
  DEFAULT_RPC_MAX_IN_FLIGHT,
  DEFAULT_RPC_SHUTDOWN_TIMEOUT,
  DEFAULT_RPC_TIMEOUT,
  timerDelay,
} from "./defaults.ts";
import { abortedError, RpcError, type RpcErrorCode } from "./errors.ts";
import { IncomingRequests } from "./incoming.ts";
import { OutgoingRequests } from "./outgoing.ts";
import type {
  RpcConnection,
  RpcEvents,
  RpcReply,
  RpcRequestOptions,
  RpcShutdownOptions,
  RpcState,
} from "./types.ts";

/**
 * What a responder gets besides the request's payload.
 *
 * @example
 * ```ts
 * new Rpc(ws, {
 *   responder: async (data, ctx) => {
 *     const res = await fetch("https://example.com/" + data, { signal: ctx.signal });
 *     return await res.text();
 *   },
 * });
 * ```
 */
export interface RpcContext<C extends RpcConnection = RpcConnection> {
  /** The request id chosen by the peer. */
  readonly id: number;
  /** True if the request's payload is binary. */
  readonly isBinary: boolean;
  /**
   * Aborts when the answer is no longer wanted: the requester cancelled (timeout or abort), or the
   * connection closed. Whatever the responder returns after that is dropped.
   */
  readonly signal: AbortSignal;
  /** The `Rpc` the request came through (e.g. to make a request back). */
  readonly rpc: Rpc<C>;
  /** The connection the request came through. */
  readonly connection: C;
  /**
   * Makes a request to the peer on behalf of this one: unlike `rpc.request`, it is allowed while
   * shutdown waits for this request (so a responder that needs the peer can still finish), and it
   * is cancelled when `signal` aborts.
   */
  request(data: RpcSendData, options?: RpcRequestOptions): Promise<RpcData>;
}

/**
 * Answers the peer's requests: its return value is the response, what it throws goes back as an
 * `RPC_ERR_REMOTE` error with the thrown error's `message` and, as `appCode`, its `code` property.
 *
 * @example
 * ```ts
 * const responder: RpcResponder = (data) => {
 *   if (data === "") throw Object.assign(new Error("empty request"), { code: "E_EMPTY" });
 *   return data;
 * };
 * ```
 */
export type RpcResponder<C extends RpcConnection = RpcConnection> = (
  data: RpcData,
  ctx: RpcContext<C>,
) => RpcReply | Promise<RpcReply>;

/**
 * Options of {@link Rpc}.
 *
 * @example
 * ```ts
 * const options: RpcOptions = { timeout: 5000, maxInFlight: 100, responder: (data) => data };
 * new Rpc(ws, options);
 * ```
 */
export interface RpcOptions<C extends RpcConnection = RpcConnection> {
  /** Answers the peer's requests; without one they get `RPC_ERR_NO_RESPONDER`. */
  responder?: RpcResponder<C>;
  /** Default request timeout in milliseconds (default 30000); 0 or `Infinity`: none. */
  timeout?: number;
  /**
   * Most requests awaited at once, and separately most requests being answered at once
   * (default 1024). Over it, a request fails with `RPC_ERR_TOO_MANY` on this side, and the peer's
   * requests are answered with that error. A request frees its slot when it is answered, times
   * out or is cancelled: a responder the requester cancelled no longer counts (it is told through
   * `ctx.signal`, and counted in `abandoned` until it settles).
   */
  maxInFlight?: number;
  /** Largest frame sent, header included (default: the connection's `maxPayload`, else 64 MiB). */
  maxPayload?: number;
}

/** Connections that have an Rpc: two would both answer every request. */
const attached = new WeakSet<object>();

/**
 * The request/response layer on one connection, for both directions: `request` sends a request
 * and resolves with the peer's response; the responder answers the peer's requests. Requests are
 * multiplexed by id and may complete in any order. Messages that are not RPC frames are
 * re-emitted as `message`.
 *
 * Attach it right after the connection is made (a server handler, or right after `connect`) so
 * that no request of the peer arrives before it listens.
 *
 * @example
 * ```ts
 * import { connect, Rpc, RpcError, serve } from "@wsdriver/wsdriver";
 *
 * const server = await serve({ port: 8080 }, (ws) => {
 *   const rpc = new Rpc(ws, {
 *     responder: async (data, ctx) => {
 *       if (data === "whoami") return await ctx.request("your name?"); // ask back
 *       throw Object.assign(new Error("unknown command"), { code: "E_UNKNOWN" });
 *     },
 *   });
 *   rpc.on("message", (data) => console.log("plain:", data));
 * });
 *
 * const client = new Rpc(connect("ws://127.0.0.1:8080"), { responder: () => "ann" });
 * console.log(await client.request("whoami", { timeout: 2000 })); // "ann"
 * try {
 *   await client.request("dance");
 * } catch (err) {
 *   if (err instanceof RpcError) console.log(err.code, err.appCode, err.message);
 *   // RPC_ERR_REMOTE E_UNKNOWN unknown command
 * }
 * await client.shutdown({ timeout: 5000 });
 * await server.close();
 * ```
 */
export class Rpc<C extends RpcConnection = RpcConnection> extends Emitter<RpcEvents> {
  /** The connection this layer runs over. */
  readonly connection: C;
  /** Default request timeout in milliseconds (0: none). */
  readonly timeout: number;
  /** Cap on requests awaited, and separately on requests being answered. */
  readonly maxInFlight: number;
  /** Largest frame sent, in bytes. */
  readonly maxPayload: number;
  #responder: RpcResponder<C> | undefined;
  #state: RpcState = "open";
  readonly #outgoing: OutgoingRequests;
  readonly #incoming: IncomingRequests;
  #drainCheck: ((force?: boolean) => void) | undefined;
  #closeWaiters: Array<() => void> = [];
  #shutdown: Promise<boolean> | undefined;

  #onMessage = (data: string | Uint8Array, isBinary: boolean): void => {
    this.#receive(data, isBinary);
  };
  #onClose = (code: number, reason: string, wasClean: boolean): void => {
    this.#closed(code, reason, wasClean);
  };
  /** Sends a frame, or drops it if the connection can no longer send: nobody awaits it. */
  #send = (frame: Uint8Array): void => {
    const s = this.connection.readyState;
    if (s !== "open" && s !== "connecting") return;
    try {
      this.connection.sendBinary(frame);
    } catch {
      // The connection went away in between; its close event fails what is pending.
    }
  };
  #onSettled = (): void => this.#drainCheck?.();
  #onError = (error: RpcError): boolean => this.emit("error", error);

  /**
   * Attaches the RPC layer to `connection`. Throws an {@link RpcError} `RPC_ERR_ATTACHED` if the
   * connection already has one, a TypeError for a raw connection with line framing, and a
   * RangeError for a bad option.
   */
  constructor(connection: C, options: RpcOptions<C> = {}) {
    super();
    checkObject(options, "options");
    if (options.responder !== undefined && typeof options.responder !== "function") {
      throw new InvalidOptionError("responder", "a function", options.responder);
    }
    if (attached.has(connection)) {
      throw new RpcError("RPC_ERR_ATTACHED", "this connection already has an Rpc");
    }
    if (connection.framing !== undefined && connection.framing !== "length") {
      throw new TypeError(
        `RPC needs binary messages; a raw connection with "${connection.framing}" framing ` +
          `cannot carry them intact (use "length")`,
      );
    }
    const timeout = options.timeout ?? DEFAULT_RPC_TIMEOUT;
    checkTimeout(timeout, "timeout");
    const maxInFlight = options.maxInFlight ?? DEFAULT_RPC_MAX_IN_FLIGHT;
    checkInteger(maxInFlight, "maxInFlight", 1);
    const maxPayload = options.maxPayload ?? connection.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    checkInteger(maxPayload, "maxPayload", HEADER_SIZE);
    this.connection = connection;
    this.timeout = timeout;
    this.maxInFlight = maxInFlight;
    this.maxPayload = maxPayload;
    this.#responder = options.responder;
    this.#outgoing = new OutgoingRequests(
      connection,
      maxInFlight,
      maxPayload,
      this.#send,
      this.#onSettled,
    );
    this.#incoming = new IncomingRequests(maxPayload, this.#send, this.#onSettled, this.#onError);
    if (connection.readyState === "closed") {
      this.#state = "closed";
      return;
    }
    attached.add(connection);
    connection.on("message", this.#onMessage);
    connection.on("close", this.#onClose);
  }

  /** `open`, `shutting-down` or `closed`. */
  get state(): RpcState {
    return this.#state;
  }

  /** Requests awaiting the peer's response (`outgoing`) and being answered here (`incoming`). */
  get inFlight(): { outgoing: number; incoming: number } {
    return { outgoing: this.#outgoing.size, incoming: this.#incoming.size };
  }

  /**
   * Responders here that the requester cancelled (it timed out or aborted) and that have not
   * returned yet: they ignore `ctx.signal`. They hold no `maxInFlight` slot, but their work goes on.
   *
   * @example
   * ```ts
   * if (rpc.abandoned > 100) console.warn("responders ignore ctx.signal");
   * ```
   */
  get abandoned(): number {
    return this.#incoming.abandoned;
  }

  /**
   * Sets (or, with `undefined`, removes) the function that answers the peer's requests. Requests
   * already being answered keep the responder they started with.
   *
   * @example
   * ```ts
   * rpc.setResponder(async (data, ctx) => {
   *   await new Promise((r) => setTimeout(r, 10));
   *   if (ctx.signal.aborted) return; // dropped anyway: the requester gave up
   *   return data;
   * });
   * ```
   */
  setResponder(responder: RpcResponder<C> | undefined): this {
    this.#responder = responder;
    return this;
  }

  /**
   * Sends a request and resolves with the peer's response (text as `string`, binary as
   * `Uint8Array`). Never throws: it rejects with an {@link RpcError}, e.g. `RPC_ERR_REMOTE` (the
   * peer's responder threw), `RPC_ERR_TIMEOUT` or `RPC_ERR_ABORTED` (the peer is told to cancel),
   * `RPC_ERR_CLOSED`, `RPC_ERR_SHUTDOWN`, `RPC_ERR_TOO_MANY`, `RPC_ERR_TOO_BIG`.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * setTimeout(() => ac.abort(), 1000);
   * const bytes = await rpc.request(new Uint8Array([1, 2, 3]), { signal: ac.signal, timeout: 5000 });
   * ```
   */
  request(data: RpcSendData, options: RpcRequestOptions = {}): Promise<RpcData> {
    return this.#call(data, options, undefined);
  }

  /** `request`, and `ctx.request` with the responder's `parent` signal. */
  #call(
    data: RpcSendData,
    options: RpcRequestOptions,
    parent: AbortSignal | undefined,
  ): Promise<RpcData> {
    const signal = options?.signal;
    const timeout = options?.timeout ?? this.timeout;
    try {
      checkObject(options, "options");
      checkTimeout(timeout, "timeout");
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new InvalidOptionError("signal", "an AbortSignal", signal);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const connState = this.connection.readyState;
    if (this.#state === "closed" || (connState !== "open" && connState !== "connecting")) {
      return Promise.reject(new RpcError("RPC_ERR_CLOSED", `the connection is ${connState}`));
    }
    // A responder's own requests help finish what shutdown waits for, so they are let through.
    if (this.#state === "shutting-down" && !parent) {
      return Promise.reject(
        new RpcError("RPC_ERR_SHUTDOWN", "shutdown has begun: no new requests are sent"),
      );
    }
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (parent?.aborted) return Promise.reject(abortedError(parent));
    return this.#outgoing.request(data, timeout, signal, parent);
  }

  /**
   * Graceful shutdown: refuses new requests in both directions from now on (this side's with
   * `RPC_ERR_SHUTDOWN` at once, the peer's with an `RPC_ERR_SHUTDOWN` error response), waits
   * until every in-flight request in both directions has finished or `timeout` passed, then closes
   * the connection with `code` and `reason` and resolves once it is closed. Resolves with true if
   * nothing was still in flight when the connection closed; requests cut off by the deadline fail
   * with `RPC_ERR_CLOSED`. Calling it again returns the same promise.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", async () => {
   *   const drained = await rpc.shutdown({ timeout: 5000, code: 1001, reason: "restarting" });
   *   if (!drained) console.warn("some requests were cut off");
   * });
   * ```
   */
  shutdown(options: RpcShutdownOptions = {}): Promise<boolean> {
    if (this.#shutdown) return this.#shutdown;
    const timeout = options.timeout ?? DEFAULT_RPC_SHUTDOWN_TIMEOUT;
    const code = options.code ?? 1000, reason = options.reason ?? "";
    try {
      checkTimeout(timeout, "shutdown timeout");
      // Checked now rather than after the wait, when the error would be a surprise.
      encodeClosePayload(code, reason);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#state === "closed") return this.#shutdown = Promise.resolve(true);
    this.#state = "shutting-down";
    this.#shutdown = (async () => {
      const drained = await this.#drained(timeout);
      if (this.#state !== "closed") {
        const closed = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
        const s = this.connection.readyState;
        if (s === "open" || s === "connecting") this.connection.close(code, reason);
        await closed;
      }
      return drained;
    })();
    return this.#shutdown;
  }

  #drained(timeout: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        this.#drainCheck = undefined;
        resolve(drained);
      };
      this.#drainCheck = (force?: boolean) => {
        if (force !== undefined) finish(force);
        else if (this.#outgoing.size === 0 && this.#incoming.size === 0) finish(true);
      };
      const delay = timerDelay(timeout);
      if (timeout === 0) return finish(this.#outgoing.size === 0 && this.#incoming.size === 0);
      if (delay !== undefined) timer = setTimeout(() => finish(false), delay);
      this.#drainCheck();
    });
  }

  #sendError(id: number, code: RpcErrorCode, message: string): void {
    this.#send(encodeErrorFrame(id, code, message));
  }

  #receive(data: string | Uint8Array, isBinary: boolean): void {
    if (!isRpcMessage(data)) {
      this.emit("message", data, isBinary);
      return;
    }
    if (this.#state === "closed") return;
    let frame: RpcFrame;
    try {
      frame = decodeRpcFrame(data);
    } catch (err) {
      this.#malformed(data, err as RpcError);
      return;
    }
    switch (frame.kind) {
      case "request":
        return this.#request(frame.id, frame.data);
      case "response":
        // A response to an unknown id is normal: the request timed out or was aborted meanwhile.
        return this.#outgoing.settle(frame.id)?.resolve(frame.data);
      case "error":
        return this.#outgoing.settle(frame.id)?.reject(
          new RpcError(frame.code, frame.message, { appCode: frame.appCode, remote: true }),
        );
      case "cancel":
        return this.#incoming.cancel(frame.id);
    }
  }

  /**
   * Reports a malformed frame and, where the fixed 8-byte prefix names a request id, keeps that
   * request from waiting for nothing: a request gets an error response, a pending request whose
   * response was malformed fails.
   */
  #malformed(bytes: Uint8Array, error: RpcError): void {
    this.emit("error", error);
    const id = frameId(bytes);
    if (id === 0) return;
    const kind = bytes[2];
    if (kind === RpcKind.Request) {
      // Answering an id that is being answered would settle the peer's earlier request wrongly.
      if (!this.#incoming.has(id)) this.#sendError(id, "RPC_ERR_MALFORMED", error.message);
    } else if (kind === RpcKind.Response || kind === RpcKind.Error) {
      this.#outgoing.settle(id)?.reject(
        new RpcError("RPC_ERR_MALFORMED", `malformed response: ${error.message}`),
      );
    }
  }

  #request(id: number, data: RpcData): void {
    if (this.#incoming.has(id)) {
      // No answer: it would be taken as the answer to the request already running under that id.
      this.emit("error", malformed(`duplicate request id ${id} while it is being answered`));
      return;
    }
    if (this.#state === "shutting-down") {
      return this.#sendError(id, "RPC_ERR_SHUTDOWN", "the peer is shutting down");
    }
    if (this.#incoming.size >= this.maxInFlight) {
      return this.#sendError(
        id,
        "RPC_ERR_TOO_MANY",
        `the peer is answering ${this.maxInFlight} requests already`,
      );
    }
    const responder = this.#responder;
    if (!responder) return this.#sendError(id, "RPC_ERR_NO_RESPONDER", "the peer has no responder");
    const controller = this.#incoming.begin(id);
    const signal = controller.signal;
    const ctx: RpcContext<C> = {
      id,
      isBinary: typeof data !== "string",
      signal,
      rpc: this,
      connection: this.connection,
      request: (data, options = {}) => this.#call(data, options, signal),
    };
    // A promise around the call turns a synchronous throw into a rejection like an async one.
    new Promise<RpcReply>((resolve) => resolve(responder(data, ctx))).then(
      (reply) => this.#incoming.answer(id, controller, reply, undefined),
      (err: unknown) => this.#incoming.answer(id, controller, undefined, { err }),
    );
  }

  #closed(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.connection.off?.("message", this.#onMessage);
    this.connection.off?.("close", this.#onClose);
    attached.delete(this.connection);
    // Decided before closeAll below empties the tables, which would make any drain look complete.
    this.#drainCheck?.(this.#outgoing.size === 0 && this.#incoming.size === 0);
    const why = `the connection closed (${code}${reason ? ` ${reason}` : ""})`;
    this.#outgoing.closeAll(`${why} with the request pending`);
    this.#incoming.closeAll(`${why}; nobody awaits the answer`);
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of waiters) w();
    this.emit("close", code, reason, wasClean);
  }
}
