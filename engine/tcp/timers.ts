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
