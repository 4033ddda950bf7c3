// tcp: the receive buffer — a byte ring with in-order data at its head and a bounded set of
// out-of-order ranges written in place behind it (reassembly without per-segment copies).

import type { SackBlock } from '../wire/tcp';
import { seqAdd, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub, type Seq } from './seq';

interface OooRange {
  start: Seq;
  end: Seq;
  /** Recency stamp: SACK blocks are reported most recent first (RFC 2018 §4). */
  stamp: number;
}

const EMPTY = new Uint8Array(0);

export class ReceiveQueue {
  /** Allocated on first data, so half-open connections cost no buffer memory. */
  private buf: Uint8Array = EMPTY;
  private head = 0;
  private len = 0;
  /** Sorted by start, disjoint and non-adjacent, all above RCV.NXT. */
  private ranges: OooRange[] = [];
  private stampCounter = 0;

  constructor(
    readonly capacity: number,
    private readonly maxRanges: number,
  ) {}

  /** In-order bytes waiting for the application. */
  get readable(): number {
    return this.len;
  }

  /** Space behind the in-order data: the most the receive window may offer. */
  get free(): number {
    return this.capacity - this.len;
  }

  get hasOutOfOrder(): boolean {
    return this.ranges.length > 0;
  }

  get outOfOrderRanges(): number {
    return this.ranges.length;
  }

  /**
   * Places `data[from, from+n)` whose first byte has sequence number `at`, given RCV.NXT. The caller
   * has trimmed it to the window (at ≥ rcvNxt). Returns how far RCV.NXT advances (0 when the data was
   * out of order, or −1 when it was dropped because the out-of-order set is full or it does not fit).
   */
  write(rcvNxt: Seq, at: Seq, data: Uint8Array, from: number, n: number): number {
    const off = seqSub(at, rcvNxt);
    const room = this.capacity - this.len;
    if (off >= room) return -1;
    if (off + n > room) n = room - off;
    if (n <= 0) return -1;
    const end = seqAdd(at, n);
    if (off > 0 && !this.canInsert(at, end)) return -1;
    if (this.buf.length === 0) this.buf = new Uint8Array(this.capacity);
    const cap = this.buf.length;
    const pos = (this.head + this.len + off) % cap;
    const first = Math.min(n, cap - pos);
    // Usually the whole payload lands in one piece: no view to make then.
    this.buf.set(from === 0 && first === data.length ? data : data.subarray(from, from + first), pos);
    if (n > first) this.buf.set(data.subarray(from + first, from + n), 0);
    if (off > 0) {
      this.insert(at, end);
      return 0;
    }
    let advance = n;
    let nxt = end;
    while (this.ranges.length > 0 && seqLe(this.ranges[0].start, nxt)) {
      const r = this.ranges.shift()!;
      if (seqGt(r.end, nxt)) {
        advance += seqSub(r.end, nxt);
        nxt = r.end;
      }
    }
    this.len += advance;
    return advance;
  }

  /** Copies up to dst.length in-order bytes into dst; returns the count. */
  read(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.len);
    if (n === 0) return 0;
    const cap = this.buf.length;
    const first = Math.min(n, cap - this.head);
    dst.set(this.buf.subarray(this.head, this.head + first), 0);
    if (n > first) dst.set(this.buf.subarray(0, n - first), first);
    this.head = (this.head + n) % cap;
    this.len -= n;
    // Out-of-order data sits at fixed offsets from head + len: rewind only an empty ring.
    if (this.len === 0 && this.ranges.length === 0) this.head = 0;
    return n;
  }

  /**
   * SACK blocks (RFC 2018 §4): the block holding the most recently received segment first, then the
   * others most recently changed first, at most `max`.
   */
  sackBlocks(max: number): SackBlock[] {
    const sorted = this.ranges.slice().sort((a, b) => b.stamp - a.stamp);
    const out: SackBlock[] = [];
    for (let i = 0; i < sorted.length && i < max; i++) out.push({ left: sorted[i].start, right: sorted[i].end });
    return out;
  }

  /** Forgets all out-of-order data (RFC 2018 §8 allows the receiver to renege). */
  clearOutOfOrder(): void {
    this.ranges = [];
  }

  private canInsert(start: Seq, end: Seq): boolean {
    if (this.ranges.length < this.maxRanges) return true;
    for (const r of this.ranges) if (seqLe(r.start, end) && seqLe(start, r.end)) return true;
    return false;
  }

  private insert(start: Seq, end: Seq): void {
    const stamp = ++this.stampCounter;
    let i = 0;
    while (i < this.ranges.length && seqLt(this.ranges[i].end, start)) i++;
    let s = start;
    let e = end;
    let j = i;
    while (j < this.ranges.length && seqLe(this.ranges[j].start, e)) {
      s = seqMin(s, this.ranges[j].start);
      e = seqMax(e, this.ranges[j].end);
      j++;
    }
    this.ranges.splice(i, j - i, { start: s, end: e, stamp });
  }
}
