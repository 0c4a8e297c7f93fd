/*
 * A minimal WebSocket echo/broadcast server in C (epoll, one thread), used only to show that
 * the load generator is not the bottleneck: it serves the same two paths as the bench servers
 * (`/` echoes each message as the same type, `/broadcast` relays every message to every client
 * on `/broadcast`) with as little work per message as possible. Not a conforming server: no
 * fragmentation, no UTF-8 validation, no limits beyond a sanity cap.
 *
 *   gcc -O2 -o bench/.build/refserver bench/refserver.c && bench/.build/refserver [port]
 *
 * Prints "listening on PORT".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct conn {
  int fd, ws, bcast, dirty, closing, sub_index;
  uint8_t *rx;
  size_t rx_len, rx_cap;
  uint8_t *tx;
  size_t tx_len, tx_off, tx_cap;
} conn_t;

static int ep;
static conn_t **subs;
static int nsubs, cap_subs;
static conn_t **dirty;
static int ndirty, cap_dirty;

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept --------------------------------------- */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  size_t total = ((len + 9 + 63) / 64) * 64;
  uint8_t *m = calloc(1, total);
  memcpy(m, msg, len);
  m[len] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) m[total - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t off = 0; off < total; off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
      const uint8_t *p = m + off + 4 * i;
      w[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      else f = b ^ c ^ d, k = 0xCA62C1D6;
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  free(m);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (uint8_t)(h[i] >> 24), out[4 * i + 1] = (uint8_t)(h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(h[i] >> 8), out[4 * i + 3] = (uint8_t)h[i];
  }
}

static void base64(const uint8_t *in, size_t n, char *out) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[o++] = T[v >> 18 & 63];
    out[o++] = T[v >> 12 & 63];
    out[o++] = i + 1 < n ? T[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? T[v & 63] : '=';
  }
  out[o] = 0;
}

/* ---- buffers -------------------------------------------------------------------------- */

static uint8_t *tx_room(conn_t *c, size_t n) {
  if (c->tx_off == c->tx_len) c->tx_off = c->tx_len = 0;
  if (c->tx_len + n > c->tx_cap) {
    if (c->tx_off > 0) {
      memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
      c->tx_len -= c->tx_off;
      c->tx_off = 0;
    }
    size_t cap = c->tx_cap ? c->tx_cap : 4096;
    while (cap < c->tx_len + n) cap *= 2;
    if (cap != c->tx_cap) {
      c->tx = realloc(c->tx, cap);
      if (!c->tx) die("realloc");
      c->tx_cap = cap;
    }
  }
  uint8_t *p = c->tx + c->tx_len;
  c->tx_len += n;
  return p;
}

static void append_frame(conn_t *c, int op, const uint8_t *p, size_t n) {
  size_t hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
  uint8_t *h = tx_room(c, hl + n);
  h[0] = (uint8_t)(0x80 | op);
  if (hl == 2) h[1] = (uint8_t)n;
  else if (hl == 4) h[1] = 126, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n;
  else {
    h[1] = 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
  }
  memcpy(h + hl, p, n);
}

static void drop(conn_t *c) {
  if (c->bcast && c->sub_index >= 0) {
    conn_t *last = subs[--nsubs];
    subs[c->sub_index] = last;
    last->sub_index = c->sub_index;
  }
  close(c->fd);
  free(c->rx);
  free(c->tx);
  c->fd = -1;
  /* conn_t itself may still sit in the dirty list: freed lazily by flush_dirty */
  c->closing = 2;
}

static void flush(conn_t *c) {
  while (c->tx_off < c->tx_len) {
    ssize_t w = write(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off);
    if (w > 0) {
      c->tx_off += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    drop(c);
    return;
  }
  c->tx_off = c->tx_len = 0;
  if (c->closing == 1) drop(c);
}

static void mark_dirty(conn_t *c) {
  if (c->dirty) return;
  c->dirty = 1;
  if (ndirty == cap_dirty) {
    cap_dirty = cap_dirty ? cap_dirty * 2 : 1024;
    dirty = realloc(dirty, sizeof *dirty * (size_t)cap_dirty);
  }
  dirty[ndirty++] = c;
}

static void flush_dirty(void) {
  for (int i = 0; i < ndirty; i++) {
    conn_t *c = dirty[i];
    c->dirty = 0;
    if (c->closing == 2) free(c);
    else flush(c);
  }
  ndirty = 0;
}

/* ---- protocol ------------------------------------------------------------------------- */

static int handshake(conn_t *c) {
  uint8_t *e = memmem(c->rx, c->rx_len, "\r\n\r\n", 4);
  if (!e) return c->rx_len > 16384 ? -1 : 0;
  size_t hl = (size_t)(e - c->rx) + 4;
  char *head = (char *)c->rx;
  c->bcast = strncmp(head, "GET /broadcast ", 15) == 0;
  const char *key = NULL;
  size_t kl = 0;
  for (char *line = memchr(head, '\n', hl); line && line < (char *)e;
       line = memchr(line, '\n', (size_t)((char *)e + 2 - line))) {
    line++;
    if (!strncasecmp(line, "sec-websocket-key:", 18)) {
      key = line + 18;
      while (*key == ' ') key++;
      const char *end = memchr(key, '\r', (size_t)((char *)e + 2 - key));
      kl = (size_t)(end - key);
    }
  }
  if (!key || kl > 64) return -1;
  char buf[128];
  memcpy(buf, key, kl);
  memcpy(buf + kl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
  uint8_t dig[20];
  sha1((uint8_t *)buf, kl + 36, dig);
  char acc[32];
  base64(dig, 20, acc);
  char resp[256];
  int n = snprintf(resp, sizeof resp,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   acc);
  memcpy(tx_room(c, (size_t)n), resp, (size_t)n);
  size_t used = (size_t)(e - c->rx) + 4;
  memmove(c->rx, c->rx + used, c->rx_len - used);
  c->rx_len -= used;
  c->ws = 1;
  if (c->bcast) {
    if (nsubs == cap_subs) {
      cap_subs = cap_subs ? cap_subs * 2 : 1024;
      subs = realloc(subs, sizeof *subs * (size_t)cap_subs);
    }
    c->sub_index = nsubs;
    subs[nsubs++] = c;
  }
  mark_dirty(c);
  return 1;
}

static void unmask(uint8_t *p, size_t n, const uint8_t k[4]) {
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

/* Handles every complete frame in rx; -1 on a protocol error. */
static int frames(conn_t *c) {
  size_t off = 0;
  while (c->rx_len - off >= 6 && !c->closing) {
    uint8_t *h = c->rx + off;
    size_t avail = c->rx_len - off;
    int op = h[0] & 15;
    if (!(h[1] & 0x80) || !(h[0] & 0x80)) return -1;
    uint64_t len = h[1] & 127;
    size_t hl = 6;
    if (len == 126) {
      if (avail < 8) break;
      len = (uint64_t)h[2] << 8 | h[3];
      hl = 8;
    } else if (len == 127) {
      if (avail < 14) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i];
      hl = 14;
    }
    if (len > (64u << 20)) return -1;
    if (avail < hl + len) break;
    uint8_t *p = h + hl;
    unmask(p, (size_t)len, h + hl - 4);
    off += hl + (size_t)len;
    if (op == 1 || op == 2) {
      if (c->bcast) {
        for (int i = 0; i < nsubs; i++) {
          append_frame(subs[i], op, p, (size_t)len);
          mark_dirty(subs[i]);
        }
      } else {
        append_frame(c, op, p, (size_t)len);
        mark_dirty(c);
      }
    } else if (op == 9) {
      append_frame(c, 10, p, (size_t)len);
      mark_dirty(c);
    } else if (op == 8) {
      append_frame(c, 8, p, len >= 2 ? 2 : 0);
      c->closing = 1; /* dropped once the close frame is written */
      mark_dirty(c);
    } else if (op != 10) {
      return -1;
    }
  }
  if (off > 0) {
    memmove(c->rx, c->rx + off, c->rx_len - off);
    c->rx_len -= off;
  }
  return 0;
}

static void on_read(conn_t *c, uint32_t events) {
  for (;;) {
    if (c->rx_cap - c->rx_len < 4096) {
      c->rx_cap = c->rx_cap ? c->rx_cap * 2 : 8192;
      c->rx = realloc(c->rx, c->rx_cap);
      if (!c->rx) die("realloc");
    }
    size_t room = c->rx_cap - c->rx_len;
    ssize_t r = read(c->fd, c->rx + c->rx_len, room);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r <= 0) {
      drop(c);
      mark_dirty(c);
      return;
    }
    c->rx_len += (size_t)r;
    if (!c->ws) {
      int h = handshake(c);
      if (h < 0) {
        drop(c);
        mark_dirty(c);
        return;
      }
      if (h == 0) continue;
    }
    if (frames(c) < 0) {
      drop(c);
      mark_dirty(c);
      return;
    }
    if (c->closing) return;
    if ((size_t)r < room && !(events & (EPOLLRDHUP | EPOLLHUP))) return;
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(ls, 4096) < 0) die("listen");
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  printf("listening on %d\n", ntohs(a.sin_port));
  fflush(stdout);
  ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
  struct epoll_event evs[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          nc->sub_index = -1;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                   .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (c->fd < 0) continue;
      if (evs[i].events & EPOLLOUT && c->tx_off < c->tx_len) flush(c);
      if (c->fd >= 0 && evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_read(c, evs[i].events);
    }
    flush_dirty();
  }
}
