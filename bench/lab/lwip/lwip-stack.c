/* lwip-stack: Debian's lwIP (liblwip-dev) as a userspace peer stack on a TAP, speaking the stack
 * program interface of lab-bench-interface.md (roles sink, source, echo) through lwIP's raw TCP
 * API, single-threaded: one loop polls the TAP, feeds lwIP and runs its timers.
 * `lwip-stack --print-config` prints the TCP options the library was built with as JSON. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/priv/tcp_priv.h" /* TCP_TMR_INTERVAL */

#include "../lab-common.h"
#include "tapnetif.h"

enum role { ROLE_SINK, ROLE_SOURCE, ROLE_ECHO };

static volatile sig_atomic_t stopping;
static enum role role;
static uint64_t source_bytes;
static uint8_t *pattern; /* LAB_PATTERN_PERIOD + TCP_SND_BUF bytes of the pattern */
static uint64_t accepted, closed, aborted;

/* One accepted connection. */
struct conn {
  struct tcp_pcb *pcb;
  uint64_t sent;         /* source: bytes queued so far */
  struct pbuf *pending;  /* echo: received bytes not yet queued back */
  int peer_done;         /* the peer sent FIN */
  int closing;           /* tcp_close had no memory: the poll timer tries again */
};

static void on_term(int sig) { (void)sig; stopping = 1; }

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static err_t on_poll(void *arg, struct tcp_pcb *pcb);
static void on_err(void *arg, err_t err);

static void conn_attach(struct conn *c) {
  tcp_arg(c->pcb, c);
  tcp_recv(c->pcb, on_recv);
  tcp_sent(c->pcb, on_sent);
  tcp_err(c->pcb, on_err);
  tcp_poll(c->pcb, on_poll, 2); /* every 2 coarse ticks (500 ms): retry after ERR_MEM */
}

static void conn_detach(struct conn *c) {
  tcp_arg(c->pcb, NULL);
  tcp_recv(c->pcb, NULL); /* lwIP's tcp_recv_null then drops late data and closes on FIN */
  tcp_sent(c->pcb, NULL);
  tcp_err(c->pcb, NULL);
  tcp_poll(c->pcb, NULL, 0);
}

static void conn_free(struct conn *c) {
  if (c->pending) pbuf_free(c->pending);
  free(c);
}

/* Closes the connection once everything owed is queued; lwIP sends the FIN after the data. */
static err_t conn_close(struct conn *c) {
  conn_detach(c);
  if (tcp_close(c->pcb) == ERR_OK) {
    closed++;
    conn_free(c);
  } else {
    c->closing = 1;
    conn_attach(c);
  }
  return ERR_OK;
}

/* Resets the connection; a callback that did this must return ERR_ABRT to lwIP. */
static err_t conn_abort(struct conn *c) {
  conn_detach(c); /* tcp_abort calls the err callback: it must not free c a second time */
  tcp_abort(c->pcb);
  aborted++;
  conn_free(c);
  return ERR_ABRT;
}

/* source: queue as much of the stream as the send buffer takes. */
static err_t source_pump(struct conn *c) {
  while (c->sent < source_bytes) {
    u32_t room = tcp_sndbuf(c->pcb);
    if (room == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 1) break;
    uint64_t left = source_bytes - c->sent;
    if (room > 65535) room = 65535; /* the pattern buffer's span, and tcp_write's u16_t length */
    u16_t n = (u16_t)(left < room ? left : room);
    u8_t flags = TCP_WRITE_FLAG_COPY | (left > n ? TCP_WRITE_FLAG_MORE : 0);
    err_t e = tcp_write(c->pcb, pattern + (c->sent % LAB_PATTERN_PERIOD), n, flags);
    if (e == ERR_MEM) break;
    if (e != ERR_OK) return conn_abort(c);
    c->sent += n;
  }
  tcp_output(c->pcb);
  return c->sent == source_bytes ? conn_close(c) : ERR_OK;
}

/* echo: queue back what was received, as far as the send buffer allows; the receive window
 * reopens only for bytes queued back, so a slow reader slows the writer (flow control). */
static err_t echo_flush(struct conn *c) {
  while (c->pending != NULL) {
    if (c->pending->len == 0) { /* an empty pbuf in the chain: unlink and free just it */
      struct pbuf *head = c->pending;
      c->pending = head->next;
      head->next = NULL;
      pbuf_free(head);
      continue;
    }
    u32_t room = tcp_sndbuf(c->pcb);
    if (room == 0) break;
    u16_t n = c->pending->len < room ? c->pending->len : (u16_t)room;
    err_t e = tcp_write(c->pcb, c->pending->payload, n, TCP_WRITE_FLAG_COPY);
    if (e == ERR_MEM) break;
    if (e != ERR_OK) return conn_abort(c);
    tcp_recved(c->pcb, n);
    c->pending = pbuf_free_header(c->pending, n);
  }
  tcp_output(c->pcb);
  return c->peer_done && c->pending == NULL ? conn_close(c) : ERR_OK;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  struct conn *c = arg;
  if (err != ERR_OK) { if (p) pbuf_free(p); return err; }
  if (p == NULL) { /* FIN */
    c->peer_done = 1;
    if (role == ROLE_ECHO) return echo_flush(c);
    if (role == ROLE_SINK) return conn_close(c);
    return ERR_OK; /* source: keeps sending; closes when done */
  }
  if (role == ROLE_ECHO) {
    if (c->pending) pbuf_cat(c->pending, p); else c->pending = p;
    return echo_flush(c);
  }
  /* sink; and the source ignores what the client sends */
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  (void)pcb; (void)len;
  struct conn *c = arg;
  if (c->closing) return conn_close(c);
  if (role == ROLE_SOURCE) return source_pump(c);
  if (role == ROLE_ECHO) return echo_flush(c);
  return ERR_OK;
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb) {
  return on_sent(arg, pcb, 0);
}

/* lwIP has already freed the pcb when this is called (reset by the peer, or retransmissions
 * gave up). */
static void on_err(void *arg, err_t err) {
  (void)err;
  aborted++;
  conn_free(arg);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  (void)arg;
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL) { tcp_abort(pcb); return ERR_ABRT; }
  c->pcb = pcb;
  accepted++;
  conn_attach(c);
  if (role == ROLE_ECHO) tcp_nagle_disable(pcb);
  if (role == ROLE_SOURCE) return source_pump(c);
  return ERR_OK;
}

static int parse_mac(const char *s, uint8_t mac[6]) {
  unsigned v[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) { if (v[i] > 255) return -1; mac[i] = (uint8_t)v[i]; }
  return 0;
}

/* The TCP options the library was built with: the header's values, and what a fresh pcb from the
 * library holds (read through the header's struct layout, so a mismatch shows as nonsense here),
 * and the size of the library's PBUF_POOL blocks, which disagrees with its own pbuf_alloc (see
 * tapnetif.c: that is why received frames go into PBUF_RAM pbufs). */
extern const struct memp_desc memp_PBUF_POOL; /* exported by the library under this name */

static void print_config(void) {
  lwip_init();
  struct tcp_pcb *pcb = tcp_new();
  if (pcb == NULL) { fprintf(stderr, "lwip-stack: tcp_new failed\n"); exit(1); }
  int layout_ok = pcb->prio == TCP_PRIO_NORMAL && pcb->ttl == TCP_TTL && pcb->snd_buf == TCP_SND_BUF &&
                  pcb->rcv_wnd == TCPWND_MIN16(TCP_WND) && (pcb->mss == 536 || pcb->mss == TCP_MSS); /* tcp.c INITIAL_MSS */
  printf("{\"version\":\"%d.%d.%d\",\"TCP_MSS\":%d,\"TCP_WND\":%d,\"LWIP_WND_SCALE\":%d,\"TCP_RCV_SCALE\":%d,"
         "\"TCP_SND_BUF\":%d,\"TCP_SND_QUEUELEN\":%d,\"TCP_QUEUE_OOSEQ\":%d,\"LWIP_TCP_SACK_OUT\":%d,"
         "\"TCP_OVERSIZE\":%d,\"TCP_TMR_INTERVAL_ms\":%d,\"MEM_LIBC_MALLOC\":%d,\"MEMP_MEM_MALLOC\":%d,"
         "\"LWIP_CHECKSUM_ON_COPY\":%d,\"NO_SYS\":%d,"
         "\"newPcb\":{\"snd_buf\":%u,\"rcv_wnd\":%u,\"mss\":%u,\"ttl\":%u,\"layoutMatchesHeaders\":%s},"
         "\"pbufPool\":{\"headerBufSize\":%d,\"libraryBlockBytes\":%u,\"usedForRx\":false}}\n",
         LWIP_VERSION_MAJOR, LWIP_VERSION_MINOR, LWIP_VERSION_REVISION, TCP_MSS, (int)TCP_WND,
         LWIP_WND_SCALE, TCP_RCV_SCALE, (int)TCP_SND_BUF, (int)TCP_SND_QUEUELEN, TCP_QUEUE_OOSEQ,
         LWIP_TCP_SACK_OUT, TCP_OVERSIZE, TCP_TMR_INTERVAL, MEM_LIBC_MALLOC, MEMP_MEM_MALLOC,
         LWIP_CHECKSUM_ON_COPY, NO_SYS, (unsigned)pcb->snd_buf, (unsigned)pcb->rcv_wnd, (unsigned)pcb->mss,
         (unsigned)pcb->ttl, layout_ok ? "true" : "false", (int)PBUF_POOL_BUFSIZE, (unsigned)memp_PBUF_POOL.size);
  tcp_abort(pcb);
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--print-config")) { print_config(); return 0; }
  struct lab_args a;
  if (lab_parse_args(argc, argv, &a) != 0) return 2;
  if (a.tap == NULL) { fprintf(stderr, "lwip-stack: --tap NAME is required\n"); return 2; }
  uint8_t mac[6];
  if (parse_mac(a.mac, mac) != 0) { fprintf(stderr, "lwip-stack: bad --mac %s\n", a.mac); return 2; }
  struct in_addr ip;
  if (inet_pton(AF_INET, a.ip, &ip) != 1) { fprintf(stderr, "lwip-stack: bad --ip %s\n", a.ip); return 2; }
  role = !strcmp(a.role, "sink") ? ROLE_SINK : !strcmp(a.role, "source") ? ROLE_SOURCE : ROLE_ECHO;
  source_bytes = a.bytes;
  pattern = malloc(LAB_PATTERN_PERIOD + 65536);
  if (pattern == NULL) { fprintf(stderr, "lwip-stack: out of memory\n"); return 1; }
  lab_pattern_fill(pattern, LAB_PATTERN_PERIOD + 65536);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; /* no SA_RESTART: poll() returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct tapnetif tap;
  if (tapnetif_open(&tap, a.tap, mac) != 0) return 1;

  lwip_init(); /* no tcpip thread: this loop is lwIP's only thread */
  ip4_addr_t addr, mask, gw;
  addr.addr = ip.s_addr;
  mask.addr = a.prefix == 0 ? 0 : htonl(0xffffffffu << (32 - a.prefix));
  ip4_addr_set_zero(&gw);
  struct netif netif;
  if (netif_add(&netif, &addr, &mask, &gw, &tap, tapnetif_init, netif_input) == NULL) {
    fprintf(stderr, "lwip-stack: netif_add failed\n");
    return 1;
  }
  netif_set_default(&netif);
  netif_set_up(&netif);
  netif_set_link_up(&netif);

  struct tcp_pcb *lpcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (lpcb == NULL || tcp_bind(lpcb, IP_ANY_TYPE, (u16_t)a.port) != ERR_OK) {
    fprintf(stderr, "lwip-stack: bind TCP port %d failed\n", a.port);
    return 1;
  }
  lpcb = tcp_listen_with_backlog(lpcb, 16);
  if (lpcb == NULL) { fprintf(stderr, "lwip-stack: listen failed\n"); return 1; }
  tcp_accept(lpcb, on_accept);
  printf("ready\n");
  fflush(stdout);

  struct pollfd pfd = { .fd = tap.fd, .events = POLLIN };
  while (!stopping) {
    u32_t sleep_ms = sys_timeouts_sleeptime();
    int timeout = sleep_ms > 100 ? 100 : (int)sleep_ms; /* wake at least every 100 ms to see SIGTERM */
    int r = poll(&pfd, 1, timeout);
    if (r < 0 && errno != EINTR) { fprintf(stderr, "lwip-stack: poll: %s\n", strerror(errno)); return 1; }
    if (r > 0) {
      if (pfd.revents & (POLLERR | POLLNVAL)) { fprintf(stderr, "lwip-stack: TAP device error\n"); return 1; }
      if (tapnetif_poll(&netif, 64) < 0) return 1;
    }
    sys_check_timeouts();
  }
  fprintf(stderr, "lwip-stack: stopped: %llu frames in, %llu out, %llu in dropped, %llu out dropped; "
          "%llu connections accepted, %llu closed, %llu aborted\n",
          (unsigned long long)tap.rx_frames, (unsigned long long)tap.tx_frames,
          (unsigned long long)tap.rx_dropped, (unsigned long long)tap.tx_dropped,
          (unsigned long long)accepted, (unsigned long long)closed, (unsigned long long)aborted);
  return 0;
}
