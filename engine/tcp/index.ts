// tcp: the public surface of the TCP engine for the stack and the socket layer.
//
// How the stack drives it (the engine reads no clock and keeps no global state):
//  - one TcpContext per stack instance: the config (with its transition sink) and the seeded RNG;
//  - an arriving segment goes to the TcpConnection whose `accepts(seg, src, dst)` is true, else to
//    the TcpListener on its port (`process` → spawned | reset | drop), else `resetFor(seg)` answers
//    it (RFC 9293 §3.10.7.1). A connection's `process` returning 'reopen' means a SYN ended its
//    TIME-WAIT: drop the old TCB and give the same SYN to the listener;
//  - after input or an application call, and whenever `pollAt()` (0 = now) comes due, call
//    `dispatch(now)` and send what it returns (each segment owns its options and payload), or
//    `dispatchTo(now, sink)`, which makes the same segments and lends them to the sink one by one,
//    valid during its call (reused records: no allocation);
//  - a connection in CLOSED whose `dispatch` returned nothing can be forgotten.

export { TcpConnection, resetFor, type ProcessResult, type ListenerHooks, type SegmentSink } from './connection';
export { TcpListener, type ListenResult } from './listener';
export { TcpContext } from './context';
export { RFC_TCP_CONFIG, LINUX_TCP_CONFIG, tcpConfig, type TcpConfig, type CongestionKind, type KeepaliveConfig } from './config';
export { SeededRng, type Rng } from './rng';
export { seq, seqAdd, seqSub, seqLt, seqLe, seqGt, seqGe, seqMax, seqMin, seqInRange, type Seq } from './seq';
export type { TcpTimer } from './timers';
export {
  TCP_STATES,
  TcpUsageError,
  type FourTuple,
  type TcpErrorCode,
  type TcpEvent,
  type TcpState,
  type TcpTransition,
  type TcpVars,
} from './types';
