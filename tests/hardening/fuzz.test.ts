/**
 * Fuzz test (issue 11): a real server over loopback against batches of 20-40 concurrent clients,
 * each sending a random byte stream (valid and broken handshakes, valid and broken frames,
 * fragments, control and close frames, bad UTF-8, compressed and corrupt messages), cut into
 * random writes with random pauses, and ending in a random way (nothing, close frame, half-close,
 * close, reset). Whatever they send:
 *
 * - no uncaught error and no unhandled rejection in the process;
 * - every client's connection is closed within a bounded time;
 * - whatever the server answers is an HTTP response, and a 101 carries the right Accept key;
 * - every server-side socket reports `close` with a valid code (one a peer may send, or 1005/1006),
 *   every `error` it reports is a typed `WSError`, and `server.clients` is empty after each batch;
 * - the process RSS stays within a bound;
 * - a client that sends only valid traffic is admitted, gets exactly its messages back (the
 *   server echoes them; checked without deflate), and its socket closes with 1000 after its close
 *   frame, or 1006 when it drops or goes silent (heartbeat).
 *
 * Seeded: `FUZZ_SEED` (default a fixed seed) and `FUZZ_RUNS` change the inputs, `FUZZ_PATH` (with
 * the seed from a failure message) replays the failing batch, and `FUZZ_SHRINK=1` lets fast-check
 * shrink a failure to a smaller batch (slow: every try is a real network run).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHash } from "node:crypto";
import process from "node:process";
import fc from "fast-check";
import { WSError } from "../../src/errors.ts";
import { isValidCloseCode } from "../../src/protocol/close.ts";
import { serve, type Server } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { decodeFrames, headEnd, withTimeout } from "../_helpers.ts";
import {
  type ConnOutcome,
  KEEP_RECEIVED,
  playScript,
  sampleRss,
  trapErrors,
} from "./_fuzz_driver.ts";
import { type ConnScript, connScript, describeScript } from "./_fuzz_streams.ts";

const env = (name: string) => process.env[name];
const SEED = Number(env("FUZZ_SEED") ?? 0x11f022);
const SHRINK = env("FUZZ_SHRINK") === "1";
const VERBOSE = env("FUZZ_VERBOSE") === "1";

/** The server's limits: small, so that every timeout fires well within a batch's time bound. */
const LIMITS = {
  maxPayload: 256 * 1024,
  maxHeadSize: 8 * 1024,
  handshakeTimeout: 1500,
  closeTimeout: 1000,
  heartbeat: { interval: 300, timeout: 300 },
};
/** A client's connection must be closed this soon after its last write (all timeouts above fit). */
const CLOSE_WITHIN = 8000;
/**
 * How much the RSS may grow over a whole property: at most 40 connections at once, each holding at
 * most maxPayload (256 KiB) of a message and a few KiB of state, is ~12 MiB; growth up to ~45 MiB
 * was seen (collection timing differs by runtime), so 128 MiB still catches any leak per batch.
 */
const RSS_GROWTH_BOUND = 128 * 1024 * 1024;

/** The Sec-WebSocket-Accept a 101 must carry for the (first) key in `stream` (RFC 6455 §4.2.2). */
function expectedAccept(stream: Uint8Array): string {
  const head = new TextDecoder("latin1").decode(stream.subarray(0, 30_000));
  const key = /\nsec-websocket-key:([^\r\n]*)/i.exec(head)?.[1].trim() ?? "";
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/** Codes a server-side `close` event may report: any a peer may send, 1005 (none) and 1006. */
function validReported(code: number): boolean {
  return isValidCloseCode(code) || code === 1005 || code === 1006;
}

/**
 * For a valid script that ends with a close frame or silence (so that the server answers all of
 * it): undefined if the client got back exactly the messages it sent (as the server echoes them;
 * `pub:` texts go to every subscriber instead, and are left out on both sides), else what differs.
 * This catches bytes of one message (or connection) turning up in another.
 */
function echoProblem(script: ConnScript, o: ConnOutcome): string | undefined {
  if (!strict(script, o) || (script.ending !== "close" && script.ending !== "none")) {
    return undefined;
  }
  const received = o.received;
  if (received.length >= KEEP_RECEIVED) return undefined;
  const isPub = (opcode: number, body: Uint8Array) =>
    opcode === 1 && body[0] === 0x70 && body[1] === 0x75 && body[2] === 0x62 && body[3] === 0x3a;
  const sent = script.messages.filter((m) => !isPub(m.opcode, m.body));
  const got: Array<{ opcode: number; body: Uint8Array }> = [];
  for (const f of decodeFrames(received.subarray(Math.max(0, headEnd(received))))) {
    if (f.opcode === 1 || f.opcode === 2) got.push({ opcode: f.opcode, body: f.payload });
  }
  const echoed = got.filter((m) => !isPub(m.opcode, m.body));
  const hex = (b: Uint8Array) =>
    Array.from(b.subarray(0, 40), (x) => x.toString(16).padStart(2, "0")).join("");
  for (let i = 0; i < Math.max(sent.length, echoed.length); i++) {
    const a = sent[i], b = echoed[i];
    if (!a || !b || a.opcode !== b.opcode || !equalBytes(a.body, b.body)) {
      return `echo ${i} of ${sent.length} differs: sent ${
        a ? `${a.opcode}:${a.body.length}:${hex(a.body)}` : "nothing"
      }, ` +
        `got ${
          b ? `${b.opcode}:${b.body.length}:${hex(b.body)}` : "nothing"
        } (${echoed.length} echoed)`;
    }
  }
  return undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True if the script is valid and its client was never so slow (a stalled test process) that the
 * server's handshake timeout or heartbeat may have cut it off: then exact expectations hold.
 */
function strict(script: ConnScript, o: ConnOutcome): boolean {
  return script.valid && o.spanMs < LIMITS.handshakeTimeout * 0.8 &&
    o.maxGapMs < LIMITS.heartbeat.interval * 0.8;
}

interface Served {
  ws: WS;
  remotePort: number;
  code?: number;
  /** Errors the socket reported that are not a typed {@link WSError}. */
  untyped: unknown[];
  closed: Promise<void>;
}

async function fuzz(deflate: boolean, runs: number, conns: [number, number]): Promise<void> {
  const served: Served[] = [];
  const onOpen = (ws: WS) => {
    let closed!: () => void;
    const s: Served = {
      ws,
      remotePort: ws.remotePort,
      untyped: [],
      closed: new Promise<void>((r) => (closed = r)),
    };
    served.push(s);
    ws.subscribe("fuzz");
    ws.on("error", (e) => {
      if (e instanceof WSError && e.code.startsWith("WS_ERR_")) {
        stats.errors.set(e.code, (stats.errors.get(e.code) ?? 0) + 1);
      } else s.untyped.push(e);
    });
    ws.on("message", (m) => {
      if (ws.readyState !== "open") return;
      if (typeof m === "string" && m.startsWith("pub:")) server.publish("fuzz", m);
      else ws.send(m);
    });
    ws.on("close", (code) => {
      s.code = code;
      closed();
    });
  };
  const server: Server = await serve({
    port: 0,
    hostname: "127.0.0.1",
    deflate,
    ...LIMITS,
    resources: {
      "/": onOpen,
      // Admission that takes a while: the client's frames arrive before it is admitted.
      "/a/b": {
        accept: () => new Promise<void>((r) => setTimeout(r, Math.random() * 30)),
        handler: onOpen,
      },
      "/deny": {
        accept: () => new Response("no", { status: 401, headers: { "WWW-Authenticate": "x" } }),
        handler: onOpen,
      },
    },
    fetch: async (req) => new Response(`${(await req.arrayBuffer()).byteLength} bytes`),
  });
  const stats = {
    scripts: 0,
    strict: 0,
    bytesIn: 0,
    codes: new Map<number, number>(),
    statuses: new Map<string, number>(),
    errors: new Map<string, number>(),
  };
  const trap = trapErrors();
  const baseline = process.memoryUsage().rss;
  const rss = sampleRss();

  async function batch(scripts: ConnScript[]): Promise<void> {
    served.length = 0;
    const outcomes = await Promise.all(
      scripts.map((s) => playScript(server.port, s, CLOSE_WITHIN)),
    );
    stats.scripts += scripts.length;
    for (const o of outcomes) stats.bytesIn += o.bytesIn;
    const problems: string[] = [];
    const byPort = new Map(outcomes.map((o, i) => [o.localPort, i]));
    const who = (port: number) => {
      const i = byPort.get(port);
      return i === undefined ? `port ${port}` : `connection #${i} (${describeScript(scripts[i])})`;
    };
    outcomes.forEach((o, i) => {
      const head = o.head.slice(0, Math.max(0, o.head.indexOf("\r\n\r\n")) || 200);
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(o.head)?.[1];
      const key = status ?? (o.head.length > 0 ? "junk" : "nothing");
      stats.statuses.set(key, (stats.statuses.get(key) ?? 0) + 1);
      if (o.head.length > 0 && !status) {
        problems.push(`not an HTTP response: ${JSON.stringify(head)}: ${who(o.localPort)}`);
      } else if (
        status === "101" &&
        /\r\nsec-websocket-accept: (.*)\r/i.exec(head)?.[1].trim() !==
          expectedAccept(scripts[i].stream)
      ) {
        problems.push(`101 without the right Accept: ${JSON.stringify(head)}: ${who(o.localPort)}`);
      }
      if (o.hung) problems.push(`client not closed: ${o.hung}: ${who(o.localPort)} [#${i}]`);
    });
    await withTimeout(Promise.all(served.map((s) => s.closed)), 5000, "server sockets to close")
      .catch(() => {});
    for (const s of served) {
      if (s.code === undefined) {
        problems.push(`server socket still ${s.ws.readyState}: ${who(s.remotePort)}`);
      } else {
        stats.codes.set(s.code, (stats.codes.get(s.code) ?? 0) + 1);
      }
      for (const e of s.untyped) {
        problems.push(`untyped error ${(e as Error)?.stack ?? String(e)}: ${who(s.remotePort)}`);
      }
      if (s.code !== undefined && !validReported(s.code)) {
        problems.push(`server socket closed with invalid code ${s.code}: ${who(s.remotePort)}`);
      }
    }
    const servedByPort = new Map(served.map((s) => [s.remotePort, s]));
    outcomes.forEach((o, i) => {
      const script = scripts[i];
      if (!strict(script, o)) return;
      stats.strict++;
      const s = servedByPort.get(o.localPort);
      // The client may go before the server has read its handshake; a server may also abandon an
      // admission still pending (an async accept hook) when the client half-closes meanwhile.
      const mayVanish = script.ending !== "close" && script.ending !== "none";
      const expected = script.ending === "close" ? 1000 : 1006;
      if (!s && !mayVanish) {
        const answer = JSON.stringify(o.head.slice(0, 40));
        problems.push(`valid stream not admitted (answer ${answer}): ${who(o.localPort)}`);
      }
      if (s && s.code !== undefined && s.code !== expected) {
        problems.push(`valid stream closed with ${s.code}, not ${expected}: ${who(o.localPort)}`);
      }
    });
    if (!deflate) {
      outcomes.forEach((o, i) => {
        const wrong = echoProblem(scripts[i], o);
        if (wrong) problems.push(`${wrong}: ${who(o.localPort)}`);
      });
    }
    if (server.clients.size !== 0) problems.push(`server.clients has ${server.clients.size} left`);
    if (trap.errors.length > 0) {
      problems.push(`uncaught: ${trap.errors.map((e) => (e as Error)?.stack ?? String(e))}`);
    }
    assert.ok(problems.length === 0, problems.join("\n"));
  }

  try {
    const details = await fc.check(
      fc.asyncProperty(
        fc.array(connScript(deflate), { minLength: SHRINK ? 1 : conns[0], maxLength: conns[1] }),
        batch,
      ),
      {
        seed: SEED,
        numRuns: Number(env("FUZZ_RUNS") ?? runs),
        path: env("FUZZ_PATH"),
        endOnFailure: !SHRINK,
      },
    );
    if (details.failed) {
      const e = details.errorInstance as Error | undefined;
      assert.fail(
        `fuzz failed after ${details.numRuns} batches; replay with FUZZ_SEED=${details.seed} ` +
          `FUZZ_PATH=${details.counterexamplePath}\n${e?.message ?? String(e)}`,
      );
    }
  } finally {
    const peak = rss.stop();
    trap.stop();
    await withTimeout(server.close(), 10_000, "server.close()");
    const growth = peak - baseline;
    if (VERBOSE) {
      const codes = [...stats.codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}×${n}`);
      console.log(
        `fuzz${deflate ? " (deflate)" : ""}: ${stats.scripts} connections, ` +
          `${codes.reduce((n, c) => n + Number(c.split("×")[1]), 0)} upgraded, ` +
          `${stats.strict} valid ones held to exact expectations, ` +
          `answers ${[...stats.statuses].map(([k, n]) => `${k}×${n}`).join(" ")}, ` +
          `server close codes ${codes.join(" ")}, errors ` +
          `${[...stats.errors].map(([k, n]) => `${k}×${n}`).join(" ")}, ` +
          `${stats.bytesIn} bytes received by clients, ` +
          `RSS +${(growth / 2 ** 20).toFixed(1)} MiB at peak`,
      );
    }
    assert.ok(
      growth < RSS_GROWTH_BOUND,
      `RSS grew by ${(growth / 2 ** 20).toFixed(0)} MiB (bound ${RSS_GROWTH_BOUND / 2 ** 20} MiB)`,
    );
  }
}

describe("fuzz: hostile byte streams against a server", () => {
  it("random streams, splits and timings on 20-40 connections at once", {
    timeout: 120_000,
  }, async () => {
    await fuzz(false, 6, [20, 40]);
  });

  it("the same with permessage-deflate offered and agreed", { timeout: 120_000 }, async () => {
    await fuzz(true, 3, [20, 30]);
  });
});
