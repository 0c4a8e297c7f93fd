/**
 * Opens the chat demo's page in two headless Chromium tabs (npm playwright-core), sends a line
 * from the first tab, and prints both tabs' logs as JSON once the line shows in both. Runs on the
 * machine's `node`, in its own process (not a test file).
 *
 *   node chat_browser_driver.mjs http://127.0.0.1:PORT/
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
const TIMEOUT = 15_000;
const url = process.argv[2];
let browser;
try {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ARGS,
  });
  const tabs = [await browser.newPage(), await browser.newPage()];
  for (const tab of tabs) {
    tab.setDefaultTimeout(TIMEOUT);
    await tab.goto(url);
    await tab.waitForFunction(() =>
      document.getElementById("log").textContent.includes("* connected")
    );
  }
  await tabs[0].fill("#text", "hello from tab A");
  await tabs[0].click("button");
  for (const tab of tabs) {
    await tab.waitForFunction(() =>
      document.getElementById("log").textContent.includes("hello from tab A")
    );
  }
  const logs = [];
  for (const tab of tabs) {
    logs.push(await tab.$$eval("#log div", (divs) => divs.map((d) => d.textContent)));
  }
  console.log(JSON.stringify(logs));
} catch (err) {
  console.error(`[driver] ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
}
