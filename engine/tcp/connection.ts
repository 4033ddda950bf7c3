// tcp: one connection — the transmission control block and the RFC 9293 state machine.
//
// Boundary: the IP layer hands arriving segments to `process`, asks `dispatch` for segments to
// send, and calls `dispatch` again by `pollAt()`; the socket layer calls the application methods and
// listens to `events`. No clock is read here: every entry point takes `now` (virtual ms).
//
// Deliberately not supported: urgent data (URG is ignored on receipt and never sent; RFC 9293
// §3.8.5 lets a host not implement it usefully), TCP Fast Open (data on a SYN is not delivered;
// the peer retransmits it), ECN (RFC 3168: ECE/CWR are never set and ignored), TCP-MD5 and TCP-AO,
// sending D-SACK blocks (RFC 2883: received ones are used), undo of an RTO (F-RTO, RFC 5682, and
// Eifel, RFC 3522), PRR and RACK-TLP without SACK, HyStart, restart after idle, RFC 1337
// TIME-WAIT assassination protection (a valid RST closes TIME-WAIT, as RFC 9293 and Linux's default
// do), the 24-day TS.Recent invalidation of RFC 7323 §5.5, SYN cookies, and the
// "security/compartment" check of RFC 9293 §3.10.7.4 (third step).
//
// Loss recovery with SACK: RACK-TLP (RFC 8985) detects loss from transmit times and sends tail loss
// probes, RFC 6675 chooses what to (re)send (NextSeg rules 1, 2 and 4, the rescue retransmission),
// PRR (RFC 6937) says how much during fast recovery, and D-SACK (RFC 2883, RFC 3708) undoes the
// response to retransmissions that were not needed and widens RACK's reordering window. Without
// SACK: fast retransmit and NewReno (RFC 5681, RFC 6582). RFC 6298 RTO in both.

import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type SackBlock, type TcpOption, type TcpRepr } from '../wire/tcp';
import { assertNever } from './assert';
import { createCongestion, initialWindow, type CongestionControl } from './congestion';
import type { TcpContext } from './context';
import { findSackBlocks, findTimestamps, NOP, readSynOptions, SACK_PERMITTED, windowShiftFor } from './options';
import { ReceiveQueue } from './receive-queue';
import { ProportionalRateReduction } from './prr';
import { probeTimeout, Rack, SentLog, TailLossProbe, type SentSegment } from './rack';
import { RttEstimator } from './rtt';
import { DUP_THRESH, dsackBlock, SackScoreboard } from './sack';
import { SendQueue } from './send-queue';
import { seq, seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqSub, type Seq } from './seq';
import { TIMER_IDLE, TimerRecords, type TcpTimer } from './timers';
import {
  EV_CLOSED,
  EV_CONNECTED,
  EV_END,
  EV_READABLE,
  EV_WRITABLE,
  TcpUsageError,
  type FourTuple,
  type TcpErrorCode,
  type TcpEvent,
  type TcpState,
  type TcpTransition,
  type TcpVars,
} from './types';

/** What `process` asks of its caller. */
export type ProcessResult =
  | 'ok'
  /** RFC 9293 §3.10.7.4 / RFC 6191: a SYN ended TIME-WAIT; hand it to the listener as a new connection. */
  | 'reopen';

/** How a listener follows the children it spawned. */
export interface ListenerHooks {
  childEstablished(conn: TcpConnection): void;
  childClosed(conn: TcpConnection): void;
}

/** RFC 9293 §3.7.1: the MSS assumed when the peer sends none (IPv4). */
const DEFAULT_PEER_MSS = 536;
/** RFC 7323 §3.2: the TSopt takes 10 bytes, 12 with its alignment NOPs. */
const TS_OVERHEAD = 12;
const EMPTY = new Uint8Array(0);
const NO_SEGMENTS: readonly TcpRepr[] = Object.freeze([]);
const NO_OPTIONS: readonly TcpOption[] = Object.freeze([]);

/** Takes the segments `dispatchTo` makes, one at a time. */
export interface SegmentSink {
  /** `seg`, its option list and its payload are valid only during the call (see `dispatchTo`). */
  sendSegment(seg: TcpRepr): void;
}

/** A segment record `dispatchTo` lends, and the timestamp option list it carries: both rewritten for each segment. */
interface LentSegment {
  readonly seg: { -readonly [K in keyof TcpRepr]: TcpRepr[K] };
  readonly ts: { readonly kind: 'timestamps'; tsVal: number; tsEcr: number };
  readonly tsOptions: readonly TcpOption[];
}

function lentSegment(): LentSegment {
  const ts = { kind: 'timestamps' as const, tsVal: 0, tsEcr: 0 };
  const seg = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, options: NO_OPTIONS, payload: EMPTY };
  return { seg, ts, tsOptions: [NOP, NOP, ts] };
}

export class TcpConnection {
  readonly id: number;
  /** Called for every event; set by the socket layer. */
  events: ((ev: TcpEvent, conn: TcpConnection) => void) | undefined = undefined;

  private _state: TcpState = 'CLOSED';
  private _tuple: FourTuple;
  private readonly cfg;
  private owner: ListenerHooks | undefined = undefined;
  /** Reached SYN-RECEIVED from LISTEN (RFC 9293 note 1 of Figure 5). */
  private passive = false;
  private remoteWildcard = false;

  // RFC 9293 §3.3.1 send sequence variables.
  private iss: Seq = seq(0);
  private sndUna: Seq = seq(0);
  private sndNxt: Seq = seq(0);
  /** The highest sequence number sent (SND.NXT before a go-back-N after RTO). */
  private sndMax: Seq = seq(0);
  private sndWnd = 0;
  private sndWl1: Seq = seq(0);
  private sndWl2: Seq = seq(0);
  private maxSndWnd = 0;
  // Receive sequence variables; RCV.WND is what we offered: rcvAdvRight − RCV.NXT.
  private irs: Seq = seq(0);
  private rcvNxt: Seq = seq(0);
  private rcvAdvRight: Seq = seq(0);

  // Negotiated options.
  private wsAgreed = false;
  private sndShift = 0;
  private rcvShift = 0;
  private sackOk = false;
  private tsOk = false;
  private peerMss = DEFAULT_PEER_MSS;
  /** Eff.snd.MSS: the largest payload we put in a segment. */
  private smss = DEFAULT_PEER_MSS;
  private tsRecent = 0;
  private tsRecentValid = false;
  private readonly tsOffset: number;
  /** Our timestamp clock at the last retransmission timeout. */
  private tsRtoFloor = 0;
  private lastAckSent: Seq = seq(0);

  private readonly sq: SendQueue;
  /** Sequence number of the send queue's first byte. */
  private bufSeq: Seq = seq(0);
  private finQueued = false;
  private readonly rq: ReceiveQueue;
  private rcvFinSeq: Seq | undefined = undefined;
  private finReceived = false;
  private appClosed = false;

  // Acknowledgement policy (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
  private ackNow = false;
  /** When the delayed ACK is due; Infinity when none is (a number field, unboxed: see RttEstimator). */
  private ackDelayAt = Infinity;
  private unackedBytes = 0;
  private rcvMss: number;

  private timer: TcpTimer = TIMER_IDLE;
  private readonly timers = new TimerRecords();
  private retries = 0;
  private synRetransmitted = false;
  private readonly rtt: RttEstimator;
  private rttSeq: Seq | undefined = undefined;
  private rttTime = 0;
  private readonly cc: CongestionControl;

  // Loss recovery (RFC 5681 §3.2, RFC 6582, RFC 6675).
  private dupAcks = 0;
  private inRecovery = false;
  private recover: Seq = seq(0);
  private highRxt: Seq = seq(0);
  private retransmitUna = false;
  private readonly scoreboard = new SackScoreboard();
  // With SACK: RACK-TLP (RFC 8985), PRR (RFC 6937), RescueRxt (RFC 6675) and D-SACK undo (RFC 3708).
  private readonly sent = new SentLog();
  private readonly rack = new Rack();
  private readonly tlp = new TailLossProbe();
  private readonly prr = new ProportionalRateReduction();
  /** After a timeout, until SND.UNA passes `recover` (RFC 6582 §4's recovery point). */
  private rtoRecovery = false;
  /** RFC 6675 §4 RescueRxt: undefined until the episode's rescue retransmission. */
  private rescueRxt: Seq | undefined = undefined;
  /** RACK_detect_loss()'s last answer: ms until the next segment may be deemed lost, 0 if none. */
  private rackTimeout = 0;
  /** The loss probe timer fired and a probe may go out (RFC 8985 §7.3). */
  private probeDue = false;
  /** RFC 3708 undo: where the episode began (undefined: nothing to undo), and what it retransmitted. */
  private undoMarker: Seq | undefined = undefined;
  private undoRetrans = 0;
  private undoRetransSent = false;
  private priorCwnd = 0;
  private priorSsthresh = 0;
  /**
   * RFC 8985 §6.2 steps 1–3 for each segment an ACK delivers, and RACK's loss marks: callbacks made
   * once (a closure per ACK would be garbage at the ACK rate), the ACK's time and TSecr in fields.
   */
  private deliveryNow = 0;
  private deliveryTsEcr = 0;
  private deliveryHasTsEcr = false;
  private readonly onDelivered = (s: SentSegment): void => {
    if (this.rack.delivered(s, this.deliveryNow, this.deliveryHasTsEcr ? this.deliveryTsEcr : undefined)) this.tlp.rttSampled = true;
  };
  private readonly onRackLost = (): void => {
    this.stats.rackLost++;
    this.dirty = true;
  };

  private persistBackoff = 0;
  private persistProbes = 0;
  private forceProbe = false;
  private forceOverride = false;
  private keepaliveProbes = 0;
  private lastRecv = 0;
  private challengeWindowStart = -Infinity;
  private challengeCount = 0;
  private wantWritable = false;

  /** Control segments (RST, challenge ACK, keepalive probe) made when their cause arrived, for the next dispatch. */
  private readonly ctrl: TcpRepr[] = [];
  private dirty = false;
  /** Where the dispatch running now puts its segments: `out[0 .. outCount)`. */
  private out: TcpRepr[] = [];
  private outCount = 0;
  /**
   * `dispatchTo`'s own list and records, kept from one dispatch to the next: while it makes
   * segments (`lending`), `build` fills the next record of `lent` instead of a new object, and
   * payloads are views into the send buffer.
   */
  private readonly lentOut: TcpRepr[] = [];
  private readonly lent: LentSegment[] = [];
  private lentUsed = 0;
  private lendable = false;
  private lending = false;
  /** `dispatchTo` is handing its segments to its sink (whose work may come back into this connection). */
  private handingOut = false;
  private packetId: number | undefined = undefined;
  private now = 0;

  /** Counters for tests and the UI. */
  readonly stats = {
    segmentsSent: 0,
    retransmits: 0,
    fastRetransmits: 0,
    rtoTimeouts: 0,
    /** RFC 8985 §6.2: segments RACK marked lost, and how often its reordering timer did so. */
    rackLost: 0,
    rackTimeouts: 0,
    /** RFC 8985 §7: tail loss probes sent, and the losses they repaired (§7.4.2). */
    lossProbes: 0,
    lossProbeRecoveries: 0,
    /** RFC 6675 §4 NextSeg rule 4. */
    rescueRetransmits: 0,
    /** RFC 2883 D-SACK blocks received, and reductions undone because of them (RFC 3708). */
    dsacks: 0,
    undos: 0,
    challengeAcks: 0,
    challengeAcksSuppressed: 0,
    dropped: 0,
  };

  constructor(
    private readonly ctx: TcpContext,
    tuple: FourTuple,
  ) {
    this.id = ctx.allocId();
    this._tuple = tuple;
    this.cfg = ctx.config;
    this.sq = new SendQueue(this.cfg.sendBufferSize);
    this.rq = new ReceiveQueue(this.cfg.recvBufferSize, this.cfg.maxOooRanges);
    this.rtt = new RttEstimator(this.cfg.initialRto, this.cfg.minRto, this.cfg.maxRto);
    this.cc = createCongestion(this.cfg.congestion, initialWindow(this.cfg.initialCwndSegments, DEFAULT_PEER_MSS));
    this.tsOffset = ctx.rng.nextU32();
    this.tsRtoFloor = this.tsOffset;
    this.rcvMss = this.cfg.mss;
  }

  /** A child of a listener, born in LISTEN to take one SYN (the listener's TCB template). */
  static forListener(ctx: TcpContext, tuple: FourTuple, owner: ListenerHooks): TcpConnection {
    const c = new TcpConnection(ctx, tuple);
    c._state = 'LISTEN';
    c.owner = owner;
    return c;
  }

  get state(): TcpState {
    return this._state;
  }

  get tuple(): FourTuple {
    return this._tuple;
  }

  /** Bytes the application can read now. */
  get readable(): number {
    return this.rq.readable;
  }

  /** The payload of one segment on the wire now (Eff.snd.MSS less the SACK option it will carry): a TSO segment's piece size. */
  get segmentSize(): number {
    return this.payloadLimit();
  }

  /** Bytes received in order since the last ACK we sent (what a coalesced ACK will cover). */
  get unackedReceived(): number {
    return this.unackedBytes;
  }

  /** Bytes `send` would accept now. */
  get writable(): number {
    return this.canSendState() ? this.sq.free : 0;
  }

  /** Bytes written but not yet acknowledged. */
  get unacknowledged(): number {
    return this.sq.length;
  }

  /** Whether the peer's FIN has been received in order. */
  get peerFinished(): boolean {
    return this.finReceived;
  }

  /** Negotiated parameters, for tests and the UI. */
  get negotiated(): { smss: number; sndShift: number; rcvShift: number; sack: boolean; timestamps: boolean; iss: number; irs: number } {
    return { smss: this.smss, sndShift: this.sndShift, rcvShift: this.rcvShift, sack: this.sackOk, timestamps: this.tsOk, iss: this.iss, irs: this.irs };
  }

  get sackScoreboard(): SackScoreboard {
    return this.scoreboard;
  }

  get currentTimer(): TcpTimer {
    return this.timer;
  }

  /** RACK-TLP's view (RFC 8985), for tests and the UI. */
  get lossDetection(): { rtt: number; minRtt: number; reorderingSeen: boolean; reoWndMult: number; inRecovery: boolean; rtoRecovery: boolean; pipe: number } {
    const r = this.rack;
    return { rtt: r.rtt, minRtt: r.minRtt, reorderingSeen: r.reorderingSeen, reoWndMult: r.reoWndMult, inRecovery: this.inRecovery, rtoRecovery: this.rtoRecovery, pipe: this.sent.pipe };
  }

  vars(): TcpVars {
    return {
      sndUna: this.sndUna,
      sndNxt: this.sndNxt,
      sndWnd: this.sndWnd,
      rcvNxt: this.rcvNxt,
      rcvWnd: Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt)),
      cwnd: Math.floor(this.cc.cwnd),
      ssthresh: this.cc.ssthresh,
      srtt: this.rtt.srtt,
      rttvar: this.rtt.rttvar,
      rto: this.rtt.rto,
    };
  }

  /** Demultiplexing: does this TCB own a segment from remote(addr, port) to local(addr, port)? */
  accepts(seg: TcpRepr, srcAddr: number, dstAddr: number): boolean {
    const t = this._tuple;
    if (seg.dstPort !== t.localPort || (t.localAddr !== 0 && dstAddr !== t.localAddr)) return false;
    if (this._state === 'LISTEN' && this.remoteWildcard) return true;
    return seg.srcPort === t.remotePort && srcAddr === t.remoteAddr;
  }

  // ───────────────────────── application calls (RFC 9293 §3.10.1–3.10.6) ─────────────────────────

  /** Passive OPEN (§3.10.1). A remote of 0/0 accepts a SYN from anyone. */
  listen(now: number): void {
    if (this._state !== 'CLOSED') throw new TcpUsageError('EISCONN', `listen() in ${this._state}`);
    this.now = now;
    this.remoteWildcard = this._tuple.remoteAddr === 0 && this._tuple.remotePort === 0;
    this.setState('LISTEN', 'listen()');
  }

  /** Active OPEN (§3.10.1): choose the ISS, send SYN, enter SYN-SENT. */
  connect(now: number): void {
    if (this._state !== 'CLOSED') throw new TcpUsageError('EISCONN', `connect() in ${this._state}`);
    this.now = now;
    this.startActive(now);
    this.setState('SYN-SENT', 'connect()');
  }

  /**
   * SEND (§3.10.2): queue bytes; returns how many fit in the send buffer. In LISTEN with a known
   * remote it turns the connection active (Figure 5: LISTEN → SYN-SENT on SEND).
   */
  send(data: Uint8Array, now: number): number {
    this.now = now;
    switch (this._state) {
      case 'LISTEN':
        if (this.remoteWildcard) throw new TcpUsageError('EINVAL', 'send() in LISTEN with an unspecified remote');
        this.startActive(now);
        this.setState('SYN-SENT', 'send()');
        break;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        if (this.finQueued) throw new TcpUsageError('EPIPE', 'send() after shutdownWrite()');
        break;
      case 'CLOSED':
        throw new TcpUsageError('ENOTCONN', 'send() on a closed connection');
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        throw new TcpUsageError('EPIPE', `send() in ${this._state}: connection closing`);
      default:
        assertNever(this._state);
    }
    const n = this.sq.push(data);
    if (n < data.length) this.wantWritable = true;
    if (n > 0) this.dirty = true;
    return n;
  }

  /** RECEIVE (§3.10.3): copies up to `max` in-order bytes out. */
  recv(max: number): Uint8Array {
    const out = new Uint8Array(Math.min(max, this.rq.readable));
    this.recvInto(out);
    return out;
  }

  /**
   * RECEIVE without a copy: up to `max` in-order bytes in a buffer the caller now owns (a segment's
   * bytes as they were queued when it is large, small ones gathered). Empty when nothing is readable.
   */
  recvChunk(max: number): Uint8Array {
    const out = this.rq.take(max);
    if (out.length > 0) this.maybeWindowUpdate();
    return out;
  }

  /** Like `recv`, into a caller's buffer; returns the count. */
  recvInto(dst: Uint8Array): number {
    const n = this.rq.read(dst);
    if (n > 0) this.maybeWindowUpdate();
    return n;
  }

  /**
   * CLOSE in the RFC's sense (§3.10.4): no more data from us; FIN after what is queued. Recorded as
   * the event `close()`, the RFC's name for the call. In SYN-SENT the FIN waits for the handshake.
   */
  shutdownWrite(now: number): void {
    this.now = now;
    switch (this._state) {
      case 'CLOSED':
        throw new TcpUsageError('ENOTCONN', 'shutdownWrite() on a closed connection');
      case 'LISTEN':
        this.setState('CLOSED', 'close()');
        return;
      case 'SYN-SENT':
        // A socket's half-close before the handshake ends: the FIN waits for ESTABLISHED.
        this.finQueued = true;
        return;
      case 'SYN-RECEIVED':
        // §3.10.4: with nothing queued, send FIN now and enter FIN-WAIT-1; data waits for ESTABLISHED.
        this.finQueued = true;
        this.dirty = true;
        if (this.sq.length === 0) this.setState('FIN-WAIT-1', 'close()');
        return;
      case 'ESTABLISHED':
        this.finQueued = true;
        this.dirty = true;
        this.setState('FIN-WAIT-1', 'close()');
        return;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.dirty = true;
        this.setState('LAST-ACK', 'close()');
        return;
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        return;
      default:
        assertNever(this._state);
    }
  }

  /**
   * The socket's close(): shutdownWrite() and stop reading. Unread data makes it an abort, as
   * RFC 2525 §2.17 recommends; data arriving afterwards is answered with RST.
   */
  close(now: number): void {
    this.now = now;
    if (this._state === 'CLOSED') return;
    this.appClosed = true;
    if (this._state === 'SYN-SENT') {
      // §3.10.4: CLOSE in SYN-SENT deletes the TCB; nothing is sent.
      this.setState('CLOSED', 'close()');
      return;
    }
    if (this.rq.readable > 0 && this.isSynchronized()) {
      this.abort(now);
      return;
    }
    this.shutdownWrite(now);
    if (this._state === 'FIN-WAIT-2') this.armFinWait2(now);
  }

  /** ABORT (§3.10.5): RST to the peer where a connection exists, then CLOSED. */
  abort(now: number): void {
    this.now = now;
    switch (this._state) {
      case 'CLOSED':
        return;
      case 'LISTEN':
      case 'SYN-SENT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        this.setState('CLOSED', 'abort()');
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        this.ctrl.push(this.bare(this.sndMax, 0, TCP_RST));
        this.setState('CLOSED', 'abort()');
        return;
      default:
        assertNever(this._state);
    }
  }

  // ───────────────────────── segment arrival (RFC 9293 §3.10.7) ─────────────────────────

  /**
   * An arriving segment for this TCB. `remoteAddr` is needed only in LISTEN with an unspecified
   * remote, to fill in the foreign socket.
   */
  process(seg: TcpRepr, now: number, packetId?: number, remoteAddr?: number): ProcessResult {
    this.now = now;
    this.packetId = packetId;
    this.dirty = true;
    let result: ProcessResult = 'ok';
    switch (this._state) {
      case 'CLOSED':
        // §3.10.7.1: everything to a CLOSED TCB is answered with a reset (unless it is one).
        this.pushReset(seg);
        break;
      case 'LISTEN':
        this.processListen(seg, now, remoteAddr);
        break;
      case 'SYN-SENT':
        this.processSynSent(seg, now);
        break;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        this.lastRecv = now;
        this.keepaliveProbes = 0;
        result = this.processSynchronized(seg, now);
        break;
      default:
        assertNever(this._state);
    }
    this.packetId = undefined;
    return result;
  }

  /** §3.10.7.2 LISTEN. */
  private processListen(seg: TcpRepr, now: number, remoteAddr: number | undefined): void {
    // first: check for a RST — ignore it.
    if (seg.flags & TCP_RST) return;
    // second: check for an ACK — any ACK is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
    if (seg.flags & TCP_ACK) {
      this.ctrl.push(this.bare(seq(seg.ack), 0, TCP_RST));
      return;
    }
    // third: check for a SYN.
    if (!(seg.flags & TCP_SYN)) return;
    if (this.remoteWildcard) {
      this._tuple = { ...this._tuple, remoteAddr: remoteAddr ?? 0, remotePort: seg.srcPort };
    }
    this.passive = true;
    this.irs = seq(seg.seq);
    this.rcvNxt = seqAdd(this.irs, 1);
    this.negotiate(seg);
    this.iss = this.ctx.isn.isn(this._tuple, now);
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.bufSeq = seqAdd(this.iss, 1);
    this.recover = this.iss;
    this.sndWnd = seg.window;
    this.maxSndWnd = seg.window;
    this.sndWl1 = this.irs;
    this.sndWl2 = this.iss;
    this.rcvAdvRight = seqAdd(this.rcvNxt, this.synWindow());
    this.lastRecv = now;
    // Data and FIN on a SYN are not queued (no TFO): the peer will send them again.
    this.setState('SYN-RECEIVED', 'rcv SYN');
  }

  /** §3.10.7.3 SYN-SENT. */
  private processSynSent(seg: TcpRepr, now: number): void {
    const f = seg.flags;
    const ack = seq(seg.ack);
    // first: check the ACK bit — an ACK outside (ISS, SND.NXT] gets a reset unless it is one.
    let ackOk = false;
    if (f & TCP_ACK) {
      if (seqLe(ack, this.iss) || seqGt(ack, this.sndMax)) {
        if (!(f & TCP_RST)) this.ctrl.push(this.bare(ack, 0, TCP_RST));
        return;
      }
      ackOk = seqLt(this.sndUna, ack) && seqLe(ack, this.sndMax);
    }
    // second: check the RST bit — only with an acceptable ACK (RFC 5961 §3.2 keeps this rule).
    if (f & TCP_RST) {
      if (ackOk) this.fail('ECONNREFUSED', 'rcv RST');
      return;
    }
    // third (security) is not implemented. fourth: check the SYN bit.
    if (!(f & TCP_SYN)) return;
    this.irs = seq(seg.seq);
    this.rcvNxt = seqAdd(this.irs, 1);
    this.negotiate(seg);
    this.rcvAdvRight = seqAdd(this.rcvNxt, this.synWindow());
    this.lastRecv = now;
    if (ackOk) {
      this.ackSynRtt(seg, ack, now);
      this.sndUna = ack;
      if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
      this.retries = 0;
      if (this.timer.kind === 'retransmit') this.timer = TIMER_IDLE;
      this.armRetransmitIfOutstanding(now);
    }
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    this.sndWnd = seg.window;
    this.maxSndWnd = seg.window;
    this.sndWl1 = this.irs;
    this.sndWl2 = ack;
    if (seqGt(this.sndUna, this.iss)) {
      this.ackNow = true;
      this.setState('ESTABLISHED', 'rcv SYN,ACK');
      if (this.finQueued) this.setState('FIN-WAIT-1', 'close()');
      // "continue processing at the sixth step": text and FIN riding on the SYN,ACK.
      this.processText(seg, seqAdd(this.irs, 1), now);
      if (this._state !== 'CLOSED') this.processFin(seg, seqAdd(this.irs, 1 + seg.payload.length), now);
    } else {
      // Simultaneous open: SYN-RECEIVED, and send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
      this.sndNxt = this.iss;
      this.rttSeq = undefined;
      this.setState('SYN-RECEIVED', 'rcv SYN');
    }
  }

  /** §3.10.7.4 the synchronized states (and SYN-RECEIVED). */
  private processSynchronized(seg: TcpRepr, now: number): ProcessResult {
    const f = seg.flags;
    let segSeq = seq(seg.seq);
    let synFlag = (f & TCP_SYN) !== 0;

    if (this._state === 'SYN-RECEIVED' && synFlag && segSeq === this.irs) {
      if (!(f & TCP_ACK) && this.passive) {
        // A retransmitted SYN: our SYN,ACK was lost; send it again (as Linux does) rather than an ACK.
        this.sndNxt = this.iss;
        this.rttSeq = undefined;
        return 'ok';
      }
      if ((f & TCP_ACK) && !this.passive && seq(seg.ack) === this.sndMax) {
        // Simultaneous open (RFC 9293 Figure 8, line 4): the peer's SYN,ACK acknowledges our SYN.
        // Its SYN is old, so only its ACK is new: trim the SYN and go on (Linux does the same).
        segSeq = seqAdd(segSeq, 1);
        synFlag = false;
      }
    }
    if (this._state === 'TIME-WAIT' && synFlag && !(f & (TCP_ACK | TCP_RST))) {
      // RFC 9293 §3.10.7.4 fourth / RFC 6191: a new incarnation may reuse the 4-tuple if its SYN is
      // beyond the old connection (sequence number, or timestamp when both use them).
      const ts = findTimestamps(seg.options);
      const newer = this.tsOk && ts !== undefined ? seqGt(seq(ts.tsVal), seq(this.tsRecent)) : seqGt(segSeq, this.rcvNxt);
      if (newer) {
        this.setState('CLOSED', 'rcv SYN (TIME-WAIT reuse)');
        return 'reopen';
      }
    }
    const payloadLen = seg.payload.length;
    const segLen = payloadLen + (synFlag ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
    const ts = findTimestamps(seg.options);

    // first: PAWS (RFC 7323 §5.3 R1), before the sequence check. RSTs are exempt.
    if (this.tsOk && !(f & TCP_RST)) {
      if (ts === undefined) {
        // RFC 7323 §3.2: a non-RST segment without TSopt on a TS connection is dropped silently.
        this.stats.dropped++;
        return 'ok';
      }
      if (this.tsRecentValid && seqLt(seq(ts.tsVal), seq(this.tsRecent))) {
        this.stats.dropped++;
        this.ackNow = true;
        return 'ok';
      }
    }
    // first: check the sequence number (§3.10.7.4 acceptability table).
    const rcvWnd = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
    if (!this.acceptable(segSeq, segLen, rcvWnd)) {
      this.stats.dropped++;
      if (!(f & TCP_RST)) {
        this.ackNow = true;
        if (this._state === 'TIME-WAIT' && f & TCP_FIN) this.armTimeWait(now);
      }
      return 'ok';
    }
    // RFC 7323 §4.3: remember the peer's timestamp for echoing.
    if (ts !== undefined && this.tsOk && seqGe(seq(ts.tsVal), seq(this.tsRecent)) && seqLe(segSeq, this.lastAckSent)) {
      this.tsRecent = ts.tsVal;
      this.tsRecentValid = true;
    }

    // second: check the RST bit (RFC 5961 §3.2: only an exact match resets; in-window → challenge ACK).
    if (f & TCP_RST) {
      if (segSeq !== this.rcvNxt) {
        this.challengeAck(now);
        return 'ok';
      }
      this.onReset();
      return 'ok';
    }

    // fourth: check the SYN bit (RFC 5961 §4.2: any SYN in a synchronized state → challenge ACK).
    if (synFlag) {
      if (this._state === 'SYN-RECEIVED' && this.passive) {
        this.backToListen('rcv SYN');
        return 'ok';
      }
      this.challengeAck(now);
      return 'ok';
    }

    // fifth: check the ACK field. Without ACK the segment is dropped.
    if (!(f & TCP_ACK)) return 'ok';
    const ack = seq(seg.ack);
    if (this._state === 'SYN-RECEIVED') {
      if (!(seqLt(this.sndUna, ack) && seqLe(ack, this.sndMax))) {
        this.ctrl.push(this.bare(ack, 0, TCP_RST));
        return 'ok';
      }
      this.sndWnd = seg.window << this.sndShift;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = segSeq;
      this.sndWl2 = ack;
      if (this.synRetransmitted) this.rtt.resetAfterSynTimeout();
      this.setState('ESTABLISHED', 'rcv ACK of SYN');
      // A close() while data waited in SYN-RECEIVED takes effect now (§3.10.4).
      if (this.finQueued) this.setState('FIN-WAIT-1', 'close()');
    }
    // RFC 5961 §5.2: acceptable only if SND.UNA − MAX.SND.WND ≤ SEG.ACK ≤ SND.NXT.
    if (seqGt(ack, this.sndMax) || seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd))) {
      this.ackNow = true;
      this.stats.dropped++;
      return 'ok';
    }
    this.onAck(seg, segSeq, ack, ts, now);
    const finAcked = this.finQueued && seqGt(this.sndUna, this.finSeq());
    switch (this._state) {
      case 'FIN-WAIT-1':
        if (finAcked) {
          this.setState('FIN-WAIT-2', 'rcv ACK of FIN');
          if (this.appClosed) this.armFinWait2(now);
        }
        break;
      case 'CLOSING':
        if (finAcked) this.setState('TIME-WAIT', 'rcv ACK of FIN');
        break;
      case 'LAST-ACK':
        if (finAcked) {
          this.setState('CLOSED', 'rcv ACK of FIN');
          return 'ok';
        }
        break;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'TIME-WAIT':
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        break;
      default:
        assertNever(this._state);
    }
    // sixth: the URG bit is ignored (urgent data is not supported).
    // seventh: process the segment text.
    this.processText(seg, segSeq, now);
    if (this._state === 'CLOSED') return 'ok';
    // eighth: check the FIN bit.
    this.processFin(seg, seqAdd(segSeq, payloadLen), now);
    return 'ok';
  }

  /** §3.10.7.4 first: the four-case acceptability test, with the zero-window allowance for ACKs and RSTs. */
  private acceptable(segSeq: Seq, segLen: number, rcvWnd: number): boolean {
    if (rcvWnd === 0) return segSeq === this.rcvNxt;
    const right = seqAdd(this.rcvNxt, rcvWnd);
    const startIn = seqLe(this.rcvNxt, segSeq) && seqLt(segSeq, right);
    if (segLen === 0) return startIn;
    const last = seqAdd(segSeq, segLen - 1);
    return startIn || (seqLe(this.rcvNxt, last) && seqLt(last, right));
  }

  /** §3.10.7.4 fifth, for an acceptable ACK in a synchronized state. */
  private onAck(seg: TcpRepr, segSeq: Seq, ack: Seq, ts: { tsVal: number; tsEcr: number } | undefined, now: number): void {
    const oldWnd = this.sndWnd;
    const priorUna = this.sndUna;
    let sackedNew = 0;
    let blocks: readonly SackBlock[] | undefined = undefined;
    let delivered = 0;
    let dsack: SackBlock | undefined = undefined;
    if (this.sackOk) {
      blocks = findSackBlocks(seg.options);
      if (blocks !== undefined) sackedNew = this.scoreboard.update(seqMax(ack, this.sndUna), this.sndMax, blocks);
      dsack = blocks === undefined ? undefined : dsackBlock(blocks, ack);
      delivered = this.rackDelivered(ack, blocks, dsack, ts, now);
    }
    if (seqGt(ack, this.sndUna)) {
      this.ackNewData(ack, ts, now);
    } else if (
      ack === this.sndUna &&
      seqGt(this.sndMax, this.sndUna) &&
      seg.payload.length === 0 &&
      !(seg.flags & (TCP_SYN | TCP_FIN)) &&
      (seg.window << this.sndShift) === oldWnd &&
      oldWnd > 0 &&
      this.timer.kind !== 'persist'
    ) {
      // RFC 5681 §2 "duplicate acknowledgment" (RFC 6675 §5 also counts SACKs of new data).
      this.onDupAck(sackedNew, now);
    }
    // Window update (§3.10.7.4 fifth): only from a newer segment (SND.WL1/WL2 rule).
    if (seqLt(this.sndWl1, segSeq) || (this.sndWl1 === segSeq && seqLe(this.sndWl2, ack))) {
      this.sndWnd = seg.window << this.sndShift;
      this.sndWl1 = segSeq;
      this.sndWl2 = ack;
      if (this.sndWnd > this.maxSndWnd) this.maxSndWnd = this.sndWnd;
      if (this.sndWnd > 0 && this.timer.kind === 'persist') {
        // The window opened: probe octets not accepted are sent again at once.
        this.timer = TIMER_IDLE;
        this.persistBackoff = 0;
        this.sndNxt = this.sndUna;
        this.armRetransmitIfOutstanding(now);
      }
    }
    // RFC 9293 §3.8.6.1: a peer that keeps acknowledging a zero window keeps the connection alive.
    if (this.sndWnd === 0) {
      this.persistProbes = 0;
      this.retries = 0;
    }
    if (this.sackOk) {
      const pureDupAck = ack === priorUna && blocks === undefined && seg.payload.length === 0 && (seg.window << this.sndShift) === oldWnd;
      this.rackAfterAck(ack, delivered, dsack, pureDupAck, now);
    }
  }

  private ackNewData(ack: Seq, ts: { tsVal: number; tsEcr: number } | undefined, now: number): void {
    let acked = seqSub(ack, this.sndUna);
    if (this.sndUna === this.iss) acked -= 1; // our SYN
    const dataAcked = Math.min(acked, this.sq.length);
    this.sq.consume(dataAcked);
    this.bufSeq = seqAdd(this.bufSeq, dataAcked);
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    if (seqLt(this.highRxt, ack)) this.highRxt = ack;
    this.scoreboard.trim(ack);
    this.retries = 0;

    // RTT (RFC 7323 §4.1 with timestamps; otherwise RFC 6298 §3 with Karn's algorithm).
    if (this.tsOk && ts !== undefined && ts.tsEcr !== 0) {
      // Karn's rule for timestamps: an echo older than our last timeout names a transmission from
      // before it (a stale TS.Recent at the peer), not this exchange — no sample.
      if (seqGe(seq(ts.tsEcr), seq(this.tsRtoFloor))) {
        this.rtt.sample(Math.max(0, (this.tsClock(now) - ts.tsEcr) | 0));
        this.tlp.rttSampled = true;
      }
    } else if (this.rttSeq !== undefined && seqGe(ack, this.rttSeq)) {
      this.rtt.sample(now - this.rttTime);
      this.rttSeq = undefined;
      this.tlp.rttSampled = true;
    }
    if (this.rtoRecovery && seqGe(ack, this.recover)) {
      this.rtoRecovery = false;
      this.rack.onRecoveryExit();
    }

    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        // RFC 6582 §3.2 step 3 (full acknowledgment) / RFC 6675 §5: leave recovery, with cwnd at
        // min(ssthresh, FlightSize + SMSS), the choice that avoids a burst (after PRR too).
        const flight = seqSub(this.sndMax, this.sndUna);
        this.cc.cwnd = Math.min(this.cc.ssthresh, Math.max(flight, this.smss) + this.smss);
        this.inRecovery = false;
        this.cc.onRecoveryExit(now);
        if (this.sackOk) this.rack.onRecoveryExit();
      } else if (this.sackOk) {
        // RFC 6937: during SACK recovery PRR sets what may be sent on each ACK (rackAfterAck).
      } else {
        // RFC 6582 §3.2 step 4 (partial acknowledgment): retransmit the next hole, deflate cwnd.
        this.retransmitUna = true;
        this.cc.cwnd = Math.max(this.cc.cwnd - dataAcked + (dataAcked >= this.smss ? this.smss : 0), this.smss);
      }
    } else if (dataAcked > 0) {
      this.cc.onAck(dataAcked, this.smss, now, this.rtt.srtt);
    }
    this.dupAcks = 0;
    // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it (the RACK and
    // probe timers stand in for it and are re-armed from the new RTO by rackAfterAck).
    const t = this.timer.kind;
    if (t === 'retransmit' || t === 'rack-reorder' || t === 'loss-probe') this.timer = TIMER_IDLE;
    this.armRetransmitIfOutstanding(now);
    if (dataAcked > 0 && this.wantWritable && this.sq.free > 0) {
      this.wantWritable = false;
      this.emit(EV_WRITABLE);
    }
  }

  private onDupAck(sackedNew: number, now: number): void {
    this.dupAcks++;
    // With SACK, RACK decides what is lost and when recovery begins (rackAfterAck).
    if (this.sackOk) return;
    if (this.inRecovery) {
      // RFC 5681 §3.2 step 4: each further duplicate inflates cwnd (without SACK; with SACK the pipe
      // estimate already accounts for the departed segment).
      if (!this.sackOk) this.cc.cwnd += this.smss;
      return;
    }
    // RFC 6675 §5: enter recovery on DupThresh duplicates, or earlier when SACKs show SND.UNA lost.
    const lost = this.sackOk && sackedNew > 0 && this.scoreboard.isLost(this.sndUna, this.smss);
    // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`.
    if ((this.dupAcks >= DUP_THRESH || lost) && seqGt(this.sndUna, this.recover)) this.enterRecovery(now);
  }

  /** RFC 5681 §3.2 steps 2–3 / RFC 6675 §5 (4): fast retransmit and enter loss recovery. */
  private enterRecovery(now: number): void {
    // RFC 5681 §3.1 FlightSize: data sent and not cumulatively acknowledged.
    const flight = seqSub(this.sndMax, this.sndUna);
    this.inRecovery = true;
    this.recover = this.sndMax;
    this.highRxt = this.sndUna;
    this.rttSeq = undefined;
    this.stats.fastRetransmits++;
    if (this.sackOk) {
      // RFC 3708: remember what to restore should D-SACK show every retransmission unneeded.
      this.undoMarker = this.sndUna;
      this.undoRetrans = 0;
      this.undoRetransSent = false;
      this.priorCwnd = this.cc.cwnd;
      this.priorSsthresh = this.cc.ssthresh;
      this.cc.onLoss(flight, this.smss, now);
      // RFC 6937 §3: RecoverFS = snd.nxt − snd.una; RFC 6675 §5 (3): a fresh RescueRxt.
      this.prr.start(flight);
      this.rescueRxt = undefined;
      return;
    }
    this.cc.onLoss(flight, this.smss, now);
    this.cc.cwnd = this.cc.ssthresh + DUP_THRESH * this.smss;
    this.retransmitUna = true;
  }

  // ───────────────────────── RACK-TLP, PRR, D-SACK (RFC 8985, RFC 6937, RFC 3708) ─────────────────────────

  /**
   * RFC 8985 §6.2 steps 1–3 for what this ACK newly delivers (cumulatively, then SACKed blocks in
   * sequence order) and the D-SACK block's meaning. Returns DeliveredData (RFC 6937 §3).
   */
  private rackDelivered(ack: Seq, blocks: readonly SackBlock[] | undefined, dsack: SackBlock | undefined, ts: { tsVal: number; tsEcr: number } | undefined, now: number): number {
    this.deliveryNow = now;
    this.deliveryHasTsEcr = this.tsOk && ts !== undefined;
    this.deliveryTsEcr = ts !== undefined ? ts.tsEcr : 0;
    const visit = this.onDelivered;
    let delivered = 0;
    if (seqGt(ack, this.sndUna) && seqLe(ack, this.sndMax)) delivered += this.sent.ack(ack, visit);
    if (blocks !== undefined) {
      const sacks = dsack === undefined ? blocks.slice() : blocks.slice(1);
      sacks.sort((a, b) => seqSub(seq(a.left), seq(b.left)));
      for (const b of sacks) {
        if (seqGt(seq(b.right), this.sndMax)) continue;
        delivered += this.sent.sack(seq(b.left), seq(b.right), visit);
      }
    }
    if (dsack !== undefined) this.onDsack(seq(dsack.left), seq(dsack.right), now);
    return delivered;
  }

  /**
   * RFC 2883 / RFC 3708: the peer received [left, right) twice. Inside the current episode this
   * means one of its retransmissions was not needed; when that holds for all of them, the
   * congestion response is undone (the RFC 4015 response). A duplicate of retransmitted data is
   * also evidence of reordering (RFC 8985 §6.2 step 4 widens the window per D-SACK round).
   */
  private onDsack(left: Seq, right: Seq, now: number): void {
    this.stats.dsacks++;
    this.rack.reorderingSeen = true;
    if (this.undoMarker === undefined || !seqGe(left, this.undoMarker) || !this.undoRetransSent) return;
    this.undoRetrans -= seqSub(right, left);
    if (this.undoRetrans > 0) return;
    this.cc.undo(this.priorCwnd, this.priorSsthresh);
    this.undoMarker = undefined;
    this.stats.undos++;
    if (this.inRecovery) {
      this.inRecovery = false;
      this.cc.onRecoveryExit(now);
      this.rack.onRecoveryExit();
    }
  }

  /**
   * After an ACK with SACK: RFC 8985 §6.2 step 4 (the D-SACK round), TLP_process_ack (§7.4.2),
   * RACK_detect_loss_and_arm_timer (step 5), fast recovery when something is lost, PRR's sndcnt,
   * and the one timer (§8).
   */
  private rackAfterAck(ack: Seq, delivered: number, dsack: SackBlock | undefined, pureDupAck: boolean, now: number): void {
    this.rack.onAck(this.sndUna, this.sndMax, dsack !== undefined);
    if (this.tlp.onAck(ack, dsack === undefined ? undefined : seq(dsack.right), pureDupAck)) {
      // §7.4.2: the probe repaired a loss: respond as to any loss, once.
      this.stats.lossProbeRecoveries++;
      if (!this.inRecovery && !this.rtoRecovery) this.cc.onLoss(seqSub(this.sndMax, this.sndUna), this.smss, now);
    }
    this.rackDetect(now, delivered);
    this.armLossTimer(now, false);
  }

  /** RACK_detect_loss (RFC 8985 §6.2 step 5), entering fast recovery on a loss, and PRR (RFC 6937 §3). */
  private rackDetect(now: number, delivered: number): void {
    const inAnyRecovery = this.inRecovery || this.rtoRecovery;
    const reoWnd = this.rack.reoWnd(inAnyRecovery, this.sent.sackedBytes, this.smss, this.rtt.srtt);
    this.rackTimeout = this.rack.detectLoss(this.sent, now, reoWnd, this.onRackLost);
    if (this.sent.lostBytes > 0 && !inAnyRecovery) this.enterRecovery(now);
    if (this.inRecovery) {
      const pipe = this.sent.pipe;
      const sndcnt = this.prr.onAck(delivered, pipe, this.cc.ssthresh, this.smss);
      this.cc.cwnd = pipe + sndcnt;
    }
  }

  /** RFC 8985 §7.2: a probe timeout may stand in for the RTO only with SACK, nothing SACKed, and no recovery. */
  private mayScheduleProbe(): boolean {
    return this.sent.sackedBytes === 0 && !this.inRecovery && !this.rtoRecovery && this.sndWnd > 0 && !this.sent.isEmpty;
  }

  /**
   * RFC 8985 §8: the RACK reordering timer, the probe timeout and the RTO share the one timer. The
   * first two remember when the RTO would fire (TCP_RTO_expire()). `afterSend`: new data went out
   * (§7.2 step 1 case 1), which moves a pending probe but not a pending reordering timer.
   */
  private armLossTimer(now: number, afterSend: boolean): void {
    const t = this.timer;
    if (t.kind !== 'idle' && t.kind !== 'retransmit' && t.kind !== 'rack-reorder' && t.kind !== 'loss-probe') return;
    if (afterSend && t.kind === 'rack-reorder') return;
    if (!seqGt(this.sndMax, this.sndUna)) {
      if (t.kind !== 'idle') this.timer = TIMER_IDLE;
      return;
    }
    const rtoAt = t.kind === 'retransmit' ? t.at : t.kind === 'idle' ? now + this.rtt.rto : t.rtoAt;
    if (this.rackTimeout > 0 && !afterSend) {
      this.timer = this.timers.rackReorderAt(Math.min(now + this.rackTimeout, rtoAt), rtoAt);
    } else if (this.mayScheduleProbe()) {
      const at = now + probeTimeout(this.rtt.srtt, seqSub(this.sndMax, this.sndUna), this.smss, now, rtoAt);
      this.timer = this.timers.lossProbeAt(at, rtoAt);
    } else {
      this.timer = this.timers.retransmitAt(rtoAt);
    }
  }

  /** RFC 8985 §6.2 step 5 on the reordering timer: RACK_detect_loss_and_arm_timer(). */
  private onRackTimeout(now: number, rtoAt: number): void {
    this.stats.rackTimeouts++;
    this.timer = this.timers.retransmitAt(rtoAt);
    this.rackDetect(now, 0);
    this.armLossTimer(now, false);
    this.dirty = true;
  }

  /**
   * RFC 8985 §7.3: the probe timer fired. A probe may go out if none is in flight and an RTT was
   * measured since the last; either way the RTO is armed again, not the probe timer.
   */
  private onProbeTimeout(now: number): void {
    this.timer = this.timers.retransmitAt(now + this.rtt.rto);
    if (this.tlp.mayProbe) {
      this.probeDue = true;
      this.dirty = true;
    }
  }

  /**
   * RFC 8985 §7.3 TLP_send_probe(): a new segment if the receive window allows (over cwnd by one
   * segment at most), else the highest-sequence segment sent again. Returns whether one went out.
   */
  private sendProbe(now: number): boolean {
    this.forceOverride = true;
    const sentNew = this.sendNewSegment(now, this.smss);
    this.forceOverride = false;
    if (sentNew) {
      this.tlp.sent(this.sndMax, false);
    } else {
      const last = this.sent.last;
      if (last === undefined) return false;
      const start = seqMax(last.start, seqAdd(last.end, -this.payloadLimit()));
      this.put(this.dataSegment(start, this.unsentFrom(start, last.end), now, true));
      this.tlp.sent(this.sndMax, true);
    }
    this.stats.lossProbes++;
    // "Arm the RTO timer only (not PTO)": RFC 6298 §5.1 for the probe just sent.
    this.timer = this.timers.retransmitAt(now + this.rtt.rto);
    return true;
  }

  /** Per transmitted range: RACK's record (RFC 8985 §6.1), PRR's prr_out, and the undo count. */
  private noteTransmit(at: Seq, end: Seq, retransmission: boolean, now: number): void {
    this.sent.onSend(at, end, now, this.tsClock(now));
    const n = seqSub(end, at);
    if (this.inRecovery) this.prr.onSend(n);
    if (retransmission && this.undoMarker !== undefined) {
      this.undoRetrans += n;
      this.undoRetransSent = true;
    }
  }

  /** §3.10.7.4 seventh: segment text, for ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2. */
  private processText(seg: TcpRepr, dataSeq: Seq, now: number): void {
    const n = seg.payload.length;
    if (n === 0) return;
    if (this._state !== 'ESTABLISHED' && this._state !== 'FIN-WAIT-1' && this._state !== 'FIN-WAIT-2') return;
    let from = 0;
    let at = dataSeq;
    let len = n;
    const before = seqSub(this.rcvNxt, at);
    if (before > 0) {
      if (before >= len) {
        this.ackNow = true; // a duplicate: acknowledge at once (RFC 5681 §4.2)
        return;
      }
      from = before;
      len -= before;
      at = this.rcvNxt;
    }
    const room = seqSub(this.rcvAdvRight, at);
    if (room <= 0) {
      this.ackNow = true;
      return;
    }
    if (len > room) {
      len = room;
      this.ackNow = true;
    }
    if (this.appClosed) {
      // Data after close(): nobody will read it (Linux answers with RST, RFC 2525 §2.17).
      this.ctrl.push(this.bare(this.sndMax, 0, TCP_RST));
      this.setState('CLOSED', 'rcv data after close()');
      return;
    }
    const inOrder = at === this.rcvNxt;
    const hadHoles = this.rq.hasOutOfOrder;
    const adv = this.rq.write(this.rcvNxt, at, seg.payload, from, len);
    if (!inOrder || adv < 0) {
      // RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK with SACK).
      this.ackNow = true;
      if (adv < 0) this.stats.dropped++;
      return;
    }
    this.rcvNxt = seqAdd(this.rcvNxt, adv);
    // The peer's segment size, for the ACK and window rules. A GSO/GRO super-segment is many
    // segments, not a larger one: the estimate stops at the MSS we offered.
    if (len > this.rcvMss) this.rcvMss = Math.min(len, this.cfg.mss);
    this.unackedBytes += adv;
    if (hadHoles) this.ackNow = true; // a segment that fills a gap is acknowledged at once
    if (this.cfg.delayedAckTimeout <= 0 || this.unackedBytes >= 2 * this.rcvMss) this.ackNow = true;
    else if (this.ackDelayAt === Infinity) this.ackDelayAt = now + this.cfg.delayedAckTimeout;
    if (adv > 0) this.emit(EV_READABLE);
  }

  /** §3.10.7.4 eighth: the FIN bit, possibly held until the data before it has arrived. */
  private processFin(seg: TcpRepr, finSeq: Seq, now: number): void {
    if (seg.flags & TCP_FIN && this.rcvFinSeq === undefined && !this.finReceived) {
      if (seqLe(finSeq, this.rcvAdvRight)) this.rcvFinSeq = finSeq;
    }
    if (this._state === 'TIME-WAIT' && seg.flags & TCP_FIN) {
      this.ackNow = true;
      this.armTimeWait(now);
      return;
    }
    if (this.rcvFinSeq === undefined || this.finReceived || this.rcvFinSeq !== this.rcvNxt) return;
    this.finReceived = true;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ackNow = true;
    this.emit(EV_END);
    switch (this._state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.setState('CLOSE-WAIT', 'rcv FIN');
        break;
      case 'FIN-WAIT-1':
        if (this.finQueued && seqGt(this.sndUna, this.finSeq())) this.setState('TIME-WAIT', 'rcv FIN');
        else this.setState('CLOSING', 'rcv FIN');
        break;
      case 'FIN-WAIT-2':
        this.setState('TIME-WAIT', 'rcv FIN');
        break;
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        break;
      default:
        assertNever(this._state);
    }
  }

  /** §3.10.7.4 second, an acceptable RST (SEG.SEQ = RCV.NXT). */
  private onReset(): void {
    switch (this._state) {
      case 'SYN-RECEIVED':
        if (this.passive) this.backToListen('rcv RST');
        else this.fail('ECONNREFUSED', 'rcv RST');
        return;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        this.fail('ECONNRESET', 'rcv RST');
        return;
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        this.setState('CLOSED', 'rcv RST');
        return;
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        return;
      default:
        assertNever(this._state);
    }
  }

  /** Figure 5 note 1: a passive SYN-RECEIVED returns to LISTEN; a listener's child is then discarded. */
  private backToListen(event: string): void {
    this.setState('LISTEN', event);
    this.resetTcbForListen();
    if (this.owner !== undefined) this.setState('CLOSED', 'discard (listener child)');
  }

  private resetTcbForListen(): void {
    if (this.remoteWildcard) this._tuple = { ...this._tuple, remoteAddr: 0, remotePort: 0 };
    this.passive = false;
    this.timer = TIMER_IDLE;
    this.ackNow = false;
    this.ackDelayAt = Infinity;
    this.retries = 0;
    this.synRetransmitted = false;
    this.sndShift = 0;
    this.rcvShift = 0;
    this.sackOk = false;
    this.tsOk = false;
    this.tsRecentValid = false;
  }

  /** RFC 5961 §7: a challenge ACK, at most `challengeAckLimit` per second. */
  private challengeAck(now: number): void {
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.cfg.challengeAckLimit) {
      this.stats.challengeAcksSuppressed++;
      return;
    }
    this.challengeCount++;
    this.stats.challengeAcks++;
    this.ctrl.push(this.bare(this.sndMax, this.rcvNxt, TCP_ACK));
  }

  /** §3.10.7.1: the reply to a segment that has no connection. */
  private pushReset(seg: TcpRepr): void {
    const rst = resetFor(seg);
    if (rst !== undefined) this.ctrl.push(rst);
  }

  // ───────────────────────── timers (RFC 6298, §3.8.6.1, §3.8.4, §3.6) ─────────────────────────

  /** The next time `dispatch` must run: 0 for "now", undefined for "only on input". */
  pollAt(): number | undefined {
    if (this.dirty || this.ctrl.length > 0 || this.ackNow) return 0;
    let at: number | undefined = this.ackDelayAt === Infinity ? undefined : this.ackDelayAt;
    if (this.timer.kind !== 'idle' && (at === undefined || this.timer.at < at)) at = this.timer.at;
    return at;
  }

  /** Runs the timers that are due. `dispatch` calls it first. */
  poll(now: number): void {
    this.now = now;
    if (now >= this.ackDelayAt) {
      this.ackDelayAt = Infinity;
      this.ackNow = true;
    }
    const t = this.timer;
    switch (t.kind) {
      case 'idle':
        return;
      case 'retransmit':
        if (now >= t.at) this.onRetransmitTimeout(now);
        return;
      case 'rack-reorder':
        if (now >= t.at) this.onRackTimeout(now, t.rtoAt);
        return;
      case 'loss-probe':
        if (now >= t.at) this.onProbeTimeout(now);
        return;
      case 'persist':
        if (now >= t.at) this.onPersistTimeout(now);
        return;
      case 'keepalive':
        if (now >= t.at) this.onKeepaliveTimeout(now);
        return;
      case 'time-wait':
        if (now >= t.at) this.setState('CLOSED', 'timeout 2MSL');
        return;
      case 'fin-wait-2':
        if (now >= t.at) this.setState('CLOSED', 'timeout FIN-WAIT-2');
        return;
      default:
        assertNever(t);
    }
  }

  private onRetransmitTimeout(now: number): void {
    const limit =
      this._state === 'SYN-SENT' ? this.cfg.synRetries : this._state === 'SYN-RECEIVED' ? this.cfg.synAckRetries : this.cfg.maxRetries;
    if (this.retries >= limit) {
      this.timer = TIMER_IDLE;
      if (this._state === 'SYN-RECEIVED' && this.passive && this.owner !== undefined) {
        this.backToListen('timeout retransmit');
        return;
      }
      this.fail('ETIMEDOUT', 'timeout retransmit (ETIMEDOUT)');
      return;
    }
    this.retries++;
    this.stats.rtoTimeouts++;
    // RFC 6298 §5.5–5.6: back off and retransmit the earliest unacknowledged segment.
    this.rtt.backoff();
    if (seqGt(this.sndUna, this.iss)) {
      // RFC 5681 §3.1 (4)/(5), RFC 6582 §4: loss window, remember the recovery point.
      this.cc.onRto(seqSub(this.sndMax, this.sndUna), this.smss, now);
      this.recover = this.sndMax;
      this.inRecovery = false;
      // RFC 2018 §8: after a timeout, SACK information is not trusted.
      this.scoreboard.clear();
      this.dupAcks = 0;
      this.retransmitUna = false;
      if (this.sackOk) {
        // RFC 8985 §6.3: RACK_mark_losses_on_RTO(), then the lost segments go out again under the
        // loss window in sequence order (sendData), skipping any the peer SACKs meanwhile.
        this.sent.forgetSacks();
        const reoWnd = this.rack.reoWnd(true, 0, this.smss, this.rtt.srtt);
        this.rack.markLossesOnRto(this.sent, this.sndUna, now, reoWnd, () => {});
        this.rtoRecovery = true;
        this.undoMarker = undefined;
        this.tlp.endSeq = undefined;
        this.probeDue = false;
        this.rackTimeout = 0;
      }
    } else {
      this.synRetransmitted = true;
    }
    // Without SACK, go back N: everything from SND.UNA is sent again.
    if (!this.sackOk || !seqGt(this.sndUna, this.iss)) this.sndNxt = this.sndUna;
    this.highRxt = this.sndUna;
    this.rttSeq = undefined;
    this.tsRtoFloor = this.tsClock(now);
    this.timer = this.timers.retransmitAt(now + this.rtt.rto);
    this.dirty = true;
  }

  private onPersistTimeout(now: number): void {
    this.timer = TIMER_IDLE;
    if (this.pendingUnsent() <= 0) {
      this.armRetransmitIfOutstanding(now);
      return;
    }
    this.persistProbes++;
    if (this.persistProbes > this.cfg.maxRetries) {
      this.fail('ETIMEDOUT', 'timeout persist (ETIMEDOUT)');
      return;
    }
    if (this.sndWnd === 0) this.forceProbe = true;
    else this.forceOverride = true;
    this.persistBackoff++;
    this.timer = this.timers.persistAt(now + this.persistInterval());
    this.dirty = true;
  }

  private onKeepaliveTimeout(now: number): void {
    const ka = this.cfg.keepalive;
    this.timer = TIMER_IDLE;
    if (ka === undefined || (this._state !== 'ESTABLISHED' && this._state !== 'CLOSE-WAIT')) return;
    const idleFor = now - this.lastRecv;
    if (this.keepaliveProbes === 0 && idleFor < ka.idle) {
      this.timer = this.timers.keepaliveAt(this.lastRecv + ka.idle);
      return;
    }
    if (this.keepaliveProbes >= ka.count) {
      this.fail('ETIMEDOUT', 'timeout keepalive (ETIMEDOUT)');
      return;
    }
    this.keepaliveProbes++;
    // RFC 9293 §3.8.4: a probe is a segment with SEG.SEQ = SND.NXT − 1 (the connection is idle,
    // so SND.NXT = SND.MAX), which the peer must ACK.
    this.ctrl.push(this.bare(seqAdd(this.sndMax, -1), this.rcvNxt, TCP_ACK));
    this.timer = this.timers.keepaliveAt(now + ka.interval);
  }

  private persistInterval(): number {
    return Math.min(this.rtt.rto * 2 ** this.persistBackoff, this.cfg.maxRto);
  }

  private armRetransmitIfOutstanding(now: number): void {
    if (seqGt(this.sndMax, this.sndUna) && (this.timer.kind === 'idle' || this.timer.kind === 'keepalive')) {
      this.timer = this.timers.retransmitAt(now + this.rtt.rto);
    }
  }

  private armTimeWait(now: number): void {
    this.timer = this.timers.timeWaitAt(now + 2 * this.cfg.msl);
  }

  private armFinWait2(now: number): void {
    if (this.cfg.finWait2Timeout !== undefined && this._state === 'FIN-WAIT-2') {
      this.timer = this.timers.finWait2At(now + this.cfg.finWait2Timeout);
    }
  }

  // ───────────────────────── output ─────────────────────────

  /**
   * Runs due timers, then returns every segment to send now, each with its own options and payload,
   * for a caller that keeps them. The stack sends with `dispatchTo`, which makes the same segments.
   */
  dispatch(now: number): readonly TcpRepr[] {
    const out: TcpRepr[] = [];
    this.produce(now, out, false);
    return out.length === 0 ? NO_SEGMENTS : out;
  }

  /**
   * `dispatch` for a caller that writes each segment out at once: the same segments, made first and
   * then handed to `sink` one by one. They are lent: records, option lists and payloads (views into
   * the send buffer) that the next dispatchTo uses again, valid only during the sink's call. Should
   * the sink's work come back into this connection (a device that delivers a reply during its
   * transmit), a dispatch from there makes segments of its own.
   */
  dispatchTo(now: number, sink: SegmentSink): void {
    if (this.handingOut) {
      const segs = this.dispatch(now);
      for (let i = 0; i < segs.length; i++) sink.sendSegment(segs[i]);
      return;
    }
    const out = this.lentOut;
    const n = this.produce(now, out, true);
    this.handingOut = true;
    try {
      for (let i = 0; i < n; i++) sink.sendSegment(out[i]);
    } finally {
      this.handingOut = false;
    }
  }

  /** Runs the dispatch, putting segments into `out` (lent ones when `lend`); returns how many. */
  private produce(now: number, out: TcpRepr[], lend: boolean): number {
    const saved = this.out;
    const savedCount = this.outCount;
    this.out = out;
    this.outCount = 0;
    this.lendable = lend;
    this.lentUsed = 0;
    try {
      this.output(now);
      return this.outCount;
    } finally {
      this.out = saved;
      this.outCount = savedCount;
      this.lendable = false;
      this.lending = false;
    }
  }

  private output(now: number): void {
    this.poll(now);
    this.now = now;
    this.dirty = false;
    const ctrl = this.ctrl;
    if (ctrl.length > 0) {
      // Control segments were built (and owned) when their cause arrived; they leave first.
      for (let i = 0; i < ctrl.length; i++) {
        if (ctrl[i].flags & TCP_ACK && !(ctrl[i].flags & TCP_RST)) this.noteAckSent();
        this.put(ctrl[i]);
      }
      ctrl.length = 0;
    }
    switch (this._state) {
      case 'CLOSED':
      case 'LISTEN':
        break;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        // What is made from here on goes out with this dispatch: dispatchTo may lend it.
        this.lending = this.lendable;
        this.dispatchSynchronized(now);
        this.lending = false;
        break;
      default:
        assertNever(this._state);
    }
  }

  private put(seg: TcpRepr): void {
    this.stats.segmentsSent++;
    this.out[this.outCount++] = seg;
  }

  private dispatchSynchronized(now: number): void {
    // Our SYN (or SYN,ACK) when it is due: first transmission or after a timeout.
    if (this.sndNxt === this.iss && this.sndUna === this.iss) {
      const flags = this._state === 'SYN-SENT' ? TCP_SYN : TCP_SYN | TCP_ACK;
      this.put(this.build(this.iss, flags, EMPTY, now));
      this.sndNxt = seqAdd(this.iss, 1);
      this.sndMax = seqMax(this.sndMax, this.sndNxt);
      if (this.rttSeq === undefined && !this.synRetransmitted) {
        this.rttSeq = this.sndNxt;
        this.rttTime = now;
      }
      if (this.timer.kind !== 'retransmit') this.timer = this.timers.retransmitAt(now + this.rtt.rto);
    }
    const synAcked = seqGt(this.sndUna, this.iss);
    const mayFinEarly = this._state === 'FIN-WAIT-1' && this.sq.length === 0 && seqGt(this.sndNxt, this.iss);
    if ((synAcked || mayFinEarly) && this._state !== 'TIME-WAIT') this.sendData(now);
    if (this.ackNow && this._state !== 'SYN-SENT' && (this._state !== 'SYN-RECEIVED' || seqGt(this.sndNxt, this.iss))) {
      // A segment without data carries the next unsent octet: after a go-back-N, SND.NXT lags the
      // peer's RCV.NXT and an ACK stamped with it would be outside the peer's window (as in BSD).
      this.put(this.bare(this.sndMax, this.rcvNxt, TCP_ACK));
      this.noteAckSent();
    }
    this.afterSend(now);
  }

  /** Data and FIN: retransmissions for loss recovery first, then new data. */
  private sendData(now: number): void {
    if (this.sackOk) {
      this.sendDataSack(now);
      return;
    }
    if (this.retransmitUna && seqGt(this.sndMax, this.sndUna)) {
      this.retransmitUna = false;
      const len = Math.min(this.payloadLimit(), this.unsentFrom(this.sndUna, this.sndMax));
      this.put(this.dataSegment(this.sndUna, len, now, true));
    }
    for (let guard = 0; guard < 100_000; guard++) {
      if (!this.sendNewSegment(now, undefined)) break;
    }
  }

  /**
   * With SACK, RFC 6675 §5 NextSeg() in order: (1) the lowest segment RACK deems lost, (2) new data,
   * (4) the rescue retransmission; rule (3), a hole not yet lost, is left to RACK's reordering
   * timer (sending it early is what the reordering window exists to avoid). How much: PRR's sndcnt
   * in fast recovery (RFC 6937), otherwise cwnd less pipe. A due loss probe goes first (RFC 8985 §7.3).
   */
  private sendDataSack(now: number): void {
    if (this.probeDue) {
      this.probeDue = false;
      if (this.sendProbe(now)) return;
    }
    let sentNew = false;
    for (let guard = 0; guard < 100_000; guard++) {
      const room = this.inRecovery ? this.prr.budget : this.cc.cwnd - this.sent.pipe;
      if (room <= 0) break;
      const lost = this.sent.firstLost();
      if (lost !== undefined) {
        const len = Math.min(this.payloadLimit(), this.unsentFrom(lost.start, lost.end));
        if (len > room) break;
        this.put(this.dataSegment(lost.start, len, now, true));
        // A record that the retransmission did not cover (nothing to send at it) must not spin the loop.
        if (this.sent.firstLost() === lost) break;
        continue;
      }
      if (this.sendNewSegment(now, room)) {
        sentNew = true;
        continue;
      }
      if (this.inRecovery && this.sendRescue(now, room)) continue;
      break;
    }
    if (sentNew) this.armLossTimer(now, true);
  }

  /**
   * RFC 6675 §4 NextSeg rule (4): once per recovery episode, when nothing else may be sent, one
   * segment that includes the highest outstanding unSACKed octet. RescueRxt = RecoveryPoint; HighRxt
   * is not touched. It is for the tail above the highest SACK, which no SACK can show lost: a hole
   * below it is RACK's to judge, and an octet already retransmitted is not sent a third time.
   */
  private sendRescue(now: number, room: number): boolean {
    if (this.rescueRxt !== undefined && !seqGt(this.sndUna, this.rescueRxt)) return false;
    // Rule (2) failed for want of data or receive window, not of room.
    const wndRoom = seqSub(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    if (this.pendingUnsent() > 0 && wndRoom > 0) return false;
    const top = this.sent.highestUnsacked();
    if (top === undefined || top.rtxInFlight || top !== this.sent.last) return false;
    const start = seqMax(top.start, seqAdd(top.end, -this.payloadLimit()));
    const len = this.unsentFrom(start, top.end);
    if (len > room) return false;
    this.put(this.dataSegment(start, len, now, true));
    this.rescueRxt = this.recover;
    this.stats.rescueRetransmits++;
    return true;
  }

  /**
   * One segment from SND.NXT, subject to the windows, Nagle (RFC 9293 §3.7.4) and sender-side silly
   * window avoidance (§3.8.6.2.1). Returns false when nothing may be sent.
   */
  private sendNewSegment(now: number, congestionRoom: number | undefined): boolean {
    const dataEnd = seqAdd(this.bufSeq, this.sq.length);
    const avail = Math.max(0, seqSub(dataEnd, this.sndNxt));
    const finPending = this.finQueued && seqLe(this.sndNxt, dataEnd);
    if (avail === 0 && !finPending) return false;
    const flight = seqSub(this.sndNxt, this.sndUna);
    const wndRoom = seqSub(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    let cwndRoom: number;
    if (congestionRoom !== undefined) {
      cwndRoom = congestionRoom;
    } else {
      // RFC 3042 limited transmit: one extra segment for each of the first two duplicate ACKs.
      const limited = this.inRecovery ? 0 : Math.min(this.dupAcks, 2) * this.smss;
      cwndRoom = this.cc.cwnd + limited - flight;
    }
    const retransmission = seqLt(this.sndNxt, this.sndMax);
    // CUBIC keeps a fractional cwnd; segments are whole bytes.
    const limit = this.payloadLimit();
    // TSO: new data may go as one segment of several MSS-sized pieces, which the link cuts.
    const tso = this.cfg.tsoMaxPayload;
    const max = !this.inRecovery && tso > limit ? tso - (tso % limit) : limit;
    let len = Math.floor(Math.min(avail, max, wndRoom, cwndRoom));
    if (len < 0) len = 0;
    // Whole pieces only, unless this is all there is: the rest waits for more data or more room.
    if (len > limit && len < avail) len -= len % limit;
    if (this.forceProbe && this.sndWnd === 0) {
      // RFC 9293 §3.8.6.1: a zero-window probe carries one octet beyond the window; later probes
      // repeat the same octet while it is unacknowledged.
      this.forceProbe = false;
      if (seqGt(this.sndNxt, this.sndUna)) {
        this.put(this.dataSegment(this.sndUna, 1, now, true));
      } else if (avail > 0) {
        this.put(this.dataSegment(this.sndNxt, 1, now, false));
        this.advanceNxt(1);
      }
      return false;
    }
    const fin = finPending && len === avail && (wndRoom >= len);
    if (len === 0 && !fin) return false;
    if (len === 0 && fin && cwndRoom <= 0 && flight > 0) return false;
    if (len < limit && !fin && !retransmission && !this.forceOverride) {
      const idle = flight === 0;
      const allOfIt = len === avail;
      const nagleOk = this.cfg.noDelay || idle;
      // len ≥ max window / 2, in integers: half an odd window is fractional, which sends optimized
      // code that has only seen integers back to the interpreter.
      const big = this.maxSndWnd > 0 && 2 * len >= this.maxSndWnd;
      if (!((allOfIt && nagleOk) || (big && nagleOk))) return false;
    }
    this.forceOverride = false;
    this.put(this.dataSegment(this.sndNxt, len, now, retransmission, fin));
    this.advanceNxt(len + (fin ? 1 : 0));
    return true;
  }

  /**
   * The payload that fits one segment: Eff.snd.MSS less the SACK option this segment will carry
   * (RFC 9293 §3.7.1: the MSS bounds data plus TCP options beyond the base header; the timestamp
   * option is already counted in smss).
   */
  private payloadLimit(): number {
    if (!this.sackOk || !this.rq.hasOutOfOrder) return this.smss;
    const blocks = Math.min(this.rq.outOfOrderRanges, this.tsOk ? 3 : 4);
    return Math.max(1, this.smss - (4 + 8 * blocks));
  }

  private advanceNxt(n: number): void {
    this.sndNxt = seqAdd(this.sndNxt, n);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
  }

  /** Bytes of data (not FIN) from `from` up to `to`. */
  private unsentFrom(from: Seq, to: Seq): number {
    const dataEnd = seqAdd(this.bufSeq, this.sq.length);
    return Math.max(0, seqSub(seqLt(to, dataEnd) ? to : dataEnd, from));
  }

  private dataSegment(at: Seq, len: number, now: number, retransmission: boolean, fin?: boolean): TcpRepr {
    const dataEnd = seqAdd(this.bufSeq, this.sq.length);
    // A retransmission ending where the FIN sat carries the FIN again.
    const withFin = fin ?? (this.finQueued && seqAdd(at, len) === dataEnd && seqGt(this.sndMax, dataEnd));
    const off = seqSub(at, this.bufSeq);
    const payload = len === 0 ? EMPTY : this.lending ? this.sq.view(off, len) : this.sq.copyOut(off, len);
    let flags = TCP_ACK;
    if (len > 0 && seqAdd(at, len) === dataEnd) flags |= TCP_PSH;
    if (withFin) flags |= TCP_FIN;
    if (retransmission) {
      this.stats.retransmits++;
      // Karn's algorithm: no RTT sample across a retransmission.
      this.rttSeq = undefined;
    } else if (!this.tsOk && this.rttSeq === undefined && (len > 0 || withFin)) {
      this.rttSeq = seqAdd(at, len + (withFin ? 1 : 0));
      this.rttTime = now;
    }
    const seg = this.build(at, flags, payload, now);
    if (this.sackOk) this.noteTransmit(at, seqAdd(at, len + (withFin ? 1 : 0)), retransmission, now);
    this.noteAckSent();
    // RFC 6298 §5.1. A zero-window probe stays under the persist timer; anything else that went out
    // while the persist timer ran (as the silly-window override) is covered by retransmission.
    const t = this.timer.kind;
    if (t === 'idle' || t === 'keepalive' || (t === 'persist' && this.sndWnd > 0)) {
      this.timer = this.timers.retransmitAt(now + this.rtt.rto);
    }
    return seg;
  }

  /** After output: persist and keepalive timers. */
  private afterSend(now: number): void {
    if (!this.isSynchronized() || this._state === 'TIME-WAIT') return;
    if (this.timer.kind === 'idle' || this.timer.kind === 'keepalive') {
      const nothingOut = this.sndMax === this.sndUna;
      if (nothingOut && this.pendingUnsent() > 0 && seqGt(this.sndUna, this.iss)) {
        this.timer = this.timers.persistAt(now + this.persistInterval());
        return;
      }
      const ka = this.cfg.keepalive;
      if (this.timer.kind === 'idle' && nothingOut && ka !== undefined && (this._state === 'ESTABLISHED' || this._state === 'CLOSE-WAIT')) {
        this.timer = this.timers.keepaliveAt(this.lastRecv + ka.idle);
      }
    }
  }

  /** Data (or a FIN) queued and not yet sent. */
  private pendingUnsent(): number {
    const dataEnd = seqAdd(this.bufSeq, this.sq.length);
    const d = seqSub(dataEnd, this.sndNxt);
    if (d > 0) return d;
    return this.finQueued && seqLe(this.sndNxt, dataEnd) ? 1 : 0;
  }

  private noteAckSent(): void {
    this.ackNow = false;
    this.ackDelayAt = Infinity;
    this.unackedBytes = 0;
    this.lastAckSent = this.rcvNxt;
  }

  /** A segment without data (ACK, RST, keepalive probe). */
  private bare(at: Seq, ack: Seq | number, flags: number): TcpRepr {
    if (flags & TCP_RST && !(flags & TCP_ACK)) {
      return { srcPort: this._tuple.localPort, dstPort: this._tuple.remotePort, seq: at, ack: 0, flags, window: 0, urgent: 0, options: [], payload: EMPTY };
    }
    return this.build(at, flags, EMPTY, this.now, ack as Seq);
  }

  private build(at: Seq, flags: number, payload: Uint8Array, now: number, ackOverride?: Seq): TcpRepr {
    const syn = (flags & TCP_SYN) !== 0;
    const lent = this.lending ? this.nextLent() : undefined;
    const options = syn ? this.synOptions(flags, now) : this.segmentOptions(flags, now, lent);
    const window = syn ? this.synWindow() : this.advertiseWindow();
    const ack = flags & TCP_ACK ? (ackOverride ?? this.rcvNxt) : 0;
    if (lent === undefined) {
      return { srcPort: this._tuple.localPort, dstPort: this._tuple.remotePort, seq: at, ack, flags, window, urgent: 0, options, payload };
    }
    const r = lent.seg;
    r.srcPort = this._tuple.localPort;
    r.dstPort = this._tuple.remotePort;
    r.seq = at;
    r.ack = ack;
    r.flags = flags;
    r.window = window;
    r.urgent = 0;
    r.options = options;
    r.payload = payload;
    return r;
  }

  /** The next of dispatchTo's records (made the first time a dispatch needs that many). */
  private nextLent(): LentSegment {
    let r = this.lent[this.lentUsed];
    if (r === undefined) {
      r = lentSegment();
      this.lent[this.lentUsed] = r;
    }
    this.lentUsed++;
    return r;
  }

  /** A SYN's options (RFC 9293 §3.7.1, RFC 2018 §2, RFC 7323 §2–3): a SYN,ACK only what the peer offered. */
  private synOptions(flags: number, now: number): TcpOption[] {
    const options: TcpOption[] = [{ kind: 'mss', value: this.cfg.mss }];
    const isSynAck = (flags & TCP_ACK) !== 0;
    if (this.cfg.sack && (!isSynAck || this.sackOk)) options.push(SACK_PERMITTED);
    if (this.cfg.timestamps && (!isSynAck || this.tsOk)) {
      options.push({ kind: 'timestamps', tsVal: this.tsClock(now), tsEcr: isSynAck ? this.tsRecent : 0 });
    }
    if (this.cfg.windowScaling && (!isSynAck || this.wsAgreed)) {
      options.push(NOP, { kind: 'wscale', shift: windowShiftFor(this.cfg.recvBufferSize) });
    }
    return options;
  }

  /**
   * The options of a segment after the SYN: TSopt on every one (RFC 7323 §3.2, in the Appendix A
   * layout) and SACK blocks while data is missing (RFC 2018 §4). A lent segment without SACK blocks
   * (`lent`) carries its record's own list, rewritten: nearly every segment is one of those.
   */
  private segmentOptions(flags: number, now: number, lent: LentSegment | undefined): readonly TcpOption[] {
    const sack = this.sackOk && (flags & TCP_ACK) !== 0 && this.rq.hasOutOfOrder;
    if (!sack && lent !== undefined) {
      if (!this.tsOk) return NO_OPTIONS;
      lent.ts.tsVal = this.tsClock(now);
      lent.ts.tsEcr = this.tsRecent;
      return lent.tsOptions;
    }
    // An array literal for the common case is allocated at its size.
    const options: TcpOption[] = this.tsOk ? [NOP, NOP, { kind: 'timestamps', tsVal: this.tsClock(now), tsEcr: this.tsRecent }] : [];
    if (sack) options.push(NOP, NOP, { kind: 'sack', blocks: this.rq.sackBlocks(this.tsOk ? 3 : 4) });
    return options;
  }

  /** RFC 7323 §2.2: the window in a SYN is not scaled. */
  private synWindow(): number {
    return Math.min(this.rq.free, 0xffff);
  }

  /**
   * The window field to send: never shrinking the right edge already offered (§3.8.6.2.2 / RFC 7323
   * §2.4), and moving it only by at least min(buffer/2, MSS) (receiver silly-window avoidance).
   */
  private advertiseWindow(): number {
    const cur = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
    const wnd = this.windowCandidate(cur);
    const shift = this.rcvShift;
    let field = wnd >>> shift;
    if (field << shift < cur) field = Math.ceil(cur / (1 << shift));
    if (field > 0xffff) field = 0xffff;
    const right = seqAdd(this.rcvNxt, field << shift);
    if (seqGt(right, this.rcvAdvRight)) this.rcvAdvRight = right;
    return field;
  }

  private windowCandidate(cur: number): number {
    const free = this.rq.free;
    if (free <= cur) return cur;
    const step = Math.min(Math.floor(this.rq.capacity / 2), this.rcvMss);
    return free - cur >= step ? free : cur;
  }

  /** After the application read: send a window update if the window grows by enough. */
  private maybeWindowUpdate(): void {
    if (!this.isSynchronized() || this.finReceived) return;
    const cur = Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt));
    const cand = this.windowCandidate(cur);
    const grow = cand - cur;
    if (grow > 0 && (cur < this.rcvMss || grow >= Math.min(Math.floor(this.rq.capacity / 2), 2 * this.rcvMss))) {
      this.ackNow = true;
      this.dirty = true;
    }
  }

  private tsClock(now: number): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  // ───────────────────────── helpers ─────────────────────────

  private startActive(now: number): void {
    this.passive = false;
    this.iss = this.ctx.isn.isn(this._tuple, now);
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.bufSeq = seqAdd(this.iss, 1);
    this.recover = this.iss;
    this.highRxt = this.iss;
    this.dirty = true;
  }

  /** Option negotiation from the peer's SYN (RFC 9293 §3.7.1, RFC 7323 §2–3, RFC 2018 §2). */
  private negotiate(seg: TcpRepr): void {
    const o = readSynOptions(seg.options);
    this.peerMss = o.mss ?? DEFAULT_PEER_MSS;
    this.wsAgreed = this.cfg.windowScaling && o.wscale !== undefined;
    if (this.wsAgreed) {
      this.sndShift = o.wscale!;
      this.rcvShift = windowShiftFor(this.cfg.recvBufferSize);
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
    this.sackOk = this.cfg.sack && o.sackPermitted;
    this.tsOk = this.cfg.timestamps && o.tsVal !== undefined;
    if (this.tsOk) {
      this.tsRecent = o.tsVal!;
      this.tsRecentValid = true;
    }
    this.lastAckSent = this.rcvNxt;
    // Eff.snd.MSS (§3.7.1), less the timestamp option carried on every segment.
    this.smss = Math.max(1, Math.min(this.peerMss, this.cfg.mss) - (this.tsOk ? TS_OVERHEAD : 0));
    this.rcvMss = Math.max(1, this.cfg.mss - (this.tsOk ? TS_OVERHEAD : 0));
    // RFC 5681 §3.1: after a lost SYN or SYN,ACK the initial window is one segment.
    this.cc.cwnd = this.synRetransmitted ? this.smss : initialWindow(this.cfg.initialCwndSegments, this.smss);
  }

  /** RTT from the SYN exchange (timestamps or the timed SYN, Karn applies). */
  private ackSynRtt(seg: TcpRepr, ack: Seq, now: number): void {
    const ts = findTimestamps(seg.options);
    if (this.tsOk && ts !== undefined && ts.tsEcr !== 0) this.rtt.sample(Math.max(0, (this.tsClock(now) - ts.tsEcr) | 0));
    else if (this.rttSeq !== undefined && seqGe(ack, this.rttSeq)) this.rtt.sample(now - this.rttTime);
    this.rttSeq = undefined;
    this.tlp.rttSampled = this.rtt.hasSample;
    if (this.synRetransmitted) this.rtt.resetAfterSynTimeout();
  }

  private finSeq(): Seq {
    return seqAdd(this.bufSeq, this.sq.length);
  }

  private canSendState(): boolean {
    return (
      !this.finQueued &&
      (this._state === 'ESTABLISHED' || this._state === 'CLOSE-WAIT' || this._state === 'SYN-SENT' || this._state === 'SYN-RECEIVED')
    );
  }

  private isSynchronized(): boolean {
    return this._state !== 'CLOSED' && this._state !== 'LISTEN' && this._state !== 'SYN-SENT';
  }

  private fail(code: TcpErrorCode, event: string): void {
    this.emit({ kind: 'error', code });
    this.setState('CLOSED', event);
  }

  private emit(ev: TcpEvent): void {
    this.events?.(ev, this);
  }

  /** The one place a state changes; it records the transition for the UI. */
  private setState(next: TcpState, event: string): void {
    const from = this._state;
    this._state = next;
    this.dirty = true;
    const sink = this.cfg.onTransition;
    if (sink !== undefined) {
      const rec: TcpTransition =
        this.packetId === undefined
          ? { connId: this.id, from, to: next, event, time: this.now, vars: this.vars() }
          : { connId: this.id, from, to: next, event, packetId: this.packetId, time: this.now, vars: this.vars() };
      sink(rec);
    }
    switch (next) {
      case 'ESTABLISHED':
        if (from === 'SYN-SENT' || from === 'SYN-RECEIVED') {
          this.owner?.childEstablished(this);
          this.emit(EV_CONNECTED);
        }
        break;
      case 'TIME-WAIT':
        this.ackDelayAt = Infinity;
        this.armTimeWait(this.now);
        break;
      case 'CLOSED':
        this.timer = TIMER_IDLE;
        this.ackDelayAt = Infinity;
        this.ackNow = false;
        this.owner?.childClosed(this);
        this.emit(EV_CLOSED);
        break;
      case 'LISTEN':
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
        break;
      default:
        assertNever(next);
    }
  }
}

/**
 * RFC 9293 §3.10.7.1 reset generation for a segment that reaches no connection: none for a RST;
 * with ACK <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 */
export function resetFor(seg: TcpRepr): TcpRepr | undefined {
  if (seg.flags & TCP_RST) return undefined;
  const base = { srcPort: seg.dstPort, dstPort: seg.srcPort, window: 0, urgent: 0, options: [], payload: EMPTY };
  if (seg.flags & TCP_ACK) return { ...base, seq: seg.ack >>> 0, ack: 0, flags: TCP_RST };
  const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
  return { ...base, seq: 0, ack: (seg.seq + len) >>> 0, flags: TCP_RST | TCP_ACK };
}
