// test support for engine/tcp: fixtures that put a connection in a given state, and a scripted peer.

import assert from 'node:assert/strict';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpOption, type TcpRepr } from '../../../engine/wire/tcp';
import {
  SeededRng,
  TcpConnection,
  TcpContext,
  tcpConfig,
  type TcpConfig,
  type TcpEvent,
  type TcpState,
  type TcpTransition,
} from '../../../engine/tcp/index';

export const LOCAL = 0xc6120002; // 198.18.0.2
export const REMOTE = 0xc6120001; // 198.18.0.1
export const LPORT = 40000;
export const RPORT = 9000;
/** The scripted peer's ISS sits just below the 2^32 wrap, so every test crosses it. */
export const PEER_ISS = 0xfffffff0;

/** State tests use plain segments: options off unless a test turns them on. */
export function plainConfig(over: Partial<TcpConfig> = {}): Partial<TcpConfig> {
  return { timestamps: false, sack: false, windowScaling: false, mss: 1000, minRto: 200, initialRto: 1000, ...over };
}

export function flagNames(f: number): string {
  const n: string[] = [];
  if (f & TCP_SYN) n.push('SYN');
  if (f & TCP_FIN) n.push('FIN');
  if (f & TCP_RST) n.push('RST');
  if (f & TCP_PSH) n.push('PSH');
  if (f & TCP_ACK) n.push('ACK');
  return n.join(',') || 'none';
}

export function fmt(s: TcpRepr): string {
  return `<${flagNames(s.flags)} seq=${s.seq >>> 0} ack=${s.ack >>> 0} win=${s.window} len=${s.payload.length}>`;
}

export function u32(n: number): number {
  return n >>> 0;
}

export interface SegWant {
  flags?: number;
  seq?: number;
  ack?: number;
  len?: number;
  window?: number;
}

/** Asserts one segment matches; the message shows got and want. */
export function expectSeg(got: TcpRepr | undefined, want: SegWant, what = 'segment'): TcpRepr {
  const wantText = `<${want.flags !== undefined ? flagNames(want.flags) : '*'} seq=${want.seq !== undefined ? u32(want.seq) : '*'} ack=${
    want.ack !== undefined ? u32(want.ack) : '*'
  } win=${want.window ?? '*'} len=${want.len ?? '*'}>`;
  assert.ok(got !== undefined, `${what}: got nothing, want ${wantText}`);
  const ok =
    (want.flags === undefined || (got.flags & 0x1ff) === want.flags) &&
    (want.seq === undefined || u32(got.seq) === u32(want.seq)) &&
    (want.ack === undefined || u32(got.ack) === u32(want.ack)) &&
    (want.len === undefined || got.payload.length === want.len) &&
    (want.window === undefined || got.window === want.window);
  assert.ok(ok, `${what}: got ${fmt(got)}, want ${wantText}`);
  return got;
}

export function expectNone(got: readonly TcpRepr[], what = 'output'): void {
  assert.equal(got.length, 0, `${what}: got ${got.map(fmt).join(' ')}, want nothing`);
}

export function expectState(c: TcpConnection, want: TcpState): void {
  assert.equal(c.state, want, `state: got ${c.state}, want ${want}`);
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** One connection under test plus a scripted peer that builds segments and tracks its own sequence. */
export class Harness {
  readonly transitions: TcpTransition[] = [];
  readonly events: TcpEvent[] = [];
  readonly ctx: TcpContext;
  conn: TcpConnection;
  now = 0;
  private pid = 1;
  /** The peer's next sequence number and what it acknowledges. */
  peerSeq = PEER_ISS;
  peerAck = 0;
  peerWindow = 65535;
  /** Extra options the peer puts on non-SYN segments (e.g. timestamps). */
  peerOptions: () => TcpOption[] = () => [];

  constructor(over: Partial<TcpConfig> = {}, seed = 7) {
    this.ctx = new TcpContext(tcpConfig({ ...plainConfig(over), onTransition: (t) => this.transitions.push(t) }), new SeededRng(seed));
    this.conn = new TcpConnection(this.ctx, { localAddr: LOCAL, localPort: LPORT, remoteAddr: REMOTE, remotePort: RPORT });
    this.watch(this.conn);
  }

  watch(c: TcpConnection): void {
    this.conn = c;
    c.events = (ev) => this.events.push(ev);
  }

  get iss(): number {
    return this.conn.negotiated.iss;
  }

  /** A segment from the peer; defaults: its next seq, ACK of what it has seen, its window. */
  seg(p: Partial<TcpRepr> & { flags: number }): TcpRepr {
    return {
      srcPort: RPORT,
      dstPort: LPORT,
      seq: u32(p.seq ?? this.peerSeq),
      ack: u32(p.ack ?? (p.flags & TCP_ACK ? this.peerAck : 0)),
      flags: p.flags,
      window: p.window ?? this.peerWindow,
      urgent: 0,
      options: p.options ?? (p.flags & TCP_SYN ? [] : this.peerOptions()),
      payload: p.payload ?? new Uint8Array(0),
    };
  }

  /** Delivers a segment and returns what the connection sends at once. */
  send(p: Partial<TcpRepr> & { flags: number }): readonly TcpRepr[] {
    const s = this.seg(p);
    this.conn.process(s, this.now, this.pid++);
    return this.out();
  }

  out(): readonly TcpRepr[] {
    return this.conn.dispatch(this.now);
  }

  /** Advances virtual time to `t` (or by `dt`) and dispatches. */
  advanceTo(t: number): readonly TcpRepr[] {
    this.now = t;
    return this.out();
  }

  advance(dt: number): readonly TcpRepr[] {
    return this.advanceTo(this.now + dt);
  }

  /** Runs timers until the next deadline fires; returns what was sent then. */
  runToNextTimer(): readonly TcpRepr[] {
    const at = this.conn.pollAt();
    assert.ok(at !== undefined, 'runToNextTimer: no timer armed');
    return this.advanceTo(Math.max(this.now, at));
  }

  lastTransition(): TcpTransition {
    const t = this.transitions[this.transitions.length - 1];
    assert.ok(t !== undefined, 'no transition recorded');
    return t;
  }

  expectTransition(from: TcpState, to: TcpState, event: string): void {
    const found = this.transitions.find((t) => t.from === from && t.to === to && t.event === event);
    assert.ok(
      found !== undefined,
      `transition: got [${this.transitions.map((t) => `${t.from}→${t.to} (${t.event})`).join(', ')}], want ${from}→${to} (${event})`,
    );
  }

  errors(): string[] {
    return this.events.filter((e) => e.kind === 'error').map((e) => (e.kind === 'error' ? e.code : ''));
  }
}

// ───────────── fixtures: a connection in each state ─────────────

/** SYN-SENT: connect() and the SYN has gone out. */
export function synSent(over: Partial<TcpConfig> = {}): { h: Harness; syn: TcpRepr } {
  const h = new Harness(over);
  h.conn.connect(h.now);
  const [syn] = h.out();
  expectSeg(syn, { flags: TCP_SYN, len: 0 }, 'SYN');
  return { h, syn: syn! };
}

/** ESTABLISHED as the active opener: SYN, SYN,ACK from the peer, our ACK. */
export function established(over: Partial<TcpConfig> = {}, peerSynOptions: TcpOption[] = [{ kind: 'mss', value: 1000 }]): Harness {
  const { h, syn } = synSent(over);
  h.peerAck = u32(syn.seq + 1);
  const out = h.send({ flags: TCP_SYN | TCP_ACK, options: peerSynOptions });
  h.peerSeq = u32(PEER_ISS + 1);
  expectSeg(out[0], { flags: TCP_ACK, seq: h.peerAck, ack: h.peerSeq }, 'handshake ACK');
  expectState(h.conn, 'ESTABLISHED');
  return h;
}

/** LISTEN on a TCB with an unspecified remote (RFC-style passive OPEN). */
export function listening(over: Partial<TcpConfig> = {}): Harness {
  const h = new Harness(over);
  h.conn = new TcpConnection(h.ctx, { localAddr: LOCAL, localPort: LPORT, remoteAddr: 0, remotePort: 0 });
  h.watch(h.conn);
  h.conn.listen(h.now);
  return h;
}

/** SYN-RECEIVED after a passive open: the SYN,ACK has gone out. */
export function synReceived(over: Partial<TcpConfig> = {}): { h: Harness; synAck: TcpRepr } {
  const h = listening(over);
  const [synAck] = h.send({ flags: TCP_SYN, seq: PEER_ISS, options: [{ kind: 'mss', value: 1000 }] });
  h.peerSeq = u32(PEER_ISS + 1);
  expectSeg(synAck, { flags: TCP_SYN | TCP_ACK, ack: h.peerSeq }, 'SYN,ACK');
  h.peerAck = u32(synAck!.seq + 1);
  return { h, synAck: synAck! };
}

/** FIN-WAIT-1: close() from ESTABLISHED, FIN sent and not yet acknowledged. */
export function finWait1(over: Partial<TcpConfig> = {}): { h: Harness; fin: TcpRepr } {
  const h = established(over);
  h.conn.close(h.now);
  const [fin] = h.out();
  expectSeg(fin, { flags: TCP_FIN | TCP_ACK, seq: h.peerAck }, 'FIN');
  expectState(h.conn, 'FIN-WAIT-1');
  return { h, fin: fin! };
}

export function finWait2(over: Partial<TcpConfig> = {}): Harness {
  const { h, fin } = finWait1(over);
  h.peerAck = u32(fin.seq + 1);
  expectNone(h.send({ flags: TCP_ACK }), 'reply to ACK of FIN');
  expectState(h.conn, 'FIN-WAIT-2');
  return h;
}

export function closeWait(over: Partial<TcpConfig> = {}): Harness {
  const h = established(over);
  const out = h.send({ flags: TCP_FIN | TCP_ACK });
  h.peerSeq = u32(h.peerSeq + 1);
  expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq }, 'ACK of FIN');
  expectState(h.conn, 'CLOSE-WAIT');
  return h;
}

export function lastAck(over: Partial<TcpConfig> = {}): { h: Harness; fin: TcpRepr } {
  const h = closeWait(over);
  h.conn.close(h.now);
  const [fin] = h.out();
  expectSeg(fin, { flags: TCP_FIN | TCP_ACK, seq: h.peerAck, ack: h.peerSeq }, 'FIN');
  expectState(h.conn, 'LAST-ACK');
  return { h, fin: fin! };
}

export function closing(over: Partial<TcpConfig> = {}): { h: Harness; fin: TcpRepr } {
  const { h, fin } = finWait1(over);
  // The peer's FIN crosses ours: it does not acknowledge our FIN.
  const out = h.send({ flags: TCP_FIN | TCP_ACK });
  h.peerSeq = u32(h.peerSeq + 1);
  expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq }, 'ACK of crossing FIN');
  expectState(h.conn, 'CLOSING');
  return { h, fin };
}

export function timeWait(over: Partial<TcpConfig> = {}): Harness {
  const h = finWait2(over);
  const out = h.send({ flags: TCP_FIN | TCP_ACK });
  h.peerSeq = u32(h.peerSeq + 1);
  expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq }, 'ACK of FIN');
  expectState(h.conn, 'TIME-WAIT');
  return h;
}
