import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRules } from '../../../engine/steer/rules';
import { ACTION_BY_CODE, RULE_DEFAULT, RULE_EARLIER_RULES, RULE_LOCAL_PIN, Steering, SteeringBatch } from '../../../engine/steer/steering';
import { buildFrames } from './frames';
import { ethernet, tcp4Frame, tcp6Frame, udp4Frame } from '../../support/packet-builder';

const RULES = `default kernel
bypass udp and dst portrange 20000-20999
bypass tcp dst port 9000
drop   tcp port 23
`;

const L = '198.18.0.2';
const R = '198.18.0.1';
const syn = (sport: number, dport: number) => tcp4Frame(R, L, { srcPort: sport, dstPort: dport, flags: 0x02 });
const data = (sport: number, dport: number) => tcp4Frame(R, L, { srcPort: sport, dstPort: dport, flags: 0x18, payload: new Uint8Array(100) });
const reply = (sport: number, dport: number) => tcp4Frame(L, R, { srcPort: dport, dstPort: sport, flags: 0x10 });

describe('Steering', () => {
  it('classifies the first packet of a flow by the first matching rule and pins the decision', () => {
    const s = new Steering(parseRules(RULES));
    assert.equal(s.steer(syn(40000, 9000), 60, 0).action, 'bypass');
    assert.equal(s.result.rule, 1);
    assert.equal(s.result.newFlow, true);
    const flow = s.result.flowId;
    s.steer(reply(40000, 9000), 60, 1);
    assert.deepEqual({ ...s.result }, { action: 'bypass', rule: 1, flowId: flow, newFlow: false });
    assert.equal(s.steer(syn(40001, 22), 60, 2).action, 'kernel');
    assert.equal(s.result.rule, RULE_DEFAULT);
    assert.equal(s.steer(syn(40002, 23), 60, 3).action, 'drop');
  });

  it('counts packets, bytes and flows per rule and for the default', () => {
    const s = new Steering(parseRules(RULES));
    s.steer(syn(40000, 9000), 60, 0);
    s.steer(data(40000, 9000), 154, 1);
    s.steer(udp4Frame(R, L, 5000, 20001, new Uint8Array(10)), 52, 2);
    s.steer(syn(40001, 80), 60, 3);
    const last = s.counters.packets.length - 1;
    assert.deepEqual([...s.counters.packets], [1, 2, 0, 1]);
    assert.deepEqual([...s.counters.bytes], [52, 214, 0, 60]);
    assert.deepEqual([...s.counters.flows], [1, 1, 0, 1]);
    assert.equal(last, 3);
  });

  it('keeps existing flows on their old decision after a reload, sends new flows by the new rules, and reports the pinned ones', () => {
    const s = new Steering(parseRules(RULES));
    s.steer(syn(40000, 9000), 60, 0);
    s.steer(syn(40001, 9000), 60, 0);
    const r = s.reload(parseRules('default kernel\nkernel tcp dst port 9000\n'));
    assert.deepEqual(r, { applied: true, pinnedToEarlierRules: 2 });
    assert.equal(s.steer(data(40000, 9000), 154, 1).action, 'bypass', 'the old flow stays on bypass');
    assert.equal(s.result.rule, RULE_EARLIER_RULES);
    assert.equal(s.steer(syn(40002, 9000), 60, 2).action, 'kernel', 'a new flow follows the new rules');
    assert.equal(s.result.rule, 0);
    assert.equal(s.earlierRules.packets, 1);
  });

  it('refuses rules with errors and keeps the old ones', () => {
    const s = new Steering(parseRules(RULES));
    const r = s.reload(parseRules('default kernel\nbypass tcp port 99999\n'));
    assert.equal(r.applied, false);
    assert.equal(s.steer(syn(40000, 9000), 60, 0).action, 'bypass');
  });

  it('pins flows the local bypass stack opens to bypass whatever the rules say', () => {
    const s = new Steering(parseRules('default kernel\n'));
    const out = tcp4Frame(L, R, { srcPort: 50000, dstPort: 80, flags: 0x02 });
    const flow = s.pinLocal(out, 0);
    assert.ok(flow > 0);
    const back = tcp4Frame(R, L, { srcPort: 80, dstPort: 50000, flags: 0x12 });
    assert.equal(s.steer(back, 60, 1).action, 'bypass');
    assert.equal(s.result.rule, RULE_LOCAL_PIN);
    assert.equal(s.result.flowId, flow);
    s.reload(parseRules('default drop\n'));
    assert.equal(s.pinnedToEarlierRules(), 0, 'a local pin is not a flow of earlier rules');
  });

  it('classifies frames without a flow one by one', () => {
    const s = new Steering(parseRules('default kernel\ndrop ether proto 0x88cc\n'));
    assert.equal(s.steer(ethernet(0x88cc, new Uint8Array(46)), 60, 0).action, 'drop');
    assert.equal(s.result.flowId, 0);
    assert.equal(s.flows.size, 0);
  });

  it('forgets a closed TCP flow so that a new connection on the same ports is classified afresh', () => {
    const s = new Steering(parseRules(RULES), { timeouts: { tcpCloseLingerMs: 10 } });
    s.steer(syn(40000, 9000), 60, 0);
    s.steer(tcp4Frame(R, L, { srcPort: 40000, dstPort: 9000, flags: 0x04 }), 60, 1);
    s.poll(100, 1 << 20);
    assert.equal(s.flows.size, 0);
    s.reload(parseRules('default kernel\n'));
    assert.equal(s.steer(syn(40000, 9000), 60, 200).action, 'kernel');
  });

  it('steers a batch exactly as it steers its frames one at a time, evictions, closes and reloads included', () => {
    const rules = `default kernel
bypass udp and dst portrange 20000-20999
bypass tcp dst port 9000
drop   tcp port 23
kernel tcp[tcpflags] & tcp-syn != 0 and src net 198.18.0.0/15
bypass arp or icmp
`;
    // Many short flows both ways, some closing, some frames with no flow, through a table small enough to evict.
    const frames: Uint8Array[] = [];
    const odd = buildFrames();
    for (let i = 0; i < 3000; i++) {
      const port = 40000 + (i % 97);
      const kind = i % 7;
      if (kind === 0) frames.push(syn(port, 9000));
      else if (kind === 1) frames.push(reply(port, 9000));
      else if (kind === 2) frames.push(udp4Frame(R, L, port, 20000 + (i % 13), new Uint8Array(8)));
      else if (kind === 3) frames.push(tcp4Frame(R, L, { srcPort: port, dstPort: 23, flags: [0x02, 0x11, 0x04][i % 3] }));
      else if (kind === 4) frames.push(tcp4Frame(L, R, { srcPort: 23, dstPort: port, flags: 0x11 }));
      else frames.push(odd[i % odd.length].data);
    }
    const wire = frames.map((f) => f.length);
    const one = new Steering(parseRules(rules), { maxFlows: 200, timeouts: { tcpCloseLingerMs: 1 } });
    const many = new Steering(parseRules(rules), { maxFlows: 200, timeouts: { tcpCloseLingerMs: 1 } });
    const batch = new SteeringBatch(32);
    const got: string[] = [];
    const want: string[] = [];
    for (let from = 0, b = 0; from < frames.length; from += 32, b++) {
      const to = Math.min(frames.length, from + 32);
      if (b === 40) {
        one.reload(parseRules('default drop\nbypass udp\n'));
        many.reload(parseRules('default drop\nbypass udp\n'));
      }
      many.steerBatch(frames, wire, b, from, to, batch);
      for (let i = from; i < to; i++) {
        const r = one.steer(frames[i], wire[i], b);
        want.push(`${i}: ${r.action} ${r.rule} ${r.flowId} ${r.newFlow}`);
        const j = i - from;
        got.push(`${i}: ${ACTION_BY_CODE[batch.action[j]]} ${batch.rule[j]} ${batch.flowId[j]} ${batch.newFlow[j] === 1}`);
      }
      one.poll(b, 512);
      many.poll(b, 512);
    }
    assert.deepEqual(got, want);
    assert.deepEqual([...many.counters.packets], [...one.counters.packets]);
    assert.deepEqual([...many.counters.flows], [...one.counters.flows]);
    assert.deepEqual(many.flows.counters, one.flows.counters);
    const c = one.flows.counters;
    assert.ok(c.evicted > 0 && c.closed > 0, `the run evicts and closes flows: got ${JSON.stringify(c)}`);
  });

  it('refuses a batch bigger than its answer buffer', () => {
    const s = new Steering(parseRules(RULES));
    const frames = Array.from({ length: 5 }, (_, i) => syn(40000 + i, 9000));
    assert.throws(() => s.steerBatch(frames, [60, 60, 60, 60, 60], 0, 0, 5, new SteeringBatch(4)), /does not fit/);
  });
  it('a FIN, RST or empty ACK of no known flow is steered by the rules and leaves no flow; a SYN or data starts one', () => {
    const s = new Steering(parseRules(RULES));
    const fin = tcp4Frame(R, L, { srcPort: 40000, dstPort: 9000, flags: 0x11 });
    const rst = tcp4Frame(R, L, { srcPort: 40001, dstPort: 9000, flags: 0x04 });
    const ack = tcp4Frame(R, L, { srcPort: 40002, dstPort: 9000, flags: 0x10 });
    const ack6 = tcp6Frame('2001:db8::1', '2001:db8::2', { srcPort: 40003, dstPort: 9000, flags: 0x10 });
    for (const f of [fin, rst, ack, ack6]) {
      const r = s.steer(f, f.length, 0);
      assert.deepEqual({ action: r.action, rule: r.rule, flowId: r.flowId, newFlow: r.newFlow }, { action: 'bypass', rule: 1, flowId: 0, newFlow: false });
    }
    assert.equal(s.flows.size, 0, 'flows left by segments that cannot open a connection');
    assert.deepEqual([s.counters.packets[1], s.counters.flows[1]], [4, 0], 'rule 2 counts the packets and no flows');
    // Data picks a connection up mid-stream (a capture that starts late); a SYN opens one.
    const d6 = tcp6Frame('2001:db8::1', '2001:db8::2', { srcPort: 40004, dstPort: 9000, flags: 0x18, payload: new Uint8Array(10) });
    for (const f of [data(40005, 9000), d6, syn(40006, 9000)]) assert.equal(s.steer(f, f.length, 1).newFlow, true);
    assert.equal(s.flows.size, 3);
  });

  it('a late FIN the bypass stack retransmits after its flow closed and was forgotten makes no new pin', () => {
    const s = new Steering(parseRules(RULES), { timeouts: { tcpCloseLingerMs: 1 } });
    const theirFin = tcp4Frame(R, L, { srcPort: 40000, dstPort: 9000, flags: 0x11 });
    const ourFin = tcp4Frame(L, R, { srcPort: 9000, dstPort: 40000, flags: 0x11 });
    s.steer(syn(40000, 9000), 60, 0);
    s.steer(theirFin, 60, 1);
    assert.notEqual(s.pinLocal(ourFin, 2), 0, 'the open flow takes our FIN');
    s.poll(10, 1 << 16);
    assert.equal(s.flows.size, 0, 'closed both ways, then forgotten after the linger');
    assert.equal(s.pinLocal(ourFin, 11), 0, 'our retransmitted FIN');
    assert.equal(s.steer(tcp4Frame(R, L, { srcPort: 40000, dstPort: 9000, flags: 0x10 }), 60, 12).flowId, 0, 'the peer\'s ACK of it');
    assert.equal(s.flows.size, 0);
    // A connection the bypass stack opens is still pinned from its SYN.
    assert.notEqual(s.pinLocal(tcp4Frame(L, R, { srcPort: 41000, dstPort: 80, flags: 0x02 }), 13), 0);
    assert.equal(s.flows.size, 1);
  });
});
