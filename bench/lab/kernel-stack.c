/* kernel-stack: the Linux kernel's TCP as a stack program (lab-bench-interface.md) for the ceiling
 * measurement: the same roles sink, source and echo on the kernel's sockets, one connection at a
 * time. It takes the interface's flags; --tap, --prefix and --mac are accepted and ignored (the
 * kernel is reached over a veth pair the harness set up, with --ip on it). */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lab-common.h"

static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig; stopping = 1; }

static void serve_sink(int fd) {
  static uint8_t buf[256 * 1024];
  while (!stopping) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EINTR)) break;
  }
}

static void serve_source(int fd, uint64_t bytes, const uint8_t *pattern, size_t chunk) {
  uint64_t sent = 0;
  while (!stopping && sent < bytes) {
    size_t n = bytes - sent < chunk ? (size_t)(bytes - sent) : chunk;
    ssize_t w = write(fd, pattern + sent % LAB_PATTERN_PERIOD, n);
    if (w < 0) { if (errno == EINTR) continue; break; }
    sent += (uint64_t)w;
  }
}

static void serve_echo(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint8_t buf[64 * 1024];
  while (!stopping) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EINTR)) break;
    if (r < 0) continue;
    for (ssize_t off = 0; off < r && !stopping;) {
      ssize_t w = write(fd, buf + off, (size_t)(r - off));
      if (w < 0) { if (errno == EINTR) continue; return; }
      off += w;
    }
  }
}

int main(int argc, char **argv) {
  struct lab_args a;
  if (lab_parse_args(argc, argv, &a) != 0) return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; /* no SA_RESTART: accept() and read() return EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  enum { CHUNK = 256 * 1024 };
  uint8_t *pattern = malloc(CHUNK + LAB_PATTERN_PERIOD);
  if (pattern == NULL) { fprintf(stderr, "kernel-stack: out of memory\n"); return 1; }
  lab_pattern_fill(pattern, CHUNK + LAB_PATTERN_PERIOD);

  struct sockaddr_in sa_in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)a.port) };
  if (inet_pton(AF_INET, a.ip, &sa_in.sin_addr) != 1) { fprintf(stderr, "kernel-stack: bad --ip %s\n", a.ip); return 2; }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa_in, sizeof sa_in) < 0 || listen(lfd, 16) < 0) {
    fprintf(stderr, "kernel-stack: listen on %s:%d: %s\n", a.ip, a.port, strerror(errno));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  uint64_t served = 0;
  while (!stopping) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fprintf(stderr, "kernel-stack: accept: %s\n", strerror(errno));
      return 1;
    }
    if (!strcmp(a.role, "sink")) serve_sink(fd);
    else if (!strcmp(a.role, "source")) serve_source(fd, a.bytes, pattern, CHUNK);
    else serve_echo(fd);
    close(fd);
    served++;
  }
  fprintf(stderr, "kernel-stack: stopped after %llu connections\n", (unsigned long long)served);
  return 0;
}
