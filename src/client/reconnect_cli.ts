/**
 * `wsdriver connect URL --reconnect`: the CLI's client on a {@link ReconnectingClient}.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { ReconnectError } from "../errors.ts";
import { ReconnectingClient, type ReconnectOptions } from "./reconnecting.ts";

/** What the CLI asks of a reconnecting session. */
export interface ReconnectCliOptions {
  /** Send every message back instead of printing it. */
  echo: boolean;
  /** After input ended and every line went out, keep printing this many ms (default 0). */
  wait?: number;
}

/**
 * Runs the session: each line of standard input is sent (queued while disconnected, sent after
 * the reconnect), every message is printed. Resolves with the exit code: 0 once standard input has
 * ended and every line was written (or the server closed normally), 1 if it gave up reconnecting.
 */
export function runReconnecting(
  url: string,
  options: ReconnectOptions,
  cli: ReconnectCliOptions,
): Promise<number> {
  const client = new ReconnectingClient(url, options);
  let gaveUp = false;
  let inputEnded = false;
  const log = (line: string) => process.stderr.write(line + "\n");
  client.on("open", (info) => {
    const ws = client.socket!;
    log(
      `${info.reconnected ? "reconnected" : "connected"} to ${ws.url}` +
        (ws.protocol ? ` (protocol ${ws.protocol})` : ""),
    );
    finishIfDone();
  });
  client.on("disconnect", (info) => {
    log(`disconnected ${info.code}${info.error ? `: ${info.error.message}` : ""}`);
  });
  client.on("retry", (attempt, delay) => log(`reconnecting in ${delay} ms (attempt ${attempt})`));
  client.on("error", (err) => {
    if (err instanceof ReconnectError) {
      gaveUp = true;
      log(`wsdriver: ${err.message}`);
    }
  });
  client.on("message", (data, isBinary) => {
    if (cli.echo) {
      if (client.readyState !== "closed") client.send(data);
      return;
    }
    console.log(isBinary ? `<binary ${(data as Uint8Array).length} bytes>` : data);
  });

  /**
   * Once input has ended and the queue went out, close: the close frame follows the lines, so the
   * server reads them all before it.
   */
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  function finishIfDone(): void {
    if (!inputEnded || client.readyState !== "open" || client.queuedMessages !== 0) return;
    const wait = cli.wait ?? 0;
    if (wait <= 0) return void client.close();
    closeTimer ??= setTimeout(() => client.close(), wait);
  }

  if (!cli.echo) {
    const rl = createInterface({ input: process.stdin });
    rl.on("line", (line) => {
      try {
        client.send(line);
      } catch (err) {
        log(`wsdriver: line dropped: ${(err as Error).message}`);
      }
    });
    rl.on("close", () => {
      inputEnded = true;
      finishIfDone();
    });
  }

  return new Promise((resolve) => {
    client.on("close", (code, reason) => {
      clearTimeout(closeTimer);
      process.stderr.write(`closed ${code}${reason ? ` ${reason}` : ""}\n`, () => {
        resolve(gaveUp ? 1 : 0);
      });
    });
  });
}
