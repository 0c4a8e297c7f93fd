/**
 * Loads the built protocol core (npm/esm/protocol.js, the `wsdriver/protocol` entry) in headless
 * Chromium (npm playwright-core) from a loopback HTTP server and runs a frame round trip there:
 * a masked client frame into a server-side Protocol, its echo out and parsed back. Prints the
 * result as JSON. Runs on the machine's `node`, in its own process (not a test file).
 *
 *   node browser_driver.mjs /path/to/npm/esm
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import process from "node:process";
import { chromium } from "playwright-core";

const root = process.argv[2];
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (path === "/") {
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>core</title>");
    return;
  }
  try {
    const body = await readFile(join(root, path));
    const type = extname(path) === ".js" ? "text/javascript" : "application/octet-stream";
    res.writeHead(200, { "content-type": type }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

let browser;
try {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  const result = await page.evaluate(async () => {
    const core = await import("/protocol.js");
    const { encodeFrame, FrameParser, Opcode, Protocol, randomMask } = core;
    const got = [];
    const server = new Protocol({ side: "server" }, {
      message: (data) => server.sendText(`echo:${data}`),
      ping() {},
      pong() {},
      close() {},
      error: (e) => got.push(`error ${e.code}`),
    });
    const text = "héllo from Chromium";
    for (
      const chunk of encodeFrame(Opcode.Text, new TextEncoder().encode(text), {
        mask: randomMask(),
      })
    ) {
      server.receive(chunk);
    }
    let payload = new Uint8Array(0);
    const parser = new FrameParser({
      frameHeader: (fin, _rsv, opcode) => (got.push(`frame ${fin} ${opcode}`), true),
      frameData: (d) => {
        const next = new Uint8Array(payload.length + d.length);
        next.set(payload);
        next.set(d, payload.length);
        payload = next;
        return true;
      },
      frameEnd: () => true,
      frameError: (code) => got.push(`frame error ${code}`),
    }, { requireMask: false });
    for (const chunk of server.takeOutput()) parser.push(chunk);
    got.push(new TextDecoder().decode(payload));
    return { got, userAgent: navigator.userAgent, hasProcess: typeof globalThis.process };
  });
  console.log(JSON.stringify({ ...result, errors }));
} finally {
  await browser?.close();
  server.close();
}
