/**
 * Application callbacks that throw or reject: reported to the server's `error` event (or logged
 * once if nobody listens), only the affected connection ends (1011, or 500 before the upgrade),
 * the process and every other client go on.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import type { WSError } from "../../src/errors.ts";
import { serve, type Server } from "../../src/server.ts";
import type { WS } from "../../src/ws.ts";
import { once } from "../_helpers.ts";
import { closeAll, tryOpen } from "./_server_util.ts";

const boom = (what: string) => new Error(what);

/** A server with one resource per way of failing, and an echo resource that must keep working. */
function failingServer(): Promise<Server> {
  return serve({
    port: 0,
    hostname: "127.0.0.1",
    heartbeat: false,
    resources: {
      "/accept-throw": {
        accept: () => {
          throw boom("/accept-throw");
        },
        handler: () => {},
      },
      "/accept-reject": {
        accept: async () => {
          await null;
          throw boom("/accept-reject");
        },
        handler: () => {},
      },
      "/handler-throw": () => {
        throw boom("/handler-throw");
      },
      "/handler-reject": async () => {
        await null;
        throw boom("/handler-reject");
      },
      "/message-throw": (ws) =>
        ws.on("message", () => {
          throw boom("/message-throw");
        }),
      "/message-reject": (ws) =>
        ws.on("message", async () => {
          await null;
          throw boom("/message-reject");
        }),
      "/echo": (ws) => ws.on("message", (m) => ws.send(m)),
    },
  });
}

/** Checks that the echo resource still answers. */
async function stillServes(server: Server): Promise<void> {
  const ws = connect(`${server.url}/echo`);
  await once(ws, "open");
  const reply = once<[string]>(ws, "message");
  ws.send("still here");
  assert.equal((await reply)[0], "still here");
  ws.close();
  await once(ws, "close");
}

/** What happens to a client of `path`: a refusal status, or the close code after it sent "x". */
async function outcome(server: Server, path: string): Promise<number | [number]> {
  const r = await tryOpen(`${server.url}${path}`);
  if (typeof r === "number") return r;
  const closed = once<[number]>(r, "close");
  if (r.readyState === "open") r.send("x");
  return [(await closed)[0]];
}

const cases: Array<[path: string, expected: number | [number], withSocket: boolean]> = [
  ["/accept-throw", 500, false],
  ["/accept-reject", 500, false],
  ["/handler-throw", [1011], true],
  ["/handler-reject", [1011], true],
  ["/message-throw", [1011], true],
  ["/message-reject", [1011], true],
];

describe("application callback errors", () => {
  it("go to the server's error event; only their own connection ends", async () => {
    const server = await failingServer();
    const reported: Array<[unknown, WS | undefined]> = [];
    server.on("error", (err, ws) => reported.push([err, ws]));
    try {
      for (const [path, expected, withSocket] of cases) {
        reported.length = 0;
        assert.deepEqual(await outcome(server, path), expected, path);
        for (let i = 0; i < 100 && reported.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(reported.length, 1, `${path}: one error reported`);
        const [err, ws] = reported[0];
        assert.equal((err as Error).message, path);
        assert.equal(ws !== undefined, withSocket, `${path}: the socket is named`);
        if (ws) assert.equal(ws.request?.path, path);
        await stillServes(server);
      }
    } finally {
      await server.close();
    }
  });

  it("are logged once with console.error when nobody listens, and the process goes on", async () => {
    const server = await failingServer();
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      for (const [path, expected] of cases) {
        logged.length = 0;
        assert.deepEqual(await outcome(server, path), expected, path);
        for (let i = 0; i < 100 && logged.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        // A turn more, so that a rethrow (the old behaviour) would have happened by now.
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(logged.length, 1, `${path}: logged once`);
        assert.ok(logged[0].some((a) => a instanceof Error && a.message === path), path);
        await stillServes(server);
      }
    } finally {
      console.error = original;
      await server.close();
    }
  });

  it("a client's throwing listener is its own error event, and the socket closes with 1011", async () => {
    const server = await serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, (ws) => {
      ws.send("hello");
    });
    const sockets: WS[] = [];
    try {
      for (const async of [false, true]) {
        const ws = connect(server.url);
        sockets.push(ws);
        ws.on(
          "message",
          async
            ? async () => {
              await null;
              throw boom("client listener");
            }
            : () => {
              throw boom("client listener");
            },
        );
        const [err] = await once<[WSError]>(ws, "error");
        assert.equal(err.name, "CallbackError", String(err));
        assert.equal(err.code, "WS_ERR_CALLBACK");
        assert.equal((err.cause as Error).message, "client listener");
        const [code] = await once<[number]>(ws, "close");
        assert.equal(code, 1011);
      }
    } finally {
      await closeAll(sockets);
      await server.close();
    }
  });
});
