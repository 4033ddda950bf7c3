/* tapnetif: an lwIP netif on a Linux TAP device (see tapnetif.h). */
#include "tapnetif.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#define FRAME_MAX 1518 /* MTU 1500 + Ethernet header + one VLAN tag */

int tapnetif_open(struct tapnetif *t, const char *name, const uint8_t mac[6]) {
  memset(t, 0, sizeof *t);
  memcpy(t->mac, mac, 6);
  t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (t->fd < 0) {
    fprintf(stderr, "lwip-stack: open /dev/net/tun: %s\n", strerror(errno));
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "lwip-stack: attach to TAP %s (TUNSETIFF): %s%s\n", name, strerror(errno),
            errno == EPERM ? " (needs CAP_NET_ADMIN, or a TAP made with `ip tuntap add ... user $USER`)" : "");
    close(t->fd);
    t->fd = -1;
    return -1;
  }
  return 0;
}

/* Writes one frame; lwIP hands a chain only if a pbuf did not fit, so gather it then. A TAP write
 * does not block in practice; if the queue is ever full we wait briefly, then count a drop. */
static err_t tapnetif_linkoutput(struct netif *netif, struct pbuf *p) {
  struct tapnetif *t = netif->state;
  uint8_t frame[FRAME_MAX];
  const void *data = p->payload;
  size_t len = p->len;
  if (p->next != NULL) {
    if (p->tot_len > sizeof frame) { t->tx_dropped++; return ERR_BUF; }
    len = pbuf_copy_partial(p, frame, p->tot_len, 0);
    data = frame;
  }
  for (int attempt = 0; attempt < 3; attempt++) {
    ssize_t n = write(t->fd, data, len);
    if (n == (ssize_t)len) { t->tx_frames++; return ERR_OK; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pfd = { .fd = t->fd, .events = POLLOUT };
      poll(&pfd, 1, 10);
      continue;
    }
    break;
  }
  t->tx_dropped++;
  return ERR_IF;
}

err_t tapnetif_init(struct netif *netif) {
  struct tapnetif *t = netif->state;
  netif->name[0] = 't';
  netif->name[1] = 'p';
  netif->mtu = 1500;
  netif->hwaddr_len = 6;
  memcpy(netif->hwaddr, t->mac, 6);
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  netif->output = etharp_output;
#if LWIP_IPV6
  netif->output_ip6 = ethip6_output;
#endif
  netif->linkoutput = tapnetif_linkoutput;
  return ERR_OK;
}

int tapnetif_poll(struct netif *netif, int max) {
  struct tapnetif *t = netif->state;
  uint8_t frame[FRAME_MAX];
  int got = 0;
  while (got < max) {
    ssize_t n = read(t->fd, frame, sizeof frame);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      fprintf(stderr, "lwip-stack: read TAP: %s\n", strerror(errno));
      return -1;
    }
    got++;
    if (n < 14) { t->rx_dropped++; continue; }
    /* Not PBUF_POOL: in Debian's liblwip 2.1.3 the pool's blocks are 616 bytes (sized for the
     * default TCP_MSS of 536) while pbuf_alloc, built with TCP_MSS 1460, puts up to 1536 bytes in
     * one of them, so any frame over ~590 bytes overruns the heap (valgrind shows it in
     * pbuf_take). Debian's own tapif allocates from the pool, which is why it crashes under load. */
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
    if (p == NULL) { t->rx_dropped++; continue; }
    pbuf_take(p, frame, (u16_t)n);
    t->rx_frames++;
    if (netif->input(p, netif) != ERR_OK) { pbuf_free(p); t->rx_dropped++; }
  }
  return got;
}
