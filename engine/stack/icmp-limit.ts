// stack: the ICMP error rate limit (RFC 1812 §4.3.2.8, RFC 1122 §3.2.2) — a global token bucket and
// one per destination, shaped like Linux's icmp_msgs_per_sec/icmp_msgs_burst and icmp_ratelimit.
// Echo replies are not limited (Linux's default icmp_ratemask leaves them out).

export interface IcmpLimitConfig {
  /** Global: tokens per second and bucket size (Linux: 1000 and 50). */
  readonly perSecond: number;
  readonly burst: number;
  /** Per destination: one token every `perDestIntervalMs`, bucket of `perDestBurst` (Linux: 1000 ms, 6). */
  readonly perDestIntervalMs: number;
  readonly perDestBurst: number;
  /** Destinations remembered at most (least recently used forgotten first). */
  readonly maxDestinations: number;
}

export const DEFAULT_ICMP_LIMIT: IcmpLimitConfig = Object.freeze({
  perSecond: 1000,
  burst: 50,
  perDestIntervalMs: 1000,
  perDestBurst: 6,
  maxDestinations: 1024,
});

interface Bucket {
  tokens: number;
  at: number;
}

export class IcmpRateLimiter {
  private readonly global: Bucket;
  private readonly perDest = new Map<number, Bucket>();

  constructor(readonly config: IcmpLimitConfig = DEFAULT_ICMP_LIMIT) {
    this.global = { tokens: config.burst, at: 0 };
  }

  /** Takes a token for an error to `dst` at `now`; false when the error must not be sent. */
  allow(dst: number, now: number): boolean {
    const c = this.config;
    refill(this.global, now, c.perSecond / 1000, c.burst);
    if (this.global.tokens < 1) return false;
    let b = this.perDest.get(dst);
    if (b === undefined) {
      if (this.perDest.size >= c.maxDestinations) {
        const oldest = this.perDest.keys().next().value;
        if (oldest !== undefined) this.perDest.delete(oldest);
      }
      b = { tokens: c.perDestBurst, at: now };
    } else {
      this.perDest.delete(dst);
      refill(b, now, 1 / c.perDestIntervalMs, c.perDestBurst);
    }
    this.perDest.set(dst, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    this.global.tokens -= 1;
    return true;
  }
}

function refill(b: Bucket, now: number, perMs: number, cap: number): void {
  if (now > b.at) {
    b.tokens = Math.min(cap, b.tokens + (now - b.at) * perMs);
    b.at = now;
  }
}
