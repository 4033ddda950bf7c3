// tcp: the receive buffer — in-order data appended to slabs the application takes views of without
// a copy, and a bounded set of out-of-order ranges placed by sequence number in a ring behind it
// (reassembly without per-segment copies).
//
// A segment that arrives in order is copied once, out of the device's frame (whose buffer is reused
// for the next frame) into the current slab, right after the bytes before it; `take` hands the
// application a view of the slab's bytes in order, so every byte crosses JavaScript in one copy and
// a slab is allocated per SLAB bytes, not per segment. A slab is only ever appended to, so a view
// handed out never changes; one that no view was taken of (the application copies with `read`) is
// filled again from its start once all of it has been read. Out-of-order data waits in the ring
// and is appended when the hole before it fills.

import type { SackBlock } from '../wire/tcp';
import { copyBytes, SubarrayCache } from '../wire/views';
import { seqAdd, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub, type Seq } from './seq';

interface OooRange {
  start: Seq;
  end: Seq;
  /** Recency stamp: SACK blocks are reported most recent first (RFC 2018 §4). */
  stamp: number;
}

const EMPTY = new Uint8Array(0);
/** Bytes per slab. */
const SLAB = 64 * 1024;

/** A buffer of `n` bytes the queue owns until it hands out views of it: a Node Buffer, so views are Buffers. */
const allocSlab: (n: number) => Uint8Array =
  typeof Buffer !== 'undefined' ? (n) => Buffer.allocUnsafeSlow(n) : (n) => new Uint8Array(n);

export class ReceiveQueue {
  /**
   * In-order bytes, oldest first: piece i is bufs[i][starts[i] .. ends[i]), from piece `first` at
   * `firstOff` bytes in, up to piece `count`. Consecutive bytes of one slab are one piece. The
   * arrays keep their slots when emptied (`count` goes back to 0): setting an array's length is a
   * call into V8's runtime, and regrowing it an allocation, once per segment otherwise.
   */
  private bufs: Uint8Array[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  private count = 0;
  private first = 0;
  private firstOff = 0;
  private len = 0;
  /** The slab being appended to, and how much of it is used. */
  private slab: Uint8Array = EMPTY;
  private slabUsed = 0;
  /**
   * Whether `take` handed out a view of the current slab. Until it does, a slab whose bytes have all
   * been read (copied out by `read`) is filled again from its start instead of being replaced.
   */
  private slabLent = false;
  /** `read` copies from these (a slab refilled from its start asks for the same ones again). */
  private readonly readViews = new SubarrayCache();
  /** Out-of-order bytes: the byte with sequence number s is at (s − oooBase) mod capacity. Allocated on first use. */
  private ooo: Uint8Array = EMPTY;
  private oooBase: Seq = 0 as Seq;
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
    if (off > 0) {
      if (!this.canInsert(at, end)) return -1;
      if (this.ranges.length === 0) this.oooBase = at;
      this.place(at, data, from, n);
      this.insert(at, end);
      return 0;
    }
    this.append(data, from, n);
    let advance = n;
    let nxt = end;
    // The ranges this segment reaches become in-order: the part of each past it moves out of the ring.
    while (this.ranges.length > 0 && seqLe(this.ranges[0].start, nxt)) {
      const r = this.ranges.shift()!;
      if (seqGt(r.end, nxt)) {
        const k = seqSub(r.end, nxt);
        const p = this.pos(nxt);
        const first = Math.min(k, this.capacity - p);
        this.append(this.ooo, p, first);
        if (k > first) this.append(this.ooo, 0, k - first);
        advance += k;
        nxt = r.end;
      }
    }
    this.len += advance;
    return advance;
  }

  /** Copies up to dst.length in-order bytes into dst; returns the count. */
  read(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.len);
    let done = 0;
    while (done < n) {
      const i = this.first;
      const at = this.starts[i] + this.firstOff;
      const k = Math.min(this.ends[i] - at, n - done);
      copyBytes(dst, this.readViews.subarray(this.bufs[i], at, at + k), done);
      done += k;
      this.consume(k);
    }
    return n;
  }

  /**
   * Up to `max` in-order bytes as a view the caller may keep: the bytes stay as they are (slabs are
   * only appended to). At most one slab's worth: call again for more.
   */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.len);
    if (n === 0) return EMPTY;
    const i = this.first;
    const at = this.starts[i] + this.firstOff;
    const k = Math.min(this.ends[i] - at, n);
    const out = this.bufs[i].subarray(at, at + k);
    if (this.bufs[i] === this.slab) this.slabLent = true;
    this.consume(k);
    return out;
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

  /** Appends `src[from, from+n)` to the in-order bytes (the caller counts them in `len`). */
  private append(src: Uint8Array, from: number, n: number): void {
    while (n > 0) {
      if (this.slabUsed === this.slab.length) {
        this.slab = allocSlab(SLAB);
        this.slabUsed = 0;
        this.slabLent = false;
      }
      const k = Math.min(n, this.slab.length - this.slabUsed);
      // A whole segment's payload (the common case) is copied as it is, without a view of it.
      copyBytes(this.slab, from === 0 && k === src.length ? src : src.subarray(from, from + k), this.slabUsed);
      const last = this.count - 1;
      if (last >= this.first && this.bufs[last] === this.slab && this.ends[last] === this.slabUsed) {
        this.ends[last] += k;
      } else {
        const c = this.count++;
        this.bufs[c] = this.slab;
        this.starts[c] = this.slabUsed;
        this.ends[c] = this.slabUsed + k;
      }
      this.slabUsed += k;
      from += k;
      n -= k;
    }
  }

  /** `k` bytes of the head piece were read. */
  private consume(k: number): void {
    this.len -= k;
    this.firstOff += k;
    const i = this.first;
    if (this.starts[i] + this.firstOff < this.ends[i]) return;
    this.firstOff = 0;
    this.first++;
    // Drop read pieces in batches, not one shift per piece.
    if (this.first === this.count) {
      // Read slabs are the application's now: the queue keeps no reference to them.
      for (let j = 0; j < this.count; j++) this.bufs[j] = EMPTY;
      this.count = 0;
      this.first = 0;
      // Nothing refers to the current slab's bytes any more (read copied them out): fill it again.
      if (!this.slabLent) this.slabUsed = 0;
    } else if (this.first >= 64 && this.first * 2 >= this.count) {
      this.bufs = this.bufs.slice(this.first, this.count);
      this.starts = this.starts.slice(this.first, this.count);
      this.ends = this.ends.slice(this.first, this.count);
      this.count -= this.first;
      this.first = 0;
    }
  }

  /** Where the out-of-order byte with sequence number `s` lives in the ring. */
  private pos(s: Seq): number {
    const d = seqSub(s, this.oooBase) % this.capacity;
    return d < 0 ? d + this.capacity : d;
  }

  private place(at: Seq, data: Uint8Array, from: number, n: number): void {
    if (this.ooo.length === 0) this.ooo = new Uint8Array(this.capacity);
    const cap = this.capacity;
    const p = this.pos(at);
    const first = Math.min(n, cap - p);
    this.ooo.set(data.subarray(from, from + first), p);
    if (n > first) this.ooo.set(data.subarray(from + first, from + n), 0);
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
