// tcp: sequence numbers — a branded uint32 with modulo-2^32 comparison (RFC 9293 §3.4).

/** A 32-bit sequence number. Never compare two of them with `<`: use the helpers below. */
export type Seq = number & { readonly __seq: unique symbol };

/** Brands a wire value (any number) as a sequence number, reducing it modulo 2^32. */
export function seq(n: number): Seq {
  return (n >>> 0) as Seq;
}

export function seqAdd(a: Seq, n: number): Seq {
  return ((a + n) >>> 0) as Seq;
}

/** The signed distance a − b, correct across wrap-around while |a − b| < 2^31. */
export function seqSub(a: Seq, b: Seq): number {
  return (a - b) | 0;
}

export function seqLt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: Seq, b: Seq): Seq {
  return seqLt(a, b) ? b : a;
}

export function seqMin(a: Seq, b: Seq): Seq {
  return seqLt(a, b) ? a : b;
}

/** lo ≤ x < hi in sequence space. */
export function seqInRange(x: Seq, lo: Seq, hi: Seq): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
