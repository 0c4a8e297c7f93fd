/** The WHATWG WebSocket class: the standard's rules one by one, over real sockets. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import rwsModule from "reconnecting-websocket";
import { CloseEvent, WebSocket, type WebSocketBinaryType } from "../../src/client/websocket.ts";
import { serve, type Server } from "../../src/server.ts";
import { freePort, withTimeout } from "../_helpers.ts";

/** Resolves with the next event of `type` on `target`. */
function next<E extends Event = Event>(target: EventTarget, type: string, ms = 5000): Promise<E> {
  return withTimeout(
    new Promise<E>((resolve) =>
      target.addEventListener(type, (e) => resolve(e as E), { once: true })
    ),
    ms,
    `a ${type} event`,
  );
}

/** Records the type of every event until `close`; resolves with them and the close event. */
function record(ws: WebSocket): Promise<{ events: string[]; close: CloseEvent }> {
  const events: string[] = [];
  for (const t of ["open", "message", "error"]) {
    ws.addEventListener(t, () => events.push(`${t}@${ws.readyState}`));
  }
  return next<CloseEvent>(ws, "close").then((close) => {
    events.push(`close@${ws.readyState}`);
    return { events, close };
  });
}

type CloseEvent = InstanceType<typeof CloseEvent>;

/** reconnecting-websocket as its CommonJS build exports it, typed as far as the test uses it. */
interface Rws extends EventTarget {
  send(data: string): void;
  close(): void;
}
const ReconnectingWebSocket = ((rwsModule as unknown as { default?: unknown }).default ??
  rwsModule) as unknown as new (
    url: string,
    protocols: string[],
    options: Record<string, unknown>,
  ) => Rws;

describe("WebSocket (WHATWG)", () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      protocols: ["chat"],
      deflate: true,
    }, (ws) => {
      ws.on("message", (m) => {
        const s = typeof m === "string" ? m : "";
        if (s === "echo-then-close") {
          ws.send(s);
          ws.close(4003);
        } else if (s.startsWith("close ")) {
          const [, code, reason] = s.split(" ");
          ws.close(Number(code), reason);
        } else ws.send(m);
      });
    });
    url = `ws://127.0.0.1:${server.port}/`;
  });
  after(() => server.close());

  it("has the readyState constants, static and on instances", () => {
    assert.deepEqual(
      [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
      [0, 1, 2, 3],
    );
    const ws = new WebSocket(url);
    assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    ws.close();
  });

  const badConstructors: Array<[string, () => unknown]> = [
    ["an unparseable URL", () => new WebSocket("not a url")],
    ["a relative URL", () => new WebSocket("/chat")],
    ["an ftp: URL", () => new WebSocket("ftp://127.0.0.1/")],
    ["a fragment", () => new WebSocket("ws://127.0.0.1/#x")],
    ["an empty fragment", () => new WebSocket("ws://127.0.0.1/#")],
    ["a duplicate subprotocol", () => new WebSocket("ws://127.0.0.1/", ["a", "b", "a"])],
    ["an empty subprotocol", () => new WebSocket("ws://127.0.0.1/", "")],
    ["a subprotocol with a space", () => new WebSocket("ws://127.0.0.1/", ["a b"])],
    ["a subprotocol with a comma", () => new WebSocket("ws://127.0.0.1/", "a,b")],
    ["a non-ASCII subprotocol", () => new WebSocket("ws://127.0.0.1/", ["é"])],
  ];
  for (const [what, make] of badConstructors) {
    it(`constructor: ${what} is a SyntaxError DOMException`, () => {
      assert.throws(make, (e: unknown) => e instanceof DOMException && e.name === "SyntaxError");
    });
  }

  it("constructor: http: and https: become ws: and wss:", () => {
    const a = new WebSocket(`http://127.0.0.1:${server.port}/x?y=1`);
    assert.equal(a.url, `ws://127.0.0.1:${server.port}/x?y=1`);
    a.close();
    const b = new WebSocket("https://127.0.0.1:1/");
    assert.equal(b.url, "wss://127.0.0.1:1/");
    b.close();
  });

  it("send() while connecting is an InvalidStateError", () => {
    const ws = new WebSocket(url);
    assert.throws(
      () => ws.send("early"),
      (e: unknown) => e instanceof DOMException && e.name === "InvalidStateError",
    );
    ws.close();
  });

  const closeArgs: Array<[number | undefined, string | undefined, string | null]> = [
    [999, undefined, "InvalidAccessError"],
    [1001, undefined, "InvalidAccessError"],
    [1005, undefined, "InvalidAccessError"],
    [2999, undefined, "InvalidAccessError"],
    [5000, undefined, "InvalidAccessError"],
    [0, undefined, "InvalidAccessError"],
    [1000, "x".repeat(124), "SyntaxError"],
    [3000, "é".repeat(62), "SyntaxError"],
    [1001, "x".repeat(124), "InvalidAccessError"], // the code is checked first
    [1000, "x".repeat(123), null],
    [3000, undefined, null],
    [4999, "bye", null],
    [undefined, undefined, null],
    [undefined, "a reason alone", null],
  ];
  for (const [code, reason, error] of closeArgs) {
    it(`close(${code}, ${reason?.length ?? "-"} chars) ${error ?? "is accepted"}`, async () => {
      const ws = new WebSocket(url);
      await next(ws, "open");
      if (error) {
        assert.throws(
          () => ws.close(code, reason),
          (e: unknown) => e instanceof DOMException && e.name === error,
        );
        assert.equal(ws.readyState, WebSocket.OPEN);
        ws.close();
      } else {
        ws.close(code, reason);
        assert.equal(ws.readyState, WebSocket.CLOSING);
        const e = await next<CloseEvent>(ws, "close");
        // No code and no reason: a close frame without a status, which the peer reports as 1005.
        assert.equal(e.code, code ?? (reason ? 1000 : 1005));
        assert.equal(e.wasClean, true);
        // Once closed, close() does nothing, but still checks its arguments.
        ws.close();
        assert.throws(
          () => ws.close(1001),
          (x: unknown) => (x as DOMException).name === "InvalidAccessError",
        );
      }
    });
  }

  it("event order of a normal session: open, message, close (clean, with code and reason)", async () => {
    const ws = new WebSocket(url);
    const rec = record(ws);
    ws.onopen = () => ws.send("hi");
    ws.onmessage = () => ws.send("close 4001 bye");
    const { events, close } = await rec;
    assert.deepEqual(events, ["open@1", "message@1", "close@3"]);
    assert.ok(close instanceof Event);
    assert.deepEqual([close.code, close.reason, close.wasClean], [4001, "bye", true]);
  });

  it("readyState is CLOSING once the server's close frame arrived, before the close event", async () => {
    // The server answers with a message and a close frame in one write: right after the message
    // event, the close frame has been read too.
    const ws = new WebSocket(url);
    await next(ws, "open");
    const seen: number[] = [];
    ws.onmessage = () => {
      seen.push(ws.readyState);
      queueMicrotask(() => {
        seen.push(ws.readyState);
        // Closing: data is dropped and counted, close() does nothing; neither throws.
        const before = ws.bufferedAmount;
        ws.send("too late");
        seen.push(ws.bufferedAmount - before);
        ws.close(3000);
      });
    };
    ws.send("echo-then-close");
    const close = await next<CloseEvent>(ws, "close");
    assert.deepEqual(seen, [WebSocket.OPEN, WebSocket.CLOSING, 8]);
    assert.equal(close.code, 4003);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it("a failed connection: error then close (1006, not clean), readyState CLOSED during both", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${await freePort()}/`);
    const { events, close } = await record(ws);
    assert.deepEqual(events, ["error@3", "close@3"]);
    assert.deepEqual([close.code, close.wasClean], [1006, false]);
  });

  it("close() while connecting: CLOSING at once; error and close come later, never inside close()", async () => {
    const ws = new WebSocket(url);
    const rec = record(ws);
    let inside = true;
    ws.onerror = () => assert.equal(inside, false);
    ws.close();
    inside = false;
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const { events, close } = await rec;
    assert.deepEqual(events, ["error@3", "close@3"]);
    assert.equal(close.code, 1006);
  });

  it("MessageEvent: text as string, origin; binaryType blob (default) and arraybuffer", async () => {
    const ws = new WebSocket(url);
    assert.equal(ws.binaryType, "blob");
    await next(ws, "open");
    ws.send("text");
    const t = await next<MessageEvent>(ws, "message");
    assert.ok(t instanceof MessageEvent);
    assert.equal(t.data, "text");
    assert.equal(t.origin, `ws://127.0.0.1:${server.port}`);
    ws.send(new Uint8Array([1, 2, 3]));
    const b = await next<MessageEvent>(ws, "message");
    assert.ok(b.data instanceof Blob);
    assert.deepEqual([...new Uint8Array(await (b.data as Blob).arrayBuffer())], [1, 2, 3]);
    ws.binaryType = "arraybuffer";
    ws.binaryType = "nonsense" as WebSocketBinaryType;
    assert.equal(ws.binaryType, "arraybuffer");
    ws.send(new Uint16Array([0x0201]).buffer);
    const a = await next<MessageEvent>(ws, "message");
    assert.ok(a.data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(a.data)], [1, 2]);
    ws.close();
  });

  it("sends a Blob, and keeps the order of sends made after it", async () => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    await next(ws, "open");
    const got: unknown[] = [];
    ws.onmessage = (e) => got.push((e as MessageEvent).data);
    ws.send(new Blob([new Uint8Array([9, 8])]));
    ws.send("after the blob");
    assert.ok(ws.bufferedAmount >= 2);
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual([...new Uint8Array(got[0] as ArrayBuffer)], [9, 8]);
    assert.equal(got[1], "after the blob");
    ws.close();
  });

  it("send() once closing drops the data and counts it in bufferedAmount", async () => {
    const ws = new WebSocket(url);
    await next(ws, "open");
    ws.close();
    const before = ws.bufferedAmount;
    ws.send("12345");
    ws.send(new Uint8Array(10));
    assert.equal(ws.bufferedAmount - before, 15);
    await next(ws, "close");
  });

  it("protocol and extensions: what the server agreed to", async () => {
    const ws = new WebSocket(url, ["x", "chat"], { deflate: true });
    assert.equal(ws.protocol, "");
    await next(ws, "open");
    assert.equal(ws.protocol, "chat");
    assert.match(ws.extensions, /^permessage-deflate/);
    ws.close();
    await next(ws, "close");
  });

  it("on* handlers: this is the socket, replaced in place, null removes, non-functions are null", async () => {
    const ws = new WebSocket(url);
    const calls: string[] = [];
    ws.addEventListener("open", () => calls.push("listener 1"));
    ws.onopen = () => calls.push("first handler");
    ws.addEventListener("open", () => calls.push("listener 2"));
    ws.onopen = function (this: WebSocket) {
      assert.equal(this, ws);
      calls.push("handler");
    };
    ws.onmessage = () => calls.push("message");
    ws.onmessage = null;
    assert.equal(ws.onmessage, null);
    ws.onerror = "nope" as unknown as null;
    assert.equal(ws.onerror, null);
    await next(ws, "open");
    assert.deepEqual(calls, ["listener 1", "handler", "listener 2"]);
    ws.close();
  });

  it("runs reconnecting-websocket unchanged: it connects, talks, and reconnects after a drop", async () => {
    let connections = 0;
    const flaky = await serve({ port: 0, hostname: "127.0.0.1" }, (ws) => {
      connections++;
      ws.on("message", (m) => {
        if (m === "drop") ws.terminate();
        else ws.send(`echo ${m}`);
      });
    });
    try {
      const rws = new ReconnectingWebSocket(`ws://127.0.0.1:${flaky.port}/`, [], {
        WebSocket,
        minReconnectionDelay: 10,
        maxReconnectionDelay: 50,
        connectionTimeout: 2000,
        maxRetries: 5,
      });
      await next(rws, "open");
      rws.send("one");
      assert.equal(
        (await next<MessageEvent>(rws, "message")).data,
        "echo one",
      );
      rws.send("drop");
      await next(rws, "close");
      await next(rws, "open");
      rws.send("two");
      assert.equal(
        (await next<MessageEvent>(rws, "message")).data,
        "echo two",
      );
      assert.equal(connections, 2);
      rws.close();
      await next(rws, "close");
    } finally {
      await flaky.close();
    }
  });
});
