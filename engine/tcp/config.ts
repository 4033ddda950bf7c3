// tcp: configuration — every tunable of the engine, with RFC defaults and a Linux-like profile.

import type { TcpTransition } from './types';

export type CongestionKind = 'newreno' | 'cubic';

export interface KeepaliveConfig {
  /** Idle time before the first probe (ms). RFC 1122 §4.2.3.6: no less than two hours by default. */
  readonly idle: number;
  /** Time between unanswered probes (ms). */
  readonly interval: number;
  /** Unanswered probes before the connection fails with ETIMEDOUT. */
  readonly count: number;
}

export interface TcpConfig {
  /** MSS we advertise and the largest payload we send (bytes, before option overhead). */
  readonly mss: number;
  /** Initial window in segments (RFC 6928: 10, capped at max(2·MSS, 14600) bytes when 10). */
  readonly initialCwndSegments: number;
  readonly sendBufferSize: number;
  readonly recvBufferSize: number;
  /** Delayed-ACK timeout (ms); 0 acknowledges every segment at once. RFC 9293 §3.8.6.3: < 500 ms. */
  readonly delayedAckTimeout: number;
  /** RFC 6298 parameters (ms). */
  readonly initialRto: number;
  readonly minRto: number;
  readonly maxRto: number;
  /** Retransmissions of data/FIN before ETIMEDOUT (Linux tcp_retries2). */
  readonly maxRetries: number;
  /** Retransmissions of a SYN before ETIMEDOUT (Linux tcp_syn_retries). */
  readonly synRetries: number;
  /** Retransmissions of a SYN,ACK before the half-open connection is dropped. */
  readonly synAckRetries: number;
  /** Maximum segment lifetime (ms); TIME-WAIT lasts 2·MSL. */
  readonly msl: number;
  readonly sack: boolean;
  readonly timestamps: boolean;
  readonly windowScaling: boolean;
  readonly congestion: CongestionKind;
  /** Disable Nagle's algorithm (TCP_NODELAY). */
  readonly noDelay: boolean;
  readonly keepalive: KeepaliveConfig | undefined;
  /** Upper bound on distinct out-of-order ranges held for reassembly. */
  readonly maxOooRanges: number;
  /** RFC 5961 §7 challenge-ACK throttle: at most this many per connection per second. */
  readonly challengeAckLimit: number;
  /** FIN-WAIT-2 timeout after close() (ms); undefined waits forever as RFC 9293 does. */
  readonly finWait2Timeout: number | undefined;
  /** Half-open connections a listener holds (its SYN queue). */
  readonly synQueueSize: number;
  /**
   * Largest payload of one segment of new data when the link cuts segments itself (TSO): a whole
   * number of MSS-sized pieces, counted byte for byte in the windows like that many segments. 0 (the
   * default): every segment fits the MSS. The stack sets it from its device.
   */
  readonly tsoMaxPayload: number;
  /** Where state transitions go. No global state: this is the only sink. */
  readonly onTransition: ((t: TcpTransition) => void) | undefined;
}

/** Defaults straight from the RFCs. */
export const RFC_TCP_CONFIG: TcpConfig = Object.freeze({
  mss: 1460,
  initialCwndSegments: 10,
  sendBufferSize: 256 * 1024,
  recvBufferSize: 256 * 1024,
  delayedAckTimeout: 200,
  initialRto: 1000,
  minRto: 1000,
  maxRto: 60_000,
  maxRetries: 15,
  synRetries: 6,
  synAckRetries: 5,
  msl: 120_000,
  sack: true,
  timestamps: true,
  windowScaling: true,
  congestion: 'newreno',
  noDelay: false,
  keepalive: undefined,
  maxOooRanges: 64,
  challengeAckLimit: 10,
  finWait2Timeout: undefined,
  synQueueSize: 128,
  tsoMaxPayload: 0,
  onTransition: undefined,
});

/**
 * A profile that behaves like a default Linux host: 200 ms minimum RTO, 40 ms delayed ACK
 * (quick-ACK mode is not modelled), CUBIC, MSL 30 s (TIME-WAIT 60 s), FIN-WAIT-2 timeout 60 s.
 */
export const LINUX_TCP_CONFIG: TcpConfig = Object.freeze({
  ...RFC_TCP_CONFIG,
  delayedAckTimeout: 40,
  minRto: 200,
  congestion: 'cubic',
  msl: 30_000,
  challengeAckLimit: 2,
  finWait2Timeout: 60_000,
  sendBufferSize: 4 * 1024 * 1024,
  recvBufferSize: 6 * 1024 * 1024,
});

export function tcpConfig(overrides: Partial<TcpConfig> = {}, base: TcpConfig = RFC_TCP_CONFIG): TcpConfig {
  return Object.freeze({ ...base, ...overrides });
}
