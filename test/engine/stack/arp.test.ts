// ARP (RFC 826) in the stack: the announcement at start, answering requests, resolution with a
// bounded queue, and the cache's timeouts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimNetwork } from '../../../engine/backends/sim-network';
import { parseArp, ARP_OP_REPLY, ARP_OP_REQUEST } from '../../../engine/wire/arp';
import { macToString } from '../../../engine/wire/address';
import { ethernet } from '../../support/packet-builder';
import { createSocket } from '../../../engine/stack/udp';
import { A, eq, MAC_A, PEER, PEER_MAC, RawPeer } from './support';

function oneHost(neighbour = {}): { net: SimNetwork; raw: RawPeer } {
  const net = new SimNetwork({ seed: 3, hosts: [{ stack: { neighbour } }], wire: { latencyMs: 1 } });
  return { net, raw: new RawPeer(net) };
}

function arpFrame(op: number, senderMac: Uint8Array, senderIp: number, targetMac: Uint8Array, targetIp: number, ethDst: Uint8Array = new Uint8Array(6).fill(0xff)): Uint8Array {
  const p = new Uint8Array(28);
  p.set([0, 1, 8, 0, 6, 4, 0, op], 0);
  p.set(senderMac, 8);
  new DataView(p.buffer).setUint32(14, senderIp);
  p.set(targetMac, 18);
  new DataView(p.buffer).setUint32(24, targetIp);
  return ethernet(0x0806, p, { dst: ethDst, src: senderMac });
}

function arps(raw: RawPeer) {
  return raw.ofType(0x0806).map((f) => {
    const r = parseArp(f.subarray(14));
    assert.ok(r.ok, 'ARP parses');
    return { op: r.value.operation, spa: r.value.senderProtocol, tpa: r.value.targetProtocol, dst: macToString(f.subarray(0, 6)), sha: macToString(r.value.senderHardware) };
  });
}

describe('ARP', () => {
  it('announces the address with a gratuitous ARP when the stack starts', () => {
    const { net, raw } = oneHost();
    net.runSync(10);
    eq(arps(raw), [{ op: ARP_OP_REQUEST, spa: A, tpa: A, dst: 'ff:ff:ff:ff:ff:ff', sha: macToString(MAC_A) }], 'frames at start');
  });

  it('answers a request for its address and learns the asker', () => {
    const { net, raw } = oneHost();
    net.runSync(10);
    raw.take();
    raw.send(arpFrame(ARP_OP_REQUEST, PEER_MAC, PEER, new Uint8Array(6), A));
    net.runSync(20);
    eq(arps(raw), [{ op: ARP_OP_REPLY, spa: A, tpa: PEER, dst: macToString(PEER_MAC), sha: macToString(MAC_A) }], 'reply');
    eq(net.stacks[0].neighbours.entry(PEER)?.state, 'reachable', 'asker learned');
  });

  it('ignores a request for another address without learning the sender', () => {
    const { net, raw } = oneHost();
    net.runSync(10);
    raw.take();
    raw.send(arpFrame(ARP_OP_REQUEST, PEER_MAC, PEER, new Uint8Array(6), 0xc6120042));
    net.runSync(20);
    eq(arps(raw), [], 'frames sent');
    eq(net.stacks[0].neighbours.entry(PEER), undefined, 'entry for the sender');
    eq(net.stacks[0].counters.rxDrops['arp-not-for-us'], 1, 'drops not for us');
  });

  it('resolves a neighbour before sending, holding the datagram meanwhile', () => {
    const { net, raw } = oneHost();
    const s = createSocket(net.stacks[0]);
    s.send('hello', 5000, '198.18.0.99');
    net.runSync(10);
    const a = arps(raw).filter((x) => x.spa === A && x.tpa === PEER);
    eq(a.length, 1, 'requests for the peer');
    eq(a[0].dst, 'ff:ff:ff:ff:ff:ff', 'request sent to');
    const ip = raw.ofType(0x0800);
    eq(ip.length, 1, 'datagrams delivered after the reply');
    eq(macToString(ip[0].subarray(0, 6)), macToString(PEER_MAC), 'datagram sent to');
  });

  it('holds at most the queue limit of packets per unresolved neighbour and counts the rest', () => {
    const { net, raw } = oneHost({ queueLimit: 3 });
    raw.answerArp = false;
    const s = createSocket(net.stacks[0]);
    for (let i = 0; i < 5; i++) s.send(`m${i}`, 5000, '198.18.0.99');
    net.runSync(0.5);
    eq(net.stacks[0].counters.txDrops['arp-queue-full'], 2, 'dropped for a full queue');
    eq(net.stacks[0].neighbours.entry(PEER)?.queue.length, 3, 'held');
    // The reply arrives: the three held datagrams (the newest ones) go out.
    raw.send(arpFrame(ARP_OP_REPLY, PEER_MAC, PEER, MAC_A, A, MAC_A));
    net.runSync(5);
    const texts = raw.ofType(0x0800).map((f) => Buffer.from(f.buffer, f.byteOffset + 42, f.length - 42).toString());
    eq(texts, ['m2', 'm3', 'm4'], 'datagrams sent after resolution');
  });

  it('gives up after three unanswered requests and drops what was held', () => {
    const { net, raw } = oneHost();
    raw.answerArp = false;
    createSocket(net.stacks[0]).send('lost', 5000, '198.18.0.99');
    net.runSync(10_000);
    eq(arps(raw).filter((x) => x.tpa === PEER).length, 3, 'requests sent');
    eq(net.stacks[0].counters.txDrops['arp-resolution-failed'], 1, 'dropped for failed resolution');
    eq(net.stacks[0].neighbours.entry(PEER), undefined, 'entry');
  });

  it('revalidates an entry after the reachable time with a unicast probe, and forgets it when the probes fail', () => {
    const { net, raw } = oneHost({ reachableMs: 1_000, staleMs: 600_000 });
    const stack = net.stacks[0];
    const s = createSocket(stack);
    s.send('one', 5000, '198.18.0.99');
    net.runSync(100);
    eq(stack.neighbours.entry(PEER)?.state, 'reachable', 'state after resolution');
    net.runSync(2_000);
    raw.take();
    raw.answerArp = false;
    s.send('two', 5000, '198.18.0.99');
    net.runSync(2_010);
    const probe = arps(raw);
    eq(probe.length, 1, 'probes after the reachable time');
    eq(probe[0].dst, macToString(PEER_MAC), 'probe sent to (unicast)');
    eq(raw.ofType(0x0800).length, 1, 'datagram sent with the stale entry meanwhile');
    net.runSync(10_000);
    eq(stack.neighbours.entry(PEER), undefined, 'entry after unanswered probes');
  });

  it('forgets a stale entry nobody uses', () => {
    const { net } = oneHost({ reachableMs: 1_000, staleMs: 5_000 });
    const stack = net.stacks[0];
    createSocket(stack).send('one', 5000, '198.18.0.99');
    net.runSync(100);
    net.runSync(1_500);
    eq(stack.neighbours.entry(PEER)?.state, 'stale', 'state after the reachable time');
    net.runSync(7_000);
    eq(stack.neighbours.entry(PEER), undefined, 'entry after the stale time');
  });

  it('counts a conflict when another host claims our address', () => {
    const { net, raw } = oneHost();
    raw.send(arpFrame(ARP_OP_REPLY, PEER_MAC, A, PEER_MAC, A));
    net.runSync(10);
    eq(net.stacks[0].counters.rxDrops['arp-address-conflict'], 1, 'conflicts');
  });
});
