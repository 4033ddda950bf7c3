// The steering preview: re-steering a real sim capture with the rules it ran predicts no change and
// the live per-rule counts; edited rules move exactly the packets of the flows they re-decide; flows
// the bypass stack opened, unsteered ARP replies, idle expiry and the work bound behave as live.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRules } from '../../../engine/steer/rules';
import { computePreview } from '../../../extension/rules/preview';
import { renderPreview } from '../../../extension/rules/preview-text';
import type { PreviewPacket } from '../../../extension/rules/sources';
import { tcp4Frame, udp4Frame } from '../../support/packet-builder';
import { ROUTING, recordCapture, visitor } from './capture';

describe('the steering preview over a real sim capture', () => {
  let packets: PreviewPacket[];
  before(async () => {
    packets = await recordCapture(ROUTING, 3000);
  });

  it('predicts no change for the rules the capture ran, and the live per-rule packet counts', () => {
    const set = parseRules(ROUTING);
    const r = computePreview(set, visitor(packets));
    assert.equal(r.visited, packets.length);
    assert.equal(r.changedPackets, 0, `changed packets: got ${r.changedPackets}, want 0`);
    const live = new Array<number>(set.rules.length + 1).fill(0);
    for (const p of packets) if (p.direction === 'rx' && p.rule >= -1) live[p.rule < 0 ? set.rules.length : p.rule]++;
    assert.deepEqual(r.perRule.map((s) => s.packets), live);
    assert.ok(live.filter((n) => n > 0).length >= 3, `rules with traffic: got ${live}, want at least 3 slots used`);
    const pinned = packets.filter((p) => p.direction === 'rx' && p.rule === -2).length;
    assert.equal(r.localPinned, pinned, `local pins: got ${r.localPinned}, want ${pinned}`);
    assert.equal(r.notSteered, packets.filter((p) => p.direction === 'rx' && p.rule === -3).length);
    assert.equal(r.transmitted, packets.filter((p) => p.direction === 'tx').length);
  });

  it('moves exactly the packets of the rule an edit re-decides, with the paths they would change between', () => {
    const edited = ROUTING.replace('bypass  tcp port 8080', 'kernel  tcp port 8080');
    const set = parseRules(edited);
    const rule8080 = set.rules.findIndex((r) => r.filterText === 'tcp port 8080');
    const r = computePreview(set, visitor(packets));
    const live8080 = packets.filter((p) => p.direction === 'rx' && p.rule === rule8080);
    assert.ok(live8080.length > 0, 'the capture has traffic on tcp port 8080');
    assert.deepEqual(r.perRule[rule8080].changes.map((c) => [c.from, c.to, c.packets]), [['bypass', 'kernel', live8080.length]]);
    assert.equal(r.changedPackets, live8080.length);
    assert.equal(r.changedBytes, live8080.reduce((n, p) => n + p.wireLen, 0));
    assert.ok(r.changedFlows > 0);
    assert.deepEqual(r.changedFrom, [{ rule: rule8080, packets: live8080.length }]);
    for (const [i, s] of r.perRule.entries()) if (i !== rule8080) assert.equal(s.changes.length, 0, `slot ${i} changes: got ${JSON.stringify(s.changes)}`);
  });

  it('sends to the default what a deleted rule decided, and says which rule decided it in the capture', () => {
    const set = parseRules(ROUTING.replace(/^bypass {2}udp.*$/m, ''));
    const r = computePreview(set, visitor(packets));
    const liveUdp = packets.filter((p) => p.direction === 'rx' && p.rule === 0).length;
    const def = r.perRule[set.rules.length];
    assert.deepEqual(def.changes.map((c) => [c.from, c.to, c.packets]), [['bypass', 'kernel', liveUdp]]);
    assert.deepEqual(r.changedFrom, [{ rule: 0, packets: liveUdp }]);
  });

  it('looks at no more packets than its limit and says so', () => {
    const r = computePreview(parseRules(ROUTING), visitor(packets), { limit: 100 });
    assert.equal(r.considered, 100);
    assert.equal(r.visited, packets.length);
    assert.equal(r.limited, true);
    const text = renderPreview(r, parseRules(ROUTING), { fileName: 'routing.bypass', dirty: false, isCaptureRules: true, captureRunning: true, limitSetting: 'bypassScope.rules.previewPacketLimit' });
    assert.match(text, new RegExp(`Only the first 100 of ${packets.length.toLocaleString('en-US')} packets were previewed \\(setting bypassScope.rules.previewPacketLimit\\)`));
  });

  it('renders a table with one row per rule and the default, the changes on the rule that makes them', () => {
    const edited = ROUTING.replace('bypass  tcp port 8080', 'kernel  tcp port 8080');
    const set = parseRules(edited);
    const r = computePreview(set, visitor(packets));
    const text = renderPreview(r, set, { fileName: 'routing.bypass', dirty: true, isCaptureRules: true, captureRunning: true, limitSetting: 'x' });
    const lines = text.split('\n');
    assert.match(lines[0], /^Steering preview — routing\.bypass \(unsaved edits\)$/);
    const row = lines.find((l) => l.includes('tcp port 8080'));
    assert.ok(row, `a row for tcp port 8080 in:\n${text}`);
    assert.match(row!, new RegExp(`kernel\\s+tcp port 8080\\s+[0-9,]+\\s+[0-9,]+\\s+${r.changedPackets.toLocaleString('en-US')} bypass → kernel$`));
    assert.ok(lines.some((l) => /^\s*3\s+default\s+kernel/.test(l)), `a default row on line 3 in:\n${text}`);
    assert.match(text, /Would change path: [0-9,]+ packets/);
  });
});

describe('the steering preview on hand-made frames', () => {
  const L = '198.18.0.2';
  const R = '198.18.0.1';
  const rx = (frame: Uint8Array, path: PreviewPacket['path'], rule: number, timeNs?: number): PreviewPacket => ({ frame, wireLen: frame.length, direction: 'rx', path, rule, timeNs });

  it('keeps flows the bypass stack opened on bypass whatever the edited rules say', () => {
    const syn = tcp4Frame(L, R, { srcPort: 40000, dstPort: 80, flags: 0x02 });
    const synAck = tcp4Frame(R, L, { srcPort: 80, dstPort: 40000, flags: 0x12 });
    const ps: PreviewPacket[] = [{ frame: syn, wireLen: syn.length, direction: 'tx', path: 'bypass', rule: -3 }, rx(synAck, 'bypass', -2)];
    const r = computePreview(parseRules('default kernel\nkernel tcp port 80\n'), visitor(ps));
    assert.deepEqual([r.localPinned, r.steered, r.changedPackets], [1, 0, 0]);
  });

  it('does not steer what the NIC did not steer (ARP replies)', () => {
    const f = udp4Frame(R, L, 5000, 6000, new Uint8Array(4));
    const r = computePreview(parseRules('default bypass\n'), visitor([rx(f, 'none', -3)]));
    assert.deepEqual([r.notSteered, r.steered, r.changedPackets], [1, 0, 0]);
  });

  it('pins a flow by its first packet, and with capture times lets an idle flow expire and be decided again', () => {
    const a = udp4Frame(R, L, 5000, 20001, new Uint8Array(4));
    const set = parseRules('default kernel\nbypass udp port 20001\n');
    const untimed = computePreview(set, visitor([rx(a, 'kernel', -1), rx(a, 'kernel', -1)]));
    assert.deepEqual([untimed.perRule[0].flows, untimed.perRule[0].packets, untimed.changedFlows], [1, 2, 1]);
    // UDP flows idle for 30 s are forgotten; 60 s apart, the second packet starts a new flow.
    const timed = computePreview(set, visitor([rx(a, 'kernel', -1, 0), rx(udp4Frame(R, L, 9, 9, new Uint8Array(1)), 'kernel', -1, 59e9), rx(a, 'kernel', -1, 60e9)]));
    assert.equal(timed.perRule[0].flows, 2, `flows of the udp rule: got ${timed.perRule[0].flows}, want 2`);
  });

  it('counts a changed flow once however many packets it has', () => {
    const a = udp4Frame(R, L, 5000, 20001, new Uint8Array(4));
    const r = computePreview(parseRules('default drop\n'), visitor([rx(a, 'kernel', -1), rx(a, 'kernel', -1), rx(a, 'kernel', -1)]));
    assert.deepEqual(r.perRule[0].changes, [{ from: 'kernel', to: 'drop', packets: 3, bytes: 3 * a.length, flows: 1 }]);
  });
});
