/**
 * Drives the demo in headless Chromium (npm playwright-core): two named pages chat, a third page
 * joins and sees the history, and the dashboard's plot moves. Takes two screenshots of the
 * dashboard (written to SHOTS_DIR) and measures the first one's pixels in the browser. Prints one
 * JSON line with what it saw. Runs on the machine's `node`, in its own process (not a test file).
 *
 *   node chat_browser_driver.mjs http://127.0.0.1:PORT/ SHOTS_DIR
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
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
const [url, shotsDir] = process.argv.slice(2);
const logOf = (tab) => tab.$$eval("#log div", (divs) => divs.map((d) => d.textContent));
let browser;
try {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ARGS,
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const tabs = [];
  for (const name of ["ann", "bob"]) {
    const tab = await context.newPage();
    tab.setDefaultTimeout(TIMEOUT);
    await tab.goto(`${url}?name=${name}`);
    await tab.waitForFunction(
      (n) => document.getElementById("status").textContent === `connected as ${n}`,
      name,
    );
    tabs.push(tab);
  }
  await tabs[1].waitForFunction(() =>
    document.getElementById("members").textContent.includes("ann")
  );
  await tabs[0].fill("#text", "hello from ann");
  await tabs[0].click("#send");
  for (const tab of tabs) {
    await tab.waitForFunction(() =>
      document.getElementById("log").textContent.includes("hello from ann")
    );
  }
  const members = await tabs[0].$$eval("#members li", (lis) => lis.map((l) => l.textContent));
  // A latecomer sees what was said before it came.
  const late = await context.newPage();
  late.setDefaultTimeout(TIMEOUT);
  await late.goto(`${url}?name=cy`);
  await late.waitForFunction(() => document.querySelector("#log .old") !== null);
  const history = await late.$$eval("#log .old", (divs) => divs.map((d) => d.textContent));

  const dash = await context.newPage();
  dash.setDefaultTimeout(TIMEOUT);
  await dash.goto(`${url}dashboard`);
  const points = () => dash.$eval("#chart-msg polyline", (p) => p.getAttribute("points"));
  await dash.waitForFunction(() =>
    Number(document.getElementById("chart-msg").dataset.samples) >= 2
  );
  const before = await points();
  const shot1 = await dash.screenshot();
  // Traffic while the dashboard watches.
  for (let i = 0; i < 10; i++) {
    await tabs[i % 2].fill("#text", `line ${i}`);
    await tabs[i % 2].click("#send");
  }
  await dash.waitForFunction(
    (p) => document.querySelector("#chart-msg polyline")?.getAttribute("points") !== p,
    before,
  );
  await dash.waitForFunction(() =>
    Number(document.getElementById("chart-msg").dataset.samples) >= 4
  );
  const after = await points();
  const peak = await dash.$eval("#chart-msg", () => document.getElementById("v-msg").textContent);
  const shot2 = await dash.screenshot();
  writeFileSync(join(shotsDir, "dashboard-1.png"), shot1);
  writeFileSync(join(shotsDir, "dashboard-2.png"), shot2);
  // The browser decodes the PNG; its pixels say whether anything was drawn.
  const pixels = await dash.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const colors = new Set();
    let sum = 0, sq = 0;
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      const l = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      sum += l;
      sq += l * l;
    }
    const mean = sum / n;
    return {
      width: c.width,
      height: c.height,
      colors: colors.size,
      stddev: Math.sqrt(sq / n - mean * mean),
    };
  }, Buffer.from(shot2).toString("base64"));
  const logs = [];
  for (const tab of tabs) logs.push(await logOf(tab));
  console.log(JSON.stringify({
    logs,
    members,
    history,
    points: [before, after],
    peak,
    pixels,
    shotsDiffer: !Buffer.from(shot1).equals(Buffer.from(shot2)),
  }));
} catch (err) {
  console.error(`[driver] ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
}
