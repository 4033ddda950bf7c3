/* lab-client: the Linux-side clients of the lab bench, on the kernel's sockets. Each run prints one
 * JSON line on stdout (errors go to stderr with exit 1):
 *   lab-client bulk-send --ip A --port P [--bytes N] [--seconds S]   N bytes to a sink; throughput
 *       from the first byte written to the sink's close
 *   lab-client bulk-recv --ip A --port P [--bytes N] [--seconds S]   from a source; every byte checked
 *       against the pattern (lab-common.h), N bytes expected; throughput from first byte to close
 *   lab-client rr --ip A --port P [--count C] [--seconds S] [--warmup W] [--size B]
 *       one outstanding B-byte request (default 64) echoed back; transactions/s and latency
 *       percentiles from CLOCK_MONOTONIC
 * Every loop is bounded: by count or bytes, by --seconds, and an alarm a little after that. */
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

static const char *mode;
static double limit_s = 30;

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "lab-client: hard time limit reached\n";
  if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
  _exit(3);
}

static void fail(const char *what) {
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    fprintf(stderr, "lab-client %s: %s: the peer was silent for 10 s\n", mode, what);
  else
    fprintf(stderr, "lab-client %s: %s: %s\n", mode, what, strerror(errno));
  exit(1);
}

static int connect_to(const char *ip, int port, int nodelay) {
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) { errno = EINVAL; fail("bad --ip"); }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  /* an idle peer fails the run instead of hanging it */
  struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (nodelay) { int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); }
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) fail("connect");
  return fd;
}

static double mbps(uint64_t bytes, uint64_t ns) { return ns ? (double)bytes * 8 * 1000.0 / (double)ns : 0; }

static int bulk_send(const char *ip, int port, uint64_t bytes) {
  enum { CHUNK = 64 * 1024 };
  uint8_t *buf = malloc(CHUNK + LAB_PATTERN_PERIOD);
  uint8_t sink[4096];
  lab_pattern_fill(buf, CHUNK + LAB_PATTERN_PERIOD);
  int fd = connect_to(ip, port, 0);
  uint64_t deadline = lab_now_ns() + (uint64_t)(limit_s * 1e9);
  uint64_t t0 = lab_now_ns(), sent = 0;
  while (sent < bytes) {
    size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
    ssize_t w = write(fd, buf + sent % LAB_PATTERN_PERIOD, n);
    if (w < 0) { if (errno == EINTR) continue; fail("write"); }
    sent += (uint64_t)w;
    if (lab_now_ns() > deadline) {
      fprintf(stderr, "lab-client bulk-send: time limit (%.0f s) after %llu of %llu bytes (%.1f Mbit/s so far)\n",
              limit_s, (unsigned long long)sent, (unsigned long long)bytes, mbps(sent, lab_now_ns() - t0));
      return 1;
    }
  }
  if (shutdown(fd, SHUT_WR) < 0) fail("shutdown");
  for (;;) { /* the sink closes after reading our FIN */
    ssize_t r = read(fd, sink, sizeof sink);
    if (r == 0) break;
    if (r < 0) { if (errno == EINTR) continue; fail("read (waiting for the sink's close)"); }
    if (lab_now_ns() > deadline) { fprintf(stderr, "lab-client bulk-send: time limit waiting for close\n"); return 1; }
  }
  uint64_t t1 = lab_now_ns();
  close(fd);
  printf("{\"mode\":\"bulk-send\",\"bytes\":%llu,\"seconds\":%.6f,\"mbps\":%.3f}\n",
         (unsigned long long)sent, (double)(t1 - t0) / 1e9, mbps(sent, t1 - t0));
  free(buf);
  return 0;
}

static int bulk_recv(const char *ip, int port, uint64_t bytes) {
  enum { CHUNK = 64 * 1024 };
  uint8_t *want = malloc(CHUNK + LAB_PATTERN_PERIOD), *buf = malloc(CHUNK);
  lab_pattern_fill(want, CHUNK + LAB_PATTERN_PERIOD);
  int fd = connect_to(ip, port, 0);
  uint64_t deadline = lab_now_ns() + (uint64_t)(limit_s * 1e9);
  uint64_t t0 = 0, got = 0;
  for (;;) {
    ssize_t r = read(fd, buf, CHUNK);
    if (r == 0) break;
    if (r < 0) { if (errno == EINTR) continue; fail("read"); }
    if (t0 == 0) t0 = lab_now_ns();
    if (memcmp(buf, want + got % LAB_PATTERN_PERIOD, (size_t)r) != 0) {
      for (ssize_t i = 0; i < r; i++)
        if (buf[i] != (uint8_t)((got + (uint64_t)i) % LAB_PATTERN_PERIOD)) {
          fprintf(stderr, "lab-client bulk-recv: byte %llu is %u, the pattern says %u\n",
                  (unsigned long long)(got + (uint64_t)i), buf[i], (unsigned)((got + (uint64_t)i) % LAB_PATTERN_PERIOD));
          return 1;
        }
    }
    got += (uint64_t)r;
    if (got > bytes) { fprintf(stderr, "lab-client bulk-recv: got more than the %llu bytes expected\n", (unsigned long long)bytes); return 1; }
    if (lab_now_ns() > deadline) {
      fprintf(stderr, "lab-client bulk-recv: time limit (%.0f s) after %llu of %llu bytes (%.1f Mbit/s so far)\n",
              limit_s, (unsigned long long)got, (unsigned long long)bytes, mbps(got, lab_now_ns() - t0));
      return 1;
    }
  }
  uint64_t t1 = lab_now_ns();
  close(fd);
  if (got != bytes) { fprintf(stderr, "lab-client bulk-recv: got %llu bytes, want %llu\n", (unsigned long long)got, (unsigned long long)bytes); return 1; }
  printf("{\"mode\":\"bulk-recv\",\"bytes\":%llu,\"seconds\":%.6f,\"mbps\":%.3f,\"verified\":true}\n",
         (unsigned long long)got, (double)(t1 - t0) / 1e9, mbps(got, t1 - t0));
  free(want); free(buf);
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Percentile by the nearest-rank method. */
static double pct_us(const uint64_t *sorted, size_t n, double p) {
  size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return (double)sorted[k - 1] / 1000.0;
}

/* One transaction: write the request, read until the whole echo is back, check it. */
static void transact(int fd, uint8_t *req, uint8_t *resp, size_t size, uint64_t seq) {
  memset(req, (int)(seq & 0xff), size);
  memcpy(req, &seq, sizeof seq < size ? sizeof seq : size);
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(fd, req + off, size - off);
    if (w < 0) { if (errno == EINTR) continue; fail("write"); }
    off += (size_t)w;
  }
  off = 0;
  while (off < size) {
    ssize_t r = read(fd, resp + off, size - off);
    if (r == 0) { errno = ECONNRESET; fail("the echo server closed mid-transaction"); }
    if (r < 0) { if (errno == EINTR) continue; fail("read"); }
    off += (size_t)r;
  }
  if (memcmp(req, resp, size) != 0) {
    fprintf(stderr, "lab-client rr: transaction %llu came back changed\n", (unsigned long long)seq);
    exit(1);
  }
}

static int rr(const char *ip, int port, uint64_t count, uint64_t warmup, size_t size) {
  uint8_t *req = malloc(size), *resp = malloc(size);
  uint64_t *lat = malloc(sizeof *lat * (count ? count : 1));
  int fd = connect_to(ip, port, 1);
  for (uint64_t i = 0; i < warmup; i++) transact(fd, req, resp, size, i);
  uint64_t start = lab_now_ns(), deadline = start + (uint64_t)(limit_s * 1e9), n = 0;
  while (n < count) {
    uint64_t t = lab_now_ns();
    if (t > deadline) break;
    transact(fd, req, resp, size, warmup + n);
    lat[n++] = lab_now_ns() - t;
  }
  uint64_t elapsed = lab_now_ns() - start;
  close(fd);
  if (n == 0) { fprintf(stderr, "lab-client rr: no transaction completed\n"); return 1; }
  qsort(lat, n, sizeof *lat, cmp_u64);
  double sum = 0;
  for (uint64_t i = 0; i < n; i++) sum += (double)lat[i];
  printf("{\"mode\":\"rr\",\"size\":%zu,\"count\":%llu,\"seconds\":%.6f,\"tps\":%.1f,\"p50_us\":%.2f,"
         "\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f}\n",
         size, (unsigned long long)n, (double)elapsed / 1e9, (double)n * 1e9 / (double)elapsed,
         pct_us(lat, n, 50), pct_us(lat, n, 90), pct_us(lat, n, 99), pct_us(lat, n, 99.9), sum / (double)n / 1000.0, (double)lat[n - 1] / 1000.0);
  free(req); free(resp); free(lat);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lab-client bulk-send|bulk-recv|rr --ip A --port P [--bytes N] [--count C] [--seconds S]\n");
    return 2;
  }
  mode = argv[1];
  const char *ip = "198.18.0.2";
  int port = 0;
  uint64_t bytes = 64ull << 20, count = 20000, warmup = 200;
  size_t size = 64;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) { fprintf(stderr, "lab-client: flag %s needs a value\n", argv[i]); return 2; }
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--ip")) ip = v;
    else if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--bytes")) bytes = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--count")) count = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--warmup")) warmup = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--size")) size = (size_t)strtoull(v, NULL, 10);
    else if (!strcmp(k, "--seconds")) limit_s = atof(v);
    else { fprintf(stderr, "lab-client: unknown flag %s\n", k); return 2; }
  }
  if (port <= 0 || port > 65535) { fprintf(stderr, "lab-client: --port 1..65535 is required\n"); return 2; }
  if (size == 0 || size > 65536) { fprintf(stderr, "lab-client: --size must be 1..65536\n"); return 2; }
  if (limit_s <= 0) limit_s = 30;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  alarm((unsigned)limit_s + 15); /* past the soft limit plus the 10 s socket timeouts */
  if (!strcmp(mode, "bulk-send")) return bulk_send(ip, port, bytes);
  if (!strcmp(mode, "bulk-recv")) return bulk_recv(ip, port, bytes);
  if (!strcmp(mode, "rr")) return rr(ip, port, count, warmup, size);
  fprintf(stderr, "lab-client: unknown mode %s (bulk-send, bulk-recv or rr)\n", mode);
  return 2;
}
