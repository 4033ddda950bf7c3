// IPv4 in the stack: input validation (every drop counted with its reason), reassembly (RFC 791 /
// RFC 815) and fragmentation on send, and ICMP (echo, unreachables, time exceeded, rate limit).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimNetwork, type SimHostOptions } from '../../../engine/backends/sim-network';
import { parseIpv4, type Ipv4Packet } from '../../../engine/wire/ipv4';
import { parseIcmpv4, type Icmpv4Packet } from '../../../engine/wire/icmpv4';
import { parseUdp } from '../../../engine/wire/udp';
import { internetChecksum } from '../../../engine/wire/checksum';
import { ethernet, icmp, ipv4, udp, type Ipv4Options } from '../../support/packet-builder';
import { createSocket } from '../../../engine/stack/udp';
import { connect } from '../../../engine/stack/net';
import type { Ipv4Stack } from '../../../engine/stack/stack';
import type { RxDropReason } from '../../../engine/stack/observe';
import { A, eq, MAC_A, PEER, PEER_MAC, RawPeer, payload } from './support';

function setup(stack: SimHostOptions['stack'] = {}): { net: SimNetwork; raw: RawPeer; a: Ipv4Stack } {
  const net = new SimNetwork({ seed: 5, hosts: [{ stack }], wire: { latencyMs: 1 } });
  const raw = new RawPeer(net);
  net.runSync(5);
  // The peer asks for our MAC, so the stack learns the peer's too (RFC 826) and replies need no ARP.
  const req = new Uint8Array(28);
  req.set([0, 1, 8, 0, 6, 4, 0, 1], 0);
  req.set(PEER_MAC, 8);
  new DataView(req.buffer).setUint32(14, PEER);
  new DataView(req.buffer).setUint32(24, A);
  raw.send(ethernet(0x0806, req, { dst: new Uint8Array(6).fill(0xff), src: PEER_MAC }));
  net.runSync(10);
  raw.take();
  return { net, raw, a: net.stacks[0] };
}

const toA = (ip: Uint8Array, dst = MAC_A): Uint8Array => ethernet(0x0800, ip, { dst, src: PEER_MAC });
const ipFrom = (o: Partial<Ipv4Options>, body: Uint8Array): Uint8Array => ipv4({ src: PEER, dst: A, protocol: 17, ...o }, body);
const udpTo = (port: number, data: Uint8Array, srcPort = 40000): Uint8Array => udp({ srcPort, dstPort: port, payload: data }, { src: PEER, dst: A });

function fixIpChecksum(frame: Uint8Array): Uint8Array {
  const hl = (frame[14] & 15) * 4;
  frame[24] = 0;
  frame[25] = 0;
  const c = internetChecksum(frame, 14, hl);
  frame[24] = c >>> 8;
  frame[25] = c & 0xff;
  return frame;
}

/** Splits a transport payload into IPv4 fragments of `size` bytes (a multiple of 8 but the last). */
function fragment(body: Uint8Array, size: number, id: number, protocol = 17): { offset: number; frame: Uint8Array }[] {
  const out: { offset: number; frame: Uint8Array }[] = [];
  for (let off = 0; off < body.length; off += size) {
    const part = body.subarray(off, Math.min(off + size, body.length));
    out.push({ offset: off, frame: toA(ipFrom({ protocol, identification: id, fragmentOffset: off, moreFragments: off + size < body.length }, part)) });
  }
  return out;
}

function ipOf(f: Uint8Array): Ipv4Packet {
  const r = parseIpv4(f.subarray(14));
  assert.ok(r.ok, 'IPv4 parses');
  return r.value;
}

function icmpOf(f: Uint8Array): Icmpv4Packet {
  const r = parseIcmpv4(ipOf(f).payload);
  assert.ok(r.ok, 'ICMP parses');
  return r.value;
}

function accounted(a: Ipv4Stack): void {
  const c = a.counters;
  eq(c.rx.frames + c.ip.reassembled, c.rx.delivered + c.rx.held + c.rx.dropped, 'frames + reassembled = delivered + held + dropped');
  eq(c.rx.dropped, c.rxDropTotal(), 'dropped = Σ drops by reason');
}

describe('IPv4 input validation', () => {
  const good = (): Uint8Array => toA(ipFrom({}, udpTo(7, new Uint8Array(4))));
  /** A 20-byte TCP header (ports 1234 → 80, data offset 5) with a zero, so wrong, checksum. */
  const tcpDatagram = (ip: Parameters<typeof ipFrom>[0] = {}): Uint8Array =>
    toA(ipFrom({ protocol: 6, ...ip }, new Uint8Array([0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0])));
  const cases: [string, RxDropReason, () => Uint8Array][] = [
    ['a frame shorter than an Ethernet header', 'eth-truncated', () => new Uint8Array(10)],
    ['a frame for another MAC', 'eth-not-for-us', () => toA(ipFrom({}, udpTo(7, new Uint8Array(4))), new Uint8Array([2, 0, 0, 0, 0, 0x42]))],
    ['an IPv6 frame', 'eth-unknown-type', () => ethernet(0x86dd, new Uint8Array(40), { dst: MAC_A, src: PEER_MAC })],
    ['a VLAN-tagged frame', 'eth-vlan-unsupported', () => ethernet(0x8100, new Uint8Array(40), { dst: MAC_A, src: PEER_MAC })],
    ['fewer than 20 bytes of IPv4', 'ip-truncated', () => ethernet(0x0800, new Uint8Array([0x45, 0, 0, 10, 0, 0, 0, 0, 64, 17]), { dst: MAC_A, src: PEER_MAC })],
    ['version 6 in an IPv4 frame', 'ip-bad-version', () => {
      const f = good();
      f[14] = 0x65;
      return fixIpChecksum(f);
    }],
    ['an IHL below 5', 'ip-bad-header-length', () => {
      const f = good();
      f[14] = 0x44;
      return f;
    }],
    ['a total length below the header length', 'ip-bad-total-length', () => {
      const f = good();
      f[16] = 0;
      f[17] = 12;
      return fixIpChecksum(f);
    }],
    ['a wrong header checksum', 'ip-bad-checksum', () => {
      const f = good();
      f[24] ^= 0x5a;
      return f;
    }],
    ['a total length past the end of the frame', 'ip-truncated', () => {
      const f = good();
      f[16] = 0x05;
      f[17] = 0xdc;
      return fixIpChecksum(f);
    }],
    ['an option of length 0', 'ip-bad-options', () => toA(ipFrom({ options: new Uint8Array([7, 0, 0, 0]) }, udpTo(7, new Uint8Array(4))))],
    ['TTL 0', 'ip-ttl-zero', () => toA(ipFrom({ ttl: 0 }, udpTo(7, new Uint8Array(4))))],
    ['another destination address', 'ip-not-for-us', () => toA(ipFrom({ dst: 0xc6120032 }, udpTo(7, new Uint8Array(4))))],
    ['a broadcast source address', 'ip-bad-source', () => toA(ipFrom({ src: 0xffffffff }, new Uint8Array(8)))],
    ['a multicast source address', 'ip-bad-source', () => toA(ipFrom({ src: 0xe0000001 }, new Uint8Array(8)))],
    ['our own address as the source', 'ip-bad-source', () => toA(ipFrom({ src: A }, new Uint8Array(8)))],
    ['an unknown protocol', 'ip-unknown-protocol', () => toA(ipFrom({ protocol: 99 }, new Uint8Array(8)))],
    ['a UDP datagram with a bad checksum', 'udp-bad-checksum', () => {
      const f = good();
      f[f.length - 1] ^= 1;
      return f;
    }],
    ['a UDP length beyond the datagram', 'udp-bad-length', () => toA(ipFrom({}, new Uint8Array([0x9c, 0x40, 0, 7, 0, 100, 0, 0])))],
    ['a TCP header shorter than 20 bytes', 'tcp-truncated', () => toA(ipFrom({ protocol: 6 }, new Uint8Array(12)))],
    ['an ICMP message shorter than 8 bytes', 'icmp-truncated', () => toA(ipFrom({ protocol: 1 }, new Uint8Array(4)))],
    // TCP datagrams take a fast path when all is well: whatever is wrong must still be caught, with its reason.
    ['a TCP datagram with a wrong header checksum', 'ip-bad-checksum', () => {
      const f = tcpDatagram();
      f[24] ^= 0x5a;
      return f;
    }],
    ['a TCP datagram with TTL 0', 'ip-ttl-zero', () => tcpDatagram({ ttl: 0 })],
    ['a TCP datagram for another address', 'ip-not-for-us', () => tcpDatagram({ dst: 0xc6120032 })],
    ['a TCP datagram from our own address', 'ip-bad-source', () => tcpDatagram({ src: A })],
    ['a TCP datagram whose total length runs past the frame', 'ip-truncated', () => {
      const f = tcpDatagram();
      f[16] = 0x05;
      f[17] = 0xdc;
      return fixIpChecksum(f);
    }],
    ['a TCP datagram with an IP option of length 0', 'ip-bad-options', () => tcpDatagram({ options: new Uint8Array([7, 0, 0, 0]) })],
    ['a TCP segment with a bad checksum in a sound datagram', 'tcp-bad-checksum', () => tcpDatagram()],
  ];
  for (const [what, reason, make] of cases) {
    it(`drops ${what}, counted as ${reason}`, () => {
      const { net, raw, a } = setup();
      const before = a.counters.rxDrops[reason] ?? 0;
      const frames = a.counters.rx.frames;
      const frame = make();
      // The wire does not carry frames shorter than a header: hand those to the stack directly.
      if (frame.length < 14) a.receive(frame, net.now);
      else raw.send(frame);
      net.runSync(30);
      eq(a.counters.rx.frames - frames, 1, 'frames received');
      eq((a.counters.rxDrops[reason] ?? 0) - before, 1, `drops for ${reason} (all: ${JSON.stringify(a.counters.rxDrops)})`);
      accounted(a);
    });
  }

  it('reports each drop to the observer with the layer and the reason', () => {
    const { net, raw, a } = setup();
    const hops: string[] = [];
    a.observer = { hop: (layer, dir, verdict) => hops.push(`${layer} ${dir} ${verdict}`) };
    const f = good();
    f[24] ^= 1;
    raw.send(f);
    net.runSync(20);
    eq(hops, ['bypass.eth rx pass', 'bypass.ip rx drop:ip-bad-checksum'], 'hops');
  });

  it('reports the same hops for a TCP segment that passes IPv4 as the general path would', () => {
    const { net, raw, a } = setup();
    const hops: string[] = [];
    a.observer = { hop: (layer, dir, verdict) => hops.push(`${layer} ${dir} ${verdict}`) };
    raw.send(tcpDatagram());
    net.runSync(20);
    eq(hops, ['bypass.eth rx pass', 'bypass.ip rx pass', 'bypass.tcp rx drop:tcp-bad-checksum'], 'hops');
  });
});

describe('IPv4 reassembly', () => {
  function bound(a: Ipv4Stack, port = 7000) {
    const got: Buffer[] = [];
    createSocket(a, 'udp4', (m) => got.push(m)).bind(port);
    return got;
  }
  const body = payload(4000, 11);
  const dgram = udpTo(7000, body);

  it('reassembles fragments that arrive in order', () => {
    const { net, raw, a } = setup();
    const got = bound(a);
    for (const f of fragment(dgram, 1480, 1)) raw.send(f.frame);
    net.runSync(20);
    eq(got.length, 1, 'datagrams delivered');
    assert.ok(got[0].equals(body), 'payload intact');
    eq(a.counters.ip.reassembled, 1, 'reassembled');
    eq(a.reassembler.inProgress, 0, 'in progress');
    accounted(a);
  });

  it('reassembles fragments that arrive out of order', () => {
    const { net, raw, a } = setup();
    const got = bound(a);
    for (const f of fragment(dgram, 1000, 2).reverse()) raw.send(f.frame);
    net.runSync(20);
    eq(got.length, 1, 'datagrams delivered');
    assert.ok(got[0].equals(body), 'payload intact');
  });

  it('ignores an exact duplicate fragment and still delivers the datagram once', () => {
    const { net, raw, a } = setup();
    const got = bound(a);
    const fs = fragment(dgram, 1480, 3);
    raw.send(fs[0].frame);
    raw.send(fs[0].frame);
    raw.send(fs[1].frame);
    raw.send(fs[2].frame);
    net.runSync(20);
    eq(got.length, 1, 'datagrams delivered');
    eq(a.counters.rxDrops['frag-duplicate'], 1, 'duplicates dropped');
    accounted(a);
  });

  it('discards the whole datagram when fragments overlap with different data', () => {
    const { net, raw, a } = setup();
    const got = bound(a);
    const fs = fragment(dgram, 1480, 4);
    raw.send(fs[0].frame);
    // 1024 bytes at offset 1024: overlaps the first fragment's tail.
    raw.send(toA(ipFrom({ identification: 4, fragmentOffset: 1024, moreFragments: true }, new Uint8Array(1024).fill(0xee))));
    raw.send(fs[1].frame);
    raw.send(fs[2].frame);
    net.runSync(20);
    eq(got.length, 0, 'datagrams delivered');
    eq(a.counters.rxDrops['frag-overlap'], 1, 'overlaps');
    accounted(a);
  });

  it('drops a non-final fragment whose length is not a multiple of 8', () => {
    const { net, raw, a } = setup();
    raw.send(toA(ipFrom({ identification: 5, fragmentOffset: 0, moreFragments: true }, new Uint8Array(1001))));
    net.runSync(20);
    eq(a.counters.rxDrops['frag-bad-length'], 1, 'bad lengths');
  });

  it('drops a fragment that would make the datagram longer than 65535 bytes', () => {
    const { net, raw, a } = setup();
    raw.send(toA(ipFrom({ identification: 6, fragmentOffset: 65000, moreFragments: false }, new Uint8Array(1000))));
    net.runSync(20);
    eq(a.counters.rxDrops['frag-too-big'], 1, 'too big');
  });

  it('times out an incomplete datagram after 30 s and sends time exceeded (code 1) quoting fragment zero', () => {
    const { net, raw, a } = setup();
    bound(a);
    const fs = fragment(dgram, 1480, 7);
    raw.send(fs[0].frame);
    raw.send(fs[2].frame);
    net.runSync(29_000);
    eq(a.reassembler.inProgress, 1, 'in progress before the timeout');
    net.runSync(31_000);
    eq(a.reassembler.inProgress, 0, 'in progress after the timeout');
    eq(a.counters.txDrops['frag-timeout'], 1, 'timed out');
    const icmps = raw.ofType(0x0800).map(icmpOf);
    eq(icmps.map((m) => `${m.kind}/${'code' in m ? m.code : ''}`), ['timeExceeded/1'], 'ICMP sent');
    eq(icmps[0].quoted?.header.identification, 7, 'quoted identification');
  });

  it('sends no time exceeded when fragment zero never arrived', () => {
    const { net, raw, a } = setup();
    raw.send(fragment(dgram, 1480, 8)[1].frame);
    net.runSync(40_000);
    eq(a.counters.txDrops['frag-timeout'], 1, 'timed out');
    eq(raw.ofType(0x0800).length, 0, 'ICMP sent');
  });

  it('keeps reassembly memory within its bound by evicting the oldest datagrams', () => {
    const { net, raw, a } = setup({ reassembly: { maxBytes: 5000 } });
    for (let id = 10; id < 20; id++) raw.send(fragment(dgram, 1480, id)[0].frame);
    net.runSync(20);
    assert.ok(a.reassembler.bytes <= 5000, `bytes held: got ${a.reassembler.bytes}, want at most 5000`);
    eq(a.reassembler.inProgress, 3, 'datagrams in progress');
    eq(a.counters.txDrops['frag-evicted'], 7, 'evicted');
    accounted(a);
  });
});

describe('IPv4 fragmentation on send', () => {
  it('fragments a datagram above the MTU into 8-octet-aligned pieces with one identification', () => {
    const { net, raw, a } = setup();
    const body = payload(4000, 12);
    createSocket(a).send(body, 5000, '198.18.0.99');
    net.runSync(20);
    const ips = raw.ofType(0x0800).map(ipOf);
    eq(ips.map((p) => [p.fragmentOffset, p.moreFragments, p.payload.length]), [[0, true, 1480], [1480, true, 1480], [2960, false, 1048]], 'fragments (offset, MF, length)');
    eq(new Set(ips.map((p) => p.identification)).size, 1, 'identifications');
    const whole = Buffer.concat(ips.map((p) => p.payload));
    const u = parseUdp(whole, { version: 4, src: A, dst: PEER });
    assert.ok(u.ok && u.value.checksumValid === true, 'reassembled UDP checksum valid');
    assert.ok(Buffer.from(u.value.payload).equals(body), 'payload intact');
  });

  it('refuses a datagram above the MTU with DF set: EMSGSIZE to the sending socket', () => {
    const { net, a } = setup();
    const s = createSocket(a, { dontFragment: true });
    let err: NodeJS.ErrnoException | null | undefined;
    s.send(new Uint8Array(2000), 5000, '198.18.0.99', (e: Error | null) => (err = e as NodeJS.ErrnoException | null));
    net.runSync(20);
    eq(err?.code, 'EMSGSIZE', 'send error');
    eq(a.counters.txDrops['too-big'], 1, 'too big');
  });
});

describe('ICMP', () => {
  it('answers an echo request with the same identifier, sequence and data', () => {
    const { net, raw } = setup();
    raw.send(toA(ipFrom({ protocol: 1 }, icmp({ kind: 'echoRequest', identifier: 0x1234, sequence: 7, data: new Uint8Array([1, 2, 3, 4]) }))));
    net.runSync(20);
    const replies = raw.ofType(0x0800).map(icmpOf);
    eq(replies.length, 1, 'replies');
    const r = replies[0];
    assert.ok(r.kind === 'echoReply' && r.checksumValid, `got ${r.kind}, want a valid echoReply`);
    eq([r.identifier, r.sequence, [...r.data]], [0x1234, 7, [1, 2, 3, 4]], 'identifier, sequence, data');
  });

  it('answers a fragmented 3000-byte ping with a fragmented reply', () => {
    const { net, raw } = setup();
    const data = payload(3000, 13);
    const req = icmp({ kind: 'echoRequest', identifier: 1, sequence: 1, data });
    for (const f of fragment(req, 1480, 99, 1)) raw.send(f.frame);
    net.runSync(20);
    const ips = raw.ofType(0x0800).map(ipOf);
    eq(ips.length, 3, 'reply fragments');
    const r = parseIcmpv4(Buffer.concat(ips.map((p) => p.payload)));
    assert.ok(r.ok && r.value.kind === 'echoReply' && Buffer.from(r.value.data).equals(data), 'reassembled reply carries the data');
  });

  it('ignores echo requests sent to a broadcast address', () => {
    const { net, raw, a } = setup();
    raw.send(toA(ipFrom({ protocol: 1, dst: 0xc61200ff }, icmp({ kind: 'echoRequest', identifier: 1, sequence: 1, data: new Uint8Array(0) })), new Uint8Array(6).fill(0xff)));
    net.runSync(20);
    eq(raw.ofType(0x0800).length, 0, 'replies');
    eq(a.counters.rxDrops['icmp-echo-broadcast'], 1, 'dropped');
  });

  it('pings another stack and reports the reply', () => {
    const net = new SimNetwork({ seed: 5, hosts: 2, wire: { latencyMs: 1 } });
    const [a, b] = net.stacks;
    const replies: number[] = [];
    a.onEchoReply = (r) => replies.push(r.sequence);
    a.ping(b.address, 9, 1, new Uint8Array(56));
    a.ping(b.address, 9, 2, new Uint8Array(56));
    net.runSync(100);
    eq(replies, [1, 2], 'sequences answered');
  });

  it('sends port unreachable for a UDP datagram to a closed port, quoting its header and first bytes', () => {
    const { net, raw } = setup();
    raw.send(toA(ipFrom({ identification: 0x4242 }, udpTo(7777, new Uint8Array(20)))));
    net.runSync(20);
    const m = raw.ofType(0x0800).map(icmpOf);
    eq(m.length, 1, 'ICMP messages');
    assert.ok(m[0].kind === 'destinationUnreachable', `got ${m[0].kind}, want destinationUnreachable`);
    eq(m[0].code, 3, 'code (port)');
    eq([m[0].quoted?.header.identification, m[0].quoted?.dstPort], [0x4242, 7777], 'quoted id and port');
  });

  it('sends protocol unreachable for a transport it does not have', () => {
    const { net, raw } = setup();
    raw.send(toA(ipFrom({ protocol: 99 }, new Uint8Array(8))));
    net.runSync(20);
    const m = raw.ofType(0x0800).map(icmpOf);
    eq(m.map((x) => `${x.kind}/${x.code}`), ['destinationUnreachable/2'], 'ICMP sent');
  });

  it('rate-limits errors to one destination: a burst of 6, then one a second (RFC 1812 §4.3.2.8, as Linux)', () => {
    const { net, raw, a } = setup();
    for (let i = 0; i < 10; i++) raw.send(toA(ipFrom({ identification: i }, udpTo(7777, new Uint8Array(4)))));
    net.runSync(20);
    eq(raw.take().length, 6, 'errors sent for 10 datagrams at once');
    eq(a.counters.txDrops['icmp-rate-limited'], 4, 'suppressed');
    net.runSync(1_100);
    raw.send(toA(ipFrom({ identification: 11 }, udpTo(7777, new Uint8Array(4)))));
    raw.send(toA(ipFrom({ identification: 12 }, udpTo(7777, new Uint8Array(4)))));
    net.runSync(1_200);
    eq(raw.take().length, 1, 'errors sent a second later for 2 datagrams');
  });

  it('sends no error about a datagram sent to a broadcast address', () => {
    const { net, raw } = setup();
    raw.send(toA(ipFrom({ dst: 0xffffffff }, udp({ srcPort: 1, dstPort: 7777, payload: new Uint8Array(4) }, { src: PEER, dst: 0xffffffff })), new Uint8Array(6).fill(0xff)));
    net.runSync(20);
    eq(raw.ofType(0x0800).length, 0, 'ICMP sent');
  });

  it('aborts a connection in SYN-SENT with ECONNREFUSED when an ICMP port unreachable quotes its SYN (as Linux)', async () => {
    const { net, raw } = setup();
    const c = connect(net.stacks[0], { host: '198.18.0.99', port: 80 });
    let err: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (err = e));
    await net.run(() => raw.ofType(0x0800).length > 0, 100);
    const syn = raw.ofType(0x0800)[0];
    const quote = syn.subarray(14, 14 + 28);
    raw.send(toA(ipFrom({ protocol: 1 }, icmp({ kind: 'destinationUnreachable', code: 3, nextHopMtu: 0, quote }))));
    await net.run(() => err !== undefined, 500);
    eq(err?.code, 'ECONNREFUSED', 'err.code');
    assert.ok(net.now < 500, `failed at ${net.now} ms, want before the SYN is retransmitted`);
  });

  it('ignores an ICMP error whose quoted TCP sequence number is outside the window', async () => {
    const { net, raw, a } = setup();
    const c = connect(a, { host: '198.18.0.99', port: 80 });
    c.on('error', () => {});
    await net.run(() => raw.ofType(0x0800).length > 0, 100);
    const quote = raw.ofType(0x0800)[0].slice(14, 14 + 28);
    quote[24] ^= 0x80; // the quoted sequence number
    raw.send(toA(ipFrom({ protocol: 1 }, icmp({ kind: 'destinationUnreachable', code: 3, nextHopMtu: 0, quote }))));
    await net.run(() => false, 300);
    eq(c.connecting, true, 'still connecting');
    eq(a.counters.rxDrops['icmp-error-no-socket'], 1, 'errors for no socket');
  });
});

describe('routes', () => {
  it('sends to an address off the connected network through the default gateway', () => {
    const { net, raw } = setup({ gateway: PEER });
    createSocket(net.stacks[0]).send('far away', 53, '192.0.2.7');
    net.runSync(50);
    const ips = raw.ofType(0x0800);
    eq(ips.length, 1, 'datagrams to the gateway');
    eq([...ips[0].subarray(0, 6)], [...PEER_MAC], 'link destination (the gateway)');
    eq(ipOf(ips[0]).dst, 0xc0000207, 'IP destination (the far host)');
  });

  it('fails with ENETUNREACH off the connected network when there is no gateway', async () => {
    const { net, a } = setup();
    let err: NodeJS.ErrnoException | null | undefined;
    createSocket(a).send('far away', 53, '192.0.2.7', (e: Error | null) => (err = e as NodeJS.ErrnoException | null));
    const c = connect(a, { host: '192.0.2.7', port: 80 });
    let connErr: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (connErr = e));
    await net.run(() => err !== undefined && connErr !== undefined, 100);
    eq([err?.code, connErr?.code], ['ENETUNREACH', 'ENETUNREACH'], 'UDP send and TCP connect errors');
  });
});
