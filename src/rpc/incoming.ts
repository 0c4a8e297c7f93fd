/**
 * The peer's requests being answered on this side: which are still wanted, how many responders
 * the requester gave up on, and what goes back when a responder settles.
 *
 * @module
 */

import { encodeErrorFrame, encodeRpcFrame } from "./codec.ts";
import { RpcError } from "./errors.ts";
import type { RpcReply } from "./types.ts";

/** The requests of one `Rpc` being answered, by the peer's id. */
export class IncomingRequests {
  /** Requests being answered that are still wanted; each controller aborts its `ctx.signal`. */
  #answering = new Map<number, AbortController>();
  /** Responders the requester cancelled that have not settled yet. */
  #abandoned = 0;
  /** Largest frame sent, header included. */
  readonly #maxPayload: number;
  /** Sends a frame, or drops it once the connection can no longer send. */
  readonly #send: (frame: Uint8Array) => void;
  /** Told each time a request leaves: graceful shutdown waits for the table to empty. */
  readonly #settled: () => void;
  /** Reports a problem no request reports (the `Rpc`'s `error` event). */
  readonly #error: (error: RpcError) => unknown;

  constructor(
    maxPayload: number,
    send: (frame: Uint8Array) => void,
    settled: () => void,
    error: (error: RpcError) => unknown,
  ) {
    this.#maxPayload = maxPayload;
    this.#send = send;
    this.#settled = settled;
    this.#error = error;
  }

  /** Requests being answered that are still wanted. */
  get size(): number {
    return this.#answering.size;
  }

  /** Responders the requester cancelled that are still running. */
  get abandoned(): number {
    return this.#abandoned;
  }

  /** True while request `id` is being answered. */
  has(id: number): boolean {
    return this.#answering.has(id);
  }

  /** Starts answering request `id`; the controller's signal is the responder's `ctx.signal`. */
  begin(id: number): AbortController {
    const controller = new AbortController();
    this.#answering.set(id, controller);
    return controller;
  }

  /** The peer cancelled request `id`: its responder is told, and its answer will be dropped. */
  cancel(id: number): void {
    const controller = this.#answering.get(id);
    if (!controller) return; // already answered
    // The slot is free at once: the requester's cap and this side's must agree, or a
    // responder that never returns would lock the requester out for good.
    this.#answering.delete(id);
    this.#abandoned++;
    controller.abort(
      new RpcError("RPC_ERR_ABORTED", "the requester cancelled the request", { remote: true }),
    );
    this.#settled();
  }

  /**
   * The responder of request `id` settled with `reply`, or threw (`thrown`): sends the response or
   * the error, unless the answer is no longer wanted.
   */
  answer(
    id: number,
    controller: AbortController,
    reply: RpcReply,
    thrown: { err: unknown } | undefined,
  ): void {
    // Not the current entry: cancelled (or the connection closed); the answer is not wanted.
    if (this.#answering.get(id) !== controller) {
      if (controller.signal.aborted) this.#abandoned--;
      return;
    }
    this.#answering.delete(id);
    try {
      if (thrown) {
        // Anything with a string `message` counts as an error, so plain `{ code, message }`
        // objects and errors from other realms keep their details.
        const { err } = thrown;
        const e = typeof err === "object" && err !== null
          ? err as { code?: unknown; message?: unknown }
          : {};
        const message = typeof e.message === "string" ? e.message : String(err);
        const code = e.code;
        const appCode = typeof code === "string" || typeof code === "number"
          ? String(code)
          : undefined;
        this.#send(encodeErrorFrame(id, "RPC_ERR_REMOTE", message, appCode));
        return;
      }
      let frame: Uint8Array;
      try {
        frame = encodeRpcFrame({ kind: "response", id, data: reply ?? new Uint8Array(0) });
      } catch (err) {
        const e = new RpcError(
          "RPC_ERR_REMOTE",
          `the responder returned ${typeof reply}; return a string or bytes`,
          { cause: err },
        );
        this.#error(e);
        this.#send(encodeErrorFrame(id, "RPC_ERR_REMOTE", e.message));
        return;
      }
      if (frame.length > this.#maxPayload) {
        const e = new RpcError(
          "RPC_ERR_TOO_BIG",
          `a response frame of ${frame.length} bytes is over the limit of ${this.#maxPayload}`,
        );
        this.#error(e);
        this.#send(encodeErrorFrame(id, "RPC_ERR_TOO_BIG", e.message));
        return;
      }
      this.#send(frame);
    } finally {
      this.#settled();
    }
  }

  /**
   * The connection closed: every responder still running is told through its signal, with an
   * `RPC_ERR_CLOSED` of `message`, and counts as abandoned until it settles.
   */
  closeAll(message: string): void {
    const controllers = [...this.#answering.values()];
    this.#answering.clear();
    this.#abandoned += controllers.length;
    for (const c of controllers) c.abort(new RpcError("RPC_ERR_CLOSED", message));
  }
}
