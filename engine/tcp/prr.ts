// tcp: Proportional Rate Reduction (RFC 6937) — how much may be sent on each ACK during fast
// recovery, so that the window comes down to ssthresh smoothly instead of in one step.

/** RFC 6937 §3 with the Slow Start Reduction Bound (the RFC's recommended variant). */
export class ProportionalRateReduction {
  /** prr_delivered: bytes delivered to the receiver since recovery began. */
  delivered = 0;
  /** prr_out: bytes sent since recovery began. */
  out = 0;
  /** RecoverFS: FlightSize when recovery began. */
  recoverFs = 1;
  /** sndcnt left from the last ACK (bytes). */
  budget = 0;

  /** On entering recovery. */
  start(flightSize: number): void {
    this.delivered = 0;
    this.out = 0;
    this.recoverFs = Math.max(1, flightSize);
    this.budget = 0;
  }

  /**
   * On every ACK during recovery (and on the timer that marks losses, with nothing delivered):
   * sets and returns sndcnt, what may be sent now.
   */
  onAck(deliveredData: number, pipe: number, ssthresh: number, smss: number): number {
    this.delivered += deliveredData;
    let sndcnt: number;
    if (pipe > ssthresh) {
      // Proportional Rate Reduction: send ssthresh/RecoverFS of what was delivered.
      sndcnt = Math.ceil((this.delivered * ssthresh) / this.recoverFs) - this.out;
    } else {
      // Slow Start Reduction Bound: catch up towards ssthresh, at most as fast as slow start.
      const limit = Math.max(this.delivered - this.out, deliveredData) + smss;
      sndcnt = Math.min(ssthresh - pipe, limit);
    }
    // The fast retransmit itself goes out on entering recovery, whatever the arithmetic says
    // (as Linux does; RFC 6937 §3 assumes the retransmission is sent "immediately").
    if (this.out === 0) sndcnt = Math.max(sndcnt, smss);
    this.budget = Math.max(0, sndcnt);
    return this.budget;
  }

  /** On any data transmission or retransmission during recovery. */
  onSend(bytes: number): void {
    this.out += bytes;
    this.budget -= bytes;
  }
}
