/**
 * The runner's child processes and what it reads from `/proc`. Every child is tracked, so that
 * `killAll` can end them all, whatever happens.
 *
 * @module
 */

import { ROOT } from "./run_servers.ts";

const children = new Set<Deno.ChildProcess>();

export function killAll(): void {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
}

/** What the machine allows, found out at the start: the open-file limit, pinning to cores. */
export const host = { fdLimit: 1024, hasTaskset: false };

/** Spawns `cmd` with the open-file limit raised to the hard limit, pinned to `cpu` if possible. */
export function spawn(
  cmd: string[],
  cpu: number | undefined,
  stdin: "piped" | "null" = "null",
  env: Record<string, string> = {},
): Deno.ChildProcess {
  const pin = host.hasTaskset && cpu !== undefined ? ["taskset", "-c", String(cpu)] : [];
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null; exec "$@"',
      "sh",
      ...pin,
      ...cmd,
    ],
    cwd: ROOT,
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1", ...env },
  }).spawn();
  children.add(child);
  child.status.then(() => children.delete(child));
  return child;
}

/** Reads a stream line by line; keeps the last few KiB of everything for error messages. */
export class LineReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  #lines: string[] = [];
  #done = false;
  tail = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, or null at the end of the stream or after `ms`. */
  async next(ms: number): Promise<string | null> {
    const deadline = Date.now() + ms;
    while (this.#lines.length === 0 && !this.#done) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left));
      const read = this.#pending ??= this.#reader.read();
      const got = await Promise.race([read, timeout]);
      clearTimeout(timer);
      if (got === "timeout") return null;
      this.#pending = undefined;
      if (got.done) {
        this.#done = true;
        if (this.#buf) this.#lines.push(this.#buf);
        break;
      }
      this.tail = (this.tail + got.value).slice(-4096);
      this.#buf += got.value;
      const parts = this.#buf.split("\n");
      this.#buf = parts.pop()!;
      this.#lines.push(...parts);
    }
    return this.#lines.shift() ?? null;
  }

  #pending: Promise<ReadableStreamReadResult<string>> | undefined;

  /** Reads (and keeps the tail of) everything until the stream ends, in the background. */
  drain(): Promise<void> {
    return (async () => {
      while (await this.next(3_600_000) !== null) {
        // keep reading
      }
    })();
  }
}

export async function run(cmd: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  try {
    const o = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd, stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { code: o.code, out: (dec.decode(o.stdout) + dec.decode(o.stderr)).trim() };
  } catch (err) {
    return { code: -1, out: String(err) };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function readRssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error("no VmRSS");
  return Number(m[1]);
}

/** Busy jiffies of the whole machine, and of one process (all its threads). */
export function machineBusy(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: irq and softirq are left out, as most of
  // that is the loopback traffic of the measurement itself, charged to no process.
  return f[0] + f[1] + f[2] + f[7];
}

export function processBusy(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime stime
  } catch {
    return 0;
  }
}

export const HZ = 100; // USER_HZ on Linux
