// engine/tcp: the parts on their own — sequence arithmetic, the receive ring, the SACK scoreboard,
// the RTO estimator and the congestion controllers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCongestion, initialWindow } from '../../../engine/tcp/congestion';
import { ReceiveQueue } from '../../../engine/tcp/receive-queue';
import { SentLog } from '../../../engine/tcp/rack';
import { SeededRng } from '../../../engine/tcp/rng';
import { RttEstimator } from '../../../engine/tcp/rtt';
import { SackScoreboard } from '../../../engine/tcp/sack';
import { SendQueue } from '../../../engine/tcp/send-queue';
import { seq, seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqSub } from '../../../engine/tcp/seq';
import { windowShiftFor } from '../../../engine/tcp/options';

describe('sequence numbers', () => {
  it('compare across the 2^32 wrap', () => {
    const a = seq(0xfffffff0);
    const b = seqAdd(a, 0x20);
    assert.equal(b, 0x10);
    assert.ok(seqLt(a, b) && seqLe(a, b) && seqGt(b, a) && seqGe(b, a), 'a < b across the wrap');
    assert.equal(seqSub(b, a), 0x20);
    assert.equal(seqSub(a, b), -0x20);
    assert.equal(seqMax(a, b), b);
  });
});

describe('receive queue', () => {
  it('reassembles random out-of-order writes with interleaved reads into the original stream', () => {
    const rng = new SeededRng(3);
    const total = 200_000;
    const data = new Uint8Array(total);
    for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
    const rq = new ReceiveQueue(8192, 64);
    const base = seq(0xfffff000);
    let rcvNxt = base;
    let readOff = 0;
    let bad = 0;
    const out = new Uint8Array(8192);
    for (let step = 0; step < 200_000 && readOff < total; step++) {
      const delivered = seqSub(rcvNxt, base);
      const off = delivered + Math.floor(rng.next() * 6000);
      const len = Math.min(1 + Math.floor(rng.next() * 1500), total - off, rq.free - (off - delivered));
      if (len > 0) {
        const adv = rq.write(rcvNxt, seqAdd(base, off), data, off, len);
        if (adv > 0) rcvNxt = seqAdd(rcvNxt, adv);
      }
      if (rng.next() < 0.3) {
        const k = rq.read(out.subarray(0, Math.floor(rng.next() * 4000)));
        for (let i = 0; i < k; i++) if (out[i] !== data[readOff + i]) bad++;
        readOff += k;
      }
    }
    assert.equal(bad, 0, `corrupt bytes: got ${bad}, want 0`);
    assert.ok(readOff > total / 2, `bytes read: got ${readOff}`);
  });

  it('keeps out-of-order data in place when the application drains the in-order part', () => {
    const rq = new ReceiveQueue(100, 8);
    const d = new Uint8Array(30).map((_, i) => i);
    assert.equal(rq.write(seq(0), seq(0), d, 0, 10), 10);
    assert.equal(rq.write(seq(10), seq(20), d, 20, 10), 0);
    rq.read(new Uint8Array(10));
    assert.equal(rq.write(seq(10), seq(10), d, 10, 10), 20);
    const got = new Uint8Array(20);
    rq.read(got);
    assert.deepEqual([...got], [...d.subarray(10, 30)]);
  });

  it('hands in-order bytes out as views that later segments never change', () => {
    const rq = new ReceiveQueue(1 << 20, 8);
    const big = new Uint8Array(60_000).map((_, i) => i & 0xff);
    assert.equal(rq.write(seq(0), seq(0), big, 0, big.length), big.length);
    const small = new Uint8Array(100).map((_, i) => 255 - i);
    assert.equal(rq.write(seq(60_000), seq(60_000), small, 0, 100), 100);
    const first = rq.take(64 * 1024);
    assert.equal(first.length, 60_100, 'consecutive segments come out in one view');
    assert.deepEqual([...first.subarray(59_998, 60_002)], [0x5e, 0x5f, 255, 254]);
    const copy = Uint8Array.from(first);
    // More data, out of order and then in order, lands behind the view, never in it.
    assert.equal(rq.write(seq(60_100), seq(61_000), small, 0, 100), 0);
    assert.equal(rq.write(seq(60_100), seq(60_100), new Uint8Array(900).fill(7), 0, 900), 1000);
    assert.ok(Buffer.from(first.buffer, first.byteOffset, first.length).equals(copy), 'the view handed out is unchanged');
    const rest = rq.take(64 * 1024);
    assert.equal(rest.length, 1000);
    assert.deepEqual([rest[0], rest[899], rest[900], rest[999]], [7, 7, 255, 156]);
    assert.equal(rq.readable, 0);
    assert.equal(rq.take(10).length, 0, 'nothing left');
  });

  it('takes at most what it is asked for, and the rest stays readable in order', () => {
    const rq = new ReceiveQueue(1 << 20, 8);
    const d = new Uint8Array(40_000).map((_, i) => (i * 3) & 0xff);
    rq.write(seq(5), seq(5), d, 0, d.length);
    const a = rq.take(30_000);
    const b = rq.take(30_000);
    assert.deepEqual([a.length, b.length], [30_000, 10_000]);
    assert.deepEqual([...b.subarray(0, 3)], [...d.subarray(30_000, 30_003)]);
  });

  it('fills a slab again from its start once read() copied everything out, but never a slab a view was taken of', () => {
    const copied = new ReceiveQueue(1 << 20, 8);
    const d = new Uint8Array(100).map((_, i) => i);
    copied.write(seq(0), seq(0), d, 0, 100);
    copied.read(new Uint8Array(100));
    copied.write(seq(100), seq(100), d, 0, 100);
    assert.equal(copied.take(100).byteOffset, 0, 'the second segment went to the front of the slab');

    const viewed = new ReceiveQueue(1 << 20, 8);
    viewed.write(seq(0), seq(0), d, 0, 100);
    const v = viewed.take(40);
    viewed.read(new Uint8Array(60));
    viewed.write(seq(100), seq(100), new Uint8Array(100).fill(0xee), 0, 100);
    assert.deepEqual([...v], [...d.subarray(0, 40)], 'the view taken earlier is unchanged');
    const next = viewed.take(100);
    assert.equal(next.byteOffset, 100, 'new bytes go behind the ones viewed');
    assert.deepEqual([next[0], next[99]], [0xee, 0xee]);
  });

  it('refuses a new out-of-order range beyond its bound', () => {
    const rq = new ReceiveQueue(1000, 2);
    const d = new Uint8Array(100);
    assert.equal(rq.write(seq(0), seq(10), d, 0, 5), 0);
    assert.equal(rq.write(seq(0), seq(30), d, 0, 5), 0);
    assert.equal(rq.write(seq(0), seq(50), d, 0, 5), -1);
    assert.equal(rq.write(seq(0), seq(15), d, 0, 5), 0, 'extending an existing range is still allowed');
  });
});

describe('RACK sent log', () => {
  it('reuses the records a cumulative ACK passed, each as a fresh one', () => {
    const log = new SentLog();
    log.onSend(seq(0), seq(100), 1, 1);
    log.onSend(seq(100), seq(200), 1, 1);
    log.sack(seq(100), seq(200), () => {});
    log.markLost(log.records()[0]);
    log.onSend(seq(0), seq(100), 2, 2);
    const old = log.records();
    assert.deepEqual(old.map((r) => [r.sacked, r.lost, r.retransmitted, r.rtxInFlight]), [[false, true, true, true], [true, false, false, false]]);
    assert.equal(log.ack(seq(200), () => {}), 100);
    assert.ok(log.isEmpty);
    log.onSend(seq(200), seq(300), 3, 3);
    log.onSend(seq(300), seq(400), 3, 3);
    const fresh = log.records();
    assert.ok(fresh.every((r) => old.includes(r)), 'the passed records are used again');
    assert.deepEqual(
      fresh.map((r) => [r.start, r.end, r.xmitTs, r.sacked, r.lost, r.retransmitted, r.rtxInFlight]),
      [[200, 300, 3, false, false, false, false], [300, 400, 3, false, false, false, false]],
    );
    assert.equal(log.pipe, 200);
    assert.equal(log.oldestInFlight?.start, 200, 'both in flight, in transmit order');
    assert.equal(log.oldestInFlight?.next?.start, 300);
  });
});

describe('send queue', () => {
  it('copies out across the ring boundary and consumes acknowledged bytes', () => {
    const sq = new SendQueue(8);
    assert.equal(sq.push(new Uint8Array([1, 2, 3, 4, 5, 6])), 6);
    sq.consume(5);
    assert.equal(sq.push(new Uint8Array([7, 8, 9, 10, 11, 12, 13, 14])), 7);
    assert.deepEqual([...sq.copyOut(0, 8)], [6, 7, 8, 9, 10, 11, 12, 13]);
  });
});

describe('send queue views', () => {
  it('lends bytes that lie in one piece as a view into the ring', () => {
    const sq = new SendQueue(8);
    sq.push(new Uint8Array([1, 2, 3, 4, 5, 6]));
    const v = sq.view(1, 4);
    assert.deepEqual([...v], [2, 3, 4, 5]);
    sq.push(new Uint8Array([7]));
    assert.deepEqual([...v], [2, 3, 4, 5], 'a push writes behind the data, not over it');
    v[0] = 99;
    assert.equal(sq.copyOut(1, 1)[0], 99, 'the view aliases the ring');
  });

  it('copies bytes that wrap around the end of the ring, as copyOut does', () => {
    const sq = new SendQueue(8);
    sq.push(new Uint8Array([1, 2, 3, 4, 5, 6]));
    sq.consume(5);
    sq.push(new Uint8Array([7, 8, 9, 10, 11, 12, 13]));
    assert.deepEqual([...sq.view(0, 8)], [6, 7, 8, 9, 10, 11, 12, 13]);
    assert.deepEqual([...sq.view(2, 3)], [...sq.copyOut(2, 3)]);
    assert.equal(sq.view(3, 0).length, 0);
  });
});

describe('SACK scoreboard', () => {
  it('computes IsLost and pipe per RFC 6675', () => {
    const sb = new SackScoreboard();
    const una = seq(0);
    sb.update(una, seq(10_000), [{ left: 3000, right: 5000 }, { left: 6000, right: 8000 }, { left: 9000, right: 10_000 }]);
    assert.equal(sb.isLost(seq(2000), 1000), true, 'three blocks above');
    assert.equal(sb.isLost(seq(5000), 1000), true, 'three thousand bytes above');
    assert.equal(sb.isLost(seq(8000), 1000), false, 'one block of 1000 bytes above');
    // Holes: [0,3000) lost, [5000,6000) lost, [8000,9000) not lost → pipe 1000; nothing retransmitted.
    assert.equal(sb.pipe(una, seq(10_000), una, 1000), 1000);
    // Retransmitted up to 5500 adds the retransmitted octets of the holes below HighRxt.
    assert.equal(sb.pipe(una, seq(10_000), seq(5500), 1000), 1000 + 3000 + 500);
    assert.deepEqual(sb.nextHole(una, seq(1000), 1000, true), { seq: 1000, len: 1000 });
    assert.deepEqual(sb.nextHole(una, seq(6000), 1000, true), undefined, 'the hole at 8000 is not lost');
    assert.deepEqual(sb.nextHole(una, seq(6000), 1000, false), { seq: 8000, len: 1000 });
  });

  it('ignores blocks below SND.UNA or above what was sent, and trims on new ACKs', () => {
    const sb = new SackScoreboard();
    assert.equal(sb.update(seq(1000), seq(5000), [{ left: 0, right: 500 }, { left: 6000, right: 7000 }]), 0);
    assert.equal(sb.update(seq(1000), seq(5000), [{ left: 2000, right: 3000 }]), 1000);
    sb.trim(seq(2500));
    assert.deepEqual(sb.snapshot(), [{ left: 2500, right: 3000 }]);
  });
});

describe('RTO estimator', () => {
  it('backs off by doubling up to the maximum', () => {
    const r = new RttEstimator(1000, 200, 4000);
    r.backoff();
    r.backoff();
    r.backoff();
    assert.equal(r.rto, 4000);
    r.sample(100);
    assert.equal(r.rto, 300, `after a 100 ms sample: got ${r.rto}, want 100 + 4·50`);
  });
});

describe('congestion control', () => {
  it('IW follows RFC 6928', () => {
    assert.equal(initialWindow(10, 1460), 14600);
    assert.equal(initialWindow(10, 536), 5360);
    assert.equal(initialWindow(10, 9000), 18000);
  });

  it('NewReno grows by one SMSS per window in congestion avoidance and halves on loss', () => {
    const cc = createCongestion('newreno', 10_000);
    cc.ssthresh = 10_000;
    for (let i = 0; i < 10; i++) cc.onAck(1000, 1000, 0, 50);
    assert.equal(cc.cwnd, 11_000);
    cc.onLoss(11_000, 1000, 0);
    assert.equal(cc.ssthresh, 5500);
    assert.equal(cc.cwnd, 5500);
  });

  it('CUBIC reduces by β = 0.7 and grows back toward W_max', () => {
    const cc = createCongestion('cubic', 100_000);
    cc.ssthresh = 100_000;
    cc.onLoss(100_000, 1000, 0);
    assert.equal(cc.cwnd, 70_000);
    let t = 0;
    for (let i = 0; i < 2000; i++) {
      t += 10;
      cc.onAck(1000, 1000, t, 50);
    }
    assert.ok(cc.cwnd > 95_000, `cwnd after 20 s: got ${cc.cwnd}, want close to or above W_max 100000`);
  });

  it('a timeout collapses cwnd to one segment', () => {
    for (const k of ['newreno', 'cubic'] as const) {
      const cc = createCongestion(k, 50_000);
      cc.onRto(50_000, 1000, 0);
      assert.equal(cc.cwnd, 1000, `${k}: cwnd got ${cc.cwnd}, want 1000`);
    }
  });
});

describe('window scale', () => {
  it('chooses the smallest shift that lets the buffer be advertised', () => {
    assert.equal(windowShiftFor(65535), 0);
    assert.equal(windowShiftFor(65536), 1);
    assert.equal(windowShiftFor(1 << 20), 5);
    assert.equal(windowShiftFor(1 << 30), 14);
  });
});
