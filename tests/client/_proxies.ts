/**
 * Real proxy servers from Debian for the proxy tests: tinyproxy (HTTP CONNECT, Basic auth) and
 * danted (SOCKS5), each started on a free loopback port with a temporary config file, and
 * stopped by the test. Under CI=true a missing binary fails the test; elsewhere it is a loud skip.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { freePort, withTimeout } from "../_helpers.ts";

/** A running proxy. */
export interface RunningProxy {
  port: number;
  /** Output of the proxy so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** The binary's path, or undefined (after a loud skip message) if it is not installed. */
export function proxyBinary(name: string, paths: string[], apt: string): string | undefined {
  const found = paths.find((p) => existsSync(p));
  if (found) return found;
  const msg = `${name} is missing: apt-get install -y ${apt}`;
  if (process.env.CI === "true") throw new Error(msg);
  console.warn(`\n!!! SKIPPING the ${name} tests: ${msg} !!!\n`);
  return undefined;
}

export const TINYPROXY = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"];
export const DANTED = ["/usr/sbin/danted", "/usr/bin/danted"];

/** Resolves once something accepts connections on `port`, polling for at most `ms`. */
async function waitListening(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the proxy exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

async function run(binary: string, args: string[], port: number): Promise<RunningProxy> {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const collect = (b: Uint8Array) => {
    if (out.length < 64 * 1024) out += new TextDecoder().decode(b);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM: danted's mother process then stops its children too.
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await withTimeout(exited, 5000, `${binary} to exit`).finally(() => clearTimeout(killer));
  };
  try {
    await waitListening(port, child, 5000);
  } catch (err) {
    await stop();
    throw new Error(`${binary} did not start: ${(err as Error).message}\n${out}`);
  }
  return { port, log: () => out, stop };
}

/** A temporary directory for a config file, removed by the returned function. */
function configDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "wsdriver-proxy-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts tinyproxy on a free port, with Basic auth if `auth` is given. */
export async function startTinyproxy(
  binary: string,
  auth?: { user: string; password: string },
): Promise<RunningProxy> {
  const port = await freePort();
  const { dir, remove } = configDir();
  const conf = join(dir, "tinyproxy.conf");
  writeFileSync(
    conf,
    [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      "MaxClients 50",
      "Allow 127.0.0.1",
      "LogLevel Info",
      `PidFile "${join(dir, "tinyproxy.pid")}"`,
      ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : []),
      "",
    ].join("\n"),
  );
  try {
    const p = await run(binary, ["-d", "-c", conf], port);
    return { ...p, stop: () => p.stop().finally(remove) };
  } catch (err) {
    remove();
    throw err;
  }
}

/** Starts danted on a free port; `method` `"username"` makes it insist on RFC 1929 auth. */
export async function startDanted(
  binary: string,
  method: "none" | "username" = "none",
): Promise<RunningProxy> {
  const port = await freePort();
  const { dir, remove } = configDir();
  const conf = join(dir, "danted.conf");
  writeFileSync(
    conf,
    [
      "logoutput: stderr",
      `internal: 127.0.0.1 port = ${port}`,
      "external: 127.0.0.1",
      "clientmethod: none",
      `socksmethod: ${method}`,
      "client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}",
      "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n}",
      "",
    ].join("\n"),
  );
  try {
    const p = await run(binary, ["-f", conf, "-N", "1"], port);
    return { ...p, stop: () => p.stop().finally(remove) };
  } catch (err) {
    remove();
    throw err;
  }
}
