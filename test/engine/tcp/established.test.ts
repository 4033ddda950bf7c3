// engine/tcp: ESTABLISHED — data, acknowledgements, windows, Nagle, probes, RST and challenge ACKs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../engine/wire/tcp';
import { bytes, established, expectNone, expectSeg, expectState, PEER_ISS, u32 } from './harness';

describe('ESTABLISHED: receiving', () => {
  it('in-order data is readable and acknowledged after the delayed-ACK timeout', () => {
    const h = established({ delayedAckTimeout: 200 });
    expectNone(h.send({ flags: TCP_ACK, payload: bytes(100) }), 'immediate reply to one segment');
    assert.equal(h.conn.readable, 100);
    assert.equal(h.conn.pollAt(), 200, `pollAt: got ${h.conn.pollAt()}, want 200`);
    expectSeg(h.advanceTo(200)[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 100) }, 'delayed ACK');
    assert.deepEqual(h.conn.recv(1000), bytes(100));
    assert.ok(h.events.some((e) => e.kind === 'readable'));
  });

  it('every second full-sized segment is acknowledged at once', () => {
    const h = established({ delayedAckTimeout: 200 });
    const mss = h.conn.negotiated.smss;
    expectNone(h.send({ flags: TCP_ACK, payload: bytes(mss) }));
    const out = h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + mss), payload: bytes(mss) });
    expectSeg(out[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 2 * mss) });
  });

  it('delayedAckTimeout 0 acknowledges every segment', () => {
    const h = established({ delayedAckTimeout: 0 });
    expectSeg(h.send({ flags: TCP_ACK, payload: bytes(10) })[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 10) });
  });

  it('an out-of-order segment is acknowledged at once with the old ACK number, and filling the hole at once too', () => {
    const h = established();
    const dup = h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 100), payload: bytes(50, 2) });
    expectSeg(dup[0], { flags: TCP_ACK, ack: h.peerSeq }, 'duplicate ACK');
    assert.equal(h.conn.readable, 0);
    const fill = h.send({ flags: TCP_ACK, payload: bytes(100, 1) });
    expectSeg(fill[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 150) }, 'ACK after the hole fills');
    const got = h.conn.recv(1000);
    assert.deepEqual(got.subarray(0, 100), bytes(100, 1));
    assert.deepEqual(got.subarray(100), bytes(50, 2));
  });

  it('a duplicate segment is acknowledged at once and not delivered twice', () => {
    const h = established();
    h.send({ flags: TCP_ACK, payload: bytes(10) });
    expectSeg(h.send({ flags: TCP_ACK, payload: bytes(10) })[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 10) });
    assert.equal(h.conn.readable, 10);
  });

  it('a segment outside the window is not accepted and draws an ACK', () => {
    const h = established();
    const out = h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 10_000_000), payload: bytes(10) });
    expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq });
    assert.equal(h.conn.readable, 0);
  });

  it('data beyond the window is trimmed to it', () => {
    const h = established({ recvBufferSize: 1000, delayedAckTimeout: 0 });
    const out = h.send({ flags: TCP_ACK, payload: bytes(1500) });
    expectSeg(out[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 1000), window: 0 });
    assert.equal(h.conn.readable, 1000);
  });

  it('the receive window closes as data waits and reopens with a window update once read', () => {
    const h = established({ recvBufferSize: 4000, delayedAckTimeout: 0 });
    let seqNo = h.peerSeq;
    let last;
    for (let i = 0; i < 4; i++) {
      last = h.send({ flags: TCP_ACK, seq: seqNo, payload: bytes(1000) })[0];
      seqNo = u32(seqNo + 1000);
    }
    expectSeg(last, { flags: TCP_ACK, ack: seqNo, window: 0 }, 'zero window');
    h.conn.recv(4000);
    expectSeg(h.out()[0], { flags: TCP_ACK, ack: seqNo, window: 4000 }, 'window update');
  });

  it('a zero-window probe is answered with an ACK and a zero window, its octet not accepted', () => {
    const h = established({ recvBufferSize: 1000, delayedAckTimeout: 0 });
    h.send({ flags: TCP_ACK, payload: bytes(1000) });
    const after = u32(h.peerSeq + 1000);
    const out = h.send({ flags: TCP_ACK, seq: after, payload: bytes(1) });
    expectSeg(out[0], { flags: TCP_ACK, ack: after, window: 0 });
    assert.equal(h.conn.readable, 1000);
  });

  it('receiver silly-window avoidance: reading a few bytes does not reopen the window', () => {
    const h = established({ recvBufferSize: 4000, delayedAckTimeout: 0 });
    h.send({ flags: TCP_ACK, payload: bytes(1000) });
    h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 1000), payload: bytes(1000) });
    h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 2000), payload: bytes(1000) });
    const z = h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 3000), payload: bytes(1000) });
    expectSeg(z[0], { window: 0 });
    h.conn.recv(10);
    expectNone(h.out(), 'after reading 10 bytes');
    h.conn.recv(2000);
    expectSeg(h.out()[0], { flags: TCP_ACK, window: 2010 });
  });
});

describe('ESTABLISHED: sending', () => {
  it('send() data goes out in MSS-sized segments with PSH on the last', () => {
    const h = established({ noDelay: true });
    assert.equal(h.conn.send(bytes(2500), 0), 2500);
    const out = h.out();
    assert.deepEqual(out.map((s) => s.payload.length), [1000, 1000, 500]);
    expectSeg(out[0], { flags: TCP_ACK, seq: h.peerAck });
    expectSeg(out[2], { flags: TCP_ACK | TCP_PSH, seq: u32(h.peerAck + 2000) });
  });

  it('the send buffer limits what send() accepts, and writable follows the ACK', () => {
    const h = established({ sendBufferSize: 3000 });
    assert.equal(h.conn.send(bytes(5000), 0), 3000);
    const out = h.out();
    assert.equal(out.length, 3);
    h.peerAck = u32(h.peerAck + 3000);
    h.send({ flags: TCP_ACK });
    assert.ok(h.events.some((e) => e.kind === 'writable'), 'writable event');
    assert.equal(h.conn.writable, 3000);
  });

  it('the initial window is ten segments (RFC 6928)', () => {
    const h = established({ mss: 1000 });
    h.conn.send(bytes(20_000), 0);
    const out = h.out();
    assert.equal(out.length, 10, `segments in the first flight: got ${out.length}, want 10`);
  });

  it('Nagle holds a small segment while data is unacknowledged, and sends it on the ACK', () => {
    const h = established({ noDelay: false });
    h.conn.send(bytes(10), 0);
    expectSeg(h.out()[0], { len: 10 }, 'first small segment (nothing in flight)');
    h.conn.send(bytes(10), 0);
    expectNone(h.out(), 'second small segment while the first is unacknowledged');
    h.peerAck = u32(h.peerAck + 10);
    expectSeg(h.send({ flags: TCP_ACK })[0], { len: 10, seq: h.peerAck }, 'held segment after the ACK');
  });

  it('with noDelay small segments go out at once', () => {
    const h = established({ noDelay: true });
    h.conn.send(bytes(10), 0);
    h.out();
    h.conn.send(bytes(10), 0);
    expectSeg(h.out()[0], { len: 10 });
  });

  it('the peer\'s window limits the flight, and a small leftover waits (sender silly-window avoidance)', () => {
    const h = established({ noDelay: true });
    h.send({ flags: TCP_ACK, window: 2500 });
    h.conn.send(bytes(5000), 0);
    const out = h.out();
    assert.deepEqual(out.map((s) => s.payload.length), [1000, 1000]);
    h.peerAck = u32(h.peerAck + 1000);
    const more = h.send({ flags: TCP_ACK, window: 2500 });
    assert.deepEqual(more.map((s) => s.payload.length), [1000]);
  });

  it('a zero window starts the persist timer and probes carry one octet, backing off', () => {
    const h = established({ minRto: 200, initialRto: 1000 });
    h.send({ flags: TCP_ACK, window: 0 });
    h.conn.send(bytes(100), 0);
    expectNone(h.out(), 'no data into a zero window');
    assert.equal(h.conn.currentTimer.kind, 'persist');
    const first = h.runToNextTimer();
    expectSeg(first[0], { seq: h.peerAck, len: 1 }, 'first probe');
    const t1 = h.now;
    h.send({ flags: TCP_ACK, window: 0 });
    const second = h.runToNextTimer();
    expectSeg(second[0], { seq: h.peerAck, len: 1 }, 'second probe (the same octet)');
    assert.ok(h.now - t1 > t1, `backoff: the second interval ${h.now - t1} should exceed the first ${t1}`);
    expectState(h.conn, 'ESTABLISHED');
  });

  it('when the window reopens the probe octet and the rest are sent', () => {
    const h = established({ noDelay: true });
    h.send({ flags: TCP_ACK, window: 0 });
    h.conn.send(bytes(100), 0);
    h.out();
    h.runToNextTimer();
    const out = h.send({ flags: TCP_ACK, window: 5000 });
    expectSeg(out[0], { seq: h.peerAck, len: 100 });
  });

  it('window scaling both ways: our window field is shifted and theirs is scaled', () => {
    const h = established({ windowScaling: true, recvBufferSize: 1 << 20, delayedAckTimeout: 0, noDelay: true }, [
      { kind: 'mss', value: 1000 },
      { kind: 'wscale', shift: 3 },
    ]);
    const n = h.conn.negotiated;
    assert.equal(n.sndShift, 3);
    assert.equal(n.rcvShift, 5, `our shift for a 1 MiB buffer: got ${n.rcvShift}, want 5`);
    const ack = h.send({ flags: TCP_ACK, payload: bytes(1000), window: 1000 })[0];
    // The right edge offered earlier never moves left, so the field rounds up.
    expectSeg(ack, { window: Math.ceil(((1 << 20) - 1000) / 32) });
    assert.equal(h.conn.vars().sndWnd, 8000, `scaled peer window: got ${h.conn.vars().sndWnd}, want 8000`);
  });

  it('window scaling is off unless both SYNs carry the option', () => {
    const h = established({ windowScaling: true }, [{ kind: 'mss', value: 1000 }]);
    assert.equal(h.conn.negotiated.sndShift, 0);
    assert.equal(h.conn.negotiated.rcvShift, 0);
  });
});

describe('ESTABLISHED: RST, SYN and ACK validation (RFC 5961)', () => {
  it('a RST at exactly RCV.NXT resets: CLOSED with ECONNRESET', () => {
    const h = established();
    expectNone(h.send({ flags: TCP_RST }));
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ECONNRESET']);
    h.expectTransition('ESTABLISHED', 'CLOSED', 'rcv RST');
    assert.equal(h.events[h.events.length - 1]!.kind, 'closed');
  });

  it('a RST in the window but not exact draws a challenge ACK and changes nothing', () => {
    const h = established();
    expectSeg(h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 1) })[0], { flags: TCP_ACK, seq: h.peerAck, ack: h.peerSeq });
    expectState(h.conn, 'ESTABLISHED');
  });

  it('a RST outside the window is dropped silently', () => {
    const h = established();
    expectNone(h.send({ flags: TCP_RST, seq: u32(h.peerSeq - 1) }));
    expectNone(h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 1_000_000) }));
    expectState(h.conn, 'ESTABLISHED');
  });

  it('a SYN in ESTABLISHED draws a challenge ACK whatever its sequence number', () => {
    const h = established();
    expectSeg(h.send({ flags: TCP_SYN, seq: u32(h.peerSeq + 5) })[0], { flags: TCP_ACK, ack: h.peerSeq });
    expectSeg(h.send({ flags: TCP_SYN, seq: PEER_ISS })[0], { flags: TCP_ACK, ack: h.peerSeq }, 'old SYN: an ACK as well');
    expectState(h.conn, 'ESTABLISHED');
  });

  it('challenge ACKs are rate-limited per second', () => {
    const h = established({ challengeAckLimit: 2 });
    let sent = 0;
    for (let i = 0; i < 5; i++) sent += h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 1 + i) }).length;
    assert.equal(sent, 2, `challenge ACKs in one second: got ${sent}, want 2`);
    h.advance(1000);
    assert.equal(h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 9) }).length, 1, 'a new second allows another');
  });

  it('an ACK for data not yet sent is answered with an ACK and ignored', () => {
    const h = established();
    const out = h.send({ flags: TCP_ACK, ack: u32(h.peerAck + 100), payload: bytes(5) });
    expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq });
    assert.equal(h.conn.readable, 0, 'the data of a segment with an unacceptable ACK is dropped');
  });

  it('an ACK too far behind (below SND.UNA − MAX.SND.WND) is answered with an ACK and ignored', () => {
    const h = established();
    const out = h.send({ flags: TCP_ACK, ack: u32(h.peerAck - 200_000), payload: bytes(5) });
    expectSeg(out[0], { flags: TCP_ACK });
    assert.equal(h.conn.readable, 0);
  });

  it('a segment without ACK is dropped', () => {
    const h = established();
    expectNone(h.send({ flags: 0, payload: bytes(5) }));
    assert.equal(h.conn.readable, 0);
  });

  it('abort() sends RST at SND.NXT and goes to CLOSED', () => {
    const h = established();
    h.conn.abort(0);
    expectSeg(h.out()[0], { flags: TCP_RST, seq: h.peerAck });
    h.expectTransition('ESTABLISHED', 'CLOSED', 'abort()');
  });

  it('close() with unread data aborts with RST (RFC 2525 §2.17)', () => {
    const h = established();
    h.send({ flags: TCP_ACK, payload: bytes(5) });
    h.conn.close(0);
    expectSeg(h.out()[0], { flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
  });
});

describe('ESTABLISHED: timestamps and PAWS (RFC 7323)', () => {
  function tsConn() {
    const h = established({ timestamps: true }, [
      { kind: 'mss', value: 1000 },
      { kind: 'timestamps', tsVal: 500, tsEcr: 0 },
    ]);
    let tsVal = 500;
    h.peerOptions = () => [{ kind: 'timestamps', tsVal, tsEcr: 0 }];
    return { h, setTs: (v: number) => (tsVal = v) };
  }

  it('timestamps are negotiated and echoed, and the MSS leaves room for them', () => {
    const { h } = tsConn();
    assert.equal(h.conn.negotiated.timestamps, true);
    assert.equal(h.conn.negotiated.smss, 988);
    expectNone(h.send({ flags: TCP_ACK, payload: bytes(1) }), 'one small segment waits for the delayed ACK');
    const ack = h.advance(200)[0];
    const ts = ack?.options.find((o) => o.kind === 'timestamps');
    assert.ok(ts && ts.kind === 'timestamps' && ts.tsEcr === 500, `tsEcr: got ${JSON.stringify(ts)}, want 500`);
  });

  it('a segment with an older timestamp is dropped and acknowledged (PAWS)', () => {
    const { h, setTs } = tsConn();
    setTs(600);
    h.send({ flags: TCP_ACK, payload: bytes(10) });
    setTs(550);
    const out = h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 10), payload: bytes(10) });
    expectSeg(out[0], { flags: TCP_ACK });
    assert.equal(h.conn.readable, 10, `PAWS: got ${h.conn.readable} bytes readable, want 10`);
  });

  it('a segment without timestamps on a timestamp connection is dropped', () => {
    const { h } = tsConn();
    h.peerOptions = () => [];
    expectNone(h.send({ flags: TCP_ACK, payload: bytes(10) }));
    assert.equal(h.conn.readable, 0);
  });

  it('a RST without timestamps is still honoured', () => {
    const { h } = tsConn();
    h.peerOptions = () => [];
    h.send({ flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
  });

  it('RTT is measured from the echoed timestamp', () => {
    const { h } = tsConn();
    h.conn.send(bytes(100), 0);
    const [d] = h.out();
    const ts = d!.options.find((o) => o.kind === 'timestamps');
    assert.ok(ts && ts.kind === 'timestamps');
    h.now = 30;
    h.peerAck = u32(h.peerAck + 100);
    h.peerOptions = () => [{ kind: 'timestamps', tsVal: 700, tsEcr: ts.tsVal }];
    h.send({ flags: TCP_ACK });
    // The timed SYN gave a 0 ms sample; this one folds in with gain 1/8 (RFC 6298 §2.3).
    assert.equal(h.conn.vars().srtt, 30 / 8, `srtt: got ${h.conn.vars().srtt}, want ${30 / 8}`);
  });
});

describe('ESTABLISHED: keepalive', () => {
  it('sends probes after the idle time and fails with ETIMEDOUT when none is answered', () => {
    const h = established({ keepalive: { idle: 10_000, interval: 1000, count: 3 } });
    const probes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const out = h.runToNextTimer();
      expectSeg(out[0], { flags: TCP_ACK, seq: u32(h.peerAck - 1), len: 0 }, `probe ${i + 1}`);
      probes.push(h.now);
    }
    assert.deepEqual(probes, [10_000, 11_000, 12_000]);
    h.runToNextTimer();
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ETIMEDOUT']);
  });

  it('an answer to a probe keeps the connection', () => {
    const h = established({ keepalive: { idle: 10_000, interval: 1000, count: 3 } });
    h.runToNextTimer();
    h.send({ flags: TCP_ACK });
    let out = h.runToNextTimer();
    while (out.length === 0) out = h.runToNextTimer();
    assert.equal(h.now, 20_000, `next probe after an answer: got ${h.now}, want 20000`);
    expectState(h.conn, 'ESTABLISHED');
  });
});

describe('ESTABLISHED: FIN', () => {
  it('a FIN moves to CLOSE-WAIT, is acknowledged at once and ends the stream', () => {
    const h = established();
    expectSeg(h.send({ flags: TCP_FIN | TCP_ACK, payload: bytes(3) })[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 4) });
    expectState(h.conn, 'CLOSE-WAIT');
    assert.ok(h.events.some((e) => e.kind === 'end'));
    assert.equal(h.conn.readable, 3);
  });

  it('a FIN after a hole waits until the hole is filled', () => {
    const h = established();
    h.send({ flags: TCP_FIN | TCP_ACK, seq: u32(h.peerSeq + 5), payload: bytes(5, 2) });
    expectState(h.conn, 'ESTABLISHED');
    const out = h.send({ flags: TCP_ACK, payload: bytes(5, 1) });
    expectSeg(out[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 11) });
    expectState(h.conn, 'CLOSE-WAIT');
  });
});
