/**
 * Every public entry point checks its options: a wrong type or impossible value is one typed
 * error (`WS_ERR_INVALID_OPTION`, naming the option) on every runtime, before anything starts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, type ConnectOptions } from "../../src/client.ts";
import { WSError } from "../../src/errors.ts";
import { Rpc, type RpcOptions } from "../../src/rpc.ts";
import { createServer, serve, type ServeOptions, type Server } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { once } from "../_helpers.ts";

const bad = <T>(o: unknown) => o as T;

/** Asserts that `fn` fails (throws or rejects) with an invalid-option error naming `option`. */
async function invalid(what: string, option: string, fn: () => unknown): Promise<void> {
  let caught: unknown;
  let result: unknown;
  try {
    result = await fn();
  } catch (err) {
    caught = err;
  }
  // Something that was wrongly accepted is cleaned up, so the table goes on.
  if (result && typeof (result as Server).close === "function") await (result as Server).close();
  if (result && typeof (result as WS).terminate === "function") (result as WS).terminate();
  assert.ok(caught !== undefined, `${what}: accepted`);
  assert.ok(caught instanceof WSError, `${what}: ${caught}`);
  assert.equal(caught.code, "WS_ERR_INVALID_OPTION", what);
  assert.equal((caught as WSError & { option?: string }).option, option, what);
  assert.ok(caught.message.startsWith(`${option} must be `), `${what}: ${caught.message}`);
}

const serveCases: Array<[option: string, options: unknown]> = [
  ["port", { port: "abc" }],
  ["port", { port: 70000 }],
  ["protocols", { protocols: "chat" }],
  ["maxPayload", { maxPayload: -5 }],
  ["heartbeat", { heartbeat: "yes" }],
  ["heartbeat.interval", { heartbeat: { interval: "1", timeout: 10 } }],
  ["handshakeTimeout", { handshakeTimeout: "x" }],
  ["closeTimeout", { closeTimeout: -1 }],
  ["maxClients", { maxClients: 1.5 }],
  ["origins", { origins: "https://example.com" }],
  ["idleTimeout", { idleTimeout: Infinity }],
  ["slowConsumer", { slowConsumer: "kill" }],
  ["fetch", { fetch: "index.html" }],
  ["stats", { stats: "off" }],
  ["raw.framing", { raw: { framing: "csv" } }],
  ["accept", { accept: true }],
  ["deflate.level", { deflate: { level: 12 } }],
  ['resources["/a"].maxClients', { resources: { "/a": { handler: () => {}, maxClients: "10" } } }],
  ['resources["/a"].handler', { resources: { "/a": { maxClients: 10 } } }],
  ['resources["a"]', { resources: { "a": () => {} } }],
];

const connectCases: Array<[option: string, options: unknown]> = [
  ["protocols", { protocols: "chat" }],
  ["maxPayload", { maxPayload: -5 }],
  ["heartbeat", { heartbeat: "yes" }],
  ["handshakeTimeout", { handshakeTimeout: "x" }],
  ["framing", { framing: "json" }],
  ["signal", { signal: "stop" }],
  ["headers", { headers: 42 }],
];

describe("option checking", () => {
  it("serve and createServer reject bad options with one typed error", async () => {
    for (const [option, options] of serveCases) {
      const o = { hostname: "127.0.0.1", heartbeat: false, ...(options as object) };
      await invalid(
        `serve ${JSON.stringify(options)}`,
        option,
        () => serve(bad<ServeOptions>(o), () => {}),
      );
      await invalid(
        `createServer ${option}`,
        option,
        () => createServer(bad<ServeOptions>(o), () => {}),
      );
    }
  });

  it("connect, socket methods, Rpc and publish reject bad arguments the same way", async () => {
    const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, () => {});
    const ws = connect(server.url);
    try {
      for (const [option, options] of connectCases) {
        await invalid(
          `connect ${option}`,
          option,
          () => connect(server.url, bad<ConnectOptions>(options)),
        );
      }
      await once(ws, "open");
      await invalid("ping(123)", "payload", () => ws.ping(bad(123)));
      await invalid("ping(126 bytes)", "payload", () => ws.ping(new Uint8Array(126)));
      await invalid("pong({})", "payload", () => ws.pong(bad({})));
      await invalid("close(1000, {})", "reason", () => ws.close(1000, bad({})));
      await invalid('close("1000")', "code", () => ws.close(bad("1000")));
      await invalid("close(1005)", "code", () => ws.close(1005));
      await invalid("send(42)", "data", () => ws.send(bad(42)));
      await invalid("send callback", "callback", () => ws.send("x", bad("cb")));
      await invalid("publish except", "except", () => server.publish("t", "x", bad({ except: 5 })));
      await invalid("publish topic", "topic", () => server.publish(bad(5), "x"));
      const rpcCases: Array<[string, unknown]> = [
        ["maxInFlight", { maxInFlight: "10" }],
        ["timeout", { timeout: "x" }],
        ["responder", { responder: "echo" }],
      ];
      for (const [option, options] of rpcCases) {
        await invalid(`Rpc ${option}`, option, () => new Rpc(ws, bad<RpcOptions<WS>>(options)));
      }
      const rpc = new Rpc(ws);
      await invalid("request timeout", "timeout", () => rpc.request("x", bad({ timeout: "x" })));
      await invalid("request signal", "signal", () => rpc.request("x", bad({ signal: 1 })));
      await invalid("server.close(999)", "code", () => server.close(999));
      assert.equal(ws.readyState, "open", "nothing was sent or closed by a refused call");
    } finally {
      ws.close();
      await server.close();
    }
  });
});
