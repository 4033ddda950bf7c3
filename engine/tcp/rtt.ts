// tcp: the retransmission timeout — RFC 6298 SRTT/RTTVAR estimator with exponential backoff.

/** RFC 6298 §2: alpha = 1/8, beta = 1/4, K = 4; G is the clock granularity (1 ms here). */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
const G = 1;

export class RttEstimator {
  srtt: number | undefined = undefined;
  rttvar: number | undefined = undefined;
  /** The current RTO including backoff (ms). */
  rto: number;
  private baseRto: number;

  constructor(
    initialRto: number,
    private readonly minRto: number,
    private readonly maxRto: number,
  ) {
    this.baseRto = this.clamp(initialRto);
    this.rto = this.baseRto;
  }

  get hasSample(): boolean {
    return this.srtt !== undefined;
  }

  /** RFC 6298 §2.2–2.3: folds in one measurement R (ms) and clears any backoff (§5.7 note). */
  sample(r: number): void {
    if (r < 0) return;
    if (this.srtt === undefined || this.rttvar === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - r);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * r;
    }
    this.baseRto = this.clamp(this.srtt + Math.max(G, K * this.rttvar));
    this.rto = this.baseRto;
  }

  /** RFC 6298 §5.5: back off the timer (double it, bounded by the maximum). */
  backoff(): void {
    this.rto = Math.min(this.rto * 2, this.maxRto);
  }

  /** RFC 6298 §5.7: after a SYN timed out and no sample exists, use 3 s once data flows. */
  resetAfterSynTimeout(): void {
    if (this.srtt === undefined) {
      this.baseRto = this.clamp(3000);
      this.rto = this.baseRto;
    }
  }

  private clamp(v: number): number {
    return Math.min(Math.max(v, this.minRto), this.maxRto);
  }
}
