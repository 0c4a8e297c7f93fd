/**
 * A private redis-server for a test file: on a free port, in a temporary directory, without
 * persistence; killed (SIGKILL) and restarted on the same port by the outage tests.
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createClient } from "@redis/client";
import { freePort, withTimeout } from "../_helpers.ts";

/** True if `redis-server` can run here; under CI=true its absence is an error. */
export function redisAvailable(): boolean {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    const msg = "redis-server is missing: apt-get install -y redis-server";
    if (process.env.CI === "true") throw new Error(msg);
    console.warn(`\n!!! SKIPPING Redis backplane tests: ${msg} !!!\n`);
    return false;
  }
}

/** Resolves once a Redis answers PING on `port` (not just anything that accepts connections). */
async function listening(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      let reply = "";
      const s = net.connect({ port, host: "127.0.0.1" }, () => s.write("PING\r\n"));
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        reply += d;
        if (reply.includes("\r\n")) {
          s.destroy();
          resolve(reply.startsWith("+PONG"));
        }
      });
      s.once("error", () => resolve(false));
      s.once("close", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not listen on ${port} within ${ms} ms`);
}

/** A redis-server of one test file. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;

  /** One for `port`, not started yet (see {@link RedisServer.restart}). */
  constructor(port: number) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), "wsdriver-redis-"));
  }

  /** Starts one on a free port. */
  static async start(): Promise<RedisServer> {
    const r = new RedisServer(await freePort());
    await r.restart();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts it on its port, empty. */
  async restart(): Promise<void> {
    const child = spawn("redis-server", [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
    ], { stdio: "ignore" });
    this.#child = child;
    await listening(this.port, 5000);
  }

  /** Kills it with SIGKILL (no goodbye to its clients) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await withTimeout(exited, 5000, "redis-server to exit");
  }

  /** Kills it and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Resolves once some process subscribes to `topic`'s channel on the Redis at `url` (the default
 * `wsd:` prefix): a server subscribes when its first client arrives, after that client's `open`,
 * and what is published before reaches no one (at-most-once; only a resume with `since` recovers
 * it).
 */
export async function channelSubscribed(url: string, topic: string, ms: number): Promise<void> {
  const redis = createClient({ url });
  await redis.connect();
  try {
    const deadline = Date.now() + ms;
    for (let i = 0; i < 1000; i++) {
      const reply = await redis.sendCommand(["PUBSUB", "NUMSUB", `wsd:c:${topic}`]) as unknown[];
      if (Number(reply[1]) > 0) return;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no process subscribed to ${topic} within ${ms} ms`);
  } finally {
    await redis.close();
  }
}
