// engine/tcp: every arrow of the RFC 9293 Figure 5 state diagram is taken by some scenario, and
// assorted corner cases that cut across states.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../engine/wire/tcp';
import { LINUX_TCP_CONFIG, TcpListener, type TcpState } from '../../../engine/tcp/index';
import {
  bytes,
  closeWait,
  closing,
  established,
  expectNone,
  expectSeg,
  expectState,
  finWait1,
  finWait2,
  Harness,
  lastAck,
  listening,
  LOCAL,
  LPORT,
  PEER_ISS,
  REMOTE,
  synReceived,
  synSent,
  timeWait,
  u32,
} from './harness';

/** RFC 9293 Figure 5, arrow by arrow. */
const FIGURE_5: [TcpState, TcpState][] = [
  ['CLOSED', 'LISTEN'],
  ['CLOSED', 'SYN-SENT'],
  ['LISTEN', 'CLOSED'],
  ['LISTEN', 'SYN-RECEIVED'],
  ['LISTEN', 'SYN-SENT'],
  ['SYN-SENT', 'CLOSED'],
  ['SYN-SENT', 'SYN-RECEIVED'],
  ['SYN-SENT', 'ESTABLISHED'],
  ['SYN-RECEIVED', 'LISTEN'],
  ['SYN-RECEIVED', 'ESTABLISHED'],
  ['SYN-RECEIVED', 'FIN-WAIT-1'],
  ['ESTABLISHED', 'FIN-WAIT-1'],
  ['ESTABLISHED', 'CLOSE-WAIT'],
  ['FIN-WAIT-1', 'FIN-WAIT-2'],
  ['FIN-WAIT-1', 'CLOSING'],
  ['FIN-WAIT-2', 'TIME-WAIT'],
  ['CLOSING', 'TIME-WAIT'],
  ['CLOSE-WAIT', 'LAST-ACK'],
  ['LAST-ACK', 'CLOSED'],
  ['TIME-WAIT', 'CLOSED'],
];

describe('RFC 9293 Figure 5', () => {
  it('every transition of the diagram is recorded by the fixtures and scenarios', () => {
    const seen = new Set<string>();
    const add = (h: Harness): void => {
      for (const t of h.transitions) seen.add(`${t.from}>${t.to}`);
    };
    add(listening());
    const l = listening();
    l.conn.close(0);
    add(l);
    const s = new Harness();
    s.conn.listen(0);
    s.conn.send(bytes(1), 0);
    add(s);
    const ss = synSent().h;
    ss.conn.close(0);
    add(ss);
    const sim = synSent().h;
    sim.send({ flags: TCP_SYN, seq: PEER_ISS });
    add(sim);
    const sr = synReceived().h;
    sr.send({ flags: TCP_RST });
    add(sr);
    const sr2 = synReceived().h;
    sr2.send({ flags: TCP_ACK });
    add(sr2);
    const sr3 = synReceived().h;
    sr3.conn.shutdownWrite(0);
    add(sr3);
    add(finWait2());
    add(closing().h);
    const cl = closing();
    cl.h.peerAck = u32(cl.fin.seq + 1);
    cl.h.send({ flags: TCP_ACK });
    add(cl.h);
    add(closeWait());
    const la = lastAck();
    la.h.peerAck = u32(la.fin.seq + 1);
    la.h.send({ flags: TCP_ACK });
    add(la.h);
    const tw = timeWait({ msl: 10 });
    tw.runToNextTimer();
    add(tw);
    const missing = FIGURE_5.filter(([f, t]) => !seen.has(`${f}>${t}`)).map(([f, t]) => `${f}→${t}`);
    assert.deepEqual(missing, [], `transitions never taken: ${missing.join(', ')}`);
  });
});

describe('corner cases', () => {
  it('data written in SYN-SENT goes out once the connection is established', () => {
    const { h, syn } = synSent({ noDelay: true });
    assert.equal(h.conn.send(bytes(10), 0), 10);
    h.peerAck = u32(syn.seq + 1);
    const out = h.send({ flags: TCP_SYN | TCP_ACK, options: [{ kind: 'mss', value: 1000 }] });
    expectSeg(out[0], { flags: TCP_ACK | 0x08, len: 10, seq: u32(syn.seq + 1) });
  });

  it('a small usable window is used after the override timeout when nothing is in flight', () => {
    const h = established({ noDelay: true });
    h.send({ flags: TCP_ACK, window: 600 });
    h.conn.send(bytes(5000), 0);
    expectNone(h.out(), 'silly-window avoidance holds 600 bytes against a 65535 maximum window');
    const out = h.runToNextTimer();
    expectSeg(out[0], { len: 600 });
    assert.equal(h.conn.currentTimer.kind, 'retransmit', `timer: got ${h.conn.currentTimer.kind}, want retransmit`);
  });

  it('the Linux profile acknowledges a lone segment after 40 ms', () => {
    const h = established({ delayedAckTimeout: LINUX_TCP_CONFIG.delayedAckTimeout });
    h.send({ flags: TCP_ACK, payload: bytes(10) });
    assert.equal(h.conn.pollAt(), 40);
  });

  it('a listener child whose SYN,ACK is never answered is dropped after synAckRetries', () => {
    const h = new Harness({ synAckRetries: 2 });
    const l = new TcpListener(h.ctx, LOCAL, LPORT, 4);
    const r = l.process(h.seg({ flags: TCP_SYN, seq: PEER_ISS }), REMOTE, LOCAL, 0);
    if (r.kind !== 'spawned') return assert.fail(`got ${r.kind}, want spawned`);
    h.watch(r.conn);
    h.out();
    let synAcks = 0;
    for (let i = 0; i < 5 && r.conn.state !== 'CLOSED'; i++) synAcks += h.runToNextTimer().length;
    assert.equal(synAcks, 2, `SYN,ACK retransmissions: got ${synAcks}, want 2`);
    expectState(r.conn, 'CLOSED');
    assert.equal(l.halfOpen, 0);
  });

  it('closing a listener aborts children that were not accepted', () => {
    const h = new Harness();
    const l = new TcpListener(h.ctx, LOCAL, LPORT, 4);
    const r = l.process(h.seg({ flags: TCP_SYN, seq: PEER_ISS }), REMOTE, LOCAL, 0);
    if (r.kind !== 'spawned') return assert.fail('spawn');
    h.watch(r.conn);
    h.out();
    l.close(0);
    expectState(r.conn, 'CLOSED');
    expectSeg(h.out()[0], { flags: TCP_RST });
  });

  it('a FIN on the SYN,ACK moves straight on to CLOSE-WAIT', () => {
    const { h, syn } = synSent();
    h.peerAck = u32(syn.seq + 1);
    const out = h.send({ flags: TCP_SYN | TCP_ACK | TCP_FIN, options: [{ kind: 'mss', value: 1000 }] });
    expectSeg(out[0], { flags: TCP_ACK, ack: u32(PEER_ISS + 2) });
    expectState(h.conn, 'CLOSE-WAIT');
  });

  it('FIN-WAIT-1 retransmits the FIN with backoff until it is acknowledged', () => {
    const { h, fin } = finWait1({ minRto: 200 });
    const t: number[] = [];
    for (let i = 0; i < 3; i++) {
      expectSeg(h.runToNextTimer()[0], { flags: TCP_FIN | TCP_ACK, seq: fin.seq });
      t.push(h.now);
    }
    assert.ok(t[1]! - t[0]! > t[0]!, `backoff: intervals ${t}`);
    h.peerAck = u32(fin.seq + 1);
    h.send({ flags: TCP_ACK });
    expectState(h.conn, 'FIN-WAIT-2');
  });

  it('a connection in ESTABLISHED answers a keepalive probe from the peer (SEQ = RCV.NXT − 1) with an ACK', () => {
    const h = established();
    expectSeg(h.send({ flags: TCP_ACK, seq: u32(h.peerSeq - 1) })[0], { flags: TCP_ACK, ack: h.peerSeq });
  });

  it('the same seed and inputs give the same ISS', () => {
    const a = synSent().syn;
    const b = synSent().syn;
    assert.equal(a.seq, b.seq);
  });

  it('the CLOSE-WAIT side may finish sending before its FIN', () => {
    const h = closeWait({ noDelay: true });
    h.conn.send(bytes(1500), 0);
    h.conn.close(0);
    const out = h.out();
    assert.deepEqual(out.map((s) => s.payload.length), [1000, 500]);
    assert.ok(out[1]!.flags & TCP_FIN, 'FIN on the last segment');
    expectState(h.conn, 'LAST-ACK');
  });

  it('no timer runs in FIN-WAIT-2 after shutdownWrite() alone, even with the FIN-WAIT-2 timeout configured', () => {
    const h = established({ finWait2Timeout: 1000 });
    h.conn.shutdownWrite(0);
    const [fin] = h.out();
    h.peerAck = u32(fin!.seq + 1);
    h.send({ flags: TCP_ACK });
    expectState(h.conn, 'FIN-WAIT-2');
    assert.equal(h.conn.pollAt(), undefined, `pollAt: got ${h.conn.pollAt()}, want undefined (the socket can still read)`);
  });
});

describe('SYN-SENT: half-close before the handshake', () => {
  it('shutdownWrite() in SYN-SENT sends the FIN once established', () => {
    const { h, syn } = synSent();
    h.conn.shutdownWrite(0);
    expectState(h.conn, 'SYN-SENT');
    h.peerAck = u32(syn.seq + 1);
    const out = h.send({ flags: TCP_SYN | TCP_ACK, options: [{ kind: 'mss', value: 1000 }] });
    expectSeg(out[0], { flags: TCP_FIN | TCP_ACK, seq: u32(syn.seq + 1), ack: u32(PEER_ISS + 1) });
    expectState(h.conn, 'FIN-WAIT-1');
  });
});
