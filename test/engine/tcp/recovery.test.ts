// engine/tcp: loss recovery — RTO with backoff (RFC 6298), fast retransmit and NewReno partial ACKs
// (RFC 5681, RFC 6582), SACK generation (RFC 2018) and SACK-based recovery (RFC 6675).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK } from '../../../engine/wire/tcp';
import type { TcpOption, TcpRepr } from '../../../engine/wire/tcp';
import { bytes, established, expectSeg, expectState, fmt, u32, type Harness } from './harness';

const MSS = 1000;

/** ESTABLISHED with ten full segments in flight; returns their sequence numbers. */
function tenInFlight(h: Harness): number[] {
  h.conn.send(bytes(10 * MSS), h.now);
  const out = h.out();
  assert.equal(out.length, 10, `first flight: got ${out.length} segments, want 10`);
  return out.map((s) => s.seq);
}

function sack(blocks: [number, number][]): TcpOption[] {
  return [{ kind: 'sack', blocks: blocks.map(([l, r]) => ({ left: u32(l), right: u32(r) })) }];
}

function seqs(out: readonly TcpRepr[], base: number): number[] {
  return out.filter((s) => s.payload.length > 0).map((s) => u32(s.seq - base));
}

describe('ESTABLISHED: retransmission timeout (RFC 6298)', () => {
  it('retransmits the first unacknowledged segment with a doubling RTO and fails with ETIMEDOUT', () => {
    const h = established({ maxRetries: 3, minRto: 200, noDelay: true });
    const base = h.peerAck;
    h.conn.send(bytes(3 * MSS), 0);
    h.out();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const out = h.runToNextTimer();
      assert.deepEqual(seqs(out, base), [0], `retransmission ${i + 1}: got ${out.map(fmt).join(' ')}`);
      times.push(h.now);
    }
    assert.deepEqual(times, [200, 600, 1400], `RTO expiries: got ${times}, want 200,600,1400`);
    h.runToNextTimer();
    expectState(h.conn, 'CLOSED');
    assert.deepEqual(h.errors(), ['ETIMEDOUT']);
    h.expectTransition('ESTABLISHED', 'CLOSED', 'timeout retransmit (ETIMEDOUT)');
  });

  it('a timeout sets cwnd to one segment and ssthresh to half the flight', () => {
    const h = established({ noDelay: true });
    h.conn.send(bytes(6 * MSS), 0);
    h.out();
    h.runToNextTimer();
    const v = h.conn.vars();
    assert.equal(v.cwnd, MSS, `cwnd: got ${v.cwnd}, want ${MSS}`);
    assert.equal(v.ssthresh, 3 * MSS, `ssthresh: got ${v.ssthresh}, want ${3 * MSS}`);
  });

  it('after a timeout, ACKs clock out the rest again in slow start (go-back-N)', () => {
    const h = established({ noDelay: true });
    const base = h.peerAck;
    h.conn.send(bytes(4 * MSS), 0);
    h.out();
    h.runToNextTimer();
    h.peerAck = u32(base + MSS);
    const out = h.send({ flags: TCP_ACK });
    assert.deepEqual(seqs(out, base), [1000, 2000], `after the first ACK: got ${out.map(fmt).join(' ')}`);
  });

  it('an RTT sample sets SRTT, RTTVAR and RTO as RFC 6298 §2.2 says', () => {
    const h = established({ minRto: 1, noDelay: true });
    // The handshake measured 0 ms; take a fresh connection's view from its next sample.
    h.conn.send(bytes(100), 0);
    h.out();
    h.now = 80;
    h.peerAck = u32(h.peerAck + 100);
    h.send({ flags: TCP_ACK });
    const v = h.conn.vars();
    assert.equal(v.srtt, 10, `srtt: got ${v.srtt}, want 10`);
    assert.equal(v.rttvar, 20, `rttvar: got ${v.rttvar}, want 20`);
    assert.equal(v.rto, 90, `rto: got ${v.rto}, want 90`);
  });
});

describe('ESTABLISHED: fast retransmit and NewReno (RFC 5681, RFC 6582)', () => {
  it('three duplicate ACKs retransmit the missing segment; a partial ACK retransmits the next hole; a full ACK ends recovery', () => {
    const h = established({ noDelay: true, sack: false });
    const base = h.peerAck;
    tenInFlight(h);
    // Segments 2 and 5 are lost.
    h.peerAck = u32(base + 1000);
    h.send({ flags: TCP_ACK });
    h.peerAck = u32(base + 2000);
    h.send({ flags: TCP_ACK });
    assert.deepEqual(seqs(h.send({ flags: TCP_ACK }), base), [], 'first duplicate: nothing to send');
    assert.deepEqual(seqs(h.send({ flags: TCP_ACK }), base), [], 'second duplicate');
    const fr = h.send({ flags: TCP_ACK });
    assert.deepEqual(seqs(fr, base), [2000], `third duplicate: got ${fr.map(fmt).join(' ')}, want the segment at 2000`);
    assert.equal(h.conn.vars().ssthresh, 4000, `ssthresh: got ${h.conn.vars().ssthresh}, want 4000 (half of 8000 in flight)`);
    assert.equal(h.conn.vars().cwnd, 7000, `cwnd: got ${h.conn.vars().cwnd}, want ssthresh + 3·MSS`);
    for (let i = 0; i < 4; i++) assert.deepEqual(seqs(h.send({ flags: TCP_ACK }), base), [], `further duplicate ${i + 1}`);
    // The retransmission fills up to the next hole at 5000: a partial ACK.
    h.peerAck = u32(base + 5000);
    const partial = h.send({ flags: TCP_ACK });
    assert.deepEqual(seqs(partial, base), [5000], `partial ACK: got ${partial.map(fmt).join(' ')}, want the segment at 5000`);
    h.peerAck = u32(base + 10_000);
    h.send({ flags: TCP_ACK });
    const v = h.conn.vars();
    assert.ok(v.cwnd <= v.ssthresh, `after a full ACK cwnd ${v.cwnd} should be at most ssthresh ${v.ssthresh}`);
    assert.equal(h.conn.stats.fastRetransmits, 1);
  });

  it('limited transmit sends new data on the first two duplicate ACKs (RFC 3042)', () => {
    const h = established({ noDelay: true, sack: false });
    const base = h.peerAck;
    h.conn.send(bytes(14 * MSS), 0);
    h.out();
    const d1 = h.send({ flags: TCP_ACK });
    const d2 = h.send({ flags: TCP_ACK });
    assert.deepEqual([...seqs(d1, base), ...seqs(d2, base)], [10_000, 11_000]);
  });

  it('duplicate ACKs below the recovery point after a timeout do not trigger another fast retransmit', () => {
    const h = established({ noDelay: true, sack: false });
    tenInFlight(h);
    h.runToNextTimer();
    const before = h.conn.stats.fastRetransmits;
    for (let i = 0; i < 3; i++) h.send({ flags: TCP_ACK });
    assert.equal(h.conn.stats.fastRetransmits, before);
  });
});

describe('ESTABLISHED: SACK (RFC 2018, RFC 6675)', () => {
  const sackSyn: TcpOption[] = [{ kind: 'mss', value: 1000 }, { kind: 'sackPermitted' }];

  it('out-of-order data is reported in SACK blocks, most recent first', () => {
    const h = established({ sack: true }, sackSyn);
    const p = h.peerSeq;
    h.send({ flags: TCP_ACK, seq: u32(p + 1000), payload: bytes(1000) });
    h.send({ flags: TCP_ACK, seq: u32(p + 3000), payload: bytes(1000) });
    const out = h.send({ flags: TCP_ACK, seq: u32(p + 5000), payload: bytes(1000) });
    const opt = out[0]!.options.find((o) => o.kind === 'sack');
    assert.ok(opt && opt.kind === 'sack', 'SACK option present');
    const got = opt.blocks.map((b) => [u32(b.left - p), u32(b.right - p)]);
    assert.deepEqual(got, [[5000, 6000], [3000, 4000], [1000, 2000]]);
    const joined = h.send({ flags: TCP_ACK, seq: u32(p + 4000), payload: bytes(1000) });
    const opt2 = joined[0]!.options.find((o) => o.kind === 'sack');
    assert.ok(opt2 && opt2.kind === 'sack');
    assert.deepEqual(opt2.blocks.map((b) => [u32(b.left - p), u32(b.right - p)]), [[3000, 6000], [1000, 2000]]);
    const filled = h.send({ flags: TCP_ACK, payload: bytes(1000) });
    expectSeg(filled[0], { ack: u32(p + 2000) });
  });

  it('SACK is used only when both SYNs permit it', () => {
    const h = established({ sack: true });
    assert.equal(h.conn.negotiated.sack, false);
  });

  it('recovery with three holes retransmits exactly the holes, never a SACKed segment', () => {
    const h = established({ sack: true, noDelay: true }, sackSyn);
    const base = h.peerAck;
    tenInFlight(h);
    // Lost: segments 2, 5 and 8. The peer acknowledges 0 and 1, then SACKs what arrives.
    h.peerAck = u32(base + 1000);
    h.send({ flags: TCP_ACK });
    h.peerAck = u32(base + 2000);
    h.send({ flags: TCP_ACK });
    const sent: number[] = [];
    const arrive: [number, number][][] = [
      [[3000, 4000]],
      [[3000, 5000]],
      [[6000, 7000], [3000, 5000]],
      [[6000, 8000], [3000, 5000]],
      [[9000, 10000], [6000, 8000], [3000, 5000]],
    ];
    for (const blocks of arrive) {
      const out = h.send({ flags: TCP_ACK, options: sack(blocks.map(([l, r]) => [base + l, base + r])) });
      sent.push(...seqs(out, base));
    }
    assert.deepEqual(sent.sort((a, b) => a - b), [2000, 5000, 8000], `retransmitted: got ${sent}, want 2000,5000,8000`);
    assert.deepEqual(h.conn.sackScoreboard.snapshot().map((b) => [u32(b.left - base), u32(b.right - base)]), [
      [3000, 5000],
      [6000, 8000],
      [9000, 10000],
    ]);
    // The retransmissions arrive: the cumulative ACK jumps to the end and recovery ends.
    h.peerAck = u32(base + 10_000);
    h.send({ flags: TCP_ACK });
    assert.equal(h.conn.unacknowledged, 0);
    assert.equal(h.conn.stats.rtoTimeouts, 0, 'no timeout was needed');
  });

  it('SACK information is discarded after a retransmission timeout (RFC 2018 §8)', () => {
    const h = established({ sack: true, noDelay: true }, sackSyn);
    const base = h.peerAck;
    tenInFlight(h);
    h.send({ flags: TCP_ACK, options: sack([[base + 3000, base + 4000]]) });
    assert.equal(h.conn.sackScoreboard.isEmpty, false);
    h.runToNextTimer();
    assert.equal(h.conn.sackScoreboard.isEmpty, true);
  });
});

describe('ESTABLISHED: segment size with options', () => {
  it('a data segment carrying SACK blocks shrinks its payload so header options and data stay within the MSS', () => {
    const h = established({ sack: true, noDelay: true }, [{ kind: 'mss', value: 1000 }, { kind: 'sackPermitted' }]);
    h.send({ flags: TCP_ACK, seq: u32(h.peerSeq + 500), payload: bytes(100) });
    h.conn.send(bytes(3000), 0);
    const out = h.out();
    const first = out.find((s) => s.payload.length > 0)!;
    const sackOpt = first.options.find((o) => o.kind === 'sack');
    assert.ok(sackOpt && sackOpt.kind === 'sack', 'the data segment carries SACK');
    assert.equal(first.payload.length, 1000 - 12, `payload: got ${first.payload.length}, want ${1000 - 12} (MSS less one SACK block and its NOPs)`);
  });
});

describe('ESTABLISHED: after a go-back-N', () => {
  it('a pure ACK carries the next unsent octet (SND.MAX), not the rewound SND.NXT, so the peer accepts it', () => {
    const h = established({ noDelay: true, delayedAckTimeout: 0 });
    const base = h.peerAck;
    h.conn.send(bytes(3 * MSS), 0);
    h.out();
    h.runToNextTimer();
    assert.equal(h.conn.vars().sndNxt, u32(base + MSS), 'SND.NXT was rewound to resend from SND.UNA');
    const ack = h.send({ flags: TCP_ACK, payload: bytes(10) }).find((s) => s.payload.length === 0);
    expectSeg(ack, { flags: TCP_ACK, seq: u32(base + 3 * MSS), ack: u32(h.peerSeq + 10) });
  });

  it('with timestamps, an ACK echoing a timestamp from before the timeout gives no RTT sample', () => {
    const h = established({ timestamps: true, noDelay: true }, [
      { kind: 'mss', value: 1000 },
      { kind: 'timestamps', tsVal: 1, tsEcr: 0 },
    ]);
    h.conn.send(bytes(2 * MSS), 0);
    const [first] = h.out();
    const ts = first!.options.find((o) => o.kind === 'timestamps');
    assert.ok(ts && ts.kind === 'timestamps');
    const before = h.conn.vars().srtt;
    h.runToNextTimer();
    h.advance(5000);
    h.peerAck = u32(h.peerAck + MSS);
    h.peerOptions = () => [{ kind: 'timestamps', tsVal: 2, tsEcr: ts.tsVal }];
    h.send({ flags: TCP_ACK });
    assert.equal(h.conn.vars().srtt, before, `srtt: got ${h.conn.vars().srtt}, want ${before} (the stale echo is not a sample)`);
  });
});
