/** The `npm start` demo: rooms broadcast to every member, /echo echoes. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { connect } from "../../src/client.ts";
import { Rpc, RpcError } from "../../src/rpc.ts";
import type { WS } from "../../src/ws.ts";
import { once, RawClient, ROOT, thisRuntime, withTimeout } from "../_helpers.ts";

async function open(url: string): Promise<WS> {
  const ws = connect(url);
  await once(ws, "open", 10_000);
  return ws;
}

describe("chat demo", () => {
  // The demo is the Deno main job (npm start); deno test and bun test cover it.
  const skip = thisRuntime() === "node" && "runs under deno and bun";
  it("broadcasts within a room only, and echoes on /echo", { skip }, async () => {
    const deno = join(ROOT, "node_modules", ".bin", "deno");
    const child = spawn(deno, ["run", "-A", join(ROOT, "examples", "chat.ts")], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((r) => child.on("exit", r));
    try {
      const url = await withTimeout(
        new Promise<string>((resolve) => {
          let out = "";
          child.stdout!.on("data", (b: Uint8Array) => {
            out += new TextDecoder().decode(b);
            const m = out.match(/listening on (ws:\/\/\S+)/);
            if (m) resolve(m[1]);
          });
        }),
        20_000,
        "the demo to listen",
      );
      const page = await fetch(url.replace(/^ws/, "http") + "/");
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      assert.match(await page.text(), /new WebSocket\(/);
      const dash = await fetch(url.replace(/^ws/, "http") + "/dashboard");
      assert.match(await dash.text(), /<svg id="chart-msg"/);
      const metrics = await fetch(url.replace(/^ws/, "http") + "/metrics");
      assert.match(await metrics.text(), /^# TYPE wsdriver_connections gauge$/m);
      const missing = await fetch(url.replace(/^ws/, "http") + "/nope");
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const [a, b, other] = await Promise.all([
        open(`${url}/chat`),
        open(`${url}/chat`),
        open(`${url}/chat/x`),
      ]);
      let otherGot = 0;
      other.on("message", () => otherGot++);
      const atA = once(a, "message"), atB = once(b, "message");
      a.send("hello room");
      assert.deepEqual(await atA, ["hello room", false]);
      assert.deepEqual(await atB, ["hello room", false]);
      // A page's client: JSON events, with its name, who is here and the history.
      const page2 = connect(`${url}/chat?format=json&name=zoe`);
      const [welcome] = await once<[string]>(page2, "message", 10_000);
      const w = JSON.parse(welcome);
      assert.equal(w.type, "welcome");
      assert.equal(w.name, "zoe");
      assert.deepEqual(w.history.map((l: { text: string }) => l.text), ["hello room"]);
      assert.equal(w.members.length, 3);
      const joined = once(a, "message");
      page2.send("hi all");
      assert.deepEqual(await joined, ["zoe: hi all", false]);
      page2.close();
      await once(page2, "close");
      const echo = await open(`${url}/echo`);
      const back = once(echo, "message");
      echo.send("mirror");
      assert.deepEqual(await back, ["mirror", false]);
      assert.equal(otherGot, 0, "another room hears nothing");
      // Request/response on /rpc.
      const rpcSocket = await open(`${url}/rpc`);
      const rpc = new Rpc(rpcSocket);
      assert.equal(await rpc.request("who /chat"), "2 in /chat");
      assert.match(String(await rpc.request("time")), /^\d{4}-\d\d-\d\dT/);
      await assert.rejects(
        rpc.request("dance"),
        (e: unknown) => e instanceof RpcError && e.appCode === "UNKNOWN",
      );
      rpcSocket.close();
      // An `nc` user: raw TCP, one line per message, in the same /chat room.
      const port = Number(new URL(url).port);
      const nc = await RawClient.connect(port);
      try {
        const atA2 = once(a, "message");
        nc.write("hi from nc\n");
        assert.deepEqual(await atA2, ["hi from nc", false]);
        a.send("hi nc");
        await nc.waitFor(
          (b) => new TextDecoder().decode(b).includes("hi nc\n"),
          5000,
          "the line at nc",
        );
        assert.equal(new TextDecoder().decode(nc.received), "hi from nc\nhi nc\n");
      } finally {
        nc.destroy();
      }
      const closes = [a, b, other, echo].map((ws) => once<[number]>(ws, "close", 10_000));
      child.kill("SIGTERM");
      for (const c of await Promise.all(closes)) assert.equal(c[0], 1001);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await withTimeout(exited, 10_000, "the demo to exit");
    }
  });
});
