// The page of chromium.test.ts: the built package's browser entry, imported as "wsdriver" through
// an import map, talking to the test's wsdriver server. Leaves its findings in globalThis.__result.
import { connect, Rpc } from "wsdriver";

const base = location.origin.replace(/^http/, "ws");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const opened = (ws) =>
  new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
const closed = (ws) => new Promise((resolve) => ws.once("close", (code) => resolve(code)));

async function echo() {
  const ws = connect(`${base}/echo`, { protocols: ["echo"] });
  await opened(ws);
  const got = [];
  const two = new Promise((resolve) =>
    ws.on("message", (m, isBinary) => {
      got.push(isBinary ? Array.from(m) : m);
      if (got.length === 2) resolve();
    })
  );
  ws.send("hi from the page");
  ws.send(new Uint8Array([1, 2, 3]));
  await two;
  const protocol = ws.protocol;
  const done = closed(ws);
  ws.close(1000, "bye");
  return { got, protocol, code: await done };
}

// A minimal reconnect (the library's reconnecting client is not part of this entry point yet):
// reopen after an abnormal close, with a growing delay, a bounded number of times.
async function reconnecting(url, session, attempts) {
  const log = [];
  for (let i = 0; i < attempts; i++) {
    const ws = connect(url);
    try {
      await opened(ws);
    } catch (err) {
      log.push(`failed: ${err.code}`);
      await sleep(50 * 2 ** i);
      continue;
    }
    const code = await session(ws, i);
    log.push(`closed ${code}`);
    if (code === 1000) return log;
    await sleep(50 * 2 ** i);
  }
  throw new Error(`gave up after ${attempts} attempts: ${log.join(", ")}`);
}

async function rpcWithReconnect() {
  const answers = [], asked = [];
  const log = await reconnecting(`${base}/rpc`, async (ws, attempt) => {
    const rpc = new Rpc(ws, { responder: (data) => `page got ${data}` });
    const serverAsked = new Promise((resolve) => rpc.once("message", resolve));
    const done = closed(ws);
    answers.push(await rpc.request(`hello ${attempt}`, { timeout: 5000 }));
    asked.push(await serverAsked);
    // The first connection is dropped by the server; the next one ends cleanly.
    if (attempt === 0) ws.send("drop me");
    else ws.close(1000);
    return await done;
  }, 5);
  return { answers, asked, log };
}

try {
  globalThis.__result = { echo: await echo(), rpc: await rpcWithReconnect() };
} catch (err) {
  globalThis.__error = `${err?.code ?? ""} ${err?.stack ?? err}`;
}
