/* tapnetif: an lwIP netif on a Linux TAP device — opens the TAP by name, feeds received frames to
 * netif->input, writes lwIP's frames in linkoutput. Single-threaded: the caller's loop polls the fd. */
#ifndef TAPNETIF_H
#define TAPNETIF_H

#include "lwip/netif.h"

struct tapnetif {
  int fd;
  uint8_t mac[6];
  uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
};

/* Opens /dev/net/tun attached to the persistent TAP `name` (IFF_TAP | IFF_NO_PI, non-blocking).
 * Returns 0, or -1 with the reason on stderr. */
int tapnetif_open(struct tapnetif *t, const char *name, const uint8_t mac[6]);

/* The netif_init_fn for netif_add, with the struct tapnetif as the netif's state. */
err_t tapnetif_init(struct netif *netif);

/* Reads up to max frames that are waiting and hands each to netif->input. Returns how many were
 * read (0 when none were waiting), or -1 when the device failed. */
int tapnetif_poll(struct netif *netif, int max);

#endif
