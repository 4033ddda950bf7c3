// tcp: congestion control — NewReno (RFC 5681, RFC 6582) and CUBIC (RFC 9438) window arithmetic.
// Loss detection and recovery (fast retransmit, NewReno partial ACKs, RFC 6675 pipe) live in the
// connection; this module only says how cwnd and ssthresh respond. HyStart is not implemented.

import { assertNever } from './assert';
import type { CongestionKind } from './config';

export interface CongestionControl {
  readonly kind: CongestionKind;
  /** Bytes. The connection inflates/deflates it directly during NewReno fast recovery. */
  cwnd: number;
  ssthresh: number;
  /** `acked` bytes of new data were acknowledged outside loss recovery. */
  onAck(acked: number, smss: number, now: number, srtt: number | undefined): void;
  /** Loss found by duplicate ACKs or SACK: reduce ssthresh and set cwnd = ssthresh. */
  onLoss(flight: number, smss: number, now: number): void;
  /** Retransmission timeout: reduce ssthresh and set cwnd to the loss window (1 segment). */
  onRto(flight: number, smss: number, now: number): void;
  onRecoveryExit(now: number): void;
  /**
   * The last reduction answered retransmissions that D-SACK showed unnecessary (RFC 3708): back to
   * the window and threshold from before it, as RFC 4015's response does.
   */
  undo(priorCwnd: number, priorSsthresh: number): void;
}

/** RFC 6928 §2: IW = min(10·MSS, max(2·MSS, 14600)) — generalised to n segments. */
export function initialWindow(segments: number, smss: number): number {
  return Math.min(segments * smss, Math.max(2 * smss, 1460 * segments));
}

export function createCongestion(kind: CongestionKind, iw: number): CongestionControl {
  switch (kind) {
    case 'newreno':
      return new NewReno(iw);
    case 'cubic':
      return new Cubic(iw);
    default:
      return assertNever(kind);
  }
}

/** RFC 3465 §2.2: slow start grows by at most L = 2·SMSS per ACK. */
function slowStartIncrease(acked: number, smss: number): number {
  return Math.min(acked, 2 * smss);
}

class NewReno implements CongestionControl {
  readonly kind = 'newreno' as const;
  ssthresh = 0x7fffffff;
  private bytesAcked = 0;

  constructor(public cwnd: number) {}

  onAck(acked: number, smss: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += slowStartIncrease(acked, smss);
      return;
    }
    // RFC 5681 §3.1 / RFC 3465: byte counting in congestion avoidance, one SMSS per cwnd acked.
    this.bytesAcked += acked;
    if (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += smss;
    }
  }

  onLoss(flight: number, smss: number): void {
    // RFC 5681 §3.1 equation (4).
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * smss);
    this.cwnd = this.ssthresh;
    this.bytesAcked = 0;
  }

  onRto(flight: number, smss: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * smss);
    this.cwnd = smss;
    this.bytesAcked = 0;
  }

  onRecoveryExit(): void {
    this.bytesAcked = 0;
  }

  undo(priorCwnd: number, priorSsthresh: number): void {
    this.cwnd = Math.max(this.cwnd, priorCwnd);
    this.ssthresh = Math.max(this.ssthresh, priorSsthresh);
    this.bytesAcked = 0;
  }
}

/** RFC 9438 §4: C = 0.4, β_cubic = 0.7. */
const CUBIC_C = 0.4;
const CUBIC_BETA = 0.7;
const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

class Cubic implements CongestionControl {
  readonly kind = 'cubic' as const;
  ssthresh = 0x7fffffff;
  /** W_max in bytes. */
  private wMax = 0;
  /** W_max before the last reduction, for `undo`. */
  private priorWMax = 0;
  private k = 0;
  private epochStart: number | undefined = undefined;
  /** W_est (RFC 9438 §4.3) in bytes. */
  private wEst = 0;

  constructor(public cwnd: number) {}

  onAck(acked: number, smss: number, now: number, srtt: number | undefined): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += slowStartIncrease(acked, smss);
      return;
    }
    if (this.epochStart === undefined) {
      // RFC 9438 §4.2: a new congestion-avoidance epoch.
      this.epochStart = now;
      if (this.wMax > this.cwnd) {
        this.k = Math.cbrt((this.wMax - this.cwnd) / smss / CUBIC_C);
      } else {
        this.k = 0;
        this.wMax = this.cwnd;
      }
      this.wEst = this.cwnd;
    }
    const t = (now - this.epochStart) / 1000;
    const rtt = (srtt ?? 100) / 1000;
    const wCubic = (x: number): number => (CUBIC_C * (x - this.k) ** 3) * smss + this.wMax;
    // RFC 9438 §4.3: the Reno-friendly estimate; α becomes 1 once W_est passes W_max.
    const alpha = this.wEst >= this.wMax ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * smss * acked) / this.cwnd;
    if (wCubic(t) < this.wEst) {
      this.cwnd = Math.max(this.cwnd, this.wEst);
      return;
    }
    // RFC 9438 §4.4–4.5: grow towards W_cubic(t + RTT), bounded by 1.5·cwnd.
    const target = Math.min(Math.max(wCubic(t + rtt), this.cwnd), 1.5 * this.cwnd);
    this.cwnd += ((target - this.cwnd) * acked) / this.cwnd;
  }

  onLoss(_flight: number, smss: number): void {
    this.reduce(smss);
    this.cwnd = this.ssthresh;
  }

  onRto(_flight: number, smss: number): void {
    this.reduce(smss);
    this.cwnd = smss;
  }

  onRecoveryExit(): void {
    this.epochStart = undefined;
  }

  undo(priorCwnd: number, priorSsthresh: number): void {
    this.cwnd = Math.max(this.cwnd, priorCwnd);
    this.ssthresh = Math.max(this.ssthresh, priorSsthresh);
    this.wMax = Math.max(this.wMax, this.priorWMax);
    this.epochStart = undefined;
  }

  private reduce(smss: number): void {
    // RFC 9438 §4.7 fast convergence, §4.6 multiplicative decrease.
    this.priorWMax = this.wMax;
    this.wMax = this.cwnd < this.wMax ? (this.cwnd * (1 + CUBIC_BETA)) / 2 : this.cwnd;
    this.ssthresh = Math.max(Math.floor(this.cwnd * CUBIC_BETA), 2 * smss);
    this.epochStart = undefined;
  }
}
