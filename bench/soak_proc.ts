/**
 * Child processes of the soak runner (`soak.ts`), tracked so that every one is killed at the end,
 * and what it reads about processes from `/proc`.
 *
 * @module
 */

/** The repository: the children's working directory. */
const ROOT = Deno.realPathSync(new URL("..", import.meta.url));

const children = new Set<Deno.ChildProcess>();

/** On Ctrl-C (or SIGTERM, SIGHUP), kills every child process, then exits. */
export function killChildrenOnSignals(): void {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(sig, () => {
      console.error(`\nsoak: ${sig}, stopping every child process`);
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      Deno.exit(130);
    });
  }
}

/** Raises the open-file limit as far as allowed (root may go past the hard limit). */
export const ULIMIT = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null';

/** A child process whose stdout is read line by line. */
export class Proc {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  exited = false;
  #lines: string[] = [];
  #wake: (() => void) | undefined;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  errTail = "";

  /** `cpu`: pin to that core with `taskset` (which must exist). */
  constructor(cmd: string[], cpu: number | undefined, env: Record<string, string> = {}) {
    const pin = cpu !== undefined ? ["taskset", "-c", String(cpu)] : [];
    this.child = new Deno.Command("sh", {
      args: ["-c", `${ULIMIT}; exec "$@"`, "sh", ...pin, ...cmd],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    this.pid = this.child.pid;
    children.add(this.child);
    this.#stdin = this.child.stdin.getWriter();
    this.child.status.then(() => {
      this.exited = true;
      children.delete(this.child);
      this.#wake?.();
    });
    this.#read(this.child.stdout, (line) => {
      this.#lines.push(line);
      this.#wake?.();
    });
    this.#read(
      this.child.stderr,
      (line) => (this.errTail = (this.errTail + line + "\n").slice(-2000)),
    );
  }

  async #read(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const p of parts) onLine(p);
    }
    if (buf) onLine(buf);
  }

  /** Lines printed since the last call. */
  take(): string[] {
    return this.#lines.splice(0);
  }

  /** Waits up to `ms` for a line matching `re`, dropping (and passing to `seen`) the others. */
  async waitLine(
    re: RegExp,
    ms: number,
    seen: (l: string) => void = () => {},
  ): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    while (true) {
      for (let line = this.#lines.shift(); line !== undefined; line = this.#lines.shift()) {
        const m = re.exec(line);
        if (m) return m;
        seen(line);
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.exited) {
        throw new Error(
          `no ${re} within ${ms} ms${this.exited ? " (process exited)" : ""}: ${this.errTail}`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  write(line: string): Promise<void> {
    return this.#stdin.write(new TextEncoder().encode(line + "\n"));
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      try {
        this.child.kill("SIGTERM");
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await this.child.status;
      clearTimeout(t);
    }
    await this.#stdin.close().catch(() => {});
  }
}

export async function sh(cmd: string): Promise<string> {
  const o = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  return new TextDecoder().decode(o.stdout).trim();
}

/** Busy jiffies of the whole machine (user, nice, system, steal; USER_HZ = 100 a second). */
export function machineBusy(): number {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1);
  return Number(f[0]) + Number(f[1]) + Number(f[2]) + Number(f[7]);
}

/** Busy jiffies of one process, all its threads. */
export function processBusy(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

export function countFds(pid: number): number {
  let n = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  } catch {
    return -1;
  }
  return n;
}
