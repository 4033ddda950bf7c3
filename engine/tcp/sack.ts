// tcp: the sender's SACK scoreboard and the RFC 6675 loss-recovery queries (IsLost, pipe, NextSeg),
// and how a D-SACK block is told from the others (RFC 2883 §4, RFC 3708 §2).

import type { SackBlock } from '../wire/tcp';
import { seq, seqAdd, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub, type Seq } from './seq';

/** RFC 6675 §2: DupThresh. */
export const DUP_THRESH = 3;

interface Range {
  start: Seq;
  end: Seq;
}

/** A segment to (re)transmit. */
export interface SegmentSpan {
  readonly seq: Seq;
  readonly len: number;
}

/**
 * The D-SACK block of an ACK, if it has one (RFC 2883 §4, as RFC 3708 §2 tests it): the first block,
 * when it lies at or below the cumulative ACK, or inside the second block.
 */
export function dsackBlock(blocks: readonly SackBlock[], ack: Seq): SackBlock | undefined {
  if (blocks.length === 0) return undefined;
  const first = blocks[0];
  const l = seq(first.left);
  const r = seq(first.right);
  if (!seqLt(l, r)) return undefined;
  if (seqLe(r, ack)) return first;
  if (blocks.length > 1) {
    const second = blocks[1];
    if (seqLe(seq(second.left), l) && seqLe(r, seq(second.right))) return first;
  }
  return undefined;
}

export class SackScoreboard {
  /** SACKed ranges above SND.UNA: sorted, disjoint, non-adjacent. */
  private ranges: Range[] = [];
  private readonly maxRanges = 256;

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** HighACK's counterpart on the SACK side: the right edge of the highest SACKed range. */
  get highSacked(): Seq | undefined {
    return this.ranges.length === 0 ? undefined : this.ranges[this.ranges.length - 1].end;
  }

  get sackedBytes(): number {
    let n = 0;
    for (const r of this.ranges) n += seqSub(r.end, r.start);
    return n;
  }

  /** Blocks for tests and the UI. */
  snapshot(): SackBlock[] {
    return this.ranges.map((r) => ({ left: r.start, right: r.end }));
  }

  clear(): void {
    this.ranges = [];
  }

  /**
   * Merges received blocks. Blocks at or below SND.UNA (D-SACK, RFC 2883: see `dsackBlock`) or above
   * the highest sequence sent are ignored. Returns the number of newly SACKed bytes.
   */
  update(una: Seq, sndMax: Seq, blocks: readonly SackBlock[]): number {
    let added = 0;
    for (const b of blocks) {
      let s = seq(b.left);
      const e = seq(b.right);
      if (!seqLt(s, e) || seqGt(e, sndMax) || seqLe(e, una)) continue;
      if (seqLt(s, una)) s = una;
      added += this.insert(s, e);
    }
    return added;
  }

  /** Drops everything below the new SND.UNA. */
  trim(una: Seq): void {
    let k = 0;
    while (k < this.ranges.length && seqLe(this.ranges[k].end, una)) k++;
    if (k > 0) this.ranges.splice(0, k);
    if (this.ranges.length > 0 && seqLt(this.ranges[0].start, una)) this.ranges[0].start = una;
  }

  isSacked(s: Seq): boolean {
    for (const r of this.ranges) if (seqLe(r.start, s) && seqLt(s, r.end)) return true;
    return false;
  }

  /**
   * RFC 6675 §4 IsLost(SeqNum): DupThresh discontiguous SACKed ranges above it, or more than
   * (DupThresh − 1)·SMSS SACKed bytes above it.
   */
  isLost(s: Seq, smss: number): boolean {
    let blocks = 0;
    let bytes = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i];
      if (seqLe(r.end, s)) break;
      blocks++;
      bytes += seqSub(r.end, seqMax(r.start, seqAdd(s, 1)));
      if (blocks >= DUP_THRESH || bytes > (DUP_THRESH - 1) * smss) return true;
    }
    return false;
  }

  /**
   * RFC 6675 §4 SetPipe: for each octet from SND.UNA to HighData not SACKed, count 1 if it is not
   * lost, and 1 more if it was retransmitted (below HighRxt). Computed per hole, not per octet.
   */
  pipe(una: Seq, highData: Seq, highRxt: Seq, smss: number): number {
    let pipe = 0;
    let holeStart = una;
    for (let i = 0; i <= this.ranges.length; i++) {
      const holeEnd = i < this.ranges.length ? this.ranges[i].start : highData;
      if (seqLt(holeStart, holeEnd)) {
        const len = seqSub(holeEnd, holeStart);
        if (i === this.ranges.length || !this.isLost(holeStart, smss)) pipe += len;
        const rx = seqSub(seqMin(holeEnd, highRxt), holeStart);
        if (rx > 0) pipe += rx;
      }
      if (i < this.ranges.length) holeStart = this.ranges[i].end;
    }
    return pipe;
  }

  /**
   * RFC 6675 §4 NextSeg rules (1) and (3): the first unSACKed octet at or above HighRxt and below the
   * highest SACKed octet — rule (1) requires it to be lost, rule (3) does not.
   */
  nextHole(una: Seq, highRxt: Seq, smss: number, requireLost: boolean, maxLen = smss): SegmentSpan | undefined {
    let holeStart = una;
    for (const r of this.ranges) {
      const s = seqMax(holeStart, highRxt);
      if (seqLt(s, r.start) && (!requireLost || this.isLost(s, smss))) {
        return { seq: s, len: Math.min(maxLen, seqSub(r.start, s)) };
      }
      holeStart = r.end;
    }
    return undefined;
  }

  private insert(s: Seq, e: Seq): number {
    let i = 0;
    while (i < this.ranges.length && seqLt(this.ranges[i].end, s)) i++;
    let ns = s;
    let ne = e;
    let covered = 0;
    let j = i;
    while (j < this.ranges.length && seqLe(this.ranges[j].start, ne)) {
      const r = this.ranges[j];
      const os = seqMax(r.start, s);
      const oe = seqMin(r.end, e);
      if (seqLt(os, oe)) covered += seqSub(oe, os);
      ns = seqMin(ns, r.start);
      ne = seqMax(ne, r.end);
      j++;
    }
    if (j === i && this.ranges.length >= this.maxRanges) return 0;
    this.ranges.splice(i, j - i, { start: ns, end: ne });
    return seqSub(e, s) - covered;
  }
}

