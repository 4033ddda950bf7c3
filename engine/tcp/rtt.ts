// tcp: the retransmission timeout — RFC 6298 SRTT/RTTVAR estimator with exponential backoff.

/** RFC 6298 §2: alpha = 1/8, beta = 1/4, K = 4; G is the clock granularity (1 ms here). */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
const G = 1;

export class RttEstimator {
  /** The current RTO including backoff (ms). */
  rto: number;
  private baseRto: number;
  /**
   * SRTT and RTTVAR as plain numbers beside a flag, not `number | undefined` fields: V8 keeps a
   * field that only ever holds numbers unboxed, and boxes every value stored in one that may also
   * hold undefined (a sample per ACK would leave two boxes of garbage).
   */
  private sampled = false;
  private srtt_ = 0;
  private rttvar_ = 0;

  constructor(
    initialRto: number,
    private readonly minRto: number,
    private readonly maxRto: number,
  ) {
    this.baseRto = this.clamp(initialRto);
    this.rto = this.baseRto;
  }

  /** SRTT (ms), undefined before the first sample. */
  get srtt(): number | undefined {
    return this.sampled ? this.srtt_ : undefined;
  }

  /** RTTVAR (ms), undefined before the first sample. */
  get rttvar(): number | undefined {
    return this.sampled ? this.rttvar_ : undefined;
  }

  get hasSample(): boolean {
    return this.sampled;
  }

  /** RFC 6298 §2.2–2.3: folds in one measurement R (ms) and clears any backoff (§5.7 note). */
  sample(r: number): void {
    if (r < 0) return;
    if (!this.sampled) {
      this.sampled = true;
      this.srtt_ = r;
      this.rttvar_ = r / 2;
    } else {
      this.rttvar_ = (1 - BETA) * this.rttvar_ + BETA * Math.abs(this.srtt_ - r);
      this.srtt_ = (1 - ALPHA) * this.srtt_ + ALPHA * r;
    }
    this.baseRto = this.clamp(this.srtt_ + Math.max(G, K * this.rttvar_));
    this.rto = this.baseRto;
  }

  /** RFC 6298 §5.5: back off the timer (double it, bounded by the maximum). */
  backoff(): void {
    this.rto = Math.min(this.rto * 2, this.maxRto);
  }

  /** RFC 6298 §5.7: after a SYN timed out and no sample exists, use 3 s once data flows. */
  resetAfterSynTimeout(): void {
    if (!this.sampled) {
      this.baseRto = this.clamp(3000);
      this.rto = this.baseRto;
    }
  }

  private clamp(v: number): number {
    return Math.min(Math.max(v, this.minRto), this.maxRto);
  }
}
