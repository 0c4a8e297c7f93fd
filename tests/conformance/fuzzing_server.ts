/**
 * The fuzzing server: a raw `node:net` server that completes the opening handshake by hand and
 * plays, against each WebSocket client that connects to `/<case id>`, that case. The client under
 * test must echo every message (text as text, binary as binary). The server's frames are
 * unmasked; the client's must be masked.
 */

import * as net from "node:net";
import { type Case, CASES } from "./cases.ts";
import {
  type DeflateAgreement,
  type OfferedExtension,
  parseExtensions,
  PMD,
  readResponse,
} from "./compression.ts";
import { Fuzzer, type Timing } from "./fuzzer.ts";
import { acceptKey, hasToken, readHead } from "./handshake.ts";
import { type CaseResult, failedResult, runCaseOn } from "./runner.ts";

/** Options of {@link FuzzingServer.start}. */
export interface FuzzingServerOptions {
  hostname?: string;
  port?: number;
  /** The catalogue served (default: all cases). */
  cases?: readonly Case[];
  timing?: Partial<Timing>;
}

interface Deferred {
  promise: Promise<CaseResult>;
  resolve: (r: CaseResult) => void;
}

const HANDSHAKE_TIMEOUT = 5000;

/** A listening fuzzing server. */
export class FuzzingServer {
  readonly hostname: string;
  #server: net.Server;
  #cases: Map<string, Case>;
  #timing: Partial<Timing> | undefined;
  #results = new Map<string, Deferred>();
  #sockets = new Set<net.Socket>();
  #running = new Set<Promise<unknown>>();

  private constructor(server: net.Server, hostname: string, options: FuzzingServerOptions) {
    this.#server = server;
    this.hostname = hostname;
    this.#cases = new Map((options.cases ?? CASES).map((c) => [c.id, c]));
    this.#timing = options.timing;
  }

  /** Starts listening (port 0: a free port). */
  static start(options: FuzzingServerOptions = {}): Promise<FuzzingServer> {
    const hostname = options.hostname ?? "127.0.0.1";
    const server = net.createServer({ allowHalfOpen: false });
    const fs = new FuzzingServer(server, hostname, options);
    server.on("connection", (socket) => fs.#accept(socket));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, hostname, () => {
        server.off("error", reject);
        resolve(fs);
      });
    });
  }

  /** The port listened on. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** The URL a client under test connects to for case `id`. */
  url(id: string): string {
    return `ws://${this.hostname}:${this.port}/${id}`;
  }

  #deferred(id: string): Deferred {
    let d = this.#results.get(id);
    if (!d) {
      let resolve!: (r: CaseResult) => void;
      const promise = new Promise<CaseResult>((r) => (resolve = r));
      d = { promise, resolve };
      this.#results.set(id, d);
    }
    return d;
  }

  /** Resolves with the result of case `id` once a client has connected and the case has run. */
  result(id: string): Promise<CaseResult> {
    return this.#deferred(id).promise;
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => {});
    const job = this.#play(socket);
    this.#running.add(job);
    job.finally(() => this.#running.delete(job));
  }

  async #play(socket: net.Socket): Promise<void> {
    const t0 = performance.now();
    let head, rest;
    try {
      ({ head, rest } = await readHead(socket, HANDSHAKE_TIMEOUT));
    } catch {
      socket.destroy();
      return;
    }
    const m = /^GET (\S+) HTTP\/1\.1$/.exec(head.line);
    const path = m ? decodeURIComponent(m[1].split("?")[0]) : "";
    const c = this.#cases.get(path.replace(/^\/+/, ""));
    const key = head.headers.get("sec-websocket-key") ?? "";
    const problem = !m
      ? `bad request line ${JSON.stringify(head.line)}`
      : !hasToken(head.headers.get("upgrade"), "websocket")
      ? "no Upgrade: websocket"
      : !hasToken(head.headers.get("connection"), "upgrade")
      ? "no Connection: upgrade"
      : head.headers.get("sec-websocket-version") !== "13"
      ? "Sec-WebSocket-Version is not 13"
      : !/^[A-Za-z0-9+/]{22}==$/.test(key)
      ? "bad Sec-WebSocket-Key"
      : undefined;
    if (!c || problem) {
      const status = !c && !problem ? "404 Not Found" : "400 Bad Request";
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      if (c) this.#deferred(c.id).resolve(failedResult(c, `bad upgrade request: ${problem}`));
      return;
    }
    // permessage-deflate: the case's accept function answers the client's offers.
    const offer = head.headers.get("sec-websocket-extensions");
    let response: string | undefined;
    let agreement: DeflateAgreement | undefined;
    if (c.compression) {
      const offers = offer === undefined ? [] : parseExtensions(offer);
      const bad = typeof offers === "string"
        ? `a malformed Sec-WebSocket-Extensions offer: ${offers}`
        : !offers.some((o) => o.name === PMD)
        ? `no permessage-deflate offer (Sec-WebSocket-Extensions: ${offer ?? "absent"})`
        : undefined;
      if (bad) {
        socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        this.#deferred(c.id).resolve(failedResult(c, `the client sent ${bad}`));
        return;
      }
      response = c.compression.accept(offers as OfferedExtension[]);
      if (response !== undefined) {
        const r = readResponse(response, offer!);
        if (typeof r === "string") throw new Error(`the case's own response is invalid: ${r}`);
        agreement = r;
      }
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
        (response === undefined ? "" : `Sec-WebSocket-Extensions: ${response}\r\n`) + "\r\n",
    );
    const f = new Fuzzer(socket, "server", rest, this.#timing, agreement);
    f.negotiation = { offer, response };
    const r = await runCaseOn(c, f);
    r.ms = performance.now() - t0;
    this.#deferred(c.id).resolve(r);
  }

  /** Stops listening, drops open connections and waits (bounded) for running cases to end. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise((r) => (t = setTimeout(r, 5000))),
    ]);
    clearTimeout(t);
  }
}
