import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../../engine/steer/flow-table';
import { KEY_WORDS, extractFlowKey, FlowKind, type KeyInfo } from '../../../engine/steer/flow-key';
import { ethernet, icmp, ip4, ipv4, tcp4Frame, tcp6Frame, udp4Frame } from '../../support/packet-builder';

const A = '198.18.0.1';
const B = '198.18.0.2';

function keyOf(frame: Uint8Array): { key: Uint32Array; info: KeyInfo } {
  const key = new Uint32Array(KEY_WORDS);
  const info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0, opens: true };
  assert.ok(extractFlowKey(frame, key, info), 'frame has a flow key');
  return { key, info };
}

describe('flow keys', () => {
  it('give both directions of a TCP connection the same key and tell them apart by direction', () => {
    const ab = keyOf(tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000 }));
    const ba = keyOf(tcp4Frame(B, A, { srcPort: 9000, dstPort: 40000 }));
    assert.deepEqual(ab.key, ba.key);
    assert.notEqual(ab.info.forward, ba.info.forward);
    assert.equal(ab.info.kind, FlowKind.TCP);
  });

  it('separate flows that differ only in a port or the protocol', () => {
    const a = keyOf(tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000 })).key;
    const b = keyOf(tcp4Frame(A, B, { srcPort: 40001, dstPort: 9000 })).key;
    const c = keyOf(udp4Frame(A, B, 40000, 9000, new Uint8Array(4))).key;
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('look through VLAN tags', () => {
    const plain = keyOf(tcp4Frame(A, B, { srcPort: 1, dstPort: 2 })).key;
    const tagged = keyOf(tcp4Frame(A, B, { srcPort: 1, dstPort: 2 }, { vlans: [{ tpid: 0x8100, pcp: 0, dei: false, vid: 7 }] })).key;
    assert.deepEqual(tagged, plain);
  });

  it('pair ICMP echo requests and replies by identifier', () => {
    const echo = (src: string, dst: string, kind: 'echoRequest' | 'echoReply', identifier: number) =>
      ethernet(0x0800, ipv4({ src: ip4(src), dst: ip4(dst), protocol: 1 }, icmp({ kind, identifier, sequence: 1, data: new Uint8Array(8) })));
    const req = keyOf(echo(A, B, 'echoRequest', 9)).key;
    const rep = keyOf(echo(B, A, 'echoReply', 9)).key;
    const other = keyOf(echo(A, B, 'echoRequest', 10)).key;
    assert.deepEqual(req, rep);
    assert.notDeepEqual(req, other);
  });

  it('put the first and later fragments of a datagram in one pseudo-flow', () => {
    const first = ethernet(0x0800, ipv4({ src: ip4(A), dst: ip4(B), protocol: 17, identification: 5, moreFragments: true }, new Uint8Array(16)));
    const later = ethernet(0x0800, ipv4({ src: ip4(A), dst: ip4(B), protocol: 17, identification: 5, fragmentOffset: 16 }, new Uint8Array(16)));
    assert.deepEqual(keyOf(first).key, keyOf(later).key);
  });

  it('key IPv6 TCP by the full addresses and ports', () => {
    const ab = keyOf(tcp6Frame('2001:db8::1', '2001:db8::2', { srcPort: 5, dstPort: 6 }));
    const ba = keyOf(tcp6Frame('2001:db8::2', '2001:db8::1', { srcPort: 6, dstPort: 5 }));
    const other = keyOf(tcp6Frame('2001:db8::1', '2001:db8::3', { srcPort: 5, dstPort: 6 }));
    assert.deepEqual(ab.key, ba.key);
    assert.notDeepEqual(ab.key, other.key);
  });

  it('refuse runts and frames of unknown EtherTypes', () => {
    const key = new Uint32Array(KEY_WORDS);
    const info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0, opens: true };
    assert.equal(extractFlowKey(new Uint8Array(10), key, info), false);
    assert.equal(extractFlowKey(ethernet(0x88cc, new Uint8Array(40)), key, info), false);
    assert.equal(extractFlowKey(ethernet(0x0800, new Uint8Array(10)), key, info), false);
  });
});

describe('FlowTable', () => {
  const udpKey = (port: number) => keyOf(udp4Frame(A, B, port, 53, new Uint8Array(4)));

  it('finds what it inserted and nothing else', () => {
    const t = new FlowTable({ maxFlows: 100 });
    const { key, info } = udpKey(1000);
    const slot = t.insert(key, info.kind, 1, 3, 0, 0);
    assert.equal(t.find(key), slot);
    assert.equal(t.ruleAt(slot), 3);
    assert.equal(t.actionAt(slot), 1);
    assert.equal(t.find(udpKey(1001).key), -1);
  });

  it('keeps every flow findable through many inserts and removals (backward-shift deletion)', () => {
    const t = new FlowTable({ maxFlows: 4000 });
    const live = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const { key, info } = udpKey(i);
      t.insert(key, info.kind, 0, 0, 0, 0);
      live.add(i);
      if (i % 3 === 0) {
        const victim = i - i / 3;
        assert.ok(t.remove(udpKey(victim).key), `remove flow ${victim}`);
        live.delete(victim);
      }
    }
    for (let i = 0; i < 3000; i++) assert.equal(t.find(udpKey(i).key) >= 0, live.has(i), `flow ${i}`);
    assert.equal(t.size, live.size);
  });

  it('evicts the least recently seen flow when full, and counts it', () => {
    const t = new FlowTable({ maxFlows: 8 });
    for (let i = 0; i < 8; i++) {
      const { key, info } = udpKey(i);
      t.insert(key, info.kind, 0, 0, 0, i);
    }
    const { key, info } = udpKey(100);
    t.insert(key, info.kind, 0, 0, 0, 50);
    assert.equal(t.size, 8);
    assert.equal(t.counters.evicted, 1);
    assert.equal(t.find(udpKey(0).key), -1, 'the oldest flow went');
    assert.ok(t.find(udpKey(100).key) >= 0);
  });

  it('forgets idle flows after their timeout and keeps busy ones', () => {
    const t = new FlowTable({ maxFlows: 16, timeouts: { udpMs: 1000 } });
    const idle = udpKey(1);
    const busy = udpKey(2);
    t.insert(idle.key, idle.info.kind, 0, 0, 0, 0);
    const s = t.insert(busy.key, busy.info.kind, 0, 0, 0, 0);
    t.touch(s, busy.info, 900);
    t.poll(1500, 1 << 20);
    assert.equal(t.find(idle.key), -1);
    assert.ok(t.find(busy.key) >= 0);
    assert.equal(t.counters.expired, 1);
  });

  it('removes a TCP flow a linger after FIN both ways, and a linger after RST', () => {
    const t = new FlowTable({ maxFlows: 16, timeouts: { tcpCloseLingerMs: 100 } });
    const fin1 = keyOf(tcp4Frame(A, B, { srcPort: 1, dstPort: 2, flags: 0x11 }));
    const fin2 = keyOf(tcp4Frame(B, A, { srcPort: 2, dstPort: 1, flags: 0x11 }));
    const s = t.insert(fin1.key, fin1.info.kind, 0, 0, 0, 0);
    t.touch(s, fin1.info, 0);
    t.poll(500, 1 << 20);
    assert.ok(t.find(fin1.key) >= 0, 'one FIN does not close');
    t.touch(t.find(fin2.key), fin2.info, 600);
    t.poll(650, 1 << 20);
    assert.ok(t.find(fin1.key) >= 0, 'still lingering');
    t.poll(701, 1 << 20);
    assert.equal(t.find(fin1.key), -1);
    assert.equal(t.counters.closed, 1);
    const rst = keyOf(tcp4Frame(A, B, { srcPort: 3, dstPort: 4, flags: 0x04 }));
    t.touch(t.insert(rst.key, rst.info.kind, 0, 0, 0, 1000), rst.info, 1000);
    t.poll(1100, 1 << 20);
    assert.equal(t.find(rst.key), -1);
  });

  it('counts the flows still pinned under older rule generations', () => {
    const t = new FlowTable({ maxFlows: 16 });
    for (let i = 0; i < 3; i++) t.insert(udpKey(i).key, FlowKind.UDP, 0, 0, 1, 0);
    for (let i = 3; i < 5; i++) t.insert(udpKey(i).key, FlowKind.UDP, 0, 0, 2, 0);
    assert.equal(t.pinnedBefore(2), 3);
    t.remove(udpKey(0).key);
    assert.equal(t.pinnedBefore(2), 2);
    assert.equal(t.pinnedBefore(3), 4);
  });
});
