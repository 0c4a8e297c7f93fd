#!/usr/bin/env -S deno run -A
/**
 * The wsdriver command line: an echo server and a wscat-like client.
 *
 * ```sh
 * deno run -A cli.ts echo --port 8080 [--host 127.0.0.1] [--protocol chat]... [--cert F --key F]
 * deno run -A cli.ts connect ws://127.0.0.1:8080/ [--echo] [--protocol chat]... [--ca F]
 * deno run -A cli.ts -c ws://127.0.0.1:8080/ -x "hello" -w 1   # wscat style
 * deno run -A cli.ts relay --port 8080 [--host 127.0.0.1] [--redis redis://127.0.0.1:6379]
 * ```
 *
 * Each command is a {@link Command}: its flags (with wscat's short aliases), its help text and
 * what it runs. A new command is one more entry in {@link COMMANDS}; a new flag, one more
 * {@link Flag}.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { connect } from "./src/client.ts";
import { runReconnecting } from "./src/client/reconnect_cli.ts";
import { serve } from "./src/server.ts";
import { VERSION } from "./src/version.ts";
import type { WS } from "./src/ws.ts";

/** A command-line flag: `--name`, optionally `-s`, taking no value, one value or a list. */
interface Flag {
  name: string;
  short?: string;
  kind: "boolean" | "value" | "list";
  /** Placeholder of the value in the help text. */
  arg?: string;
  help: string;
}

/** Parsed arguments of one command. */
interface Args {
  positional: string[];
  /** Values by long flag name; a boolean flag holds `["true"]`. */
  flags: Map<string, string[]>;
}

interface Command {
  name: string;
  /** The synopsis line after `wsdriver <name>`. */
  synopsis: string;
  description: string;
  flags: Flag[];
  run(args: Args): Promise<void> | void;
}

const HELP: Flag = { name: "help", short: "h", kind: "boolean", help: "show this help" };

/** Exit code of usage errors (bad flags, missing arguments). */
const USAGE_ERROR = 2;
/** Exit code of failures (cannot listen, cannot read a file, cannot connect). */
const FAILURE = 1;

/** Thrown for a usage error; `main` prints it with a pointer to the help. */
class UsageError extends Error {}
/** Thrown for a startup failure; `main` prints its one line. */
class Failure extends Error {}

function parseArgs(argv: readonly string[], command: Command): Args {
  const specs = [...command.flags, HELP];
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    const long = a.startsWith("--");
    const eq = long ? a.indexOf("=") : -1;
    const name = long ? a.slice(2, eq < 0 ? undefined : eq) : a.slice(1);
    const spec = specs.find((f) => (long ? f.name === name : f.short === name));
    if (spec === undefined) {
      throw new UsageError(`unknown option ${long ? "--" : "-"}${name} for ${command.name}`);
    }
    let value: string;
    if (spec.kind === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      value = "true";
    } else if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new UsageError(`${a} needs a value`);
    flags.set(spec.name, [...(flags.get(spec.name) ?? []), value]);
  }
  return { positional, flags };
}

function one(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return v?.[v.length - 1];
}

/** A non-negative integer flag, or `undefined` when absent. */
function integer(args: Args, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = one(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 0 || n > max) {
    throw new UsageError(`--${name} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Reads a file named by a flag; a failure is one line naming the flag and the cause. */
function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new Failure(`cannot read --${flag} ${path}: ${causeOf(err)}`);
  }
}

/** The cause of an error in a few words: its code when it has one, else its message. */
function causeOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : undefined;
  const known: Record<string, string> = {
    ENOENT: "no such file",
    EACCES: "permission denied",
    EADDRINUSE: "address already in use",
    EADDRNOTAVAIL: "address not available",
    EISDIR: "is a directory",
  };
  if (code !== undefined && known[code]) return `${known[code]} (${code})`;
  const message = typeof e?.message === "string" ? e.message.split("\n")[0] : String(err);
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}

/** `--port` and `--host`, the same for every command that listens. */
const LISTEN_FLAGS: Flag[] = [
  {
    name: "port",
    short: "l",
    kind: "value",
    arg: "N",
    help: "port to listen on (0: any free one; default 8080)",
  },
  { name: "host", kind: "value", arg: "H", help: "address to listen on (default 127.0.0.1)" },
];

/** Where to listen, from {@link LISTEN_FLAGS}. */
function listenAddress(args: Args): { port: number; hostname: string } {
  return { port: integer(args, "port", 65535) ?? 8080, hostname: one(args, "host") ?? "127.0.0.1" };
}

const echoCommand: Command = {
  name: "echo",
  synopsis: "--port N [--host H] [--protocol NAME]... [--cert FILE --key FILE] [--deflate] [--tcp]",
  description: `Echo server: text back as text, binary as binary, on any path. Prints
"listening on URL" and runs until killed. --deflate accepts permessage-deflate;
--tcp also takes raw TCP clients on the same port (newline-delimited messages).`,
  flags: [
    ...LISTEN_FLAGS,
    {
      name: "protocol",
      short: "s",
      kind: "list",
      arg: "NAME",
      help: "subprotocol spoken (repeatable)",
    },
    { name: "cert", kind: "value", arg: "FILE", help: "TLS certificate (PEM): serve wss:" },
    { name: "key", kind: "value", arg: "FILE", help: "TLS private key (PEM)" },
    { name: "deflate", kind: "boolean", help: "accept permessage-deflate" },
    { name: "tcp", kind: "boolean", help: "also serve raw TCP clients on the same port" },
  ],
  async run(args) {
    if (args.positional.length > 0) {
      throw new UsageError(`unexpected argument ${args.positional[0]}`);
    }
    const { port, hostname } = listenAddress(args);
    const certFile = one(args, "cert"), keyFile = one(args, "key");
    if ((certFile === undefined) !== (keyFile === undefined)) {
      throw new UsageError("--cert and --key go together");
    }
    const tls = certFile !== undefined && keyFile !== undefined
      ? { cert: readFlagFile("cert", certFile), key: readFlagFile("key", keyFile) }
      : undefined;
    let server;
    try {
      server = await serve({
        port,
        hostname,
        protocols: args.flags.get("protocol") ?? [],
        tls,
        deflate: args.flags.has("deflate"),
        raw: args.flags.has("tcp"),
      }, (ws) => {
        ws.on("message", (data, isBinary) => {
          if (ws.readyState !== "open") return;
          if (isBinary) ws.sendBinary(data as Uint8Array);
          else ws.sendText(data as string);
        });
      });
    } catch (err) {
      throw new Failure(`cannot listen on ${hostname}:${port}: ${causeOf(err)}`);
    }
    console.log(`listening on ${server.url}`);
  },
};

/** How long `-x` waits for replies before closing when no wait is given (as wscat does). */
const EXECUTE_WAIT = 2000;

const connectCommand: Command = {
  name: "connect",
  synopsis:
    "URL [--echo] [--protocol NAME]... [--header 'Name: value']... [--ca FILE] [--insecure]\n" +
    "      [--deflate] [--wait MS] [--execute TEXT] [--reconnect [--max-retries N]]",
  description: `Sends each line of standard input as a text message and prints every message
received; with --echo, sends every message back instead. When standard input
ends it closes (1000), after --wait MS if given, and exits 0 once the
connection is closed. Ctrl-C closes with 1000 too. A tcp://HOST:PORT URL
connects over raw TCP (newline-delimited messages). --reconnect reconnects after
abnormal closes, with growing, jittered delays; lines read while disconnected are
sent after the reconnect; it exits 0 once input has ended, every line was sent
and --wait has passed, 1 after N failed attempts in a row (--max-retries).
wscat style: wsdriver -c URL [-H ...] [-s ...] [-n] [-x TEXT] [-w SECONDS].`,
  flags: [
    { name: "echo", kind: "boolean", help: "send every message received back" },
    {
      name: "protocol",
      short: "s",
      kind: "list",
      arg: "NAME",
      help: "subprotocol to offer (repeatable)",
    },
    {
      name: "header",
      short: "H",
      kind: "list",
      arg: "'N: v'",
      help: "extra request header (repeatable)",
    },
    { name: "ca", kind: "value", arg: "FILE", help: "extra trusted CA certificate (PEM)" },
    {
      name: "insecure",
      short: "n",
      kind: "boolean",
      help: "do not check the server's certificate",
    },
    { name: "deflate", kind: "boolean", help: "offer permessage-deflate" },
    {
      name: "wait",
      kind: "value",
      arg: "MS",
      help: "after input ends, keep printing for up to MS ms",
    },
    {
      name: "wait-seconds",
      short: "w",
      kind: "value",
      arg: "S",
      help: "--wait in seconds (wscat's -w)",
    },
    {
      name: "execute",
      short: "x",
      kind: "value",
      arg: "TEXT",
      help: "send TEXT instead of reading input",
    },
    { name: "reconnect", kind: "boolean", help: "reconnect after abnormal closes" },
    {
      name: "max-retries",
      kind: "value",
      arg: "N",
      help: "with --reconnect: give up after N failed attempts in a row",
    },
  ],
  run(args) {
    if (args.positional.length !== 1) {
      throw new UsageError(
        args.positional.length === 0
          ? "connect needs a URL"
          : `unexpected argument ${args.positional[1]}`,
      );
    }
    const url = args.positional[0];
    const headers: Array<[string, string]> = [];
    for (const h of args.flags.get("header") ?? []) {
      const colon = h.indexOf(":");
      if (colon <= 0) {
        throw new UsageError(`--header needs "Name: value", got ${JSON.stringify(h)}`);
      }
      headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
    }
    const waitSeconds = integer(args, "wait-seconds");
    const execute = one(args, "execute");
    const wait = integer(args, "wait") ??
      (waitSeconds !== undefined ? waitSeconds * 1000 : execute !== undefined ? EXECUTE_WAIT : 0);
    const echoMode = args.flags.has("echo");
    if (echoMode && execute !== undefined) {
      throw new UsageError("--echo and --execute exclude each other");
    }
    const ca = one(args, "ca");
    const insecure = args.flags.has("insecure");
    const tls = ca !== undefined || insecure
      ? {
        ca: ca === undefined ? undefined : readFlagFile("ca", ca),
        rejectUnauthorized: !insecure,
      }
      : undefined;
    const maxRetries = integer(args, "max-retries");
    if (maxRetries !== undefined && !args.flags.has("reconnect")) {
      throw new UsageError("--max-retries goes with --reconnect");
    }
    if (args.flags.has("reconnect")) {
      if (!/^(wss?|ws\+unix):/i.test(url)) {
        throw new UsageError("--reconnect needs a ws:, wss: or ws+unix: URL");
      }
      if (execute !== undefined) throw new UsageError("--reconnect reads its input from stdin");
      runReconnecting(url, {
        protocols: args.flags.get("protocol") ?? [],
        headers,
        tls,
        deflate: args.flags.has("deflate"),
        maxRetries: maxRetries ?? Infinity,
      }, { echo: echoMode, wait }).then((code) => process.exit(code));
      return;
    }
    let ws: WS;
    try {
      ws = connect(url, {
        protocols: args.flags.get("protocol") ?? [],
        headers,
        tls,
        deflate: args.flags.has("deflate"),
      });
    } catch (err) {
      throw new Failure(`cannot connect to ${url}: ${causeOf(err)}`);
    }
    runClient(ws, { echoMode, execute, wait });
  },
};

/** The interactive client: stdin lines out, messages printed, close on input end or Ctrl-C. */
function runClient(ws: WS, o: { echoMode: boolean; execute?: string; wait: number }): void {
  let opened = false;
  /** Input is over: close at once, or after `wait` ms unless the peer closes first. */
  const inputEnded = () => {
    if (o.wait <= 0) return ws.close(1000);
    const timer = setTimeout(() => ws.close(1000), o.wait);
    ws.once("close", () => clearTimeout(timer));
  };
  ws.on("open", () => {
    opened = true;
    console.error(`connected to ${ws.url}${ws.protocol ? ` (protocol ${ws.protocol})` : ""}`);
    if (o.echoMode) return;
    if (o.execute !== undefined) {
      ws.sendText(o.execute);
      return inputEnded();
    }
    const rl = createInterface({ input: process.stdin });
    rl.on("line", (line) => {
      if (ws.readyState === "open") ws.sendText(line);
    });
    rl.on("close", inputEnded);
    ws.once("close", () => rl.close());
  });
  ws.on("message", (data, isBinary) => {
    if (o.echoMode) {
      if (ws.readyState === "open") ws.send(data);
      return;
    }
    console.log(isBinary ? `<binary ${(data as Uint8Array).length} bytes>` : data);
  });
  ws.on("error", (err) => console.error(`wsdriver: ${err.message}`));
  ws.on("close", (code, reason) => {
    // Exit once the line is out: Node writes to pipes asynchronously and exit() would cut it.
    process.stderr.write(
      `closed ${code}${reason ? ` ${reason}` : ""}\n`,
      () => process.exit(opened ? 0 : FAILURE),
    );
  });
  // Ctrl-C: a clean close (1000) first; a second Ctrl-C, or a connection not yet open, exits now.
  let interrupted = false;
  process.on("SIGINT", () => {
    if (interrupted || ws.readyState !== "open") process.exit(130);
    interrupted = true;
    ws.close(1000);
  });
}

const relayCommand: Command = {
  name: "relay",
  synopsis: "--port N [--host H] [--redis redis://HOST:PORT] [--recoverable NAME]...\n" +
    "      [--deflate] [--reuse-port]",
  description: `A client on path /NAME joins topic NAME; every message it sends goes to every
subscriber of NAME (itself included) as the same type, on every relay sharing
that Redis. Without --redis, topics stay in this process. Keeps serving local
clients while Redis is down. --recoverable NAME keeps NAME's history: clients
resume with /NAME?since=EPOCH:OFFSET. --reuse-port shares the port with other
relays (Deno, Bun).`,
  flags: [
    ...LISTEN_FLAGS,
    { name: "redis", kind: "value", arg: "URL", help: "Redis shared by the relays" },
    {
      name: "recoverable",
      kind: "list",
      arg: "NAME",
      help: "keep this topic's history for resuming clients (repeatable)",
    },
    { name: "deflate", kind: "boolean", help: "accept permessage-deflate" },
    { name: "reuse-port", kind: "boolean", help: "share the port with other relays" },
  ],
  async run(args) {
    if (args.positional.length > 0) {
      throw new UsageError(`unexpected argument ${args.positional[0]}`);
    }
    const { port, hostname } = listenAddress(args);
    const redis = one(args, "redis");
    if (redis !== undefined && !/^rediss?:\/\//.test(redis)) {
      throw new UsageError("--redis needs redis://HOST:PORT");
    }
    // Loaded here: the other commands do without a Redis client.
    const { startRelay } = await import("./src/backplane/relay.ts");
    let server;
    try {
      server = await startRelay({
        port,
        hostname,
        redis,
        recoverable: args.flags.get("recoverable"),
        deflate: args.flags.has("deflate"),
        reusePort: args.flags.has("reuse-port"),
        log: (line) => console.error(line),
      });
    } catch (err) {
      throw new Failure(`cannot listen on ${hostname}:${port}: ${causeOf(err)}`);
    }
    console.log(`listening on ${server.url}`);
  },
};

const COMMANDS: Command[] = [echoCommand, connectCommand, relayCommand];

function commandHelp(c: Command): string {
  const rows = [...c.flags, HELP].map((f) => {
    const names = `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.arg ? ` ${f.arg}` : ""}`;
    return `  ${names.padEnd(28)} ${f.help}`;
  });
  return `usage: wsdriver ${c.name} ${c.synopsis}\n\n${c.description}\n\noptions:\n${
    rows.join("\n")
  }`;
}

const TOOL_HELP = `wsdriver ${VERSION}: WebSocket echo server, client and relay

usage: wsdriver <command> [options]
${COMMANDS.map((c) => `  wsdriver ${c.name} ${c.synopsis.split("\n")[0]}`).join("\n")}
  wsdriver -c URL [connect options]     (wscat style: same as connect URL)
  wsdriver -l PORT [echo options]       (wscat style: same as echo --port PORT)
  wsdriver --version | --help | <command> --help`;

/** wscat's `-c URL` and `-l PORT` stand for a command; rewrite them into one. */
function wscatStyle(argv: string[]): string[] {
  for (let i = 0; i < argv.length - 1; i++) {
    const rest = [...argv.slice(0, i), ...argv.slice(i + 2)];
    if (argv[i] === "-c" || argv[i] === "--connect") return ["connect", argv[i + 1], ...rest];
    if (argv[i] === "-l" || argv[i] === "--listen") return ["echo", "--port", argv[i + 1], ...rest];
  }
  return argv;
}

async function main(argv: string[]): Promise<void> {
  if (argv.length > 0 && !COMMANDS.some((c) => c.name === argv[0])) {
    if (argv[0] === "--version" || argv[0] === "-V") return console.log(VERSION);
    if (argv[0] === "--help" || argv[0] === "-h") return console.log(TOOL_HELP);
    argv = wscatStyle(argv);
  }
  if (argv.length === 0) {
    console.error(TOOL_HELP);
    process.exit(USAGE_ERROR);
  }
  const command = COMMANDS.find((c) => c.name === argv[0]);
  if (command === undefined) throw new UsageError(`unknown command ${argv[0]}`);
  const args = parseArgs(argv.slice(1), command);
  if (args.flags.has("help")) return console.log(commandHelp(command));
  await command.run(args);
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`wsdriver: ${err.message}\n(run \`wsdriver --help\` for usage)`);
    process.exit(USAGE_ERROR);
  }
  console.error(`wsdriver: ${err instanceof Failure ? err.message : causeOf(err)}`);
  process.exit(FAILURE);
}
