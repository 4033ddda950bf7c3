/* lab-common: what every C program of the lab bench shares — the byte pattern of a bulk stream,
 * the monotonic clock, and the command-line flags of lab-bench-interface.md. Header only. */
#ifndef LAB_COMMON_H
#define LAB_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The bulk stream's pattern: the byte at stream offset i is i mod 251. The period is prime, so a
 * lost, repeated or reordered segment of any size that is not a multiple of 251 shows up. */
#define LAB_PATTERN_PERIOD 251u

/* Fills buf with the pattern as it continues for len bytes from the start; a sender writes
 * buf + (offset % LAB_PATTERN_PERIOD) and a receiver compares against the same. */
static inline void lab_pattern_fill(uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(i % LAB_PATTERN_PERIOD);
}

static inline uint64_t lab_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The flags of a stack program (lab-bench-interface.md). */
struct lab_args {
  const char *tap;
  const char *ip;
  int prefix;
  const char *mac;
  int port;
  const char *role; /* "sink" | "source" | "echo" */
  uint64_t bytes;
};

/* Parses "--name value" pairs; unknown flags and missing values are errors, said on stderr. */
static inline int lab_parse_args(int argc, char **argv, struct lab_args *a) {
  a->tap = NULL; a->ip = "198.18.0.2"; a->prefix = 24; a->mac = "02:00:00:00:00:02";
  a->port = 0; a->role = NULL; a->bytes = 64ull << 20;
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (i + 1 >= argc) { fprintf(stderr, "%s: flag %s needs a value\n", argv[0], k); return -1; }
    const char *v = argv[++i];
    if (!strcmp(k, "--tap")) a->tap = v;
    else if (!strcmp(k, "--ip")) a->ip = v;
    else if (!strcmp(k, "--prefix")) a->prefix = atoi(v);
    else if (!strcmp(k, "--mac")) a->mac = v;
    else if (!strcmp(k, "--port")) a->port = atoi(v);
    else if (!strcmp(k, "--role")) a->role = v;
    else if (!strcmp(k, "--bytes")) a->bytes = strtoull(v, NULL, 10);
    else { fprintf(stderr, "%s: unknown flag %s\n", argv[0], k); return -1; }
  }
  if (a->port <= 0 || a->port > 65535) { fprintf(stderr, "%s: --port 1..65535 is required\n", argv[0]); return -1; }
  if (!a->role || (strcmp(a->role, "sink") && strcmp(a->role, "source") && strcmp(a->role, "echo"))) {
    fprintf(stderr, "%s: --role sink|source|echo is required\n", argv[0]);
    return -1;
  }
  if (a->prefix < 0 || a->prefix > 32) { fprintf(stderr, "%s: --prefix must be 0..32\n", argv[0]); return -1; }
  return 0;
}

#endif
