// capture: the passive TCP observer for replayed captures — follows RFC 9293's state machine for both
// endpoints of every TCP connection in a file, from the segments it sees, without running either.
//
// Each endpoint is its own trace connection (so each has one line of states the visualizer can step
// through), announced with `observed: true`; every transition it records is flagged OBSERVED: it is
// what the endpoints must have done given the segments on the wire, not a stack's own. A segment
// belongs to the connection of the endpoint it was sent to (whose state it drives); the sender's
// own `snd …` transitions name it too.
//
// What it infers, in RFC 9293 §3.10's words: a SYN opens the connection (the sender goes CLOSED →
// SYN-SENT, the receiver is taken to have been listening: CLOSED → LISTEN → SYN-RECEIVED); SYN,ACK,
// the ACK of a SYN, FIN and its ACK, and RST move each side as §3.10.7.4 does (ACK processing before
// FIN processing, so FIN-WAIT-1 can pass through FIN-WAIT-2 to TIME-WAIT on one segment; an RST in
// SYN-RECEIVED returns a passively opened side to LISTEN). When a side took a FIN is read from what
// it sends next — its ACK of the FIN, or a FIN of its own that does not acknowledge it (the FINs
// crossed: a simultaneous close, CLOSING on both sides) — or from the next segment it is sent (in
// order, so the FIN came first); the transition names the FIN's packet and time. At the end of the
// file a FIN still waiting is taken as having arrived. A SYN for a tuple whose endpoints have
// closed (or sit in TIME-WAIT) starts a new connection (RFC 6191). Not inferred: TIME-WAIT's 2·MSL
// timeout (a replay ends when the file does), retransmission timeouts, and anything that left no
// segment. A capture that starts mid-connection has both sides in ESTABLISHED from their first
// segment, without a transition. Segments are assumed to reach their receiver as the capture saw them.
import type { StackPath } from './nic';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpPacket } from '../wire/tcp';
import { ipv4ToString } from '../wire/address';
import type { ConnectionInfo, TcpStateName, TcpVarsSnapshot } from '../trace/schema';

/** Where the observer's findings go (the NIC). */
export interface ObservedTcpSink {
  /** Announces a connection and returns its trace id. */
  connection(info: Omit<ConnectionInfo, 'connId'>): number;
  transition(path: StackPath, connId: number, from: TcpStateName, to: TcpStateName, event: string, packetId: number, timeMs: number, vars: TcpVarsSnapshot): void;
}

interface Endpoint {
  readonly traceId: number;
  readonly addr: number;
  readonly port: number;
  state: TcpStateName;
  /** Came from LISTEN (a passive open), for RST in SYN-RECEIVED. */
  passive: boolean;
  iss: number | undefined;
  sndUna: number;
  sndNxt: number;
  sndWnd: number;
  rcvNxt: number;
  rcvWnd: number;
  /** The window scale this side offered in its SYN (RFC 7323 §2.2), or undefined. */
  wscale: number | undefined;
  /** The sequence numbers of the FIN this side sent, and of the one it received. */
  finSeq: number | undefined;
  rcvFin: number | undefined;
  /** A FIN sent to this side that it has not shown it took yet (see `settle`). */
  pendingFin: { readonly at: number; readonly packetId: number; readonly timeMs: number } | undefined;
}

interface Conn {
  readonly path: StackPath;
  /** The endpoint that sent the segment that opened it (the initiator), and the other. */
  readonly a: Endpoint;
  readonly b: Endpoint;
  /** Both SYNs offered window scaling (RFC 7323: then windows of non-SYN segments are scaled). */
  scaled: boolean;
}

const CLOSED_LIKE: ReadonlySet<TcpStateName> = new Set(['CLOSED', 'TIME-WAIT']);
const SYNCHRONIZED: ReadonlySet<TcpStateName> = new Set(['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT']);

/** `a` is after `b` in sequence space (RFC 9293 §3.4: modulo 2^32). */
function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export class PassiveTcp {
  private readonly conns = new Map<string, Conn>();
  /** Connections followed so far (both endpoints count once). */
  connections = 0;
  private now = 0;
  private packetId = 0;

  constructor(private readonly sink: ObservedTcpSink) {}

  /**
   * A segment from `src` to `dst`, steered to `path`, that passed the layer checks. `payloadLen` is its
   * data length on the wire (the capture may have kept less). Returns the trace connection it belongs to.
   */
  segment(path: StackPath, src: number, dst: number, seg: TcpPacket, payloadLen: number, packetId: number, nowMs: number): number {
    this.now = nowMs;
    this.packetId = packetId;
    const key = src < dst || (src === dst && seg.srcPort < seg.dstPort) ? `${src}:${seg.srcPort}>${dst}:${seg.dstPort}` : `${dst}:${seg.dstPort}>${src}:${seg.srcPort}`;
    const syn = (seg.flags & TCP_SYN) !== 0;
    const ack = (seg.flags & TCP_ACK) !== 0;
    let c = this.conns.get(key);
    if (c !== undefined && syn && !ack) {
      const s = c.a.addr === src && c.a.port === seg.srcPort ? c.a : c.b;
      // A new SYN (not a retransmission) where the sender has closed: a new incarnation (RFC 6191).
      if (CLOSED_LIKE.has(s.state) && s.iss !== seg.seq) {
        const other = s === c.a ? c.b : c.a;
        if (other.state === 'TIME-WAIT') this.move(c, other, 'CLOSED', 'new SYN for the tuple (RFC 6191)');
        if (s.state === 'TIME-WAIT') this.move(c, s, 'CLOSED', 'snd SYN for the tuple (RFC 6191)');
        c = undefined;
      }
    }
    if (c === undefined) {
      if ((seg.flags & TCP_RST) !== 0) return 0;
      c = this.open(key, path, src, dst, seg);
    }
    const sender = c.a.addr === src && c.a.port === seg.srcPort ? c.a : c.b;
    const receiver = sender === c.a ? c.b : c.a;
    // A FIN the sender was sent: taken before this segment left if this segment acknowledges it.
    const p = sender.pendingFin;
    if (p !== undefined && (seg.flags & TCP_ACK) !== 0 && seqGt(seg.ack, p.at)) this.takeFin(c, sender);
    this.sent(c, sender, seg, payloadLen);
    // A FIN the receiver was sent before this segment (segments arrive in order): taken before this one.
    const q = receiver.pendingFin;
    if (q !== undefined && seqGt(seg.seq, q.at)) this.takeFin(c, receiver);
    this.received(c, receiver, sender, seg, payloadLen);
    return receiver.traceId;
  }

  /** The end of the capture: FINs still waiting are taken as having arrived. */
  flush(): void {
    for (const c of this.conns.values()) {
      if (c.a.pendingFin !== undefined) this.takeFin(c, c.a);
      if (c.b.pendingFin !== undefined) this.takeFin(c, c.b);
    }
  }

  /** A connection first seen now: by its opening SYN, or (without one) mid-way. */
  private open(key: string, path: StackPath, src: number, dst: number, seg: TcpPacket): Conn {
    const syn = (seg.flags & TCP_SYN) !== 0;
    const ack = (seg.flags & TCP_ACK) !== 0;
    // The initiator: the SYN's sender, or the receiver of a SYN,ACK whose SYN the capture missed.
    const senderStarts = !(syn && ack);
    const mid = !syn;
    const [ia, ip, ra, rp] = senderStarts ? [src, seg.srcPort, dst, seg.dstPort] : [dst, seg.dstPort, src, seg.srcPort];
    const endpoint = (addr: number, port: number, peer: number, peerPort: number, open: 'active' | 'passive'): Endpoint => {
      const traceId = this.sink.connection({
        stack: path,
        localAddress: ipv4ToString(addr),
        localPort: port,
        remoteAddress: ipv4ToString(peer),
        remotePort: peerPort,
        open,
        observed: true,
      });
      return { traceId, addr, port, state: mid ? 'ESTABLISHED' : 'CLOSED', passive: open === 'passive', iss: undefined, sndUna: NaN, sndNxt: NaN, sndWnd: NaN, rcvNxt: NaN, rcvWnd: NaN, wscale: undefined, finSeq: undefined, rcvFin: undefined, pendingFin: undefined };
    };
    const c: Conn = { path, a: endpoint(ia, ip, ra, rp, 'active'), b: endpoint(ra, rp, ia, ip, 'passive'), scaled: false };
    this.conns.set(key, c);
    this.connections++;
    if (mid) {
      // Joined mid-connection: what each side has sent and acknowledged starts at this segment.
      const s = senderStarts ? c.a : c.b;
      const r = s === c.a ? c.b : c.a;
      s.sndUna = s.sndNxt = seg.seq;
      r.rcvNxt = seg.seq;
      if (ack) {
        r.sndUna = r.sndNxt = seg.ack;
        s.rcvNxt = seg.ack;
      }
      return c;
    }
    this.move(c, c.b, 'LISTEN', 'passive OPEN (inferred: the capture begins with the SYN)', 0);
    if (!senderStarts) {
      // A SYN,ACK with no SYN before it in the capture: the SYN went by unseen.
      this.move(c, c.a, 'SYN-SENT', 'snd SYN (not in the capture)', 0);
      this.move(c, c.b, 'SYN-RECEIVED', 'rcv SYN (not in the capture)', 0);
      c.a.iss = (seg.ack - 1) >>> 0;
      c.a.sndUna = c.a.iss;
      c.a.sndNxt = seg.ack;
      c.b.rcvNxt = seg.ack;
    }
    return c;
  }

  /** RFC 9293 §3.10.4 (SEND, CLOSE) as seen on the wire: what sending this segment says about its sender. */
  private sent(c: Conn, s: Endpoint, seg: TcpPacket, payloadLen: number): void {
    const f = seg.flags;
    const syn = (f & TCP_SYN) !== 0;
    const fin = (f & TCP_FIN) !== 0;
    if ((f & TCP_RST) !== 0) {
      if (s.state !== 'CLOSED' && s.state !== 'LISTEN') this.move(c, s, 'CLOSED', 'snd RST');
      return;
    }
    if (syn) {
      if (s.iss === undefined || s.iss !== seg.seq) {
        s.iss = seg.seq;
        s.sndUna = seg.seq;
        s.wscale = wscaleOf(seg);
      }
      if (s.state === 'CLOSED') this.move(c, s, 'SYN-SENT', 'snd SYN');
      if ((f & TCP_ACK) !== 0) c.scaled = c.a.wscale !== undefined && c.b.wscale !== undefined;
    }
    const end = (seg.seq + payloadLen + (syn ? 1 : 0) + (fin ? 1 : 0)) >>> 0;
    if (Number.isNaN(s.sndNxt) || seqGt(end, s.sndNxt)) s.sndNxt = end;
    if ((f & TCP_ACK) !== 0) {
      if (Number.isNaN(s.rcvNxt) || seqGt(seg.ack, s.rcvNxt)) s.rcvNxt = seg.ack;
      s.rcvWnd = seg.window << (c.scaled && !syn ? (s.wscale ?? 0) : 0);
    }
    if (fin) {
      const at = (seg.seq + payloadLen + (syn ? 1 : 0)) >>> 0;
      if (s.finSeq === at) return; // a retransmitted FIN
      s.finSeq = at;
      if (s.state === 'ESTABLISHED' || s.state === 'SYN-RECEIVED') this.move(c, s, 'FIN-WAIT-1', 'snd FIN');
      else if (s.state === 'CLOSE-WAIT') this.move(c, s, 'LAST-ACK', 'snd FIN');
    }
  }

  /** RFC 9293 §3.10.7 (SEGMENT ARRIVES) for the receiver, in its order: RST, SYN, ACK, then FIN. */
  private received(c: Conn, r: Endpoint, s: Endpoint, seg: TcpPacket, payloadLen: number): void {
    const f = seg.flags;
    const syn = (f & TCP_SYN) !== 0;
    const ack = (f & TCP_ACK) !== 0;
    // §3.10.7.3 SYN-SENT / §3.10.7.4: a reset ends the connection (a passive open goes back to LISTEN).
    if ((f & TCP_RST) !== 0) {
      if (r.state === 'SYN-SENT') {
        if (ack && r.sndNxt === seg.ack) this.move(c, r, 'CLOSED', 'rcv RST');
      } else if (r.state === 'SYN-RECEIVED') this.move(c, r, r.passive ? 'LISTEN' : 'CLOSED', 'rcv RST');
      else if (SYNCHRONIZED.has(r.state)) this.move(c, r, 'CLOSED', 'rcv RST');
      return;
    }
    if (syn) {
      if (r.state === 'LISTEN' && !ack) {
        r.rcvNxt = (seg.seq + 1) >>> 0;
        this.move(c, r, 'SYN-RECEIVED', 'rcv SYN');
      } else if (r.state === 'SYN-SENT') {
        r.rcvNxt = (seg.seq + 1) >>> 0;
        // §3.10.7.3: with an ACK of our SYN the connection is open; without, a simultaneous open.
        if (ack && r.iss !== undefined && seqGt(seg.ack, r.iss)) {
          r.sndUna = seg.ack;
          this.move(c, r, 'ESTABLISHED', 'rcv SYN,ACK');
        } else if (!ack) this.move(c, r, 'SYN-RECEIVED', 'rcv SYN');
      }
    }
    if (ack) {
      if (Number.isNaN(r.sndUna) || seqGt(seg.ack, r.sndUna)) r.sndUna = seg.ack;
      r.sndWnd = seg.window << (c.scaled && !syn ? (s.wscale ?? 0) : 0);
      const ackedSyn = r.iss !== undefined && seqGt(seg.ack, r.iss);
      const ackedFin = r.finSeq !== undefined && seqGt(seg.ack, r.finSeq);
      // §3.10.7.4 fifth step, by state.
      if (r.state === 'SYN-RECEIVED' && ackedSyn && !syn) this.move(c, r, 'ESTABLISHED', 'rcv ACK of SYN');
      if (ackedFin) {
        if (r.state === 'FIN-WAIT-1') this.move(c, r, 'FIN-WAIT-2', 'rcv ACK of FIN');
        else if (r.state === 'CLOSING') this.move(c, r, 'TIME-WAIT', 'rcv ACK of FIN');
        else if (r.state === 'LAST-ACK') this.move(c, r, 'CLOSED', 'rcv ACK of FIN');
      }
    }
    if ((f & TCP_FIN) !== 0) {
      const at = (seg.seq + payloadLen + (syn ? 1 : 0)) >>> 0;
      // A FIN the receiver has already taken (a retransmission) changes nothing.
      if (r.rcvFin === at || r.pendingFin?.at === at) return;
      // When the receiver takes it is known from what it sends next: its ACK of the FIN, or a FIN of
      // its own that does not acknowledge it (the two FINs crossed: a simultaneous close).
      r.pendingFin = { at, packetId: this.packetId, timeMs: this.now };
      return;
    }
    const end = (seg.seq + payloadLen) >>> 0;
    if (payloadLen > 0 && (Number.isNaN(r.rcvNxt) || seqGe(end, r.rcvNxt))) r.rcvNxt = end;
  }

  /** §3.10.7.4 eighth step: the receiver takes the FIN it was sent (the transition names the FIN's packet). */
  private takeFin(c: Conn, r: Endpoint): void {
    const p = r.pendingFin!;
    r.pendingFin = undefined;
    r.rcvFin = p.at;
    r.rcvNxt = (p.at + 1) >>> 0;
    const to = r.state === 'ESTABLISHED' || r.state === 'SYN-RECEIVED' ? 'CLOSE-WAIT' : r.state === 'FIN-WAIT-1' ? 'CLOSING' : r.state === 'FIN-WAIT-2' ? 'TIME-WAIT' : undefined;
    if (to !== undefined) this.move(c, r, to, 'rcv FIN', p.packetId, p.timeMs);
  }

  private move(c: Conn, e: Endpoint, to: TcpStateName, event: string, packetId = this.packetId, timeMs = this.now): void {
    const from = e.state;
    if (from === to) return;
    e.state = to;
    const vars: TcpVarsSnapshot = {
      sndUna: e.sndUna,
      sndNxt: e.sndNxt,
      sndWnd: e.sndWnd,
      rcvNxt: e.rcvNxt,
      rcvWnd: e.rcvWnd,
      // A passive observer cannot see the sender's congestion state or timers.
      cwnd: NaN,
      ssthresh: NaN,
      srtt: undefined,
      rttvar: undefined,
      rto: NaN,
    };
    this.sink.transition(c.path, e.traceId, from, to, event, packetId, timeMs, vars);
  }
}

function wscaleOf(seg: TcpPacket): number | undefined {
  for (const o of seg.options) if (o.kind === 'wscale') return Math.min(14, o.shift);
  return undefined;
}
