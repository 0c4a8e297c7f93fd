/**
 * Drives Chromium (/usr/bin/chromium, or $INTEROP_CHROMIUM) with npm `playwright-core` as an interop peer (not a test
 * file). Runs on the machine's `node`, in its own process, so that neither Deno's nor Bun's test
 * runner has to host Playwright.
 *
 *   node browser_driver.mjs client URL
 *
 * Serves browser.html from a loopback http: server (a secure context), opens it in a headless
 * Chromium and runs the page's `runPeer(URL)`: two WebSocket connections to URL, one after the
 * other. The page's reports come out on stdout as JSON lines; page errors go to stderr. Exits 0
 * once both connections are closed, 1 on any failure; the browser is closed in every case.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.INTEROP_CHROMIUM || "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-sync",
];

// Chromium always offers permessage-deflate: `--deflate` changes nothing.
const [mode, url] = process.argv.slice(2).filter((a) => a !== "--deflate");
if (mode !== "client" || !url) {
  console.error("usage: node browser_driver.mjs client URL");
  process.exit(2);
}

const page = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "browser.html"));
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
});
let browser;
try {
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const tab = await browser.newPage();
  tab.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") console.error(`[page] ${m.text()}`);
  });
  tab.on("pageerror", (err) => console.error(`[page error] ${err}`));
  await tab.exposeFunction("interopReport", (line) => console.log(line));
  await tab.goto(`http://127.0.0.1:${server.address().port}/`);
  console.error(`[driver] Chromium ${browser.version()}, page loaded`);
  await tab.evaluate((u) => globalThis.runPeer(u), url);
} catch (err) {
  console.error(`[driver] ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await browser?.close().catch((err) => console.error(`[driver] closing Chromium: ${err}`));
  server.close();
}
