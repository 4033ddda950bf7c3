// test support: a varied set of Ethernet frames for the steer differential tests, and a pcap writer.
//
// Frames are built byte by byte here (not with engine/wire) because many of them are deliberately
// wrong — truncated captures, bad header lengths, fragments whose payload looks like ports — which
// an emitter for valid packets would refuse to produce.

export interface TestFrame {
  readonly name: string;
  /** Captured bytes. */
  readonly data: Uint8Array;
  /** Length on the wire (>= data.length). */
  readonly wireLen: number;
}

const MAC = {
  a: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
  b: [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb],
  bcast: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  mcast4: [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb],
  mcast6: [0x33, 0x33, 0x00, 0x00, 0x00, 0x01],
} as const;

export const ADDR4 = ['10.0.0.1', '10.0.0.2', '192.168.1.5', '198.18.0.2', '198.19.4.4', '224.0.0.251', '255.255.255.255', '172.16.9.9'];
export const ADDR6 = ['fe80::1', '2001:db8::1', '2001:db8::2', 'ff02::1', '2001:db8:1::5'];
export const MACS = ['00:11:22:33:44:55', '66:77:88:99:aa:bb', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:fb', '33:33:00:00:00:01'];

function ip4(text: string): number[] {
  return text.split('.').map(Number);
}

function ip6(text: string): number[] {
  const [l, r = ''] = text.split('::');
  const lg = l ? l.split(':') : [];
  const rg = r ? r.split(':') : [];
  const groups = text.includes('::') ? [...lg, ...new Array(8 - lg.length - rg.length).fill('0'), ...rg] : lg;
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

function eth(dst: readonly number[], src: readonly number[], type: number, payload: number[], tags: Array<[number, number]> = []): number[] {
  const out = [...dst, ...src];
  for (const [tpid, tci] of tags) out.push(...u16(tpid), ...u16(tci));
  out.push(...u16(type), ...payload);
  return out;
}

interface V4 {
  src: string;
  dst: string;
  proto: number;
  payload: number[];
  options?: number[];
  flagsFrag?: number;
  ttl?: number;
  ihl?: number;
  totalLen?: number;
}

function ipv4(h: V4): number[] {
  const opts = h.options ?? [];
  const ihl = h.ihl ?? 5 + opts.length / 4;
  const total = h.totalLen ?? 20 + opts.length + h.payload.length;
  return [0x40 | ihl, 0, ...u16(total), ...u16(0x1234), ...u16(h.flagsFrag ?? 0x4000), h.ttl ?? 64, h.proto, 0, 0, ...ip4(h.src), ...ip4(h.dst), ...opts, ...h.payload];
}

function ipv6(src: string, dst: string, nh: number, payload: number[]): number[] {
  return [0x60, 0, 0, 0, ...u16(payload.length), nh, 64, ...ip6(src), ...ip6(dst), ...payload];
}

function tcp(sport: number, dport: number, flags: number, options: number[] = [], data: number[] = []): number[] {
  const off = (20 + options.length) / 4;
  return [...u16(sport), ...u16(dport), ...u32(1000), ...u32(2000), off << 4, flags, ...u16(65535), 0, 0, 0, 0, ...options, ...data];
}

function udp(sport: number, dport: number, data: number[] = []): number[] {
  return [...u16(sport), ...u16(dport), ...u16(8 + data.length), 0, 0, ...data];
}

function icmp(type: number, code: number, rest: number[] = [0, 1, 0, 1]): number[] {
  return [type, code, 0, 0, ...rest];
}

function arp(op: number, sha: readonly number[], spa: string, tha: readonly number[], tpa: string): number[] {
  return [0, 1, 8, 0, 6, 4, ...u16(op), ...sha, ...ip4(spa), ...tha, ...ip4(tpa)];
}

const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16, URG = 32, ECE = 64, CWR = 128;
const MSS = [2, 4, 0x05, 0xb4, 1, 3, 3, 7];

/** The frames of the differential capture, in order; packet numbers in tcpdump are index + 1. */
export function buildFrames(): TestFrame[] {
  const frames: TestFrame[] = [];
  const add = (name: string, bytes: number[], wireLen?: number) => {
    const data = Uint8Array.from(bytes);
    frames.push({ name, data, wireLen: Math.max(wireLen ?? data.length, data.length) });
  };
  const t4 = (src: string, dst: string, sp: number, dp: number, flags: number, opts: number[] = [], data: number[] = []) =>
    eth(MAC.a, MAC.b, 0x0800, ipv4({ src, dst, proto: 6, payload: tcp(sp, dp, flags, opts, data) }));
  const u4 = (src: string, dst: string, sp: number, dp: number, data: number[] = []) =>
    eth(MAC.b, MAC.a, 0x0800, ipv4({ src, dst, proto: 17, payload: udp(sp, dp, data) }));

  // TCP over IPv4, with flags and options.
  add('tcp syn 10.0.0.1:40000 > 198.18.0.2:9000', t4('10.0.0.1', '198.18.0.2', 40000, 9000, SYN, MSS));
  add('tcp syn-ack 198.18.0.2:9000 > 10.0.0.1:40000', t4('198.18.0.2', '10.0.0.1', 9000, 40000, SYN | ACK, MSS));
  add('tcp ack with data to :80', t4('10.0.0.1', '192.168.1.5', 51000, 80, ACK | PSH, [], [0x47, 0x45, 0x54, 0x20]));
  add('tcp fin from :443', t4('192.168.1.5', '10.0.0.2', 443, 51001, FIN | ACK));
  add('tcp rst to :22', t4('172.16.9.9', '10.0.0.2', 33000, 22, RST));
  add('tcp urg|ece|cwr :8080', t4('10.0.0.2', '198.19.4.4', 8080, 5432, URG | ECE | CWR | ACK));
  add('tcp ssh 22 > 22', t4('10.0.0.1', '10.0.0.2', 22, 22, ACK));
  add('tcp :53', t4('10.0.0.2', '10.0.0.1', 53, 1053, ACK | PSH));
  add('tcp :20 ftp-data', t4('10.0.0.1', '198.18.0.2', 20, 21, SYN));
  add('tcp to 20500', t4('198.19.4.4', '198.18.0.2', 1234, 20500, ACK));
  add('tcp port 0', t4('10.0.0.1', '10.0.0.2', 0, 65535, SYN));
  // UDP over IPv4.
  add('udp dns query', u4('10.0.0.1', '10.0.0.2', 40001, 53, [1, 2, 3, 4]));
  add('udp dhcp broadcast', eth(MAC.bcast, MAC.a, 0x0800, ipv4({ src: '0.0.0.0', dst: '255.255.255.255', proto: 17, payload: udp(68, 67, new Array(12).fill(0)) })));
  add('udp ntp', u4('192.168.1.5', '198.18.0.2', 123, 123));
  add('udp mdns multicast', eth(MAC.mcast4, MAC.a, 0x0800, ipv4({ src: '10.0.0.2', dst: '224.0.0.251', proto: 17, ttl: 255, payload: udp(5353, 5353, [0, 0]) })));
  add('udp market data 20001', u4('198.19.4.4', '198.18.0.2', 30000, 20001, new Array(40).fill(7)));
  add('udp 20999 edge', u4('198.19.4.4', '198.18.0.2', 20999, 21000));
  add('udp snmp 161', u4('10.0.0.1', '172.16.9.9', 50000, 161));
  add('udp syslog 514', u4('172.16.9.9', '10.0.0.1', 514, 514));
  // ICMP.
  add('icmp echo request', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '198.19.4.4', proto: 1, payload: icmp(8, 0, [0, 7, 0, 1, 9, 9, 9, 9]) })));
  add('icmp echo reply', eth(MAC.b, MAC.a, 0x0800, ipv4({ src: '198.19.4.4', dst: '10.0.0.1', proto: 1, payload: icmp(0, 0, [0, 7, 0, 1, 9, 9, 9, 9]) })));
  const inner = ipv4({ src: '10.0.0.1', dst: '198.18.0.2', proto: 17, payload: udp(40001, 53) }).slice(0, 28);
  add('icmp port unreachable', eth(MAC.b, MAC.a, 0x0800, ipv4({ src: '198.18.0.2', dst: '10.0.0.1', proto: 1, payload: icmp(3, 3, [0, 0, 0, 0, ...inner]) })));
  add('icmp time exceeded', eth(MAC.b, MAC.a, 0x0800, ipv4({ src: '192.168.1.5', dst: '10.0.0.1', proto: 1, payload: icmp(11, 0, [0, 0, 0, 0, ...inner]) })));
  // ARP and RARP.
  add('arp request', eth(MAC.bcast, MAC.a, 0x0806, arp(1, MAC.a, '10.0.0.1', [0, 0, 0, 0, 0, 0], '10.0.0.2')));
  add('arp reply', eth(MAC.a, MAC.b, 0x0806, arp(2, MAC.b, '10.0.0.2', MAC.a, '10.0.0.1')));
  add('arp gratuitous 198.18.0.2', eth(MAC.bcast, MAC.b, 0x0806, arp(1, MAC.b, '198.18.0.2', MAC.bcast, '198.18.0.2')));
  add('rarp request', eth(MAC.bcast, MAC.a, 0x8035, arp(3, MAC.a, '0.0.0.0', MAC.a, '0.0.0.0')));
  add('rarp reply', eth(MAC.a, MAC.b, 0x8035, arp(4, MAC.b, '10.0.0.2', MAC.a, '10.0.0.1')));
  // VLAN-tagged.
  add('vlan 100 tcp :80', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '192.168.1.5', proto: 6, payload: tcp(51002, 80, SYN) }), [[0x8100, 100]]));
  add('vlan 200 prio 5 udp :53', eth(MAC.b, MAC.a, 0x0800, ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 17, payload: udp(53, 40001) }), [[0x8100, (5 << 13) | 200]]));
  add('qinq 10/20 tcp :22', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, payload: tcp(40002, 22, SYN) }), [[0x88a8, 10], [0x8100, 20]]));
  add('vlan 0x9100 300 ipv6 udp', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 17, udp(5000, 53)), [[0x9100, 300]]));
  add('vlan 100 arp', eth(MAC.bcast, MAC.a, 0x0806, arp(1, MAC.a, '10.0.0.1', [0, 0, 0, 0, 0, 0], '10.0.0.2'), [[0x8100, 100]]));
  add('vlan 4095 ipv4 icmp', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '198.19.4.4', proto: 1, payload: icmp(8, 0) }), [[0x8100, 4095]]));
  add('qinq 100/100 udp 20500', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '198.19.4.4', dst: '198.18.0.2', proto: 17, payload: udp(20500, 20500) }), [[0x8100, 100], [0x8100, 100]]));
  // IPv4 fragments and options.
  add('ipv4 first fragment tcp :80', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '192.168.1.5', proto: 6, flagsFrag: 0x2000, payload: tcp(51003, 80, ACK, [], new Array(16).fill(1)) })));
  add('ipv4 later fragment looks like :80', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '192.168.1.5', proto: 6, flagsFrag: 185, payload: [0, 80, 0, 80, ...new Array(20).fill(2)] })));
  add('ipv4 last fragment udp looks like :53', eth(MAC.b, MAC.a, 0x0800, ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 17, flagsFrag: 0x0010, payload: [0, 53, 0, 53, 0, 8, 0, 0] })));
  add('ipv4 options (rr) tcp :80', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '198.18.0.2', proto: 6, options: [7, 7, 4, 0, 0, 0, 0, 1], payload: tcp(51004, 80, SYN) })));
  add('ipv4 options ihl 6 udp :9000', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.2', dst: '198.18.0.2', proto: 17, options: [1, 1, 1, 0], payload: udp(9000, 9000) })));
  // IPv6.
  add('ipv6 tcp :443', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 6, tcp(50000, 443, SYN, MSS))));
  add('ipv6 tcp :9000 from fe80::1', eth(MAC.b, MAC.a, 0x86dd, ipv6('fe80::1', '2001:db8:1::5', 6, tcp(9000, 50001, SYN | ACK))));
  add('ipv6 udp :53', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::2', '2001:db8::1', 17, udp(40000, 53, [1, 2]))));
  add('ipv6 udp 20500', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8:1::5', '2001:db8::1', 17, udp(20500, 20001))));
  add('icmpv6 echo request', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 58, icmp(128, 0))));
  add('icmpv6 echo reply', eth(MAC.b, MAC.a, 0x86dd, ipv6('2001:db8::2', '2001:db8::1', 58, icmp(129, 0))));
  add('icmpv6 neighbor solicitation multicast', eth(MAC.mcast6, MAC.a, 0x86dd, ipv6('fe80::1', 'ff02::1', 58, icmp(135, 0, [0, 0, 0, 0, ...ip6('fe80::2')]))));
  add('ipv6 hop-by-hop then udp :53', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::1', 'ff02::1', 0, [17, 0, 1, 4, 0, 0, 0, 0, ...udp(40002, 53)])));
  add('ipv6 fragment header then tcp :80', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 44, [6, 0, 0, 1, 0, 0, 0, 9, ...tcp(50002, 80, ACK)])));
  add('ipv6 fragment header then icmpv6', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::2', '2001:db8::1', 44, [58, 0, 0, 0, 0, 0, 0, 3, ...icmp(128, 0)])));
  // Other IP protocols.
  add('igmp report', eth(MAC.mcast4, MAC.a, 0x0800, ipv4({ src: '10.0.0.1', dst: '224.0.0.251', proto: 2, ttl: 1, payload: [0x16, 0, 0, 0, ...ip4('224.0.0.251')] })));
  add('sctp :80', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 132, payload: [...u16(5000), ...u16(80), 0, 0, 0, 1, 0, 0, 0, 0] })));
  add('gre', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '198.18.0.2', dst: '198.19.4.4', proto: 47, payload: [0, 0, 0x08, 0, ...new Array(20).fill(0x45)] })));
  add('ipv6 sctp :80', eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 132, [...u16(5000), ...u16(80), 0, 0, 0, 1, 0, 0, 0, 0])));
  // Broadcast, multicast and other Ethernet types.
  add('ethernet broadcast unknown type', eth(MAC.bcast, MAC.b, 0x88b5, new Array(46).fill(0)));
  add('loopback 0x9000', eth(MAC.a, MAC.a, 0x9000, new Array(46).fill(0)));
  add('lldp', eth([0x01, 0x80, 0xc2, 0, 0, 0x0e], MAC.b, 0x88cc, new Array(46).fill(0)));
  add('802.3 stp llc 0x42', eth([0x01, 0x80, 0xc2, 0, 0, 0], MAC.a, 38, [0x42, 0x42, 0x03, ...new Array(35).fill(0)]));
  add('802.3 llc snap', eth(MAC.a, MAC.b, 46, [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...new Array(38).fill(0)]));
  add('802.3 llc sap 0x06', eth(MAC.a, MAC.b, 46, [0x06, 0x06, 0x03, ...new Array(43).fill(0)]));
  add('802.3 llc sap 0x64', eth(MAC.a, MAC.b, 46, [0x64, 0x10, 0x03, ...new Array(43).fill(0)]));
  add('ipv4 multicast tcp (odd)', eth(MAC.mcast4, MAC.b, 0x0800, ipv4({ src: '10.0.0.2', dst: '239.1.2.3', proto: 6, payload: tcp(1, 2, SYN) })));
  // Truncated captures (caplen < len).
  const full = t4('10.0.0.1', '192.168.1.5', 51005, 80, ACK, MSS, new Array(100).fill(3));
  add('truncated tcp after ports', full.slice(0, 14 + 20 + 4), full.length);
  add('truncated tcp after src port', full.slice(0, 14 + 20 + 2), full.length);
  add('truncated inside ipv4 header (30 bytes)', full.slice(0, 30), full.length);
  add('truncated after ethertype ip (14 bytes)', full.slice(0, 14), full.length);
  add('truncated ipv4 at 24 bytes', full.slice(0, 24), full.length);
  add('truncated to 13 bytes', full.slice(0, 13), full.length);
  add('truncated to 6 bytes', full.slice(0, 6), full.length);
  const full6 = eth(MAC.a, MAC.b, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 6, tcp(50003, 443, ACK)));
  add('truncated ipv6 after src port', full6.slice(0, 56), full6.length);
  add('truncated ipv6 inside addresses', full6.slice(0, 40), full6.length);
  const arpFull = eth(MAC.bcast, MAC.a, 0x0806, arp(1, MAC.a, '10.0.0.1', [0, 0, 0, 0, 0, 0], '10.0.0.2'));
  add('truncated arp before target address', arpFull.slice(0, 36), arpFull.length);
  add('truncated vlan frame', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '192.168.1.5', proto: 6, payload: tcp(51002, 80, SYN) }), [[0x8100, 100]]).slice(0, 20), 78);
  add('truncated icmp (type only)', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '198.19.4.4', proto: 1, payload: icmp(8, 0) })).slice(0, 35), 42);
  // Malformed.
  add('ipv4 ihl 0, tcp', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, ihl: 0, payload: tcp(80, 80, SYN) })));
  add('ipv4 ihl 15 short packet', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, ihl: 15, payload: udp(53, 53) })));
  add('ipv4 total length too big', eth(MAC.a, MAC.b, 0x0800, ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 6, totalLen: 1500, payload: tcp(22, 40000, ACK) })));
  add('version 6 inside ethertype ipv4', eth(MAC.a, MAC.b, 0x0800, ipv6('2001:db8::1', '2001:db8::2', 6, tcp(1, 80, SYN))));
  add('runt 10 bytes', [...MAC.bcast, 1, 2, 3, 4]);
  add('ipv6 ethertype, 20-byte payload only', eth(MAC.a, MAC.b, 0x86dd, [0x60, 0, 0, 0, 0, 8, 17, 64, 0x20, 0x01, 0x0d, 0xb8]));
  add('arp with ip6-sized fields', eth(MAC.bcast, MAC.a, 0x0806, [0, 1, 0x86, 0xdd, 6, 16, 0, 1, ...MAC.a, ...ip6('fe80::1'), 0, 0, 0, 0, 0, 0, ...ip6('fe80::2')]));
  add('1-byte frame', [0xff]);
  return frames;
}

/** A classic pcap file (LINKTYPE_ETHERNET, microsecond timestamps); packet i has timestamp i seconds. */
export function pcapBytes(frames: readonly TestFrame[], snaplen = 262144): Uint8Array {
  const size = 24 + frames.reduce((s, f) => s + 16 + f.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, 1, true);
  let o = 24;
  frames.forEach((f, i) => {
    dv.setUint32(o, i, true);
    dv.setUint32(o + 4, 0, true);
    dv.setUint32(o + 8, f.data.length, true);
    dv.setUint32(o + 12, f.wireLen, true);
    out.set(f.data, o + 16);
    o += 16 + f.data.length;
  });
  return out;
}

/** Timestamps (seconds) of the records of a pcap file — the indices of the frames it holds. */
export function pcapIndices(bytes: Uint8Array): number[] {
  if (bytes.length < 24) return [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dv.getUint32(0, true) === 0xa1b2c3d4;
  const out: number[] = [];
  let o = 24;
  while (o + 16 <= bytes.length) {
    out.push(dv.getUint32(o, le));
    o += 16 + dv.getUint32(o + 8, le);
  }
  return out;
}
