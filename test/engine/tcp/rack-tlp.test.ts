// engine/tcp: loss recovery with SACK — RACK-TLP (RFC 8985), PRR (RFC 6937), the RFC 6675 rescue
// retransmission and D-SACK undo (RFC 2883, RFC 3708), against a scripted peer in virtual time.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK } from '../../../engine/wire/tcp';
import type { TcpOption, TcpRepr } from '../../../engine/wire/tcp';
import type { TcpConfig } from '../../../engine/tcp/index';
import { bytes, established, fmt, u32, type Harness } from './harness';

const MSS = 1000;
const SACK_SYN: TcpOption[] = [{ kind: 'mss', value: MSS }, { kind: 'sackPermitted' }];

function sackConn(over: Partial<TcpConfig> = {}): Harness {
  return established({ sack: true, noDelay: true, ...over }, SACK_SYN);
}

function sack(base: number, blocks: [number, number][]): TcpOption[] {
  return [{ kind: 'sack', blocks: blocks.map(([l, r]) => ({ left: u32(base + l), right: u32(base + r) })) }];
}

/** Payload-carrying segments as offsets from `base`. */
function offsets(out: readonly TcpRepr[], base: number): number[] {
  return out.filter((s) => s.payload.length > 0).map((s) => u32(s.seq - base));
}

/** `n` full segments sent at the current time; returns their offsets. */
function flight(h: Harness, base: number, n: number, queued = n): number[] {
  h.conn.send(bytes(queued * MSS), h.now);
  const out = h.out();
  assert.equal(out.length, n, `first flight: got ${out.length} segments (${out.map(fmt).join(' ')}), want ${n}`);
  return offsets(out, base);
}

/** Acknowledges up to `ack` (offset) with the given SACK blocks, at time `t`; returns what went out. */
function ackAt(h: Harness, base: number, t: number, ack: number, blocks: [number, number][] = []): number[] {
  h.now = t;
  h.peerAck = u32(base + ack);
  return offsets(h.send({ flags: TCP_ACK, options: blocks.length > 0 ? sack(base, blocks) : [] }), base);
}

describe('RACK-TLP: tail loss probe (RFC 8985 §7)', () => {
  it('recovers a single lost tail segment with a probe of the last segment, without an RTO', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 4);
    // The first three arrive, but only the ACK of the first two gets back; the fourth, the tail, is lost.
    assert.deepEqual(ackAt(h, base, 10, 2000), [], 'nothing to send after the ACK');
    assert.equal(h.conn.currentTimer.kind, 'loss-probe', `timer: got ${h.conn.currentTimer.kind}, want loss-probe (PTO, not RTO)`);
    const pto = h.conn.pollAt()! - h.now;
    assert.ok(pto < h.conn.vars().rto, `PTO ${pto} ms should come before the RTO ${h.conn.vars().rto} ms`);
    const probe = h.runToNextTimer();
    assert.deepEqual(offsets(probe, base), [3000], `probe: got ${probe.map(fmt).join(' ')}, want the last segment again`);
    assert.equal(h.conn.currentTimer.kind, 'retransmit', 'after the probe the RTO is armed, not another PTO');
    ackAt(h, base, h.now + 10, 4000);
    assert.equal(h.conn.unacknowledged, 0);
    assert.equal(h.conn.stats.lossProbes, 1, `probes: got ${h.conn.stats.lossProbes}, want 1`);
    assert.equal(h.conn.stats.rtoTimeouts, 0, `RTOs: got ${h.conn.stats.rtoTimeouts}, want 0`);
  });

  it('probes with new data when the receive window allows, one segment beyond cwnd', () => {
    const h = sackConn();
    const base = h.peerAck;
    // Ten segments fill the initial window and five more wait; every ACK is lost.
    flight(h, base, 10, 15);
    assert.equal(h.conn.currentTimer.kind, 'loss-probe');
    const probe = h.runToNextTimer();
    assert.deepEqual(offsets(probe, base), [10_000], `probe: got ${probe.map(fmt).join(' ')}, want the first unsent segment`);
    assert.equal(h.conn.stats.retransmits, 0, 'a probe of new data is no retransmission');
    // The probe is answered with SACK: RACK now finds the ten earlier segments lost and recovery begins.
    const out = ackAt(h, base, h.now + 10, 0, [[10_000, 11_000]]);
    assert.deepEqual(out.slice(0, 1), [0], `after the probe's SACK: got ${out}, want the first segment retransmitted`);
    assert.equal(h.conn.stats.fastRetransmits, 1, 'the probe turned a would-be timeout into fast recovery');
    assert.equal(h.conn.stats.rtoTimeouts, 0);
  });

  it('sends no second probe while one is in flight, and falls back to the RTO', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 4);
    ackAt(h, base, 10, 3000);
    assert.equal(h.conn.currentTimer.kind, 'loss-probe', 'one segment out: the PTO allows for a delayed ACK, bounded by the RTO');
    h.runToNextTimer(); // the probe
    const next = h.runToNextTimer();
    assert.equal(h.conn.stats.rtoTimeouts, 1, 'the RTO fired after the probe went unanswered');
    assert.equal(h.conn.stats.lossProbes, 1, `probes: got ${h.conn.stats.lossProbes}, want 1`);
    assert.deepEqual(offsets(next, base), [3000], `RTO retransmission: got ${next.map(fmt).join(' ')}`);
  });
});

describe('RACK: time-based loss detection (RFC 8985 §6)', () => {
  it('finds a lost retransmission once a segment sent after it is delivered, without an RTO', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 10, 20);
    // Segment 2000 is lost; 3000–6000 are SACKed: more than DupThresh segments, so it is lost at once.
    assert.deepEqual(ackAt(h, base, 10, 2000, [[3000, 6000]]), [2000], 'the fast retransmission');
    // Two more originals arrive; PRR lets one new segment out.
    const more = ackAt(h, base, 20, 2000, [[3000, 8000]]);
    assert.equal(more.length, 1, `after the second SACK: got ${more}, want one segment`);
    assert.ok(more[0] >= 10_000, `it should be new data, got ${more[0]}`);
    // That new segment, sent after the retransmission, is SACKed while 2000 is not: the retransmission was lost.
    const again = ackAt(h, base, 30, 2000, [[3000, 8000], [more[0], more[0] + MSS]]);
    assert.ok(again.includes(2000), `after a later segment's SACK: got ${again}, want 2000 sent again`);
    assert.equal(h.conn.stats.rtoTimeouts, 0, `RTOs: got ${h.conn.stats.rtoTimeouts}, want 0`);
    assert.equal(h.conn.stats.fastRetransmits, 1, 'still the one recovery episode');
  });

  it('does not treat reordering inside the reordering window as loss', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 10);
    ackAt(h, base, 10, 1000);
    // 2000–3000 overtakes 1000–2000: one segment SACKed, fewer than DupThresh, so RACK waits reo_wnd.
    assert.deepEqual(ackAt(h, base, 10, 1000, [[2000, 3000]]), [], 'nothing is retransmitted at once');
    assert.equal(h.conn.currentTimer.kind, 'rack-reorder', `timer: got ${h.conn.currentTimer.kind}, want rack-reorder`);
    const deadline = h.conn.pollAt()!;
    assert.ok(deadline > h.now, 'the reordering timer lies ahead');
    // The late segment arrives before the window closes.
    const out = ackAt(h, base, h.now + (deadline - h.now) / 2, 3000);
    assert.deepEqual(out.filter((o) => o < 3000), [], `nothing below 3000 is resent: got ${out}`);
    assert.equal(h.conn.stats.retransmits, 0, `retransmissions: got ${h.conn.stats.retransmits}, want 0`);
    assert.equal(h.conn.stats.fastRetransmits, 0, 'no recovery');
    assert.equal(h.conn.lossDetection.reorderingSeen, true, 'the reordering was noticed (RFC 8985 §6.2 step 3)');
  });

  it('marks the segment lost when the reordering window passes without it', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 10);
    ackAt(h, base, 10, 1000);
    ackAt(h, base, 10, 1000, [[2000, 3000]]);
    const out = h.runToNextTimer();
    assert.deepEqual(offsets(out, base), [1000], `on the reordering timer: got ${out.map(fmt).join(' ')}, want 1000 retransmitted`);
    assert.equal(h.conn.stats.rackTimeouts, 1);
    assert.equal(h.conn.stats.rtoTimeouts, 0);
  });
});

describe('D-SACK (RFC 2883, RFC 3708)', () => {
  it('undoes the window reduction of a retransmission that D-SACK shows was not needed, and widens the reordering window', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 10);
    ackAt(h, base, 10, 1000);
    const before = h.conn.vars();
    ackAt(h, base, 10, 1000, [[2000, 3000]]);
    // Segment 1000 is only late: the reordering timer retransmits it and recovery cuts the window.
    h.runToNextTimer();
    const cut = h.conn.vars();
    assert.ok(cut.ssthresh < before.ssthresh, `ssthresh after the retransmission: got ${cut.ssthresh}, want below ${before.ssthresh}`);
    // Both copies arrive; the peer acknowledges everything and reports the duplicate in a D-SACK block.
    ackAt(h, base, h.now + 10, 10_000, [[1000, 2000]]);
    const v = h.conn.vars();
    assert.equal(h.conn.stats.dsacks, 1, `D-SACKs: got ${h.conn.stats.dsacks}, want 1`);
    assert.equal(h.conn.stats.undos, 1, `undos: got ${h.conn.stats.undos}, want 1`);
    assert.equal(v.ssthresh, before.ssthresh, `ssthresh: got ${v.ssthresh}, want ${before.ssthresh} restored`);
    assert.ok(v.cwnd >= before.cwnd, `cwnd: got ${v.cwnd}, want at least ${before.cwnd} restored`);
    assert.equal(h.conn.lossDetection.reoWndMult, 2, `reordering window multiplier: got ${h.conn.lossDetection.reoWndMult}, want 2 (RFC 8985 §6.2 step 4)`);
  });

  it('does not undo when only one of two retransmissions was spurious', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 10);
    // 1000 and 3000 are both deemed lost (four segments SACKed above them); PRR lets them out on two ACKs.
    const rtx = ackAt(h, base, 10, 1000, [[2000, 3000], [4000, 7000]]);
    rtx.push(...ackAt(h, base, 11, 1000, [[2000, 3000], [4000, 8000]]));
    assert.deepEqual(rtx.filter((o) => o < 4000), [1000, 3000], `retransmitted: got ${rtx}`);
    const cut = h.conn.vars().ssthresh;
    // Only 1000 arrived twice.
    ackAt(h, base, 20, 7000, [[1000, 2000]]);
    assert.equal(h.conn.stats.undos, 0, 'one real loss remains: no undo');
    assert.equal(h.conn.vars().ssthresh, cut);
  });
});

describe('PRR (RFC 6937)', () => {
  it('sends in proportion to what is delivered while pipe exceeds ssthresh, then catches up to ssthresh at most slow-start fast', () => {
    const h = sackConn({ initialCwndSegments: 20 });
    const base = h.peerAck;
    flight(h, base, 20, 60);
    // The first segment is lost; SACKs then arrive one segment at a time.
    const sent: number[] = [];
    sent.push(...ackAt(h, base, 0, 0, [[1000, 2000]]));
    assert.deepEqual(sent, [0], 'entering recovery: the fast retransmission goes out');
    const ssthresh = h.conn.vars().ssthresh;
    assert.equal(ssthresh, 10_000, `ssthresh: got ${ssthresh}, want half the 20-segment flight (NewReno)`);
    for (let k = 2; k <= 10; k++) sent.push(...ackAt(h, base, 0, 0, [[1000, 1000 + k * MSS]]));
    // pipe stayed above ssthresh: prr_out ≤ ceil(prr_delivered · ssthresh / RecoverFS) = 10·1000·½.
    assert.equal(sent.length, 5, `segments sent for ten delivered: got ${sent.length} (${sent}), want 5`);
    assert.ok(h.conn.lossDetection.pipe > ssthresh, `pipe ${h.conn.lossDetection.pipe} should still exceed ssthresh ${ssthresh}`);
    // One ACK SACKs nine more at once: pipe falls below ssthresh and PRR's reduction bound lets it
    // climb back to exactly ssthresh, since the bound (what was delivered, + 1 MSS) is not reached.
    const burst = ackAt(h, base, 0, 0, [[1000, 20_000]]);
    const pipe = h.conn.lossDetection.pipe;
    assert.equal(pipe, ssthresh, `pipe after the catch-up: got ${pipe}, want ssthresh ${ssthresh} (sent ${burst})`);
    assert.equal(h.conn.stats.rtoTimeouts, 0);
  });
});

describe('RFC 6675 rescue retransmission', () => {
  it('retransmits the unSACKed tail once per recovery when there is nothing new to send', () => {
    const h = sackConn();
    const base = h.peerAck;
    flight(h, base, 10);
    // Lost: 2000 and the tail 9000. The peer acknowledges 0–2000 and SACKs 3000–9000.
    const out = ackAt(h, base, 10, 2000, [[3000, 9000]]);
    assert.deepEqual(out, [2000, 9000], `got ${out}, want the hole then the rescue of the tail`);
    assert.equal(h.conn.stats.rescueRetransmits, 1);
    // The hole's retransmission arrives: SND.UNA is still below RescueRxt (the recovery point), so no second rescue.
    const next = ackAt(h, base, 20, 9000);
    assert.deepEqual(next, [], `got ${next}, want nothing more`);
    assert.equal(h.conn.stats.rescueRetransmits, 1, 'one rescue per recovery episode');
    ackAt(h, base, 30, 10_000);
    assert.equal(h.conn.unacknowledged, 0);
    assert.equal(h.conn.stats.rtoTimeouts, 0, 'the rescue spared the RTO the tail would have needed');
  });
});
