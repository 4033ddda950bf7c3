// tcp: initial sequence numbers per RFC 6528 — ISN = M + F(4-tuple, secret key).

import type { Rng } from './rng';
import { seq, type Seq } from './seq';
import type { FourTuple } from './types';

/**
 * RFC 6528 §3: "ISN = M + F(localip, localport, remoteip, remoteport, secretkey)" where M is a
 * timer ticking every 4 µs. F here is a HalfSipHash-2-4-style keyed hash of the 4-tuple (RFC 6528
 * suggests MD5; any keyed PRF serves). The 64-bit key is drawn once from the seeded RNG.
 */
export class IsnGenerator {
  private readonly k0: number;
  private readonly k1: number;

  constructor(rng: Rng) {
    this.k0 = rng.nextU32();
    this.k1 = rng.nextU32();
  }

  /** `now` is virtual milliseconds; M counts 4 µs ticks (250 per millisecond). */
  isn(t: FourTuple, now: number): Seq {
    const m = Math.floor(now * 250) >>> 0;
    const f = halfSipHash(this.k0, this.k1, t.localAddr >>> 0, t.remoteAddr >>> 0, ((t.localPort << 16) | t.remotePort) >>> 0);
    return seq(m + f);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function halfSipHash(k0: number, k1: number, m0: number, m1: number, m2: number): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  };
  for (const m of [m0, m1, m2, 12 << 24]) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xff;
  round(); round(); round(); round();
  return (v1 ^ v3) >>> 0;
}
