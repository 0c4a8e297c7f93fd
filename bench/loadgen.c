/*
 * wsdriver bench load generator: a WebSocket (RFC 6455) client in C with epoll and
 * non-blocking sockets, one thread, built to be much faster than any server it measures.
 *
 *   gcc -O2 -o bench/.build/loadgen bench/loadgen.c -lz -lssl -lcrypto
 *
 *   loadgen echo      --port P [--path /] [--conns N] [--inflight W] [--size B] [--binary]
 *                     [--size-max B] [--json] [--deflate] [--tls]
 *   loadgen handshake --port P [--parallel P] [--tls]
 *   loadgen broadcast --port P [--path /broadcast] [--conns N] [--inflight W] [--size B]
 *                     [--probe] [--tls]
 *   loadgen idle      --port P [--conns N] [--warm N] [--deflate] [--tls]
 *   common:           [--host 127.0.0.1] [--warmup S] [--duration S] [--timeout S]
 *
 * It performs the opening handshake itself (fixed key, checks the 101 and the accept value),
 * masks every frame it sends and validates every frame it receives: no RSV bits (RSV1 only on
 * data frames with permessage-deflate), no mask, a known opcode, minimal length encoding, no
 * fragmentation, and for data frames the exact payload, type and order (each payload starts with
 * its sequence number in hex; the rest is a pattern derived from it). Any protocol error or
 * mismatch prints "loadgen: error: ..." on stderr and exits 1. Results go to stdout as one JSON
 * line.
 *
 * echo:      N connections, each keeps W messages in flight; msgs/s, MB/s, round-trip p50/p99.
 * handshake: P parallel loops of connect, upgrade, close handshake (masked close 1000, wait for
 *            the server's close 1000 and its FIN), close; handshakes/s.
 * broadcast: N connections; connection 0 sends, every connection (the sender too) must receive
 *            every message in order; the sender keeps at most W messages not yet received by
 *            all; deliveries/s (frames received, all connections).
 * idle:      opens --warm connections, prints "warm", waits for a line on stdin, opens N more,
 *            prints "ready N", and holds them until stdin gives another line or closes.
 * --size-max: message sizes vary per message between --size and this, the same every run.
 * --json:    text payloads cut from a generated JSON-like text (records with varied fields) instead
 *            of an a..z cycle: compressible as real traffic is, not trivially.
 * --deflate: every upgrade request offers "permessage-deflate; client_max_window_bits". In echo
 *            and broadcast the server must accept it: the load generator then compresses every
 *            message it sends (zlib level 1, the window the server allows, resetting after each
 *            message if told client_no_context_takeover) and inflates every compressed frame it
 *            receives (resetting after each if the server said server_no_context_takeover); the
 *            server may send any message uncompressed. In idle it is only offered (no frames).
 * --tls:     wss: over OpenSSL on the same non-blocking sockets and epoll loop, offering TLS 1.3's
 *            ciphers in a browser's order; the server's certificate is not checked (the bench
 *            uses a self-signed one).
 * --probe:   broadcast: one more connection, on /, echoes 32 B text one message at a time while
 *            the broadcast runs; its round trip p50/p99 are reported (latency under load).
 *
 * One file over 500 lines on purpose: it is one program whose per-message path (parse, mask,
 * check, the deflate memo, TLS reads and writes) is all static functions in one translation unit,
 * which gcc -O2 inlines into each other; split into files, those calls would stay calls without
 * link-time optimisation. Its sections: payloads, permessage-deflate, sending, TLS, connections,
 * scenario hooks, then parsing, the event loop and main.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455 section 1.3 */
#define SEQ_DIGITS 16
#define MAX_EVENTS 512
#define MAX_LAT_SAMPLES (8u << 20)
#define RING 4096 /* broadcast: receipt counters per message, indexed by seq % RING */

enum { S_CONNECTING, S_TLS, S_HEAD, S_OPEN, S_CLOSE_SENT, S_CLOSE_RCVD, S_DONE };
enum { SC_ECHO, SC_HANDSHAKE, SC_BROADCAST, SC_IDLE };

typedef struct {
  int fd, id, state;
  uint8_t *rx;
  size_t rx_len, rx_cap;
  uint8_t *tx;
  size_t tx_len, tx_off, tx_cap;
  uint64_t sent, recv; /* data messages */
  double *sent_at;     /* ring of send times (echo), size inflight */
  size_t need;         /* size of the incomplete frame at the start of rx, if known */
  int dirty;           /* in the list of connections to flush after this batch of events */
  int probe;           /* broadcast --probe: the echo connection on / */
  SSL *ssl;            /* --tls */
  /* permessage-deflate as the server accepted it (pmd), and the streams, made on first use */
  int pmd, srv_nct, cli_nct, cli_bits;
  z_stream *zdef, *zinf;
} conn_t;

/* options */
static const char *host = "127.0.0.1";
static int port = 0;
static const char *path = NULL;
static int nconns = 1, inflight = 1, msg_size = 32, binary = 0, parallel = 16, warm = 100;
static int offer_deflate = 0; /* --deflate: offer permessage-deflate in the upgrade request */
static int size_max = 0, json = 0, use_tls = 0, probe = 0;
static size_t max_len; /* the largest message */
static SSL_CTX *ssl_ctx;
static double warmup = 0.5, duration = 2.5, timeout_s = 60;
static int scenario = SC_ECHO;

static int ep;
static conn_t *conns;
static int nalloc;
static uint8_t *pattern; /* text: 'a'..'z' cycle or JSON-like; binary: all byte values, period 251 */
static size_t pattern_len;
static uint32_t rng = 0x9e3779b9u;
static double *lat;
static size_t nlat;
static int measuring;     /* inside the measured window */
static int stopping;      /* past the end: no more sends */
static uint64_t rx_msgs;  /* data frames received, all connections */
static uint64_t rx_frames, rx_deflated; /* data frames received, and those compressed, all along */
static uint64_t probe_msgs;             /* --probe: echoes received in the measured window */
static uint64_t rx_bytes; /* payload bytes of those */
static uint64_t handshakes, opened;
static double last_progress;
/* broadcast */
static uint32_t *ring_cnt;
static uint64_t bc_sent;

static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loadgen: error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) fail("out of memory (%zu bytes)", n);
  return q;
}

static uint32_t xorshift(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* ---- payloads ------------------------------------------------------------------------- */

static const char HEX[] = "0123456789abcdef";

static void put_seq(uint8_t *p, size_t n, uint64_t seq) {
  size_t d = n < SEQ_DIGITS ? n : SEQ_DIGITS;
  for (size_t i = 0; i < d; i++) p[i] = (uint8_t)HEX[(seq >> (4 * (SEQ_DIGITS - 1 - i))) & 15];
}

/* A fixed hash of a sequence number: message sizes and JSON offsets are the same every run. */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

#define JSON_SPAN (1u << 20) /* where JSON messages start: 1 MiB, far beyond a deflate window */

static const uint8_t *pattern_for(uint64_t seq) {
  return pattern + (json ? mix(seq ^ 0x5a5a) % JSON_SPAN : seq % 251);
}

#define PROBE_SIZE 32

static size_t msg_len(const conn_t *c, uint64_t seq) {
  if (c->probe) return PROBE_SIZE;
  if (size_max > msg_size) return (size_t)msg_size + mix(seq) % (uint64_t)(size_max - msg_size + 1);
  return (size_t)msg_size;
}

/* Records of an event log with varied values from small vocabularies, like an API's JSON. */
static size_t make_json(uint8_t *out, size_t n) {
  static const char *users[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace",
                                "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent"};
  static const char *events[] = {"page_view", "click", "add_to_cart", "purchase", "login",
                                 "logout", "search", "share", "comment", "subscribe"};
  static const char *cities[] = {"Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lima",
                                 "Oslo", "Austin", "Seoul", "Madrid", "Perth", "Dublin"};
  static const char *tags[] = {"mobile", "desktop", "beta", "returning", "new", "promo",
                               "organic", "referral", "email", "push"};
  uint64_t s = 1; /* a fixed seed */
  size_t len = 0;
  char rec[512];
  while (len < n) {
    uint64_t a = mix(s++), b = mix(s++);
    int k = snprintf(rec, sizeof rec,
                     "{\"id\":%llu,\"user\":{\"name\":\"%s\",\"id\":%u,\"city\":\"%s\"},"
                     "\"event\":\"%s\",\"ts\":%llu,\"amount\":%u.%02u,\"currency\":\"EUR\","
                     "\"tags\":[\"%s\",\"%s\"],\"session\":\"%08x%08x\",\"ok\":%s},",
                     (unsigned long long)(1000000 + (a & 0xfffff)), users[a % 14],
                     (unsigned)(b % 100000), cities[(a >> 8) % 12], events[(a >> 16) % 10],
                     (unsigned long long)(1760000000000ull + (b & 0xffffffffu)),
                     (unsigned)((a >> 24) % 500), (unsigned)((a >> 33) % 100),
                     tags[(b >> 20) % 10], tags[(b >> 28) % 10], (unsigned)(b >> 32),
                     (unsigned)(a >> 32), (b >> 40) % 7 ? "true" : "false");
    size_t m = (size_t)k < n - len ? (size_t)k : n - len;
    memcpy(out + len, rec, m);
    len += m;
  }
  return len;
}

static void check_payload(conn_t *c, const uint8_t *p, size_t n, uint64_t seq) {
  size_t want_n = msg_len(c, seq);
  if (n != want_n) fail("conn %d: message %llu has %zu bytes, expected %zu", c->id,
                        (unsigned long long)seq, n, want_n);
  uint8_t want[SEQ_DIGITS];
  put_seq(want, n, seq);
  size_t d = n < SEQ_DIGITS ? n : SEQ_DIGITS;
  if (memcmp(p, want, d) != 0) {
    fail("conn %d: expected message %llu, got one starting \"%.*s\" (order or payload)", c->id,
         (unsigned long long)seq, (int)d, (const char *)p);
  }
  if (n > SEQ_DIGITS && memcmp(p + SEQ_DIGITS, pattern_for(seq) + SEQ_DIGITS, n - SEQ_DIGITS)) {
    fail("conn %d: message %llu: payload bytes differ from what was sent", c->id,
         (unsigned long long)seq);
  }
}

/* ---- permessage-deflate ------------------------------------------------------------------ */

static uint8_t *zbuf; /* one message, compressed or inflated */
static size_t zcap;
static const uint8_t TAIL[4] = {0, 0, 0xff, 0xff}; /* RFC 7692 7.2.1: stripped, then re-added */

/* The server's Sec-WebSocket-Extensions value: the one offer, with parameters RFC 7692 allows. */
static void parse_pmd(conn_t *c, const char *v, size_t vl) {
  if (!offer_deflate) fail("conn %d: extension accepted that was not offered", c->id);
  char buf[256];
  if (vl >= sizeof buf) fail("conn %d: extension header too long", c->id);
  memcpy(buf, v, vl);
  buf[vl] = 0;
  if (strchr(buf, ',')) fail("conn %d: more than one extension accepted: %s", c->id, buf);
  c->pmd = 0;
  c->srv_nct = c->cli_nct = 0;
  c->cli_bits = 15;
  int first = 1;
  for (char *save = NULL, *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
    while (*t == ' ' || *t == '\t') t++;
    size_t tl = strlen(t);
    while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t')) t[--tl] = 0;
    if (first) {
      if (strcmp(t, "permessage-deflate")) fail("conn %d: unknown extension %s", c->id, t);
      first = 0;
    } else if (!strcmp(t, "server_no_context_takeover")) {
      c->srv_nct = 1;
    } else if (!strcmp(t, "client_no_context_takeover")) {
      c->cli_nct = 1;
    } else if (!strncmp(t, "server_max_window_bits=", 23)) {
      int b = atoi(t + 23);
      if (b < 8 || b > 15) fail("conn %d: bad %s", c->id, t);
    } else if (!strncmp(t, "client_max_window_bits=", 23)) {
      c->cli_bits = atoi(t + 23);
      if (c->cli_bits < 8 || c->cli_bits > 15) fail("conn %d: bad %s", c->id, t);
    } else {
      fail("conn %d: unknown permessage-deflate parameter \"%s\"", c->id, t);
    }
  }
  c->pmd = 1;
}

/* Without context takeover a message compresses, and a compressed message inflates, the same on
   every connection: every connection sends the same numbered messages, so the load generator
   compresses each once, and inflates each distinct compressed message once (one it has seen is
   compared byte for byte instead). It costs then less per message than the fastest server. */
#define MEMO 1024

typedef struct {
  uint64_t seq;
  uint8_t *z, *plain; /* compressed, and (rx) inflated */
  size_t zlen, plen, zcap, pcap;
} memo_t;

static memo_t tx_memo[MEMO], rx_memo[MEMO];

static memo_t *memo_get(memo_t *m, uint64_t seq) {
  memo_t *e = &m[seq % MEMO];
  return e->z && e->seq == seq ? e : NULL;
}

static void memo_put(memo_t *m, uint64_t seq, const uint8_t *z, size_t zlen,
                     const uint8_t *plain, size_t plen) {
  memo_t *e = &m[seq % MEMO];
  if (e->zcap < zlen) e->z = xrealloc(e->z, e->zcap = zlen);
  if (plain && e->pcap < plen) e->plain = xrealloc(e->plain, e->pcap = plen);
  memcpy(e->z, z, zlen);
  if (plain) memcpy(e->plain, plain, plen);
  e->zlen = zlen;
  e->plen = plen;
  e->seq = seq;
}

/* Compresses a message (head, then rest) into zbuf; returns its length without the tail. */
static size_t deflate_msg(conn_t *c, const uint8_t *head, size_t hn, const uint8_t *rest,
                          size_t rn) {
  z_stream *z = c->zdef;
  if (!z) {
    z = c->zdef = calloc(1, sizeof *z);
    if (!z || deflateInit2(z, Z_BEST_SPEED, Z_DEFLATED, -c->cli_bits, 8, Z_DEFAULT_STRATEGY))
      fail("deflateInit2 failed");
  }
  z->next_out = zbuf;
  z->avail_out = (uInt)zcap;
  z->next_in = (Bytef *)head;
  z->avail_in = (uInt)hn;
  if (deflate(z, Z_NO_FLUSH) != Z_OK) fail("deflate failed");
  z->next_in = (Bytef *)rest;
  z->avail_in = (uInt)rn;
  if (deflate(z, Z_SYNC_FLUSH) != Z_OK || z->avail_in || !z->avail_out) fail("deflate failed");
  size_t out = zcap - z->avail_out;
  if (out < 5 || memcmp(zbuf + out - 4, TAIL, 4)) fail("deflate: no sync flush marker");
  if (c->cli_nct) deflateReset(z);
  return out - 4;
}

/* Inflates a compressed message into zbuf; returns its length. */
static size_t inflate_msg(conn_t *c, const uint8_t *p, size_t n) {
  z_stream *z = c->zinf;
  if (!z) {
    z = c->zinf = calloc(1, sizeof *z);
    if (!z || inflateInit2(z, -15) != Z_OK) fail("inflateInit2 failed");
  }
  z->next_out = zbuf;
  z->avail_out = (uInt)zcap;
  z->next_in = (Bytef *)p;
  z->avail_in = (uInt)n;
  int r = inflate(z, Z_SYNC_FLUSH);
  if (r == Z_OK || r == Z_BUF_ERROR) {
    if (z->avail_in) fail("conn %d: inflated message larger than any sent", c->id);
    z->next_in = (Bytef *)TAIL;
    z->avail_in = 4;
    r = inflate(z, Z_SYNC_FLUSH);
  }
  if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
    fail("conn %d: corrupt compressed message: %s", c->id, z->msg ? z->msg : "?");
  }
  if (!z->avail_out) fail("conn %d: inflated message larger than any sent", c->id);
  size_t out = zcap - z->avail_out;
  /* a final block ends the stream: the next message starts a new one */
  if (c->srv_nct || r == Z_STREAM_END) inflateReset(z);
  return out;
}

/* ---- sending -------------------------------------------------------------------------- */

static void tx_reserve(conn_t *c, size_t n) {
  if (c->tx_off > 0 && c->tx_off == c->tx_len) c->tx_off = c->tx_len = 0;
  if (c->tx_len + n <= c->tx_cap) return;
  if (c->tx_off > 0) {
    memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
    c->tx_len -= c->tx_off;
    c->tx_off = 0;
  }
  if (c->tx_len + n > c->tx_cap) {
    size_t cap = c->tx_cap ? c->tx_cap : 4096;
    while (cap < c->tx_len + n) cap *= 2;
    c->tx = xrealloc(c->tx, cap);
    c->tx_cap = cap;
  }
}

static void mask_inplace(uint8_t *p, size_t n, uint32_t key) {
  uint8_t k[4];
  memcpy(k, &key, 4);
  uint64_t k8;
  uint8_t kk[8] = {k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]};
  memcpy(&k8, kk, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    v ^= k8;
    memcpy(p + i, &v, 8);
  }
  for (; i < n; i++) p[i] ^= k[i & 3];
}

/* Appends a masked frame; the payload is written by fill (or copied from data). */
static uint8_t *frame_begin(conn_t *c, int opcode, size_t n) {
  tx_reserve(c, n + 14);
  uint8_t *h = c->tx + c->tx_len;
  size_t hl;
  h[0] = (uint8_t)(0x80 | opcode);
  if (n < 126) {
    h[1] = (uint8_t)(0x80 | n);
    hl = 2;
  } else if (n < 65536) {
    h[1] = 0x80 | 126;
    h[2] = (uint8_t)(n >> 8);
    h[3] = (uint8_t)n;
    hl = 4;
  } else {
    h[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    hl = 10;
  }
  uint32_t key = xorshift();
  memcpy(h + hl, &key, 4);
  return h + hl + 4;
}

static void frame_end(conn_t *c, uint8_t *payload, size_t n) {
  uint32_t key;
  memcpy(&key, payload - 4, 4);
  mask_inplace(payload, n, key);
  c->tx_len = (size_t)(payload - c->tx) + n;
}

/* XORs src with the mask into dst in one pass (the payload is never written unmasked). */
static void mask_copy(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key, size_t phase) {
  uint8_t k[4];
  memcpy(k, &key, 4);
  uint8_t kk[8];
  for (int i = 0; i < 8; i++) kk[i] = k[(phase + (size_t)i) & 3];
  uint64_t k8;
  memcpy(&k8, kk, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy(&v, src + i, 8);
    v ^= k8;
    memcpy(dst + i, &v, 8);
  }
  for (; i < n; i++) dst[i] = src[i] ^ k[(phase + i) & 3];
}

static void send_data(conn_t *c, uint64_t seq) {
  size_t n = msg_len(c, seq);
  int op = binary && !c->probe ? 2 : 1;
  uint8_t head[SEQ_DIGITS] = {0};
  size_t d = n < SEQ_DIGITS ? n : SEQ_DIGITS;
  put_seq(head, n, seq);
  const uint8_t *rest = pattern_for(seq) + d;
  /* zlib's raw deflate has no 8-bit window: told to use one, send uncompressed (RFC 7692 allows) */
  if (c->pmd && c->cli_bits > 8) {
    int memo = c->cli_nct && !c->probe;
    memo_t *m = memo ? memo_get(tx_memo, seq) : NULL;
    const uint8_t *z = m ? m->z : zbuf;
    size_t zn = m ? m->zlen : deflate_msg(c, head, d, rest, n - d);
    if (memo && !m) memo_put(tx_memo, seq, zbuf, zn, NULL, 0);
    uint8_t *p = frame_begin(c, 0x40 | op, zn); /* RSV1: compressed */
    uint32_t key;
    memcpy(&key, p - 4, 4);
    mask_copy(p, z, zn, key, 0);
    c->tx_len = (size_t)(p - c->tx) + zn;
    return;
  }
  uint8_t *p = frame_begin(c, op, n);
  uint32_t key;
  memcpy(&key, p - 4, 4);
  mask_copy(p, head, d, key, 0);
  if (n > d) mask_copy(p + d, rest, n - d, key, d);
  c->tx_len = (size_t)(p - c->tx) + n;
}

static void send_control(conn_t *c, int opcode, const uint8_t *data, size_t n) {
  uint8_t *p = frame_begin(c, opcode, n);
  if (n) memcpy(p, data, n);
  frame_end(c, p, n);
}

static void conn_close(conn_t *c);
static void flush(conn_t *c);

/* Writes are gathered: one write per connection per batch of events (see poll_once). */
static conn_t **dirty;
static int ndirty;

static void mark_dirty(conn_t *c) {
  if (c->dirty || c->tx_len == c->tx_off) return;
  c->dirty = 1;
  dirty[ndirty++] = c;
}

static void flush_dirty(void) {
  for (int i = 0; i < ndirty; i++) {
    conn_t *c = dirty[i];
    c->dirty = 0;
    if (c->fd >= 0) flush(c);
  }
  ndirty = 0;
}

/* ---- TLS ------------------------------------------------------------------------------- */

/* An SSL_read/SSL_write/SSL_do_handshake result r <= 0 as read(2) would give it: 0 at the end of
   the stream, -1 with errno EAGAIN when it has to wait for the socket; anything else fails. */
static ssize_t tls_result(conn_t *c, int r, const char *what) {
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  if (e == SSL_ERROR_SYSCALL && errno) fail("conn %d: TLS %s: %s", c->id, what, strerror(errno));
  char msg[256];
  ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
  fail("conn %d: TLS %s: %s (SSL error %d)", c->id, what, msg, e);
  return -1;
}

static ssize_t conn_read(conn_t *c, uint8_t *buf, size_t n) {
  if (!c->ssl) return read(c->fd, buf, n);
  ERR_clear_error();
  errno = 0;
  int r = SSL_read(c->ssl, buf, n > (1u << 30) ? 1 << 30 : (int)n);
  return r > 0 ? r : tls_result(c, r, "read");
}

static ssize_t conn_write(conn_t *c, const uint8_t *buf, size_t n) {
  if (!c->ssl) return write(c->fd, buf, n);
  ERR_clear_error();
  errno = 0;
  int w = SSL_write(c->ssl, buf, n > (1u << 30) ? 1 << 30 : (int)n);
  return w > 0 ? w : tls_result(c, w, "write");
}

static void tls_init(void) {
  ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (!ssl_ctx) fail("SSL_CTX_new failed");
  SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL); /* the bench's certificate is self-signed */
  /* flush() writes what it can and resumes on EPOLLOUT, from a buffer that may have moved */
  SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* one read(2) for many records, not two per record (header, then body) */
  SSL_CTX_set_read_ahead(ssl_ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ssl_ctx, 256 * 1024);
  /* a browser's order of preference (Chrome, Firefox) */
  SSL_CTX_set_ciphersuites(ssl_ctx,
                           "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  /* a server that closes without close_notify (after the close handshake) ends the stream */
  SSL_CTX_set_options(ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
}

static void flush(conn_t *c) {
  if (c->state == S_CONNECTING || c->state == S_TLS) return; /* the upgrade request waits */
  while (c->tx_off < c->tx_len) {
    ssize_t w = conn_write(c, c->tx + c->tx_off, c->tx_len - c->tx_off);
    if (w > 0) {
      c->tx_off += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return; /* EPOLLOUT (edge) resumes */
    fail("conn %d: write: %s", c->id, w < 0 ? strerror(errno) : "0 bytes");
  }
  c->tx_off = c->tx_len = 0;
}

/* ---- connections ---------------------------------------------------------------------- */

static void conn_start(conn_t *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket: %s (raise ulimit -n?)", strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) fail("bad host %s", host);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    fail("connect: %s", strerror(errno));
  }
  c->fd = fd;
  c->state = S_CONNECTING;
  if (use_tls) {
    c->ssl = SSL_new(ssl_ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, fd)) fail("SSL_new failed");
    SSL_set_connect_state(c->ssl);
  }
  c->rx_len = c->tx_len = c->tx_off = 0;
  c->sent = c->recv = 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
  /* the upgrade request is queued now and written once the socket is connected */
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
                   "%sSec-WebSocket-Version: 13\r\n\r\n",
                   c->probe ? "/" : path, host, port,
                   offer_deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
  tx_reserve(c, (size_t)n);
  memcpy(c->tx + c->tx_len, req, (size_t)n);
  c->tx_len += (size_t)n;
}

static void conn_close(conn_t *c) {
  if (c->ssl) SSL_free(c->ssl);
  c->ssl = NULL;
  if (c->zdef) deflateEnd(c->zdef);
  if (c->zinf) inflateEnd(c->zinf);
  free(c->zdef);
  free(c->zinf);
  c->zdef = c->zinf = NULL;
  c->pmd = 0;
  if (c->fd >= 0) close(c->fd); /* close also removes it from the epoll set */
  c->fd = -1;
  c->state = S_DONE;
}

static void check_head(conn_t *c, const char *head, size_t len) {
  if (len < 13 || strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
    const char *eol = memchr(head, '\r', len);
    fail("conn %d: handshake refused: \"%.*s\"", c->id, (int)(eol ? eol - head : (long)len),
         head);
  }
  int upgrade = 0, connection = 0, accept = 0;
  const char *p = memchr(head, '\n', len);
  const char *end = head + len;
  while (p && p + 1 < end) {
    const char *line = p + 1;
    const char *eol = memchr(line, '\r', (size_t)(end - line));
    if (!eol || eol == line) break;
    const char *colon = memchr(line, ':', (size_t)(eol - line));
    if (!colon) fail("conn %d: bad header line in 101", c->id);
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1;
    while (v < eol && (*v == ' ' || *v == '\t')) v++;
    size_t vl = (size_t)(eol - v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
    if (nl == 7 && !strncasecmp(line, "upgrade", 7)) {
      upgrade = vl == 9 && !strncasecmp(v, "websocket", 9);
    } else if (nl == 10 && !strncasecmp(line, "connection", 10)) {
      char tmp[256]; /* a list of tokens, one of them "upgrade" in any case */
      size_t k = vl < sizeof tmp - 1 ? vl : sizeof tmp - 1;
      for (size_t i = 0; i < k; i++) tmp[i] = (char)(v[i] | 0x20);
      tmp[k] = 0;
      connection = strstr(tmp, "upgrade") != NULL;
    } else if (nl == 20 && !strncasecmp(line, "sec-websocket-accept", 20)) {
      accept = vl == strlen(ACCEPT) && !memcmp(v, ACCEPT, vl);
      if (!accept) fail("conn %d: wrong Sec-WebSocket-Accept \"%.*s\"", c->id, (int)vl, v);
    } else if (nl == 24 && !strncasecmp(line, "sec-websocket-extensions", 24)) {
      parse_pmd(c, v, vl);
    } else if (nl == 22 && !strncasecmp(line, "sec-websocket-protocol", 22)) {
      fail("conn %d: subprotocol chosen that was not offered", c->id);
    }
    p = eol + 1;
  }
  if (!upgrade || !connection || !accept) {
    fail("conn %d: 101 without Upgrade: websocket, Connection: upgrade and the accept key", c->id);
  }
  /* echo and broadcast measure compression: a server that declines it measures something else */
  if (offer_deflate && scenario != SC_IDLE && !c->pmd) {
    fail("conn %d: permessage-deflate offered and not accepted", c->id);
  }
}

/* ---- scenario hooks ------------------------------------------------------------------- */

static int window_of(const conn_t *c) { return c->probe ? 1 : inflight; }

static void echo_fill(conn_t *c) {
  if (stopping) return;
  uint64_t w = (uint64_t)window_of(c);
  while (c->sent - c->recv < w) {
    c->sent_at[c->sent % w] = measuring ? now() : 0;
    send_data(c, c->sent);
    c->sent++;
  }
}

static int bc_started; /* the timed part began: the sender may send */

static void bc_fill(void) {
  conn_t *s = &conns[0];
  if (!bc_started || stopping || s->state != S_OPEN) return;
  int any = 0;
  while (bc_sent < (uint64_t)inflight ||
         ring_cnt[(bc_sent - (uint64_t)inflight) % RING] == (uint32_t)nconns) {
    ring_cnt[bc_sent % RING] = 0;
    send_data(s, bc_sent);
    bc_sent++;
    any = 1;
  }
  if (any) mark_dirty(s);
}

static void on_open(conn_t *c) {
  opened++;
  if (scenario == SC_HANDSHAKE) {
    uint8_t code[2] = {0x03, 0xe8};
    send_control(c, 8, code, 2);
    c->state = S_CLOSE_SENT;
  }
}

static void on_message(conn_t *c, int opcode, const uint8_t *p, size_t n) {
  int want = (scenario == SC_ECHO && binary) ? 2 : 1;
  if (scenario == SC_HANDSHAKE || scenario == SC_IDLE) {
    fail("conn %d: unexpected data message (opcode %d)", c->id, opcode);
  }
  if (opcode != want) {
    fail("conn %d: message %llu came as %s, sent as %s", c->id, (unsigned long long)c->recv,
         opcode == 1 ? "text" : "binary", want == 1 ? "text" : "binary");
  }
  if (scenario == SC_ECHO || c->probe) {
    if (c->recv >= c->sent) fail("conn %d: more messages echoed than sent", c->id);
    check_payload(c, p, n, c->recv);
    if (measuring) {
      double t0 = c->sent_at[c->recv % (uint64_t)window_of(c)];
      if (t0 > 0 && nlat < MAX_LAT_SAMPLES) lat[nlat++] = (now() - t0) * 1e6;
      if (c->probe) {
        probe_msgs++;
      } else {
        rx_msgs++;
        rx_bytes += n;
      }
    }
    c->recv++;
  } else { /* broadcast */
    if (c->recv >= bc_sent) fail("conn %d: received a message that was never sent", c->id);
    check_payload(c, p, n, c->recv);
    ring_cnt[c->recv % RING]++;
    c->recv++;
    if (measuring) {
      rx_msgs++;
      rx_bytes += n;
    }
  }
}

/* Parses every complete frame in c->rx; returns bytes consumed. */
static size_t parse(conn_t *c) {
  size_t off = 0;
  c->need = 0;
  for (;;) {
    size_t avail = c->rx_len - off;
    if (avail < 2) break;
    const uint8_t *h = c->rx + off;
    int fin = h[0] & 0x80, rsv = h[0] & 0x70, op = h[0] & 0x0f;
    /* RSV1 marks a compressed message (permessage-deflate); every other RSV bit is an error */
    if (rsv && (rsv != 0x40 || !c->pmd || (op != 1 && op != 2))) {
      fail("conn %d: frame with RSV bits 0x%x (opcode %d, permessage-deflate %s)", c->id, rsv, op,
           c->pmd ? "negotiated" : "not negotiated");
    }
    if (h[1] & 0x80) fail("conn %d: masked frame from the server", c->id);
    uint64_t len = h[1] & 0x7f;
    size_t hl = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = ((uint64_t)h[2] << 8) | h[3];
      hl = 4;
      if (len < 126) fail("conn %d: non-minimal 16-bit length %llu", c->id,
                          (unsigned long long)len);
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = (len << 8) | h[2 + i];
      hl = 10;
      if (len >> 63) fail("conn %d: 64-bit length with the top bit set", c->id);
      if (len < 65536) fail("conn %d: non-minimal 64-bit length", c->id);
    }
    if (op > 10) fail("conn %d: reserved control opcode %d", c->id, op);
    if (op >= 8) {
      if (!fin) fail("conn %d: fragmented control frame", c->id);
      if (len > 125) fail("conn %d: control frame of %llu bytes", c->id, (unsigned long long)len);
    } else if (op != 1 && op != 2) {
      fail("conn %d: %s (opcode %d)", c->id,
           op == 0 ? "continuation frame (servers here never fragment)" : "reserved opcode", op);
    } else if (!fin) {
      fail("conn %d: fragmented message (servers here never fragment)", c->id);
    }
    if (len > (1ull << 30)) fail("conn %d: frame of %llu bytes", c->id, (unsigned long long)len);
    if (avail < hl + len) {
      c->need = hl + (size_t)len; /* on_readable makes room for the whole frame */
      break;
    }
    const uint8_t *p = h + hl;
    size_t n = (size_t)len;
    off += hl + n;
    last_progress = now();
    switch (op) {
    case 1:
    case 2:
      if (c->state != S_OPEN) fail("conn %d: data frame after the close frame", c->id);
      rx_frames++;
      if (rsv) {
        rx_deflated++;
        int memo = c->srv_nct && !c->probe;
        memo_t *m = memo ? memo_get(rx_memo, c->recv) : NULL;
        if (m && m->zlen == n && !memcmp(m->z, p, n)) {
          on_message(c, op, m->plain, m->plen);
        } else {
          size_t pn = inflate_msg(c, p, n);
          if (memo) memo_put(rx_memo, c->recv, p, n, zbuf, pn);
          on_message(c, op, zbuf, pn);
        }
      } else {
        on_message(c, op, p, n);
      }
      break;
    case 9: /* ping: answer (no server here pings, but it is legal) */
      send_control(c, 10, p, n);
      break;
    case 10:
      break;
    case 8: {
      if (scenario != SC_HANDSHAKE || c->state != S_CLOSE_SENT) {
        fail("conn %d: unexpected close frame (code %d)", c->id, n >= 2 ? (p[0] << 8 | p[1]) : 0);
      }
      if (n < 2 || (p[0] << 8 | p[1]) != 1000) {
        fail("conn %d: close answered with code %d, expected 1000", c->id,
             n >= 2 ? (p[0] << 8 | p[1]) : 1005);
      }
      c->state = S_CLOSE_RCVD;
      break;
    }
    }
  }
  return off;
}

static void on_readable(conn_t *c, uint32_t events) {
  for (;;) {
    if (c->rx_cap - c->rx_len < 16384) {
      size_t cap = c->rx_cap ? c->rx_cap * 2 : 16384;
      c->rx = xrealloc(c->rx, cap);
      c->rx_cap = cap;
    }
    size_t room = c->rx_cap - c->rx_len;
    ssize_t r = conn_read(c, c->rx + c->rx_len, room);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      fail("conn %d: read: %s", c->id, strerror(errno));
    }
    if (r == 0) {
      if (c->state == S_CLOSE_RCVD && c->rx_len == 0) {
        conn_close(c);
        handshakes += measuring;
        return;
      }
      fail("conn %d: the server closed the connection (state %d)", c->id, c->state);
    }
    c->rx_len += (size_t)r;
    if (c->state == S_HEAD) {
      uint8_t *e = memmem(c->rx, c->rx_len, "\r\n\r\n", 4);
      if (!e) {
        if (c->rx_len > 16384) fail("conn %d: response head too long", c->id);
        continue;
      }
      size_t hl = (size_t)(e - c->rx) + 4;
      check_head(c, (const char *)c->rx, hl);
      memmove(c->rx, c->rx + hl, c->rx_len - hl);
      c->rx_len -= hl;
      c->state = S_OPEN;
      on_open(c);
    }
    size_t used = parse(c);
    if (used > 0) {
      memmove(c->rx, c->rx + used, c->rx_len - used);
      c->rx_len -= used;
    }
    if (c->need + 16384 > c->rx_cap) { /* a large frame: read the rest of it in place */
      c->rx_cap = c->need + 65536;
      c->rx = xrealloc(c->rx, c->rx_cap);
    }
    if ((scenario == SC_ECHO || c->probe) && c->state == S_OPEN) echo_fill(c);
    mark_dirty(c);
    if (c->state == S_CLOSE_RCVD && c->rx_len > 0) {
      fail("conn %d: data after the close frame", c->id);
    }
    /* a short read drained the socket: the next edge brings more (a FIN already seen by
       epoll brings no new edge, so then read on until EOF). SSL_read returns one record at a
       time, so over TLS read on until it has to wait. */
    if (!c->ssl && (size_t)r < room && !(events & (EPOLLRDHUP | EPOLLHUP))) return;
  }
}

static void on_event(conn_t *c, uint32_t events) {
  if (c->state == S_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) fail("conn %d: connect: %s", c->id, strerror(err));
    c->state = c->ssl ? S_TLS : S_HEAD;
  }
  if (c->state == S_TLS) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->ssl);
    if (r != 1) {
      if (tls_result(c, r, "handshake") == 0) fail("conn %d: closed in the TLS handshake", c->id);
      return; /* the next edge continues it */
    }
    c->state = S_HEAD;
    flush(c); /* the upgrade request */
    on_readable(c, events);
    return;
  }
  if (events & EPOLLOUT && c->tx_len > c->tx_off) flush(c);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c, events);
}

static int stdin_lines, stdin_eof;
static void dispatch(struct epoll_event *ev);

/* Waits up to ms for events, handles them, then writes what they produced. */
static void bc_fill(void);

static void poll_once(int ms) {
  struct epoll_event evs[MAX_EVENTS];
  flush_dirty(); /* nothing may wait in a buffer while we sleep */
  int n = epoll_wait(ep, evs, MAX_EVENTS, ms);
  if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
  for (int i = 0; i < n; i++) dispatch(&evs[i]);
  if (scenario == SC_BROADCAST) bc_fill(); /* refill the sender's window */
  flush_dirty();
}

static void dispatch(struct epoll_event *ev) {
  if (ev->data.ptr == NULL) { /* stdin (idle scenario): a line from the runner, or EOF */
    char buf[256];
    ssize_t r = read(0, buf, sizeof buf);
    if (r <= 0) stdin_eof = 1;
    else stdin_lines++;
    return;
  }
  on_event(ev->data.ptr, ev->events);
}

/* Opens conns[from..to) with at most `window` handshakes under way at once. */
static void open_range(int from, int to, int window, double deadline) {
  int next = from;
  uint64_t base = opened;
  while (opened - base < (uint64_t)(to - from)) {
    while (next < to && (uint64_t)(next - from) - (opened - base) < (uint64_t)window) {
      conn_start(&conns[next]);
      next++;
    }
    double t = now();
    if (t > deadline) {
      fail("timed out opening connections: %llu of %d open", (unsigned long long)(opened - base),
           to - from);
    }
    poll_once(50);
  }
}

static void alloc_conns(int n) {
  nalloc = n;
  conns = calloc((size_t)n, sizeof *conns);
  dirty = calloc((size_t)n, sizeof *dirty);
  if (!conns || !dirty) fail("out of memory");
  for (int i = 0; i < n; i++) {
    conns[i].id = i;
    conns[i].fd = -1;
    conns[i].state = S_DONE;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (nlat == 0) return 0;
  size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
  return lat[i];
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
         (double)u.ru_stime.tv_usec / 1e6;
}

static double cpu_pct; /* the load generator's CPU use during the measured window, % of a core */

/* Runs the timed part: warm-up, then the measured window; returns the measured seconds. */
static double timed(void (*tick)(void)) {
  double t0 = now(), warm_end = t0 + warmup, end = warm_end + duration, t_meas = 0;
  last_progress = t0;
  for (;;) {
    double t = now();
    if (!measuring && t >= warm_end) {
      measuring = 1;
      t_meas = t;
      cpu_pct = cpu_seconds();
      printf("measuring\n"); /* the runner samples the server's CPU time over the window */
      fflush(stdout);
    }
    if (t >= end) break;
    if (t - last_progress > 3.0 && scenario != SC_IDLE) {
      fail("no progress for 3 s (server stalled?): %llu messages, %llu handshakes",
           (unsigned long long)rx_msgs, (unsigned long long)handshakes);
    }
    if (tick) tick();
    double until = measuring ? end : warm_end;
    int ms = (int)((until - t) * 1000) + 1;
    if (ms > 20) ms = 20;
    poll_once(ms);
  }
  double secs = now() - t_meas;
  cpu_pct = (cpu_seconds() - cpu_pct) / secs * 100;
  printf("measured\n");
  fflush(stdout);
  stopping = 1;
  measuring = 0;
  return secs;
}

/* After the window: no new sends, and every message sent must come back (echo) or reach every
   connection (broadcast) within 3 s; a lost or stalled message fails the run. */
static uint64_t expected(const conn_t *c) {
  return scenario == SC_BROADCAST && !c->probe ? bc_sent : c->sent;
}

static void complete(void) {
  double deadline = now() + 3.0;
  for (;;) {
    int missing = -1;
    for (int i = 0; i < nalloc && missing < 0; i++) {
      if (conns[i].recv != expected(&conns[i])) missing = i;
    }
    if (missing < 0) return;
    if (now() > deadline) {
      conn_t *c = &conns[missing];
      fail("conn %d: received %llu of the %llu messages sent, none for 3 s (lost or stalled)",
           missing, (unsigned long long)c->recv, (unsigned long long)expected(c));
    }
    poll_once(20);
  }
}

/* handshake: keep `parallel` slots cycling */
static void hs_tick(void) {
  for (int i = 0; i < nalloc; i++) {
    if (conns[i].state == S_DONE) {
      conn_start(&conns[i]);
    }
  }
}

static void bc_tick(void) {
  bc_started = 1;
  bc_fill();
}

static void usage(void) {
  fprintf(stderr, "usage: loadgen echo|handshake|broadcast|idle --port N [options]\n"
                  "  see the comment at the top of bench/loadgen.c\n");
  exit(2);
}

/* Waits (bounded) for a line or EOF on stdin while servicing the sockets; 0 on EOF. */
static int read_line_stdin(double deadline) {
  int lines = stdin_lines;
  while (stdin_lines == lines && !stdin_eof) {
    if (now() > deadline) fail("timed out waiting for the runner");
    poll_once(50);
  }
  return !stdin_eof;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  const char *sc = argv[1];
  if (!strcmp(sc, "echo")) scenario = SC_ECHO;
  else if (!strcmp(sc, "handshake")) scenario = SC_HANDSHAKE;
  else if (!strcmp(sc, "broadcast")) scenario = SC_BROADCAST;
  else if (!strcmp(sc, "idle")) scenario = SC_IDLE;
  else usage();
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--deflate")) {
      offer_deflate = 1;
      continue;
    }
    if (!strcmp(a, "--binary")) {
      binary = 1;
      continue;
    }
    if (!strcmp(a, "--json")) {
      json = 1;
      continue;
    }
    if (!strcmp(a, "--tls")) {
      use_tls = 1;
      continue;
    }
    if (!strcmp(a, "--probe")) {
      probe = 1;
      continue;
    }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--path")) path = v;
    else if (!strcmp(a, "--conns")) nconns = atoi(v);
    else if (!strcmp(a, "--inflight")) inflight = atoi(v);
    else if (!strcmp(a, "--size")) msg_size = atoi(v);
    else if (!strcmp(a, "--size-max")) size_max = atoi(v);
    else if (!strcmp(a, "--parallel")) parallel = atoi(v);
    else if (!strcmp(a, "--warm")) warm = atoi(v);
    else if (!strcmp(a, "--warmup")) warmup = atof(v);
    else if (!strcmp(a, "--duration")) duration = atof(v);
    else if (!strcmp(a, "--timeout")) timeout_s = atof(v);
    else usage();
  }
  if (port <= 0 || nconns < 1 || inflight < 1 || msg_size < 1 || parallel < 1) usage();
  if (size_max && size_max < msg_size) fail("--size-max is below --size");
  if (json && binary) fail("--json is text");
  if (probe && scenario != SC_BROADCAST) fail("--probe is for broadcast");
  if (inflight >= RING) fail("--inflight must be below %d", RING);
  if (!path) path = scenario == SC_BROADCAST ? "/broadcast" : "/";
  signal(SIGPIPE, SIG_IGN);
  double deadline = now() + timeout_s;

  max_len = (size_t)(size_max > msg_size ? size_max : msg_size);
  if (max_len < PROBE_SIZE) max_len = PROBE_SIZE;
  pattern_len = max_len + (json ? JSON_SPAN : 256);
  pattern = malloc(pattern_len);
  if (!pattern) fail("out of memory");
  if (json) make_json(pattern, pattern_len);
  else {
    for (size_t i = 0; i < pattern_len; i++) {
      pattern[i] = binary ? (uint8_t)(i % 251) : (uint8_t)('a' + i % 26);
    }
  }
  /* room for a whole message inflated, or compressed (incompressible data grows a little) */
  zcap = max_len + max_len / 8 + 1024;
  zbuf = malloc(zcap);
  if (!zbuf) fail("out of memory");
  if (use_tls) tls_init();
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail("epoll_create1: %s", strerror(errno));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rng ^= (uint32_t)ts.tv_nsec | 1u;

  if (scenario == SC_ECHO) {
    alloc_conns(nconns);
    for (int i = 0; i < nconns; i++) {
      conns[i].sent_at = calloc((size_t)inflight, sizeof(double));
      if (!conns[i].sent_at) fail("out of memory");
    }
    lat = malloc(MAX_LAT_SAMPLES * sizeof(double));
    if (!lat) fail("out of memory");
    open_range(0, nconns, 100, deadline);
    for (int i = 0; i < nconns; i++) {
      echo_fill(&conns[i]);
      flush(&conns[i]);
    }
    double secs = timed(NULL);
    complete();
    qsort(lat, nlat, sizeof(double), cmp_double);
    printf("{\"scenario\":\"echo\",\"conns\":%d,\"inflight\":%d,\"size\":%d,\"size_max\":%zu,"
           "\"binary\":%s,\"seconds\":%.4f,\"msgs\":%llu,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
           "\"p50_us\":%.2f,\"p99_us\":%.2f,\"loadgen_cpu_pct\":%.1f,\"rx_deflated_pct\":%.1f,"
           "\"server_no_context_takeover\":%d,\"client_no_context_takeover\":%d}\n",
           nconns, inflight, msg_size, max_len, binary ? "true" : "false", secs,
           (unsigned long long)rx_msgs, (double)rx_msgs / secs, (double)rx_bytes / secs / 1e6,
           pct(0.5), pct(0.99), cpu_pct,
           rx_frames ? 100.0 * (double)rx_deflated / (double)rx_frames : 0.0, conns[0].srv_nct,
           conns[0].cli_nct);
  } else if (scenario == SC_HANDSHAKE) {
    alloc_conns(parallel);
    double secs = timed(hs_tick);
    printf("{\"scenario\":\"handshake\",\"parallel\":%d,\"seconds\":%.4f,\"handshakes\":%llu,"
           "\"handshakes_per_s\":%.1f,\"loadgen_cpu_pct\":%.1f}\n",
           parallel, secs, (unsigned long long)handshakes, (double)handshakes / secs, cpu_pct);
  } else if (scenario == SC_BROADCAST) {
    alloc_conns(nconns + probe);
    if (probe) { /* the last connection: echo on /, one message at a time */
      conns[nconns].probe = 1;
      conns[nconns].sent_at = calloc(1, sizeof(double));
      lat = malloc(MAX_LAT_SAMPLES * sizeof(double));
      if (!conns[nconns].sent_at || !lat) fail("out of memory");
    }
    ring_cnt = calloc(RING, sizeof *ring_cnt);
    if (!ring_cnt) fail("out of memory");
    open_range(0, nconns + probe, 100, deadline);
    /* let every server finish subscribing the last sockets before the first message */
    double settle = now() + 0.3;
    while (now() < settle) {
      poll_once(20);
    }
    double secs = timed(bc_tick);
    complete();
    if (nlat) qsort(lat, nlat, sizeof(double), cmp_double);
    printf("{\"scenario\":\"broadcast\",\"conns\":%d,\"inflight\":%d,\"size\":%d,"
           "\"seconds\":%.4f,\"deliveries\":%llu,\"deliveries_per_s\":%.1f,"
           "\"sent\":%llu,\"loadgen_cpu_pct\":%.1f",
           nconns, inflight, msg_size, secs, (unsigned long long)rx_msgs,
           (double)rx_msgs / secs, (unsigned long long)bc_sent, cpu_pct);
    if (probe) printf(",\"probe_msgs\":%llu", (unsigned long long)probe_msgs);
    if (probe && nlat) printf(",\"p50_us\":%.2f,\"p99_us\":%.2f", pct(0.5), pct(0.99));
    printf("}\n");
  } else { /* idle */
    alloc_conns(warm + nconns);
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) < 0) fail("epoll_ctl(stdin): %s", strerror(errno));
    double t0 = now();
    open_range(0, warm, 100, deadline);
    printf("warm %d\n", warm);
    fflush(stdout);
    if (!read_line_stdin(deadline)) return 0;
    double t1 = now();
    open_range(warm, warm + nconns, 200, deadline);
    double t2 = now();
    printf("ready %d %.3f\n", nconns, t2 - t1);
    fflush(stdout);
    read_line_stdin(deadline);
    for (int i = 0; i < warm + nconns; i++) {
      if (conns[i].state != S_OPEN) fail("conn %d is no longer open", i);
    }
    printf("{\"scenario\":\"idle\",\"conns\":%d,\"warm\":%d,\"open_seconds\":%.3f,"
           "\"total_seconds\":%.3f}\n",
           nconns, warm, t2 - t1, now() - t0);
  }
  /* the whole process's CPU time, for the runner's estimate of other load on the machine */
  printf("{\"cpu_total_s\":%.3f}\n", cpu_seconds());
  fflush(stdout);
  return 0;
}
