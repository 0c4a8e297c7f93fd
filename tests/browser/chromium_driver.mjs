/**
 * Opens a page in headless Chromium (npm playwright-core) and prints what the page's script left
 * in `globalThis.__result` (or `globalThis.__error`) as one JSON line. Runs on the machine's `node`, in
 * its own process (not a test file).
 *
 *   node chromium_driver.mjs http://127.0.0.1:PORT/
 */
import process from "node:process";
import { chromium } from "playwright-core";

const ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-sync",
];
const url = process.argv[2];
let browser;
try {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ARGS,
  });
  const page = await browser.newPage();
  page.on("console", (m) => console.error(`[page] ${m.text()}`));
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  await page.waitForFunction(() =>
    globalThis.__result !== undefined || globalThis.__error !== undefined
  );
  console.log(
    JSON.stringify(await page.evaluate(() => globalThis.__result ?? { error: globalThis.__error })),
  );
} catch (err) {
  console.error(`[driver] ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
}
