// tcp: the connection's timer — one tagged union, because these timers exclude one another.
// The delayed-ACK deadline runs beside it as a plain field.

export type TcpTimer =
  | { readonly kind: 'idle' }
  /** RFC 6298: retransmission of SYN, data or FIN. */
  | { kind: 'retransmit'; at: number }
  /**
   * RFC 8985 §6.2 step 5: the RACK reordering timer, and §7.2 the tail loss probe timeout. They
   * displace the RTO (§8: one timer, its kind in a state variable) and keep when it would fire.
   */
  | { kind: 'rack-reorder'; at: number; rtoAt: number }
  | { kind: 'loss-probe'; at: number; rtoAt: number }
  /** RFC 9293 §3.8.6.1: zero-window probe (also the sender-SWS override timeout of §3.8.6.2.1). */
  | { kind: 'persist'; at: number }
  /** RFC 9293 §3.8.4 / RFC 1122 §4.2.3.6. */
  | { kind: 'keepalive'; at: number }
  /** 2·MSL in TIME-WAIT (RFC 9293 §3.6). */
  | { kind: 'time-wait'; at: number }
  /** Linux-style bound on FIN-WAIT-2 after close(); off unless configured. */
  | { kind: 'fin-wait-2'; at: number };

export const TIMER_IDLE: TcpTimer = Object.freeze({ kind: 'idle' });

/**
 * The timer records of one connection, one per kind, re-armed in place: a connection arms a timer
 * for nearly every segment it sends or acknowledges, and a fresh record each time would be garbage
 * at that rate. A record stands for the connection's timer only while it is the one in `timer`; a
 * caller that needs a deadline after re-arming reads it first.
 */
export class TimerRecords {
  private readonly retransmit = { kind: 'retransmit' as const, at: 0 };
  private readonly rackReorder = { kind: 'rack-reorder' as const, at: 0, rtoAt: 0 };
  private readonly lossProbe = { kind: 'loss-probe' as const, at: 0, rtoAt: 0 };
  private readonly persist = { kind: 'persist' as const, at: 0 };
  private readonly keepalive = { kind: 'keepalive' as const, at: 0 };
  private readonly timeWait = { kind: 'time-wait' as const, at: 0 };
  private readonly finWait2 = { kind: 'fin-wait-2' as const, at: 0 };

  retransmitAt(at: number): TcpTimer {
    this.retransmit.at = at;
    return this.retransmit;
  }

  rackReorderAt(at: number, rtoAt: number): TcpTimer {
    this.rackReorder.at = at;
    this.rackReorder.rtoAt = rtoAt;
    return this.rackReorder;
  }

  lossProbeAt(at: number, rtoAt: number): TcpTimer {
    this.lossProbe.at = at;
    this.lossProbe.rtoAt = rtoAt;
    return this.lossProbe;
  }

  persistAt(at: number): TcpTimer {
    this.persist.at = at;
    return this.persist;
  }

  keepaliveAt(at: number): TcpTimer {
    this.keepalive.at = at;
    return this.keepalive;
  }

  timeWaitAt(at: number): TcpTimer {
    this.timeWait.at = at;
    return this.timeWait;
  }

  finWait2At(at: number): TcpTimer {
    this.finWait2.at = at;
    return this.finWait2;
  }
}
