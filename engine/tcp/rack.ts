// tcp: RACK-TLP loss detection (RFC 8985) — the per-segment transmit records, the most recently
// delivered segment's send time, the reordering window, and the tail loss probe's state. The
// connection decides what to send and when; this module says what is lost and when to look again.

import { seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub, type Seq } from './seq';
import { DUP_THRESH } from './sack';

/**
 * RFC 8985 §5.2 per-segment variables, for one transmitted range of sequence space (a segment, or
 * the part of one that a SACK block or a retransmission split off).
 */
export interface SentSegment {
  start: Seq;
  end: Seq;
  /** Segment.xmit_ts: when it was last (re)transmitted, in the connection's ms (fractional). */
  xmitTs: number;
  /** The TSval the last transmission carried, for the ambiguity test of §6.2 step 2. */
  tsVal: number;
  /**
   * Transmission order, for RACK_sent_after between segments sent at the same xmit_ts: the RFC
   * breaks the tie by sequence number, which misorders a retransmission sent in the same instant as
   * (after) a higher segment. Our clock is coarse enough (a burst shares one `now`) for that to matter.
   */
  xmitOrder: number;
  sacked: boolean;
  /** Segment.lost: marked lost (by RACK or the RTO) and not since delivered. */
  lost: boolean;
  /** Segment.retransmitted: sent more than once. */
  retransmitted: boolean;
  /** A retransmission is in flight (RFC 6675 pipe counts it). */
  rtxInFlight: boolean;
  /** On the transmit-ordered list of segments in flight (neither SACKed nor marked lost since sent). */
  listed: boolean;
  prev: SentSegment | undefined;
  next: SentSegment | undefined;
}

export type DeliveredVisitor = (s: SentSegment) => void;

function newSegment(start: Seq, end: Seq, xmitTs: number, tsVal: number, xmitOrder: number): SentSegment {
  return { start, end, xmitTs, tsVal, xmitOrder, sacked: false, lost: false, retransmitted: false, rtxInFlight: false, listed: false, prev: undefined, next: undefined };
}

/** Records kept for reuse once cumulatively acknowledged: enough for a window of some 1,000 segments. */
const MAX_SPARE = 1024;

/**
 * What was sent and not yet cumulatively acknowledged, in sequence order, and the same records that
 * are still in flight in transmit-time order (the order RACK walks: §6.2 step 5 stops at the first
 * segment sent after the most recently delivered one). Byte counters give RFC 6675 pipe in O(1):
 * pipe = outstanding − SACKed − lost + retransmissions in flight.
 */
export class SentLog {
  /**
   * The records are `segs[head .. tail)`. Slots from `tail` on are left as they are (an emptied log
   * keeps its array, which would be allocated again on the next send if its length went to 0), and
   * records the cumulative ACK passes go to `spare` for the next sends: a request/response makes one
   * record a segment, and would otherwise leave one for the garbage collector each time.
   */
  private segs: SentSegment[] = [];
  private head = 0;
  private tail = 0;
  private readonly spare: SentSegment[] = [];
  private oldest: SentSegment | undefined = undefined;
  private newest: SentSegment | undefined = undefined;
  private outBytes = 0;
  private sackedBytes_ = 0;
  private lostBytes_ = 0;
  private rtxBytes = 0;
  /** No segment below this is lost and waiting for retransmission (a scan hint). */
  private lostFloor: Seq | undefined = undefined;
  private order = 0;

  get isEmpty(): boolean {
    return this.head === this.tail;
  }

  get sackedBytes(): number {
    return this.sackedBytes_;
  }

  get lostBytes(): number {
    return this.lostBytes_;
  }

  /** RFC 6675 §4 SetPipe, with RACK's marks in place of IsLost. */
  get pipe(): number {
    return this.outBytes - this.sackedBytes_ - this.lostBytes_ + this.rtxBytes;
  }

  /** For tests and the UI. */
  records(): readonly SentSegment[] {
    return this.segs.slice(this.head, this.tail);
  }

  /** Drops every record (the connection restarts its sequence space, or closes). */
  reset(): void {
    this.segs = [];
    this.head = this.tail = 0;
    this.oldest = this.newest = undefined;
    this.outBytes = this.sackedBytes_ = this.lostBytes_ = this.rtxBytes = 0;
    this.lostFloor = undefined;
  }

  /**
   * RFC 8985 §6.1: a transmission of [start, end) at `now`. Ranges already recorded are
   * retransmissions (Segment.retransmitted, a fresh xmit_ts, back on the tail of the transmit
   * order); anything past the last record is new.
   */
  onSend(start: Seq, end: Seq, now: number, tsVal: number): void {
    if (!seqLt(start, end)) return;
    const order = ++this.order;
    const last = this.isEmpty ? undefined : this.segs[this.tail - 1];
    if (last === undefined || seqGe(start, last.end)) {
      this.append(this.record(start, end, now, tsVal, order));
      return;
    }
    const first = seqMax(start, this.segs[this.head].start);
    const oldEnd = seqMin(end, last.end);
    if (seqLt(first, oldEnd)) {
      let i = this.split(first);
      this.split(oldEnd);
      for (; i < this.tail && seqLt(this.segs[i].start, oldEnd); i++) {
        const s = this.segs[i];
        s.xmitTs = now;
        s.tsVal = tsVal;
        s.xmitOrder = order;
        s.retransmitted = true;
        if (s.sacked) continue;
        if (!s.rtxInFlight) {
          s.rtxInFlight = true;
          this.rtxBytes += seqSub(s.end, s.start);
        }
        this.unlist(s);
        this.list(s);
      }
    }
    if (seqGt(end, last.end)) this.append(this.record(last.end, end, now, tsVal, order));
  }

  /**
   * A cumulative ACK up to `una`: drops what it covers and visits each record it delivers that had
   * not been SACKed. Returns the bytes newly delivered.
   */
  ack(una: Seq, visit: DeliveredVisitor): number {
    if (this.isEmpty || seqLe(una, this.segs[this.head].start)) return 0;
    this.split(una);
    let delivered = 0;
    while (this.head < this.tail && seqLe(this.segs[this.head].end, una)) {
      const s = this.segs[this.head++];
      const len = seqSub(s.end, s.start);
      this.outBytes -= len;
      if (s.sacked) {
        this.sackedBytes_ -= len;
      } else {
        this.uncount(s, len);
        this.unlist(s);
        delivered += len;
        visit(s);
      }
      // The visitor has seen it, and nothing else refers to a record the ACK passed.
      if (this.spare.length < MAX_SPARE) this.spare.push(s);
    }
    if (this.head === this.tail) {
      this.head = this.tail = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      this.segs = this.segs.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    return delivered;
  }

  /** A SACK block [left, right): marks what it newly covers and visits it. Returns the bytes newly SACKed. */
  sack(left: Seq, right: Seq, visit: DeliveredVisitor): number {
    if (this.isEmpty) return 0;
    const lo = seqMax(left, this.segs[this.head].start);
    const hi = seqMin(right, this.segs[this.tail - 1].end);
    if (!seqLt(lo, hi)) return 0;
    let i = this.split(lo);
    this.split(hi);
    let added = 0;
    for (; i < this.tail && seqLt(this.segs[i].start, hi); i++) {
      const s = this.segs[i];
      if (s.sacked) continue;
      const len = seqSub(s.end, s.start);
      this.uncount(s, len);
      this.unlist(s);
      s.sacked = true;
      this.sackedBytes_ += len;
      added += len;
      visit(s);
    }
    return added;
  }

  /** RFC 2018 §8: after a timeout SACK information is not trusted; SACKed records count as outstanding again. */
  forgetSacks(): void {
    for (let i = this.head; i < this.tail; i++) this.segs[i].sacked = false;
    this.sackedBytes_ = 0;
  }

  /** Segment.lost = TRUE, and its retransmission (if any) no longer counts as in flight. */
  markLost(s: SentSegment): void {
    const len = seqSub(s.end, s.start);
    if (s.rtxInFlight) {
      s.rtxInFlight = false;
      this.rtxBytes -= len;
    }
    if (!s.lost) {
      s.lost = true;
      this.lostBytes_ += len;
    }
    this.unlist(s);
    if (this.lostFloor === undefined || seqLt(s.start, this.lostFloor)) this.lostFloor = s.start;
  }

  /** The in-flight records in transmit order, oldest first (RACK walks these). */
  get oldestInFlight(): SentSegment | undefined {
    return this.oldest;
  }

  /** Every record not yet cumulatively acknowledged, in sequence order. */
  forEach(f: (s: SentSegment) => void): void {
    for (let i = this.head; i < this.tail; i++) f(this.segs[i]);
  }

  /** The lowest record that is lost and not SACKed, with no retransmission in flight (RFC 6675 NextSeg rule 1). */
  firstLost(): SentSegment | undefined {
    if (this.lostBytes_ === 0 || this.lostFloor === undefined) return undefined;
    for (let i = this.indexOf(this.lostFloor); i < this.tail; i++) {
      const s = this.segs[i];
      if (s.lost && !s.sacked && !s.rtxInFlight) {
        this.lostFloor = s.start;
        return s;
      }
    }
    this.lostFloor = undefined;
    return undefined;
  }

  /** The highest record sent (the tail loss probe's retransmission, RFC 8985 §7.3). */
  get last(): SentSegment | undefined {
    return this.isEmpty ? undefined : this.segs[this.tail - 1];
  }

  /** The highest record not SACKed (the rescue retransmission, RFC 6675 §4 NextSeg rule 4). */
  highestUnsacked(): SentSegment | undefined {
    for (let i = this.tail - 1; i >= this.head; i--) if (!this.segs[i].sacked) return this.segs[i];
    return undefined;
  }

  private append(s: SentSegment): void {
    if (this.tail < this.segs.length) this.segs[this.tail] = s;
    else this.segs.push(s);
    this.tail++;
    this.outBytes += seqSub(s.end, s.start);
    this.list(s);
  }

  /** A record for a new transmission: a spare one, reset, when there is one. */
  private record(start: Seq, end: Seq, xmitTs: number, tsVal: number, xmitOrder: number): SentSegment {
    const s = this.spare.pop();
    if (s === undefined) return newSegment(start, end, xmitTs, tsVal, xmitOrder);
    s.start = start;
    s.end = end;
    s.xmitTs = xmitTs;
    s.tsVal = tsVal;
    s.xmitOrder = xmitOrder;
    s.sacked = s.lost = s.retransmitted = s.rtxInFlight = s.listed = false;
    s.prev = s.next = undefined;
    return s;
  }

  private uncount(s: SentSegment, len: number): void {
    if (s.lost) {
      s.lost = false;
      this.lostBytes_ -= len;
    }
    if (s.rtxInFlight) {
      s.rtxInFlight = false;
      this.rtxBytes -= len;
    }
  }

  /** Index of the first record whose end is above `at`. */
  private indexOf(at: Seq): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqLe(this.segs[mid].end, at)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Makes `at` a record boundary; returns the index of the record starting at (or after) it. */
  private split(at: Seq): number {
    const i = this.indexOf(at);
    if (i === this.tail) return i;
    const s = this.segs[i];
    if (!seqLt(s.start, at)) return i;
    const upper = this.record(at, s.end, s.xmitTs, s.tsVal, s.xmitOrder);
    upper.sacked = s.sacked;
    upper.lost = s.lost;
    upper.retransmitted = s.retransmitted;
    upper.rtxInFlight = s.rtxInFlight;
    s.end = at;
    this.segs.splice(i + 1, 0, upper);
    this.tail++;
    // The two halves keep their place in the transmit order (same xmit_ts), lower half first.
    if (s.listed) this.listAfter(s, upper);
    return i + 1;
  }

  private list(s: SentSegment): void {
    s.listed = true;
    s.prev = this.newest;
    s.next = undefined;
    if (this.newest !== undefined) this.newest.next = s;
    else this.oldest = s;
    this.newest = s;
  }

  private listAfter(at: SentSegment, s: SentSegment): void {
    s.listed = true;
    s.prev = at;
    s.next = at.next;
    if (at.next !== undefined) at.next.prev = s;
    else this.newest = s;
    at.next = s;
  }

  private unlist(s: SentSegment): void {
    if (!s.listed) return;
    s.listed = false;
    if (s.prev !== undefined) s.prev.next = s.next;
    else this.oldest = s.next;
    if (s.next !== undefined) s.next.prev = s.prev;
    else this.newest = s.prev;
    s.prev = s.next = undefined;
  }
}

/** RFC 8985 §6.2: RACK_sent_after(t1, seq1, t2, seq2), the tie broken by transmission order (see `xmitOrder`). */
function sentAfter(t1: number, order1: number, t2: number, order2: number): boolean {
  return t1 > t2 || (t1 === t2 && order1 > order2);
}

/** RFC 8985 §6.2 step 4: DSACK-free recoveries before the reordering window's multiplier resets. */
const REO_WND_PERSIST = 16;

/** The RACK connection state (RFC 8985 §5.3) and its steps on an ACK (§6.2) and on an RTO (§6.3). */
export class Rack {
  /** RACK.xmit_ts / RACK.end_seq: the most recently sent segment that has been delivered. */
  xmitTs = -Infinity;
  private xmitOrder = 0;
  /**
   * RACK.end_seq and RACK.fack (below) as numbers beside flags rather than `Seq | undefined`
   * fields, which V8 would box a new number for on every store (once per ACK).
   */
  private endSeq_ = 0 as Seq;
  private hasEndSeq = false;
  private fack_ = 0 as Seq;
  private hasFack = false;
  /** RACK.rtt: the RTT of that segment (ms). */
  rtt = 0;
  /** RACK.min_RTT (ms); Infinity before the first sample. */
  minRtt = Infinity;
  reorderingSeen = false;
  reoWndMult = 1;
  reoWndPersist = REO_WND_PERSIST;
  dsackRound: Seq | undefined = undefined;

  /** RACK.end_seq, undefined until a delivery gave one. */
  get endSeq(): Seq | undefined {
    return this.hasEndSeq ? this.endSeq_ : undefined;
  }

  /** RACK.fack: the highest sequence delivered. */
  get fack(): Seq | undefined {
    return this.hasFack ? this.fack_ : undefined;
  }

  /**
   * §6.2 steps 1–3 for one newly delivered segment: RACK.min_RTT, the most recently sent delivered
   * segment (skipping a retransmission whose ACK may be for an earlier transmission), and reordering.
   * Returns true when it gave an RTT sample.
   */
  delivered(s: SentSegment, now: number, tsEcr: number | undefined): boolean {
    const rtt = now - s.xmitTs;
    let sampled = false;
    // Step 2: the ACK may be for the original transmission: TSecr older than the retransmission,
    // or an RTT shorter than the path could deliver.
    const ambiguous = s.retransmitted && ((tsEcr !== undefined && seqLt(tsEcr as Seq, s.tsVal as Seq)) || rtt < this.minRtt);
    if (!ambiguous) {
      // Step 1 (Karn: only from segments sent once).
      if (!s.retransmitted && rtt < this.minRtt) this.minRtt = Math.max(0, rtt);
      if (!this.hasEndSeq || sentAfter(s.xmitTs, s.xmitOrder, this.xmitTs, this.xmitOrder)) {
        this.rtt = Math.max(0, rtt);
        this.xmitTs = s.xmitTs;
        this.endSeq_ = s.end;
        this.hasEndSeq = true;
        this.xmitOrder = s.xmitOrder;
        sampled = true;
      }
    }
    // Step 3.
    if (!this.hasFack || seqGt(s.end, this.fack_)) {
      this.fack_ = s.end;
      this.hasFack = true;
    } else if (seqLt(s.end, this.fack_) && !s.retransmitted) this.reorderingSeen = true;
    return sampled;
  }

  /** §6.2 step 4, first half: the D-SACK round and the window multiplier, once per ACK. */
  onAck(sndUna: Seq, sndNxt: Seq, dsack: boolean): void {
    if (this.dsackRound !== undefined && seqGe(sndUna, this.dsackRound)) this.dsackRound = undefined;
    if (this.dsackRound === undefined && dsack) {
      this.dsackRound = sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    }
  }

  /** §6.2 step 4: leaving fast or RTO recovery counts towards resetting the multiplier. */
  onRecoveryExit(): void {
    if (--this.reoWndPersist <= 0) this.reoWndMult = 1;
  }

  /** §6.2 step 4: RACK.reo_wnd. */
  reoWnd(inRecovery: boolean, sackedBytes: number, smss: number, srtt: number | undefined): number {
    if (!this.reorderingSeen) {
      if (inRecovery) return 0;
      // RACK.segs_sacked ≥ DupThresh, in bytes as RFC 6675 §4 IsLost counts them.
      if (sackedBytes > (DUP_THRESH - 1) * smss) return 0;
    }
    const minRtt = this.minRtt === Infinity ? 0 : this.minRtt;
    return Math.min((this.reoWndMult * minRtt) / 4, srtt ?? Infinity);
  }

  /**
   * §6.2 step 5, RACK_detect_loss(): every segment in flight sent before the most recently
   * delivered one, and longer ago than RACK.rtt + reo_wnd, is lost. Returns the time until the
   * next one would be (0 when none waits), for the reordering timer.
   */
  detectLoss(log: SentLog, now: number, reoWnd: number, onLost: (s: SentSegment) => void): number {
    if (!this.hasEndSeq) return 0;
    let timeout = 0;
    let s = log.oldestInFlight;
    while (s !== undefined && sentAfter(this.xmitTs, this.xmitOrder, s.xmitTs, s.xmitOrder)) {
      const next = s.next;
      const remaining = s.xmitTs + this.rtt + reoWnd - now;
      if (remaining <= 0) {
        log.markLost(s);
        onLost(s);
      } else timeout = Math.max(timeout, remaining);
      s = next;
    }
    return timeout;
  }

  /** §6.3 RACK_mark_losses_on_RTO(): the first outstanding segment, and any sent longer ago than RACK.rtt + reo_wnd. */
  markLossesOnRto(log: SentLog, sndUna: Seq, now: number, reoWnd: number, onLost: (s: SentSegment) => void): void {
    log.forEach((s) => {
      if (s.sacked || (s.lost && !s.rtxInFlight)) return;
      if (s.start === sndUna || s.xmitTs + this.rtt + reoWnd - now <= 0) {
        log.markLost(s);
        onLost(s);
      }
    });
  }
}

/** RFC 8985 §7.2: TLP.max_ack_delay, the receiver's worst-case delayed-ACK time (ms), when unknown. */
export const TLP_MAX_ACK_DELAY = 200;

/**
 * The shortest probe timeout (ms): a floor for timer and scheduling granularity, so that a
 * sub-millisecond SRTT (a 1 ms timestamp clock reads it as 0) does not probe before a busy event
 * loop has read the ACK. Linux's first TLP used 10 ms; its 2-jiffy floor today is 8 ms at HZ=250.
 */
export const PTO_MIN = 10;

/**
 * RFC 8985 §7.2 step 2: the probe timeout. 2·SRTT (at least PTO_MIN), plus the worst-case delayed
 * ACK when a single segment is in flight; bounded by when the RTO would fire.
 */
export function probeTimeout(srtt: number | undefined, flight: number, smss: number, now: number, rtoAt: number): number {
  let pto: number;
  if (srtt !== undefined) {
    pto = Math.max(2 * srtt, PTO_MIN);
    if (flight <= smss) pto += TLP_MAX_ACK_DELAY;
  } else pto = 1000;
  return Math.min(pto, Math.max(0, rtoAt - now));
}

/** RFC 8985 §7 TLP state. */
export class TailLossProbe {
  /** TLP.end_seq: the end of the probe in flight, or undefined (None). */
  endSeq: Seq | undefined = undefined;
  /** TLP.is_retrans: the probe was a retransmission. */
  isRetrans = false;
  /** §7.3 condition 2: an RTT sample since the last probe (or the start of the connection). */
  rttSampled = false;

  /** §7.3: may a probe go out now? */
  get mayProbe(): boolean {
    return this.endSeq === undefined && this.rttSampled;
  }

  sent(endSeq: Seq, isRetrans: boolean): void {
    this.endSeq = endSeq;
    this.isRetrans = isRetrans;
    this.rttSampled = false;
  }

  /**
   * §7.4.2 TLP_process_ack(). Returns true when the probe repaired a loss, so that congestion
   * control must respond as to any loss.
   */
  onAck(ack: Seq, dsackEnd: Seq | undefined, pureDupAckWithoutSack: boolean): boolean {
    const end = this.endSeq;
    if (end === undefined || seqLt(ack, end)) return false;
    if (!this.isRetrans) {
      this.endSeq = undefined; // a probe of new data was delivered
    } else if (dsackEnd !== undefined && dsackEnd === end) {
      this.endSeq = undefined; // the retransmission was redundant: no loss
    } else if (seqGt(ack, end)) {
      this.endSeq = undefined; // the probe repaired the one loss
      return true;
    } else if (pureDupAckWithoutSack) {
      this.endSeq = undefined;
    }
    return false;
  }
}
