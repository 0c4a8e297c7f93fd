/**
 * The floor of the benchmark: the least a JavaScript WebSocket server can do on each runtime's own
 * sockets (`node:net`/`node:tls`, `Deno.listen`/`Deno.listenTls`, `Bun.listen`), for
 * `run.ts --floor`. Where this server misses one of issue 15's targets against the runtime's usual
 * server, no JavaScript server on that runtime meets it on this machine; where it meets one, the
 * target is within reach.
 *
 * It does what the load generator needs and nothing a library must do besides: no limits, no
 * timeouts, no fragmented messages (the load generator sends none; one is answered with close
 * 1002), no events, no stats, and permessage-deflate only as `Bun.serve` speaks it (see below).
 * What it does do is what every server pays for: it checks the upgrade request, answers with the
 * accept key, parses frames across reads, unmasks into a buffer of the message's own, decodes text
 * as strict UTF-8 into a string and encodes the string it sends back, answers pings and closes.
 * `/` echoes each message as the same type; `/broadcast` frames what one read brought once and
 * writes it to every client on `/broadcast`. Each read event gives at most one write per connection
 * (large frames: the header and the payload, without joining them). `BENCH_TLS_CERT` and
 * `BENCH_TLS_KEY` (PEM files) serve `wss:`. `FLOOR_NET=node` makes Deno listen with `node:net`, as
 * wsdriver does there (5.4-5.9 KiB per idle connection against `Deno.listen`'s 7.7). Prints
 * `listening on PORT`.
 *
 * ```sh
 * node bench/servers/floor.mjs [port]
 * deno run -A bench/servers/floor.mjs [port]
 * bun bench/servers/floor.mjs [port]
 * ```
 *
 * @module
 */

import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import process from "node:process";
import zlib from "node:zlib";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Frames of a read up to this size are joined into one write; a larger one is written as is. */
const JOIN_MAX = 64 * 1024;
const HEAD_MAX = 8 * 1024;

const port = Number(process.argv[2] ?? 0);
const certFile = process.env.BENCH_TLS_CERT, keyFile = process.env.BENCH_TLS_KEY;
const tls = certFile && keyFile
  ? { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") }
  : undefined;

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");
const sha1 = crypto.hash
  ? (s) => crypto.hash("sha1", s, "base64")
  : (s) => crypto.createHash("sha1").update(s).digest("base64");
const Buf = globalThis.Buffer;
// Buffer.allocUnsafe skips zero-filling where it exists (Node, Bun).
const alloc = Buf ? (n) => Buf.allocUnsafe(n) : (n) => new Uint8Array(n);
const deflating = process.env.BENCH_DEFLATE === "1";
const DEFLATE_LEVEL = 6;
/** A sync flush's empty stored block, which RFC 7692 leaves off each message. */
const FLUSH_TAIL = Uint8Array.of(0, 0, 0xff, 0xff);
/** The same, then an empty final block: Bun's one-shot inflate wants a stream that ends. */
const FINAL_TAIL = Uint8Array.of(0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff);
const { Bun: bun } = globalThis;
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const inflate = bun
  ? (p) => bun.inflateSync(concat(p, FINAL_TAIL))
  : (p) => zlib.inflateRawSync(concat(p, FLUSH_TAIL), SYNC);
const DEFLATE_RAW = { ...SYNC, level: DEFLATE_LEVEL };
const LIBDEFLATE = { level: DEFLATE_LEVEL, library: "libdeflate" };
/**
 * One message compressed on its own. Bun's call ends the stream with a final block (RFC 7692
 * 7.2.3.3 allows that without context takeover), followed by a zero byte, as `Bun.serve` sends it.
 */
function deflate(p) {
  if (bun) return concat(bun.deflateSync(p, LIBDEFLATE), Uint8Array.of(0));
  const c = zlib.deflateRawSync(p, DEFLATE_RAW);
  return c.subarray(0, c.length - 4);
}
/** Opcode bit for frames() and header(): RSV1, a compressed message. */
const COMPRESSED = 0x40;
const BAD_REQUEST = encoder.encode(
  "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
);

/** The peers on `/broadcast`. */
const subscribers = new Set();

/** `a` then `b` in a new buffer (transports may reuse the ones they handed over). */
function concat(a, b) {
  const out = alloc(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The payload at `buf[at..]` (mask first), unmasked into a buffer of its own. */
function unmask(buf, at, len) {
  const m0 = buf[at], m1 = buf[at + 1], m2 = buf[at + 2], m3 = buf[at + 3];
  const out = alloc(len);
  out.set(buf.subarray(at + 4, at + 4 + len));
  let i = 0;
  if (out.byteOffset % 4 === 0 && len >= 16) {
    const words = new Uint32Array(out.buffer, out.byteOffset, len >>> 2);
    const m = (m0 | (m1 << 8) | (m2 << 16) | (m3 << 24)) >>> 0; // little-endian, as x86
    for (let w = 0; w < words.length; w++) words[w] ^= m;
    i = words.length * 4;
  }
  for (; i < len; i++) out[i] ^= i % 4 === 0 ? m0 : i % 4 === 1 ? m1 : i % 4 === 2 ? m2 : m3;
  return out;
}

/** Frames `[opcode, payload, ...]` as chunks to write: joined, or a large frame's two parts. */
function frames(list) {
  let total = 0;
  for (let i = 1; i < list.length; i += 2) {
    const n = list[i].length;
    total += n + (n < 126 ? 2 : n < 65536 ? 4 : 10);
  }
  if (total > JOIN_MAX && list.length === 2) {
    const p = list[1], h = alloc(p.length < 65536 ? 4 : 10);
    header(h, 0, list[0], p.length);
    return [h, p];
  }
  const b = alloc(total);
  let o = 0;
  for (let i = 0; i < list.length; i += 2) {
    const p = list[i + 1];
    o = header(b, o, list[i], p.length);
    b.set(p, o);
    o += p.length;
  }
  return [b];
}

function header(b, o, op, n) {
  b[o++] = 0x80 | op;
  if (n < 126) b[o++] = n;
  else if (n < 65536) {
    b[o++] = 126;
    b[o++] = n >>> 8;
    b[o++] = n & 255;
  } else {
    b[o++] = 127;
    b[o++] =
      b[o++] =
      b[o++] =
      b[o++] =
        0;
    b[o++] = n >>> 24;
    b[o++] = (n >>> 16) & 255;
    b[o++] = (n >>> 8) & 255;
    b[o++] = n & 255;
  }
  return o;
}

/** One connection over a transport's `send(chunks)` and `end()` (end after what was sent). */
class Peer {
  constructor(send, end) {
    this.send = send;
    this.end = end;
    this.rest = null;
    /** Bytes still missing from the frame in `rest`, when its size is known. */
    this.want = 0;
    this.open = false;
    this.done = false;
    this.broadcast = false;
    this.deflate = false;
  }

  data(chunk) {
    if (this.done) return;
    if (this.want > 0) {
      // The rest of a frame whose size is known, copied once into a buffer of that size.
      const n = Math.min(chunk.length, this.want), frame = this.rest;
      frame.set(chunk.subarray(0, n), frame.length - this.want);
      this.want -= n;
      if (this.want > 0) return;
      this.rest = null;
      this.parse(frame);
      if (n < chunk.length) this.data(chunk.subarray(n));
      return;
    }
    let buf = chunk;
    if (this.rest) {
      buf = concat(this.rest, chunk);
      this.rest = null;
    }
    this.parse(buf);
  }

  parse(buf) {
    let at = 0;
    const out = [], all = [];
    if (!this.open) {
      at = this.handshake(buf);
      if (at <= 0) return;
    }
    while (buf.length - at >= 2) {
      const b0 = buf[at], b1 = buf[at + 1];
      let len = b1 & 127, h = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = (buf[at + 2] << 8) | buf[at + 3];
        h = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        if (buf[at + 2] | buf[at + 3] | buf[at + 4] | buf[at + 5] | (buf[at + 6] & 0x80)) {
          return this.fail(out, 1009);
        }
        len = buf[at + 6] * 2 ** 24 + ((buf[at + 7] << 16) | (buf[at + 8] << 8) | buf[at + 9]);
        h = 10;
      }
      const op = b0 & 15, rsv1 = b0 & COMPRESSED;
      if ((b0 & 0xb0) !== 0x80 || !(b1 & 0x80) || (rsv1 && !(this.deflate && op < 8))) {
        return this.fail(out, 1002);
      }
      if (buf.length - at < h + 4 + len) {
        this.rest = alloc(h + 4 + len);
        this.rest.set(buf.subarray(at));
        this.want = h + 4 + len - (buf.length - at);
        at = buf.length;
        break;
      }
      let payload = unmask(buf, at + h, len);
      at += h + 4 + len;
      if (rsv1) {
        try {
          payload = inflate(payload);
        } catch {
          return this.fail(out, 1007);
        }
      }
      if (op === 1) {
        let text;
        try {
          text = utf8.decode(payload);
        } catch {
          return this.fail(out, 1007);
        }
        this.message(out, all, 1, encoder.encode(text));
      } else if (op === 2) this.message(out, all, 2, payload);
      else if (op === 9) out.push(10, payload);
      else if (op === 8) {
        out.push(8, payload.subarray(0, 2));
        return this.close(out);
      } else if (op !== 10) return this.fail(out, 1002);
    }
    if (at < buf.length) this.rest = buf.slice(at);
    if (out.length) this.send(frames(out));
    if (all.length) {
      const chunks = frames(all);
      for (const s of subscribers) s.send(chunks);
    }
  }

  /**
   * A data message to send: echoed (compressed under permessage-deflate), or to all of
   * `/broadcast` uncompressed, since not every client there need have agreed to the extension.
   */
  message(out, all, op, payload) {
    if (this.broadcast) all.push(op, payload);
    else if (this.deflate) out.push(COMPRESSED | op, deflate(payload));
    else out.push(op, payload);
  }

  /** The upgrade in `buf`: where the frames after it start, 0 until the head is complete. */
  handshake(buf) {
    let end = 3;
    while (
      end < buf.length &&
      !(buf[end] === 10 && buf[end - 1] === 13 && buf[end - 2] === 10 && buf[end - 3] === 13)
    ) end++;
    if (end >= buf.length) {
      if (buf.length > HEAD_MAX) return this.refuse();
      this.rest = buf.slice();
      return 0;
    }
    const head = latin1.decode(buf.subarray(0, end - 1));
    const key = /\r\nsec-websocket-key:[ \t]*([A-Za-z0-9+/]{22}==)[ \t]*\r\n/i.exec(head);
    if (
      !key || !head.startsWith("GET ") || !/\r\nupgrade:[ \t]*websocket[ \t]*\r\n/i.test(head) ||
      !/\r\nsec-websocket-version:[ \t]*13[ \t]*\r\n/i.test(head)
    ) return this.refuse();
    this.open = true;
    this.broadcast = head.startsWith("GET /broadcast ");
    if (this.broadcast) subscribers.add(this);
    this.deflate = deflating &&
      /\r\nsec-websocket-extensions:[^\r]*permessage-deflate/i.test(head);
    const accept = sha1(key[1] + GUID);
    this.send([encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n` +
        (this.deflate
          ? "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; " +
            "client_no_context_takeover\r\n"
          : "") +
        "\r\n",
    )]);
    return end + 1;
  }

  refuse() {
    this.done = true;
    this.send([BAD_REQUEST]);
    this.end();
    return -1;
  }

  fail(out, code) {
    out.push(8, Uint8Array.of(code >>> 8, code & 255));
    this.close(out);
  }

  close(out) {
    this.done = true;
    this.send(frames(out));
    this.closed();
    this.end();
  }

  closed() {
    subscribers.delete(this);
  }
}

function listenNode() {
  const onSocket = (socket) => {
    socket.setNoDelay(true);
    const peer = new Peer((chunks) => {
      if (chunks.length === 1) return socket.write(chunks[0]);
      socket.cork();
      for (const c of chunks) socket.write(c);
      socket.uncork();
    }, () => socket.end());
    socket.on("data", (d) => peer.data(d));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => peer.closed());
  };
  return import(tls ? "node:tls" : "node:net").then((m) => {
    const server = tls ? m.createServer(tls, onSocket) : m.createServer(onSocket);
    server.listen(port, "127.0.0.1", () => console.log(`listening on ${server.address().port}`));
  });
}

function listenBun(Bun) {
  const write = (socket, st) => {
    while (st.backlog.length) {
      const c = st.backlog[0];
      const n = socket.write(c);
      if (n < c.length) {
        st.backlog[0] = c.subarray(Math.max(n, 0));
        return;
      }
      st.backlog.shift();
    }
    if (st.ending) socket.end();
  };
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port,
    tls,
    socket: {
      open(socket) {
        const st = { backlog: [], ending: false, peer: undefined };
        st.peer = new Peer((chunks) => {
          const idle = st.backlog.length === 0;
          st.backlog.push(...chunks);
          if (idle) write(socket, st);
        }, () => {
          st.ending = true;
          if (!st.backlog.length) socket.end();
        });
        socket.data = st;
      },
      data(socket, d) {
        socket.data.peer.data(d);
      },
      drain(socket) {
        write(socket, socket.data);
      },
      close(socket) {
        socket.data.peer.closed();
      },
      error() {},
    },
  });
  console.log(`listening on ${server.port}`);
}

async function listenDeno(Deno) {
  const listener = tls
    ? Deno.listenTls({ hostname: "127.0.0.1", port, cert: tls.cert, key: tls.key })
    : Deno.listen({ hostname: "127.0.0.1", port });
  console.log(`listening on ${listener.addr.port}`);
  for await (const conn of listener) serveDeno(conn);
}

async function serveDeno(conn) {
  if (!tls) conn.setNoDelay(true);
  let queue = null, ending = false, closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    peer.closed();
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const pump = async () => {
    try {
      while (queue.length) {
        const c = queue.shift();
        for (let o = 0; o < c.length;) o += await conn.write(c.subarray(o));
      }
    } catch {
      return close();
    }
    queue = null;
    if (ending) close();
  };
  const peer = new Peer((chunks) => {
    if (closed) return;
    if (queue) return queue.push(...chunks);
    queue = [...chunks];
    pump();
  }, () => {
    ending = true;
    if (!queue) close();
  });
  // A small buffer for idle connections, larger while reads fill it.
  let buf = new Uint8Array(512);
  try {
    while (!closed) {
      const n = await conn.read(buf);
      if (n === null) break;
      peer.data(buf.subarray(0, n));
      if (n === buf.length && n < 65536) buf = new Uint8Array(n * 2);
    }
  } catch { /* reset by the peer */ }
  close();
}

const { Deno, Bun } = globalThis;
if (Bun) listenBun(Bun);
else if (Deno && process.env.FLOOR_NET !== "node") listenDeno(Deno);
else await listenNode();
// Exit cleanly on SIGTERM (the runner stops servers so).
process.on("SIGTERM", () => process.exit(0));
