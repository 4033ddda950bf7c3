// tcp: the vocabulary shared with the socket layer and the UI — states, events, transition records.

/** RFC 9293 §3.3.2 state names, spelled as the RFC spells them. */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export const TCP_STATES: readonly TcpState[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2',
  'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/** A connection's identity. Addresses are opaque numbers to TCP (the IP layer gives them meaning). */
export interface FourTuple {
  readonly localAddr: number;
  readonly localPort: number;
  /** 0 with remotePort 0 means "unspecified" — only for a TCB in LISTEN. */
  readonly remoteAddr: number;
  readonly remotePort: number;
}

/** Error codes as Node's `net` module names them. */
export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT';

/** What a connection tells its socket. */
export type TcpEvent =
  | { readonly kind: 'connected' }
  | { readonly kind: 'readable' }
  | { readonly kind: 'writable' }
  /** The peer's FIN arrived in order: no more data will come. */
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly code: TcpErrorCode }
  /** The TCB is gone (CLOSED). Always the last event. */
  | { readonly kind: 'closed' };

export const EV_CONNECTED: TcpEvent = Object.freeze({ kind: 'connected' });
export const EV_READABLE: TcpEvent = Object.freeze({ kind: 'readable' });
export const EV_WRITABLE: TcpEvent = Object.freeze({ kind: 'writable' });
export const EV_END: TcpEvent = Object.freeze({ kind: 'end' });
export const EV_CLOSED: TcpEvent = Object.freeze({ kind: 'closed' });

/** The TCB variables a transition record snapshots (RFC 9293 §3.3.1 names; sizes in bytes, times in ms). */
export interface TcpVars {
  readonly sndUna: number;
  readonly sndNxt: number;
  readonly sndWnd: number;
  readonly rcvNxt: number;
  readonly rcvWnd: number;
  readonly cwnd: number;
  readonly ssthresh: number;
  /** undefined until the first RTT sample. */
  readonly srtt: number | undefined;
  readonly rttvar: number | undefined;
  readonly rto: number;
}

/** One state change, exactly as the UI steps through it. */
export interface TcpTransition {
  readonly connId: number;
  readonly from: TcpState;
  readonly to: TcpState;
  /** The cause in the RFC diagram's words: `rcv SYN`, `close()`, `timeout 2MSL`, … */
  readonly event: string;
  /** The packet that caused it, when a packet did. */
  readonly packetId?: number;
  readonly time: number;
  readonly vars: TcpVars;
}

/** A call the application made in a state where it is not allowed (RFC 9293 §3.10 "error: …"). */
export class TcpUsageError extends Error {
  constructor(
    readonly code: 'ENOTCONN' | 'EISCONN' | 'EPIPE' | 'EINVAL',
    message: string,
  ) {
    super(message);
    this.name = 'TcpUsageError';
  }
}
