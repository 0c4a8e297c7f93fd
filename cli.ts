#!/usr/bin/env -S deno run -A
/**
 * The wsdriver command line: an echo server and a wscat-like client.
 *
 * ```sh
 * deno run -A cli.ts echo --port 8080 [--host 127.0.0.1] [--protocol chat]... [--cert F --key F]
 * deno run -A cli.ts connect ws://127.0.0.1:8080/ [--echo] [--protocol chat]... [--ca F]
 * deno run -A cli.ts relay --port 8080 [--host 127.0.0.1] [--redis redis://127.0.0.1:6379]
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { connect } from "./src/client.ts";
import { runReconnecting } from "./src/client/reconnect_cli.ts";
import { serve } from "./src/server.ts";

const USAGE = `usage:
  wsdriver echo --port N [--host H] [--protocol NAME]... [--cert FILE --key FILE] [--deflate]
      [--tcp]
      Echo server: text back as text, binary as binary, on any path. Prints
      "listening on URL" and runs until killed. --deflate accepts permessage-deflate;
      --tcp also takes raw TCP clients on the same port (newline-delimited messages).
  wsdriver connect URL [--echo] [--protocol NAME]... [--header "Name: value"]... [--ca FILE]
      [--deflate]
      Sends each line of standard input as a text message and prints every message
      received; with --echo, sends every message back instead. Exits 0 when the
      connection closes. --deflate offers permessage-deflate. A tcp://HOST:PORT URL
      connects over raw TCP (newline-delimited messages).
  wsdriver connect URL --reconnect [--max-retries N] [other connect options]
      Reconnects after abnormal closes, with growing, jittered delays; lines read
      while disconnected are sent after the reconnect. Exits 0 once standard input
      has ended and every line was sent, 1 after N failed attempts in a row.
  wsdriver relay --port N [--host H] [--redis redis://HOST:PORT] [--recoverable NAME]...
      [--deflate] [--reuse-port]
      A client on path /NAME joins topic NAME; every message it sends goes to every
      subscriber of NAME (itself included) as the same type, on every relay sharing
      that Redis. Without --redis, topics stay in this process. Keeps serving local
      clients while Redis is down. --recoverable NAME keeps NAME's history: clients
      resume with /NAME?since=EPOCH:OFFSET. --reuse-port shares the port with other
      relays (Deno, Bun).`;

interface Args {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string[]>;
}

const BOOLEAN_FLAGS = new Set(["echo", "help", "deflate", "tcp", "reconnect", "reuse-port"]);

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (BOOLEAN_FLAGS.has(name)) value = "true";
    else if (i + 1 < argv.length) value = argv[++i];
    else die(`--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { command: positional.shift(), positional, flags };
}

function die(message: string): never {
  console.error(`wsdriver: ${message}\n${USAGE}`);
  process.exit(2);
}

function one(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return v?.[v.length - 1];
}

function checkFlags(args: Args, allowed: string[]): void {
  for (const name of args.flags.keys()) {
    if (!allowed.includes(name)) die(`unknown option --${name}`);
  }
}

async function echo(args: Args): Promise<void> {
  checkFlags(args, ["port", "host", "protocol", "cert", "key", "deflate", "tcp"]);
  const port = Number(one(args, "port") ?? "8080");
  if (!Number.isInteger(port) || port < 0 || port > 65535) die("--port must be 0-65535");
  const cert = one(args, "cert"), key = one(args, "key");
  if ((cert === undefined) !== (key === undefined)) die("--cert and --key go together");
  const server = await serve({
    port,
    hostname: one(args, "host") ?? "127.0.0.1",
    protocols: args.flags.get("protocol") ?? [],
    tls: cert && key
      ? { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") }
      : undefined,
    deflate: args.flags.has("deflate"),
    raw: args.flags.has("tcp"),
  }, (ws) => {
    ws.on("message", (data, isBinary) => {
      if (ws.readyState !== "open") return;
      if (isBinary) ws.sendBinary(data as Uint8Array);
      else ws.sendText(data as string);
    });
  });
  console.log(`listening on ${server.url}`);
}

async function relayCommand(args: Args): Promise<void> {
  checkFlags(args, ["port", "host", "redis", "recoverable", "deflate", "reuse-port"]);
  const port = Number(one(args, "port") ?? "8080");
  if (!Number.isInteger(port) || port < 0 || port > 65535) die("--port must be 0-65535");
  const redis = one(args, "redis");
  if (redis !== undefined && !/^rediss?:\/\//.test(redis)) die("--redis needs redis://HOST:PORT");
  // Loaded here: the other commands do without a Redis client.
  const { startRelay } = await import("./src/backplane/relay.ts");
  const server = await startRelay({
    port,
    hostname: one(args, "host") ?? "127.0.0.1",
    redis,
    recoverable: args.flags.get("recoverable"),
    deflate: args.flags.has("deflate"),
    reusePort: args.flags.has("reuse-port"),
    log: (line) => console.error(line),
  });
  console.log(`listening on ${server.url}`);
}

function connectCommand(args: Args): void {
  checkFlags(args, ["echo", "protocol", "header", "ca", "deflate", "reconnect", "max-retries"]);
  const url = args.positional[0];
  if (url === undefined) die("connect needs a URL");
  const headers = new Headers();
  for (const h of args.flags.get("header") ?? []) {
    const colon = h.indexOf(":");
    if (colon <= 0) die(`--header needs "Name: value", got ${JSON.stringify(h)}`);
    headers.append(h.slice(0, colon).trim(), h.slice(colon + 1).trim());
  }
  const ca = one(args, "ca");
  const echoMode = args.flags.has("echo");
  if (args.flags.has("max-retries") && !args.flags.has("reconnect")) {
    die("--max-retries goes with --reconnect");
  }
  if (args.flags.has("reconnect")) {
    const maxRetries = Number(one(args, "max-retries") ?? Infinity);
    if (!(maxRetries >= 0) || (maxRetries !== Infinity && !Number.isInteger(maxRetries))) {
      die("--max-retries must be a whole number");
    }
    if (!/^(wss?|ws\+unix):/i.test(url)) die("--reconnect needs a ws:, wss: or ws+unix: URL");
    runReconnecting(url, {
      protocols: args.flags.get("protocol") ?? [],
      headers,
      tls: ca ? { ca: readFileSync(ca, "utf8") } : undefined,
      deflate: args.flags.has("deflate"),
      maxRetries,
    }, { echo: echoMode }).then((code) => process.exit(code));
    return;
  }
  let ws;
  try {
    ws = connect(url, {
      protocols: args.flags.get("protocol") ?? [],
      headers,
      tls: ca ? { ca: readFileSync(ca, "utf8") } : undefined,
      deflate: args.flags.has("deflate"),
    });
  } catch (err) {
    die((err as Error).message);
  }
  ws.on("open", () => {
    console.error(`connected to ${ws.url}${ws.protocol ? ` (protocol ${ws.protocol})` : ""}`);
    if (echoMode) return;
    const rl = createInterface({ input: process.stdin });
    rl.on("line", (line) => {
      if (ws.readyState === "open") ws.sendText(line);
    });
    rl.on("close", () => ws.close());
  });
  ws.on("message", (data, isBinary) => {
    if (echoMode) {
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
      () => process.exit(opened ? 0 : 1),
    );
  });
  let opened = false;
  ws.once("open", () => (opened = true));
}

const args = parseArgs(process.argv.slice(2));
if (args.flags.has("help") || args.command === undefined) {
  console.log(USAGE);
  process.exit(args.command === undefined && !args.flags.has("help") ? 2 : 0);
} else if (args.command === "echo") {
  await echo(args);
} else if (args.command === "connect") {
  connectCommand(args);
} else if (args.command === "relay") {
  await relayCommand(args);
} else {
  die(`unknown command ${args.command}`);
}
