// engine/tcp: closing — FIN-WAIT-1, FIN-WAIT-2, CLOSING, TIME-WAIT, CLOSE-WAIT, LAST-ACK.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../engine/wire/tcp';
import { TcpConnection, TcpUsageError, type TcpState } from '../../../engine/tcp/index';
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
  LOCAL,
  LPORT,
  REMOTE,
  RPORT,
  synReceived,
  timeWait,
  u32,
} from './harness';

describe('FIN-WAIT-1', () => {
  it('the ACK of our FIN moves to FIN-WAIT-2', () => {
    const h = finWait2();
    h.expectTransition('ESTABLISHED', 'FIN-WAIT-1', 'close()');
    h.expectTransition('FIN-WAIT-1', 'FIN-WAIT-2', 'rcv ACK of FIN');
  });

  it('a FIN that does not acknowledge ours moves to CLOSING (simultaneous close)', () => {
    const { h } = closing();
    h.expectTransition('FIN-WAIT-1', 'CLOSING', 'rcv FIN');
  });

  it('a FIN that also acknowledges ours reaches TIME-WAIT in one segment, through FIN-WAIT-2 (§3.10.7.4 fifth, then eighth)', () => {
    const { h, fin } = finWait1();
    h.peerAck = u32(fin.seq + 1);
    expectSeg(h.send({ flags: TCP_FIN | TCP_ACK })[0], { flags: TCP_ACK, ack: u32(h.peerSeq + 1) });
    expectState(h.conn, 'TIME-WAIT');
    h.expectTransition('FIN-WAIT-1', 'FIN-WAIT-2', 'rcv ACK of FIN');
    h.expectTransition('FIN-WAIT-2', 'TIME-WAIT', 'rcv FIN');
    const [a, b] = h.transitions.slice(-2);
    assert.equal(a!.packetId, b!.packetId, 'both records name the same packet');
  });

  it('the FIN is retransmitted on timeout', () => {
    const { h, fin } = finWait1();
    const out = h.runToNextTimer();
    expectSeg(out[0], { flags: TCP_FIN | TCP_ACK, seq: fin.seq });
  });

  it('data still queued goes out before the FIN, which rides on the last segment', () => {
    const h = established({ noDelay: true });
    h.conn.send(bytes(1500), 0);
    h.conn.close(0);
    const out = h.out();
    assert.deepEqual(out.map((s) => s.payload.length), [1000, 500]);
    expectSeg(out[1], { flags: TCP_FIN | TCP_ACK | 0x08, seq: u32(h.peerAck + 1000) });
  });

  it('data still arrives and is delivered in FIN-WAIT-1 after shutdownWrite()', () => {
    const h = established();
    h.conn.shutdownWrite(0);
    h.out();
    h.send({ flags: TCP_ACK, payload: bytes(7) });
    assert.equal(h.conn.readable, 7);
  });

  it('an exact RST resets with ECONNRESET', () => {
    const { h } = finWait1();
    h.send({ flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ECONNRESET']);
  });

  it('an in-window inexact RST draws a challenge ACK', () => {
    const { h } = finWait1();
    expectSeg(h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 3) })[0], { flags: TCP_ACK });
    expectState(h.conn, 'FIN-WAIT-1');
  });

  it('send() after close is a usage error', () => {
    const { h } = finWait1();
    assert.throws(() => h.conn.send(bytes(1), 0), TcpUsageError);
  });
});

describe('FIN-WAIT-2', () => {
  it('the peer\'s FIN moves to TIME-WAIT and is acknowledged', () => {
    const h = timeWait();
    h.expectTransition('FIN-WAIT-2', 'TIME-WAIT', 'rcv FIN');
  });

  it('half-close: data from the peer keeps flowing after our FIN was acknowledged', () => {
    const h = established();
    h.conn.shutdownWrite(0);
    const [fin] = h.out();
    h.peerAck = u32(fin!.seq + 1);
    h.send({ flags: TCP_ACK });
    expectState(h.conn, 'FIN-WAIT-2');
    h.send({ flags: TCP_ACK, payload: bytes(100) });
    h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 100), payload: bytes(100, 2) });
    assert.equal(h.conn.readable, 200);
    assert.deepEqual(h.conn.recv(100), bytes(100));
  });

  it('an exact RST resets with ECONNRESET', () => {
    const h = finWait2();
    h.send({ flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ECONNRESET']);
  });

  it('data after close() is answered with RST', () => {
    const h = finWait2();
    const out = h.send({ flags: TCP_ACK, payload: bytes(5) });
    expectSeg(out[0], { flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
  });

  it('the optional FIN-WAIT-2 timeout closes an orphaned connection', () => {
    const h = finWait2({ finWait2Timeout: 60_000 });
    h.runToNextTimer();
    assert.equal(h.now, 60_000);
    h.expectTransition('FIN-WAIT-2', 'CLOSED', 'timeout FIN-WAIT-2');
  });

  it('without it FIN-WAIT-2 waits forever', () => {
    const h = finWait2();
    assert.equal(h.conn.pollAt(), undefined, `pollAt: got ${h.conn.pollAt()}, want undefined`);
  });
});

describe('CLOSING', () => {
  it('the ACK of our FIN moves to TIME-WAIT', () => {
    const { h, fin } = closing();
    h.peerAck = u32(fin.seq + 1);
    expectNone(h.send({ flags: TCP_ACK }));
    expectState(h.conn, 'TIME-WAIT');
    h.expectTransition('CLOSING', 'TIME-WAIT', 'rcv ACK of FIN');
  });

  it('an exact RST closes without an error', () => {
    const { h } = closing();
    h.send({ flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), []);
  });

  it('our FIN is retransmitted until acknowledged', () => {
    const { h, fin } = closing();
    expectSeg(h.runToNextTimer()[0], { flags: TCP_FIN | TCP_ACK, seq: fin.seq, ack: h.peerSeq });
  });
});

describe('TIME-WAIT', () => {
  it('expires after 2·MSL into CLOSED', () => {
    const h = timeWait({ msl: 1000 });
    const entered = h.now;
    h.runToNextTimer();
    assert.equal(h.now - entered, 2000, `TIME-WAIT lasted ${h.now - entered}, want 2000`);
    h.expectTransition('TIME-WAIT', 'CLOSED', 'timeout 2MSL');
    assert.equal(h.events[h.events.length - 1]!.kind, 'closed');
  });

  it('a retransmitted FIN is acknowledged again and restarts the 2·MSL timer', () => {
    const h = timeWait({ msl: 1000 });
    h.advance(1500);
    const out = h.send({ flags: TCP_FIN | TCP_ACK, seq: u32(h.peerSeq - 1) });
    expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq });
    assert.equal(h.conn.pollAt(), 3500, `2MSL deadline: got ${h.conn.pollAt()}, want 3500`);
  });

  it('a new SYN with a higher sequence number ends TIME-WAIT for reuse', () => {
    const h = timeWait();
    const r = h.conn.process(h.seg({ flags: TCP_SYN, seq: u32(h.peerSeq + 100_000) }), h.now);
    assert.equal(r, 'reopen');
    expectState(h.conn, 'CLOSED');
    h.expectTransition('TIME-WAIT', 'CLOSED', 'rcv SYN (TIME-WAIT reuse)');
  });

  it('an old SYN in TIME-WAIT draws a challenge ACK and keeps TIME-WAIT', () => {
    const h = timeWait();
    const out = h.send({ flags: TCP_SYN, seq: u32(h.peerSeq - 10) });
    expectSeg(out[0], { flags: TCP_ACK, ack: h.peerSeq });
    expectState(h.conn, 'TIME-WAIT');
  });

  it('an exact RST closes it (RFC 9293; RFC 1337 protection is not applied)', () => {
    const h = timeWait();
    h.send({ flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
  });
});

describe('CLOSE-WAIT', () => {
  it('we may still send data after the peer\'s FIN (half-close)', () => {
    const h = closeWait({ noDelay: true });
    h.conn.send(bytes(300), 0);
    expectSeg(h.out()[0], { len: 300, seq: h.peerAck, ack: h.peerSeq });
  });

  it('close() sends FIN and enters LAST-ACK', () => {
    const { h } = lastAck();
    h.expectTransition('CLOSE-WAIT', 'LAST-ACK', 'close()');
  });

  it('an exact RST resets with ECONNRESET', () => {
    const h = closeWait();
    h.send({ flags: TCP_RST });
    assert.deepEqual(h.errors(), ['ECONNRESET']);
  });

  it('a SYN draws a challenge ACK', () => {
    const h = closeWait();
    expectSeg(h.send({ flags: TCP_SYN, seq: h.peerSeq })[0], { flags: TCP_ACK });
    expectState(h.conn, 'CLOSE-WAIT');
  });
});

describe('LAST-ACK', () => {
  it('the ACK of our FIN closes the connection', () => {
    const { h, fin } = lastAck();
    h.peerAck = u32(fin.seq + 1);
    expectNone(h.send({ flags: TCP_ACK }));
    expectState(h.conn, 'CLOSED');
    h.expectTransition('LAST-ACK', 'CLOSED', 'rcv ACK of FIN');
  });

  it('the FIN is retransmitted on timeout and the connection fails after maxRetries', () => {
    const { h, fin } = lastAck({ maxRetries: 2 });
    expectSeg(h.runToNextTimer()[0], { flags: TCP_FIN | TCP_ACK, seq: fin.seq });
    expectSeg(h.runToNextTimer()[0], { flags: TCP_FIN | TCP_ACK, seq: fin.seq });
    h.runToNextTimer();
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ETIMEDOUT']);
  });

  it('a retransmitted FIN from the peer is acknowledged again', () => {
    const { h } = lastAck();
    expectSeg(h.send({ flags: TCP_FIN | TCP_ACK, seq: u32(h.peerSeq - 1) })[0], { flags: TCP_ACK, ack: h.peerSeq });
    expectState(h.conn, 'LAST-ACK');
  });

  it('an exact RST closes without an error', () => {
    const { h } = lastAck();
    h.send({ flags: TCP_RST });
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), []);
  });
});

describe('simultaneous close', () => {
  it('two connections closing at once both pass CLOSING and TIME-WAIT', () => {
    const a = new Harness({}, 1);
    const b = new Harness({}, 2);
    b.conn = new TcpConnection(b.ctx, { localAddr: REMOTE, localPort: RPORT, remoteAddr: LOCAL, remotePort: LPORT });
    b.watch(b.conn);
    b.conn.listen(0);
    a.conn.connect(0);
    const pump = (): void => {
      for (let i = 0; i < 6; i++) {
        const qa = a.out();
        const qb = b.out();
        for (const s of qa) b.conn.process(s, a.now);
        for (const s of qb) a.conn.process(s, a.now);
      }
    };
    pump();
    expectState(a.conn, 'ESTABLISHED');
    expectState(b.conn, 'ESTABLISHED');
    a.conn.close(0);
    b.conn.close(0);
    const fa = a.out();
    const fb = b.out();
    for (const s of fa) b.conn.process(s, 0);
    for (const s of fb) a.conn.process(s, 0);
    expectState(a.conn, 'CLOSING');
    expectState(b.conn, 'CLOSING');
    pump();
    expectState(a.conn, 'TIME-WAIT');
    expectState(b.conn, 'TIME-WAIT');
    a.expectTransition('CLOSING', 'TIME-WAIT', 'rcv ACK of FIN');
  });
});

describe('transition records', () => {
  it('each record carries the connection id, time and a snapshot of the TCB variables', () => {
    const h = finWait2();
    const t = h.transitions.find((x) => x.to === 'FIN-WAIT-2')!;
    assert.equal(t.connId, h.conn.id);
    assert.equal(typeof t.packetId, 'number');
    assert.equal(t.vars.sndUna, t.vars.sndNxt, `snd.una ${t.vars.sndUna} should equal snd.nxt ${t.vars.sndNxt} once the FIN is acked`);
    for (const k of ['sndUna', 'sndNxt', 'sndWnd', 'rcvNxt', 'rcvWnd', 'cwnd', 'ssthresh', 'srtt', 'rttvar', 'rto'] as const) {
      assert.ok(k in t.vars, `vars.${k} missing`);
    }
  });
});

describe('RST in every synchronized state', () => {
  const fixtures: [TcpState, () => Harness, TcpState, string[]][] = [
    ['SYN-RECEIVED', () => synReceivedH(), 'LISTEN', []],
    ['ESTABLISHED', () => established(), 'CLOSED', ['ECONNRESET']],
    ['FIN-WAIT-1', () => finWait1().h, 'CLOSED', ['ECONNRESET']],
    ['FIN-WAIT-2', () => finWait2(), 'CLOSED', ['ECONNRESET']],
    ['CLOSE-WAIT', () => closeWait(), 'CLOSED', ['ECONNRESET']],
    ['CLOSING', () => closing().h, 'CLOSED', []],
    ['LAST-ACK', () => lastAck().h, 'CLOSED', []],
    ['TIME-WAIT', () => timeWait(), 'CLOSED', []],
  ];
  for (const [state, make, after, errors] of fixtures) {
    it(`${state}: a RST outside the window is dropped without reply`, () => {
      const h = make();
      expectNone(h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 0x40000000) }));
      expectState(h.conn, state);
    });

    it(`${state}: a RST in the window but not at RCV.NXT draws a challenge ACK`, () => {
      const h = make();
      expectSeg(h.send({ flags: TCP_RST, seq: u32(h.peerSeq + 1) })[0], { flags: TCP_ACK, ack: h.peerSeq });
      expectState(h.conn, state);
    });

    it(`${state}: a RST at RCV.NXT goes to ${after}${errors.length ? ` with ${errors[0]}` : ' without an error'}`, () => {
      const h = make();
      expectNone(h.send({ flags: TCP_RST }));
      expectState(h.conn, after);
      assert.deepEqual(h.errors(), errors);
    });
  }
});

function synReceivedH(): Harness {
  return synReceived().h;
}
