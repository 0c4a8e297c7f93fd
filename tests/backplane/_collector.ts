/** A test client that keeps every message it receives and waits for some with a bound. */

import { connect } from "../../src/client.ts";
import type { WS } from "../../src/ws.ts";
import { once, withTimeout } from "../_helpers.ts";

/** One received message. */
export interface Received {
  data: string | Uint8Array;
  isBinary: boolean;
}

/** A connected client and what it received. */
export class Collector {
  readonly ws: WS;
  readonly messages: Received[] = [];
  closed: Promise<[number, string, boolean]>;
  #waiters: Array<() => void> = [];

  private constructor(ws: WS) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      this.messages.push({ data, isBinary });
      this.#wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason, clean) => {
        resolve([code, reason, clean]);
        this.#wake();
      })
    );
  }

  /** Connects and waits for the open. */
  static async open(url: string, deflate = false): Promise<Collector> {
    const c = new Collector(connect(url, { deflate }));
    await once(c.ws, "open", 5000);
    return c;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds over the messages so far. */
  async until(pred: (m: Received[]) => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    for (let i = 0; i < 100_000; i++) {
      if (pred(this.messages)) return;
      if (this.ws.readyState === "closed") break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await withTimeout(new Promise<void>((r) => this.#waiters.push(r)), left, what).catch(
        () => {},
      );
    }
    if (pred(this.messages)) return;
    throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`);
  }

  /** Texts received so far. */
  texts(): string[] {
    return this.messages.filter((m) => !m.isBinary).map((m) => m.data as string);
  }

  close(): void {
    if (this.ws.readyState === "open" || this.ws.readyState === "connecting") this.ws.terminate();
  }
}

/**
 * Publishes `probe` through `publish` every 50 ms until every collector has received one: then
 * every process holding one of them is subscribed on Redis (subscribing is asynchronous).
 */
export async function synced(
  publish: () => void,
  collectors: Collector[],
  isProbe: (m: Received) => boolean,
  ms = 5000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1000; i++) {
    publish();
    const all = Promise.all(collectors.map((c) => c.until((m) => m.some(isProbe), "a probe", 50)));
    if (await all.then(() => true, () => false)) return;
    if (Date.now() > deadline) break;
  }
  throw new Error("the subscribers never received a probe: not subscribed on Redis?");
}
