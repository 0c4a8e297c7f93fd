/**
 * What a handshake costs the server, in one process: two builds of wsdriver (e.g. this checkout's
 * and a baseline's) serve in alternating rounds the same minimal client (`node:net`, no library:
 * upgrade request, 101, masked close frame 1000, the server's close frame and FIN), 16 in parallel.
 * Rates are handshakes per CPU second of the process, which a busy machine disturbs far less than
 * wall time, and the client's share is the same for both builds. Medians of the rounds.
 *
 * ```sh
 * node bench/handshake_cost.mjs npm/esm/mod.js /tmp/base/npm/esm/mod.js [rounds]
 * deno run -A bench/handshake_cost.mjs mod.ts /tmp/base/mod.ts
 * bun bench/handshake_cost.mjs mod.ts /tmp/base/mod.ts
 * ```
 *
 * @module
 */

import net from "node:net";
import process from "node:process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [a, b, roundsArg] = process.argv.slice(2);
if (!a || !b) {
  console.error("usage: handshake_cost.mjs THIS_MOD BASELINE_MOD [rounds]");
  process.exit(2);
}
const libs = [
  { name: "this", lib: await import(pathToFileURL(resolve(a)).href) },
  { name: "baseline", lib: await import(pathToFileURL(resolve(b)).href) },
];
const ROUNDS = Number(roundsArg ?? 15);
const PER_ROUND = 3000;
const PARALLEL = 16;

const CLOSE_FRAME = Uint8Array.of(0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2);

/** One handshake: resolves once the server's FIN arrived after its close frame. */
function handshake(port) {
  return new Promise((done, fail) => {
    const s = net.connect(port, "127.0.0.1");
    let head = true;
    let got = 0;
    s.setNoDelay(true);
    s.on("connect", () => {
      s.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
          "Sec-WebSocket-Version: 13\r\n\r\n",
      );
    });
    s.on("data", (buf) => {
      if (head) {
        const i = buf.indexOf("\r\n\r\n");
        if (i < 0) return fail(new Error("split head: not expected on loopback"));
        if (buf.toString("latin1", 0, 12) !== "HTTP/1.1 101") return fail(new Error("no 101"));
        head = false;
        s.write(CLOSE_FRAME);
        buf = buf.subarray(i + 4);
      }
      got += buf.length;
    });
    s.on("end", () => {
      if (got < 4) return fail(new Error("no close frame"));
      s.end();
      done();
    });
    s.on("error", fail);
  });
}

async function round(lib) {
  const server = await lib.serve({ port: 0, hostname: "127.0.0.1", heartbeat: false }, () => {});
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loop = async () => {
    while (started < PER_ROUND) {
      started++;
      await handshake(server.port);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, loop));
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  await server.close();
  return { perCpu: PER_ROUND / ((c.user + c.system) / 1e6), perWall: PER_ROUND / wall };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

for (const l of libs) await round(l.lib); // warm-up
const results = { this: { cpu: [], wall: [] }, baseline: { cpu: [], wall: [] } };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? libs : [...libs].reverse();
  for (const l of order) {
    const x = await round(l.lib);
    results[l.name].cpu.push(x.perCpu);
    results[l.name].wall.push(x.perWall);
  }
}
const fmt = (n) => n.toFixed(0).padStart(6);
for (const name of ["this", "baseline"]) {
  const x = results[name];
  console.log(
    `${name.padEnd(8)} handshakes per CPU s ${fmt(median(x.cpu))}   per wall s ${
      fmt(median(x.wall))
    }`,
  );
}
console.log(
  `ratio this / baseline: per CPU s ${
    (median(results.this.cpu) / median(results.baseline.cpu)).toFixed(3)
  }×, per wall s ${(median(results.this.wall) / median(results.baseline.wall)).toFixed(3)}×`,
);
process.exit(0);
