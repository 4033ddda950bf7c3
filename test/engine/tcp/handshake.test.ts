// engine/tcp: opening — CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED, simultaneous open, the listener.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../engine/wire/tcp';
import { TcpConnection, TcpListener, TcpUsageError } from '../../../engine/tcp/index';
import {
  expectNone,
  expectSeg,
  expectState,
  Harness,
  listening,
  LOCAL,
  LPORT,
  PEER_ISS,
  REMOTE,
  RPORT,
  synReceived,
  synSent,
  u32,
  established,
} from './harness';

describe('CLOSED', () => {
  it('connect() sends a SYN with the MSS option and enters SYN-SENT', () => {
    const { h, syn } = synSent();
    expectState(h.conn, 'SYN-SENT');
    assert.deepEqual(syn.options.find((o) => o.kind === 'mss'), { kind: 'mss', value: 1000 });
    h.expectTransition('CLOSED', 'SYN-SENT', 'connect()');
  });

  it('listen() enters LISTEN', () => {
    const h = listening();
    expectState(h.conn, 'LISTEN');
    h.expectTransition('CLOSED', 'LISTEN', 'listen()');
  });

  it('a segment to a CLOSED TCB without ACK is answered with RST,ACK acknowledging it', () => {
    const h = new Harness();
    const out = h.send({ flags: TCP_SYN, seq: 100 });
    expectSeg(out[0], { flags: TCP_RST | TCP_ACK, seq: 0, ack: 101 });
  });

  it('a segment to a CLOSED TCB with ACK is answered with RST at its ACK number', () => {
    const h = new Harness();
    const out = h.send({ flags: TCP_ACK, seq: 100, ack: 777, payload: new Uint8Array(5) });
    expectSeg(out[0], { flags: TCP_RST, seq: 777 });
  });

  it('a RST to a CLOSED TCB is not answered', () => {
    const h = new Harness();
    expectNone(h.send({ flags: TCP_RST, seq: 100 }));
  });

  it('send() on a closed connection is a usage error', () => {
    const h = new Harness();
    assert.throws(() => h.conn.send(new Uint8Array(1), 0), TcpUsageError);
  });

  it('the ISN differs between 4-tuples and grows with the clock (RFC 6528)', () => {
    const a = new Harness({}, 1);
    const isnA = a.ctx.isn.isn({ localAddr: 1, localPort: 2, remoteAddr: 3, remotePort: 4 }, 0);
    const isnB = a.ctx.isn.isn({ localAddr: 1, localPort: 2, remoteAddr: 3, remotePort: 5 }, 0);
    const isnA2 = a.ctx.isn.isn({ localAddr: 1, localPort: 2, remoteAddr: 3, remotePort: 4 }, 1000);
    assert.notEqual(isnA, isnB, 'different tuples should give different ISNs');
    assert.equal(u32(isnA2 - isnA), 250_000, `clock term: got ${u32(isnA2 - isnA)}, want 250000 ticks per second`);
    const b = new Harness({}, 1);
    assert.equal(b.ctx.isn.isn({ localAddr: 1, localPort: 2, remoteAddr: 3, remotePort: 4 }, 0), isnA, 'same seed should replay');
  });
});

describe('LISTEN', () => {
  it('a SYN moves to SYN-RECEIVED and sends SYN,ACK', () => {
    const { h, synAck } = synReceived();
    expectState(h.conn, 'SYN-RECEIVED');
    assert.equal(h.conn.tuple.remoteAddr, 0, 'remote address is not known without remoteAddr');
    assert.equal(h.conn.tuple.remotePort, RPORT);
    h.expectTransition('LISTEN', 'SYN-RECEIVED', 'rcv SYN');
    assert.equal(h.lastTransition().packetId, 1, `packetId: got ${h.lastTransition().packetId}, want 1`);
    assert.ok(synAck.options.some((o) => o.kind === 'mss'));
  });

  it('a RST is ignored', () => {
    const h = listening();
    expectNone(h.send({ flags: TCP_RST }));
    expectState(h.conn, 'LISTEN');
  });

  it('an ACK is answered with RST at its ACK number', () => {
    const h = listening();
    expectSeg(h.send({ flags: TCP_ACK, ack: 4242 })[0], { flags: TCP_RST, seq: 4242 });
    expectState(h.conn, 'LISTEN');
  });

  it('close() goes to CLOSED', () => {
    const h = listening();
    h.conn.close(0);
    expectState(h.conn, 'CLOSED');
    h.expectTransition('LISTEN', 'CLOSED', 'close()');
  });

  it('send() with a specified remote turns the TCB active: SYN-SENT', () => {
    const h = new Harness();
    h.conn.listen(0);
    h.conn.send(new Uint8Array(3), 0);
    expectSeg(h.out()[0], { flags: TCP_SYN });
    h.expectTransition('LISTEN', 'SYN-SENT', 'send()');
  });
});

describe('SYN-SENT', () => {
  it('SYN,ACK acknowledging the SYN completes the handshake: ESTABLISHED and an ACK', () => {
    const h = established();
    h.expectTransition('SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK');
    assert.ok(h.events.some((e) => e.kind === 'connected'), 'connected event');
  });

  it('a SYN,ACK with an unacceptable ACK gets a RST at that ACK and is otherwise ignored', () => {
    const { h, syn } = synSent();
    const out = h.send({ flags: TCP_SYN | TCP_ACK, ack: u32(syn.seq + 5) });
    expectSeg(out[0], { flags: TCP_RST, seq: u32(syn.seq + 5) });
    expectState(h.conn, 'SYN-SENT');
  });

  it('RST with an acceptable ACK goes to CLOSED with ECONNREFUSED', () => {
    const { h, syn } = synSent();
    expectNone(h.send({ flags: TCP_RST | TCP_ACK, seq: 0, ack: u32(syn.seq + 1) }));
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ECONNREFUSED']);
    h.expectTransition('SYN-SENT', 'CLOSED', 'rcv RST');
  });

  it('RST without ACK is ignored', () => {
    const { h } = synSent();
    expectNone(h.send({ flags: TCP_RST, seq: 0 }));
    expectState(h.conn, 'SYN-SENT');
  });

  it('RST with an unacceptable ACK is dropped without reply', () => {
    const { h, syn } = synSent();
    expectNone(h.send({ flags: TCP_RST | TCP_ACK, ack: u32(syn.seq + 9) }));
    expectState(h.conn, 'SYN-SENT');
  });

  it('a plain SYN means simultaneous open: SYN-RECEIVED and SYN,ACK with our ISS', () => {
    const { h, syn } = synSent();
    const out = h.send({ flags: TCP_SYN, seq: PEER_ISS, options: [{ kind: 'mss', value: 1000 }] });
    expectSeg(out[0], { flags: TCP_SYN | TCP_ACK, seq: syn.seq, ack: u32(PEER_ISS + 1) });
    expectState(h.conn, 'SYN-RECEIVED');
    h.expectTransition('SYN-SENT', 'SYN-RECEIVED', 'rcv SYN');
  });

  it('a segment with neither SYN nor RST is dropped', () => {
    const { h } = synSent();
    expectNone(h.send({ flags: 0 }));
    expectState(h.conn, 'SYN-SENT');
  });

  it('close() deletes the TCB without sending anything', () => {
    const { h } = synSent();
    h.conn.close(0);
    expectNone(h.out());
    h.expectTransition('SYN-SENT', 'CLOSED', 'close()');
  });

  it('the SYN is retransmitted with exponential backoff and gives up with ETIMEDOUT', () => {
    const { h, syn } = synSent({ synRetries: 3, initialRto: 1000 });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const out = h.runToNextTimer();
      expectSeg(out[0], { flags: TCP_SYN, seq: syn.seq }, `SYN retransmission ${i + 1}`);
      times.push(h.now);
    }
    assert.deepEqual(times, [1000, 3000, 7000], `retransmit times: got ${times}, want 1000,3000,7000`);
    expectNone(h.runToNextTimer());
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ETIMEDOUT']);
    h.expectTransition('SYN-SENT', 'CLOSED', 'timeout retransmit (ETIMEDOUT)');
  });

  it('after a retransmitted SYN the initial window is one segment (RFC 5681 §3.1)', () => {
    const { h, syn } = synSent();
    h.runToNextTimer();
    h.peerAck = u32(syn.seq + 1);
    h.send({ flags: TCP_SYN | TCP_ACK, options: [{ kind: 'mss', value: 1000 }] });
    assert.equal(h.conn.vars().cwnd, 1000, `cwnd: got ${h.conn.vars().cwnd}, want 1000`);
  });
});

describe('SYN-RECEIVED', () => {
  it('the ACK of our SYN moves to ESTABLISHED', () => {
    const { h } = synReceived();
    expectNone(h.send({ flags: TCP_ACK }));
    expectState(h.conn, 'ESTABLISHED');
    h.expectTransition('SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK of SYN');
  });

  it('an unacceptable ACK is answered with RST at its ACK number', () => {
    const { h } = synReceived();
    expectSeg(h.send({ flags: TCP_ACK, ack: u32(h.peerAck + 10) })[0], { flags: TCP_RST, seq: u32(h.peerAck + 10) });
    expectState(h.conn, 'SYN-RECEIVED');
  });

  it('an exact RST returns a passive TCB to LISTEN', () => {
    const { h } = synReceived();
    expectNone(h.send({ flags: TCP_RST }));
    expectState(h.conn, 'LISTEN');
    h.expectTransition('SYN-RECEIVED', 'LISTEN', 'rcv RST');
  });

  it('an in-window RST that is not exact draws a challenge ACK', () => {
    const { h } = synReceived();
    const out = h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 100) });
    expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq });
    expectState(h.conn, 'SYN-RECEIVED');
  });

  it('an exact RST after an active open goes to CLOSED with ECONNREFUSED', () => {
    const { h } = synSent();
    h.send({ flags: TCP_SYN, seq: PEER_ISS });
    h.peerSeq = u32(PEER_ISS + 1);
    h.send({ flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ECONNREFUSED']);
  });

  it('a retransmitted SYN gets the SYN,ACK again', () => {
    const { h, synAck } = synReceived();
    const out = h.send({ flags: TCP_SYN, seq: PEER_ISS });
    expectSeg(out[0], { flags: TCP_SYN | TCP_ACK, seq: synAck.seq, ack: h.peerSeq });
  });

  it('a new SYN with another sequence number returns a passive TCB to LISTEN', () => {
    const { h } = synReceived();
    h.send({ flags: TCP_SYN, seq: u32(PEER_ISS + 50) });
    expectState(h.conn, 'LISTEN');
  });

  it('the SYN,ACK is retransmitted on timeout', () => {
    const { h, synAck } = synReceived();
    expectSeg(h.runToNextTimer()[0], { flags: TCP_SYN | TCP_ACK, seq: synAck.seq });
    assert.equal(h.now, 1000);
  });

  it('close() with nothing queued sends FIN and enters FIN-WAIT-1', () => {
    const { h, synAck } = synReceived();
    h.conn.shutdownWrite(h.now);
    expectSeg(h.out()[0], { flags: TCP_FIN | TCP_ACK, seq: u32(synAck.seq + 1) });
    h.expectTransition('SYN-RECEIVED', 'FIN-WAIT-1', 'close()');
  });

  it('a SYN,ACK acknowledging our SYN completes a simultaneous open', () => {
    const { h, syn } = synSent();
    h.send({ flags: TCP_SYN, seq: PEER_ISS, options: [{ kind: 'mss', value: 1000 }] });
    h.peerSeq = u32(PEER_ISS + 1);
    h.peerAck = u32(syn.seq + 1);
    h.send({ flags: TCP_SYN | TCP_ACK, seq: PEER_ISS });
    expectState(h.conn, 'ESTABLISHED');
    h.expectTransition('SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK of SYN');
  });
});

describe('simultaneous open', () => {
  it('two connections that both connect() reach ESTABLISHED through SYN-RECEIVED', () => {
    const a = new Harness({}, 1);
    const b = new Harness({}, 2);
    b.conn = new TcpConnection(b.ctx, { localAddr: REMOTE, localPort: RPORT, remoteAddr: LOCAL, remotePort: LPORT });
    b.watch(b.conn);
    a.conn.connect(0);
    b.conn.connect(0);
    const synA = a.out();
    const synB = b.out();
    for (const s of synA) b.conn.process(s, 0);
    for (const s of synB) a.conn.process(s, 0);
    let qa = a.out();
    let qb = b.out();
    for (let i = 0; i < 4; i++) {
      for (const s of qa) b.conn.process(s, 0);
      for (const s of qb) a.conn.process(s, 0);
      qa = a.out();
      qb = b.out();
    }
    expectState(a.conn, 'ESTABLISHED');
    expectState(b.conn, 'ESTABLISHED');
    a.expectTransition('SYN-SENT', 'SYN-RECEIVED', 'rcv SYN');
    a.expectTransition('SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK of SYN');
  });
});

describe('listener', () => {
  function mk(backlog = 2, synQueueSize = 8) {
    const h = new Harness({ synQueueSize });
    const l = new TcpListener(h.ctx, LOCAL, LPORT, backlog);
    return { h, l };
  }

  it('a SYN spawns a child in SYN-RECEIVED; its handshake ACK puts it in the accept queue', () => {
    const { h, l } = mk();
    const r = l.process(h.seg({ flags: TCP_SYN, seq: PEER_ISS }), REMOTE, LOCAL, 0, 9);
    assert.equal(r.kind, 'spawned');
    if (r.kind !== 'spawned') return;
    h.watch(r.conn);
    const [synAck] = h.out();
    expectSeg(synAck, { flags: TCP_SYN | TCP_ACK, ack: u32(PEER_ISS + 1) });
    assert.equal(l.halfOpen, 1);
    h.peerSeq = u32(PEER_ISS + 1);
    h.peerAck = u32(synAck!.seq + 1);
    h.send({ flags: TCP_ACK });
    assert.equal(l.pending, 1, `accept queue: got ${l.pending}, want 1`);
    assert.equal(l.accept(), r.conn);
    assert.deepEqual(r.conn.tuple, { localAddr: LOCAL, localPort: LPORT, remoteAddr: REMOTE, remotePort: RPORT });
  });

  it('an ACK with no connection is answered with RST', () => {
    const { h, l } = mk();
    const r = l.process(h.seg({ flags: TCP_ACK, ack: 55 }), REMOTE, LOCAL, 0);
    assert.equal(r.kind, 'reset');
    if (r.kind === 'reset') expectSeg(r.seg, { flags: TCP_RST, seq: 55 });
  });

  it('a full SYN queue drops further SYNs', () => {
    const { h, l } = mk(8, 2);
    for (let i = 0; i < 2; i++) assert.equal(l.process({ ...h.seg({ flags: TCP_SYN }), srcPort: 1000 + i }, REMOTE, LOCAL, 0).kind, 'spawned');
    const r = l.process({ ...h.seg({ flags: TCP_SYN }), srcPort: 2000 }, REMOTE, LOCAL, 0);
    assert.deepEqual(r, { kind: 'drop', reason: 'syn-queue-full' });
  });

  it('a RST to a half-open child removes it from the SYN queue', () => {
    const { h, l } = mk();
    const r = l.process(h.seg({ flags: TCP_SYN, seq: PEER_ISS }), REMOTE, LOCAL, 0);
    if (r.kind !== 'spawned') return assert.fail(`got ${r.kind}, want spawned`);
    h.watch(r.conn);
    h.out();
    h.peerSeq = u32(PEER_ISS + 1);
    h.send({ flags: TCP_RST });
    expectState(r.conn, 'CLOSED');
    h.expectTransition('SYN-RECEIVED', 'LISTEN', 'rcv RST');
    assert.equal(l.halfOpen, 0);
  });

  it('a child whose data and FIN arrive right after the handshake is readable once accepted', () => {
    const { h, l } = mk();
    const r = l.process(h.seg({ flags: TCP_SYN, seq: PEER_ISS }), REMOTE, LOCAL, 0);
    if (r.kind !== 'spawned') return assert.fail('spawn');
    h.watch(r.conn);
    const [synAck] = h.out();
    h.peerSeq = u32(PEER_ISS + 1);
    h.peerAck = u32(synAck!.seq + 1);
    h.send({ flags: TCP_ACK | TCP_FIN, payload: new Uint8Array([1, 2, 3]) });
    expectState(r.conn, 'CLOSE-WAIT');
    assert.deepEqual([...l.accept()!.recv(10)], [1, 2, 3]);
  });
});

describe('ESTABLISHED handshake details', () => {
  it('the MSS we use is the smaller of ours and the peer\'s', () => {
    const h = established({ mss: 1460 }, [{ kind: 'mss', value: 536 }]);
    assert.equal(h.conn.negotiated.smss, 536);
  });
});
