// Cross-checks the decoder with the real tools: captures of real Linux traffic (made by tcpdump and
// tshark in a private network namespace) and captures we craft and write ourselves are decoded by us
// and by `tshark -T fields`; every compared field must agree on every packet, and our tcpdump-style
// lines must be what tcpdump prints.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCaptureFile, createCaptureWriter } from '../../engine/trace/capture-file';
import { dissect, type Dissection } from '../../engine/wire/dissect';
import { summarize, SummaryContext } from '../../engine/wire/summary';
import { ipv4ToString, ipv6ToString, macToString } from '../../engine/wire/address';
import { FRAMES } from '../engine/wire/frames';
import type { TcpOption } from '../../engine/wire/tcp';
import { ethernet, icmp, icmp6, ip4, ip6, ipv4, ipv6, tcp4Frame, tcp6Frame, udp, udp4Frame, type TcpOptions } from '../support/packet-builder';

const root = join(__dirname, '..', '..');
const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const toolsMissing = !have('tshark') || !have('tcpdump') ? 'tshark and tcpdump are needed (bash .ci/run installs them)' : false;

/** Fields compared with tshark, as tshark prints them with `-T fields`. */
const SCALAR_FIELDS = [
  'frame.len', 'frame.cap_len',
  'eth.src', 'eth.dst',
  'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4',
  'ip.src', 'ip.dst', 'ip.proto', 'ip.len', 'ip.ttl', 'ip.id', 'ip.hdr_len', 'ip.flags.df', 'ip.flags.mf', 'ip.frag_offset', 'ip.checksum.status',
  'ipv6.src', 'ipv6.dst', 'ipv6.plen', 'ipv6.nxt', 'ipv6.hlim',
  'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value', 'tcp.len', 'tcp.hdr_len',
  'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.sack_perm', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr',
  'tcp.checksum.status',
  'udp.srcport', 'udp.dstport', 'udp.length', 'udp.checksum.status',
  'icmp.type', 'icmp.code', 'icmp.ident', 'icmp.seq',
  'icmpv6.type', 'icmpv6.code',
] as const;
const LIST_FIELDS = ['vlan.id', 'tcp.options.sack_le', 'tcp.options.sack_re'] as const;
type Field = (typeof SCALAR_FIELDS)[number] | (typeof LIST_FIELDS)[number];

const TSHARK_PREFS = [
  '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE',
  '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
  '-o', 'tcp.relative_sequence_numbers:FALSE', '-o', 'tcp.analyze_sequence_numbers:FALSE',
];

function tsharkFields(file: string, fields: readonly string[], occurrence: 'f' | 'a'): string[][] {
  const args = ['-r', file, '-n', ...TSHARK_PREFS, '-T', 'fields', '-E', `occurrence=${occurrence}`, '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  const res = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(res.status, 0, `tshark failed: ${res.stderr}`);
  return res.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

const hex4 = (n: number) => '0x' + n.toString(16).padStart(4, '0');
const bool = (b: boolean) => (b ? '1' : '0');
const status = (valid: boolean | undefined) => (valid === undefined ? undefined : valid ? '1' : '0');

/** Our values for the fields, as tshark spells them; undefined where we have no such layer. */
function ourFields(d: Dissection, capLen: number, origLen: number): Partial<Record<Field, string>> {
  const f: Partial<Record<Field, string>> = { 'frame.len': String(origLen), 'frame.cap_len': String(capLen) };
  if (d.eth) {
    f['eth.src'] = macToString(d.eth.src);
    f['eth.dst'] = macToString(d.eth.dst);
    // tshark names 802.1ad S-tags ieee8021ad.id and only 802.1Q C-tags vlan.id.
    const ctags = d.eth.vlans.filter((v) => v.tpid === 0x8100);
    if (ctags.length) f['vlan.id'] = ctags.map((v) => v.vid).join(',');
  }
  if (d.arp) {
    f['arp.opcode'] = String(d.arp.operation);
    f['arp.src.hw_mac'] = macToString(d.arp.senderHardware);
    f['arp.src.proto_ipv4'] = ipv4ToString(d.arp.senderProtocol);
    f['arp.dst.proto_ipv4'] = ipv4ToString(d.arp.targetProtocol);
  }
  const ip = d.ipv4;
  if (ip) {
    Object.assign(f, {
      'ip.src': ipv4ToString(ip.src), 'ip.dst': ipv4ToString(ip.dst), 'ip.proto': String(ip.protocol),
      'ip.len': String(ip.totalLength), 'ip.ttl': String(ip.ttl), 'ip.id': hex4(ip.identification),
      'ip.hdr_len': String(ip.headerLen), 'ip.flags.df': bool(ip.dontFragment), 'ip.flags.mf': bool(ip.moreFragments),
      'ip.frag_offset': String(ip.fragmentOffset / 8), 'ip.checksum.status': status(ip.checksumValid),
    });
  }
  const ip6 = d.ipv6;
  if (ip6) {
    Object.assign(f, {
      'ipv6.src': ipv6ToString(ip6.src), 'ipv6.dst': ipv6ToString(ip6.dst), 'ipv6.plen': String(ip6.payloadLength),
      'ipv6.nxt': String(ip6.nextHeader), 'ipv6.hlim': String(ip6.hopLimit),
    });
  }
  const t = d.tcp;
  if (t) {
    const ipPayload = ip ? ip.totalLength - ip.headerLen : ip6 ? ip6.payloadLength - (ip6.upperOffset - 40) : 0;
    Object.assign(f, {
      'tcp.srcport': String(t.srcPort), 'tcp.dstport': String(t.dstPort), 'tcp.seq_raw': String(t.seq), 'tcp.ack_raw': String(t.ack),
      'tcp.flags': hex4(t.flags), 'tcp.window_size_value': String(t.window), 'tcp.len': String(ipPayload - t.headerLen),
      'tcp.hdr_len': String(t.headerLen),
    });
    if (t.checksumValid !== undefined) f['tcp.checksum.status'] = status(t.checksumValid);
    for (const o of t.options) {
      if (o.kind === 'mss') f['tcp.options.mss_val'] = String(o.value);
      if (o.kind === 'wscale') f['tcp.options.wscale.shift'] = String(o.shift);
      if (o.kind === 'sackPermitted') f['tcp.options.sack_perm'] = '0402';
      if (o.kind === 'timestamps') {
        f['tcp.options.timestamp.tsval'] = String(o.tsVal);
        f['tcp.options.timestamp.tsecr'] = String(o.tsEcr);
      }
      if (o.kind === 'sack') {
        f['tcp.options.sack_le'] = o.blocks.map((b) => b.left).join(',');
        f['tcp.options.sack_re'] = o.blocks.map((b) => b.right).join(',');
      }
    }
  }
  const u = d.udp;
  if (u) {
    Object.assign(f, { 'udp.srcport': String(u.srcPort), 'udp.dstport': String(u.dstPort), 'udp.length': String(u.length) });
    if (u.checksumValid !== undefined) f['udp.checksum.status'] = status(u.checksumValid);
  }
  const m = d.icmp;
  if (m) {
    f['icmp.type'] = String(m.type);
    f['icmp.code'] = String(m.code);
    if (m.kind === 'echoRequest' || m.kind === 'echoReply') {
      f['icmp.ident'] = String(m.identifier);
      f['icmp.seq'] = String(m.sequence);
    }
  }
  if (d.icmpv6) {
    f['icmpv6.type'] = String(d.icmpv6.type);
    f['icmpv6.code'] = String(d.icmpv6.code);
  }
  return f;
}

/** Compares every packet of `file` with tshark; returns the number of field values compared. */
function compareWithTshark(file: string): number {
  const scalar = tsharkFields(file, SCALAR_FIELDS, 'f');
  const lists = tsharkFields(file, LIST_FIELDS, 'a');
  const reader = openCaptureFile(file);
  const mismatches: string[] = [];
  let n = 0;
  let compared = 0;
  for (const pkt of reader) {
    const d = dissect(pkt.data, reader.interfaces[pkt.interfaceId].linkType);
    const ours = ourFields(d, pkt.capLen, pkt.origLen);
    const theirs = new Map<string, string>();
    SCALAR_FIELDS.forEach((name, i) => theirs.set(name, scalar[n]?.[i] ?? ''));
    LIST_FIELDS.forEach((name, i) => theirs.set(name, lists[n]?.[i] ?? ''));
    n++;
    for (const [name, value] of Object.entries(ours)) {
      if (value === undefined) continue;
      compared++;
      if (theirs.get(name) !== value) mismatches.push(`packet ${n} ${name}: got ${value}, tshark says ${theirs.get(name)} (frame ${Buffer.from(pkt.data).toString('hex')})`);
    }
  }
  reader.close();
  assert.equal(n, scalar.length, `we read ${n} packets, tshark ${scalar.length}`);
  assert.deepEqual(mismatches, []);
  return compared;
}

/** What `bypass-scope decode --time abs FILE` prints (the byte-level fast path and its fallback), without the packet numbers. */
function cliLines(file: string): string[] {
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'engine', 'cli.ts'), 'decode', '--time', 'abs', file], { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout.split('\n').filter((l) => l !== '').map((l) => l.slice(l.indexOf(' ') + 1));
}

/**
 * Our lines against `tcpdump -n -tt` line by line: tcpdump's line starts with ours (it may add an
 * application decode). Ours come from `summarize` (with dissect), or from the CLI as it prints them.
 */
function compareWithTcpdump(file: string, via: 'summarize' | 'cli' = 'summarize'): number {
  const res = spawnSync('tcpdump', ['-r', file, '-n', '-tt'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(res.status, 0, res.stderr);
  const theirs = res.stdout.split('\n').filter((l) => l !== '');
  const printed = via === 'cli' ? cliLines(file) : undefined;
  if (printed) assert.equal(printed.length, theirs.length, `we printed ${printed.length} lines, tcpdump ${theirs.length}`);
  const reader = openCaptureFile(file);
  const ctx = new SummaryContext();
  const mismatches: string[] = [];
  let n = 0;
  for (const pkt of reader) {
    const d = dissect(pkt.data, reader.interfaces[pkt.interfaceId].linkType);
    // We decode IP, ARP and their transports; tcpdump's decoders for LLC/STP, IGMP and others are out of scope.
    const outOfScope = (d.eth?.lengthField ?? false) || (d.ipv4 !== undefined && ![1, 6, 17].includes(d.ipv4.protocol));
    if (outOfScope) {
      n++;
      continue;
    }
    const ours = printed ? printed[n] : `${pkt.tsSec}.${String(Math.floor(pkt.tsNsec / 1000)).padStart(6, '0')} ${summarize(d, pkt.origLen, ctx)}`;
    const line = theirs[n++] ?? '';
    if (!line.startsWith(ours)) mismatches.push(`packet ${n}:\n  ours    ${ours}\n  tcpdump ${line}`);
  }
  reader.close();
  assert.equal(n, theirs.length);
  assert.deepEqual(mismatches, []);
  return n;
}

/** Frames real traffic does not easily give: VLAN tags, SACK, fragments, options, damage. */
function craftedFrames(): { data: Uint8Array; origLen?: number; comment: string }[] {
  const A = '198.18.0.1';
  const B = '198.18.0.2';
  const frames: { data: Uint8Array; origLen?: number; comment: string }[] = [];
  const add = (comment: string, data: Uint8Array, origLen?: number) => frames.push({ comment, data, origLen });
  for (const [name, data] of Object.entries(FRAMES)) add(`golden ${name}`, data);
  add('SYN with every option', tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1000, flags: 0x02, window: 64240,
    options: [{ kind: 'mss', value: 1460 }, { kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: 1, tsEcr: 0 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }] }));
  add('SYN,ACK', tcp4Frame(B, A, { srcPort: 9000, dstPort: 40000, seq: 5000, ack: 1001, flags: 0x12, window: 65160,
    options: [{ kind: 'mss', value: 1400 }, { kind: 'nop' }, { kind: 'wscale', shift: 9 }] }));
  add('ACK with three SACK blocks', tcp4Frame(B, A, { srcPort: 9000, dstPort: 40000, seq: 5001, ack: 2461, flags: 0x10, window: 501,
    options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [{ left: 3921, right: 5381 }, { left: 6841, right: 8301 }, { left: 9761, right: 11221 }] }] }));
  add('first ACK seen of a connection carries SACK (tcpdump prints its edges relative already)', tcp4Frame(B, A, { srcPort: 9001, dstPort: 41234, seq: 77_000, ack: 500_000, flags: 0x10, window: 501,
    options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [{ left: 501_448, right: 502_896 }] }] }));
  add('data with PSH over 802.1Q VLAN 100', tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1001, ack: 5001, flags: 0x18, payload: new TextEncoder().encode('hello') },
    { vlans: [{ tpid: 0x8100, pcp: 3, dei: false, vid: 100 }] }));
  add('UDP in QinQ 200/300', udp4Frame(A, B, 5000, 20001, new Uint8Array(100), { vlans: [{ tpid: 0x88a8, pcp: 0, dei: false, vid: 200 }, { tpid: 0x8100, pcp: 0, dei: false, vid: 300 }] }));
  add('FIN,ACK', tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1006, ack: 5001, flags: 0x11 }));
  add('RST', tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1007, flags: 0x04, window: 0 }));
  add('URG with urgent pointer and ECE/CWR', tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1007, ack: 5001, flags: 0xd8, urgent: 3, payload: new Uint8Array(5) }));
  add('unknown TCP option kind 253', tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1, ack: 1, flags: 0x10, options: [{ kind: 'unknown', type: 253, data: new Uint8Array([0xbe, 0xef]) }, { kind: 'nop' }, { kind: 'nop' }] }));
  add('IPv4 with record-route option', tcp4Frame(A, B, { srcPort: 1, dstPort: 2, flags: 0x10 }, {}, { options: new Uint8Array([7, 11, 4, 198, 18, 0, 9, 0, 0, 0, 0, 0]) }));
  // A UDP datagram fragmented by hand: the first fragment with the UDP header, then a later one.
  const whole = udp({ srcPort: 41000, dstPort: 41001, payload: new Uint8Array(2000).fill(7) }, { src: ip4(A), dst: ip4(B) });
  add('first IPv4 fragment', ethernet(0x0800, ipv4({ src: ip4(A), dst: ip4(B), protocol: 17, identification: 77, moreFragments: true }, whole.subarray(0, 1480))));
  add('later IPv4 fragment', ethernet(0x0800, ipv4({ src: ip4(A), dst: ip4(B), protocol: 17, identification: 77, fragmentOffset: 1480 }, whole.subarray(1480))));
  add('TCP over IPv6', tcp6Frame('2001:db8::1', '2001:db8::2', { srcPort: 443, dstPort: 50000, seq: 9, ack: 10, flags: 0x18, payload: new Uint8Array(10) }));
  const frag6 = new Uint8Array(8 + 16);
  frag6.set([17, 0, 0x00, 0x01, 0, 0, 0x12, 0x34]); // next header UDP, offset 0, M=1, id 0x1234
  frag6.set(udp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(8) }).subarray(0, 16), 8);
  add('IPv6 with a fragment header', ethernet(0x86dd, ipv6({ src: ip6('2001:db8::1'), dst: ip6('2001:db8::2'), nextHeader: 44 }, frag6)));
  add('ICMP time exceeded', ethernet(0x0800, ipv4({ src: ip4('198.18.0.254'), dst: ip4(A), protocol: 1 },
    icmp({ kind: 'timeExceeded', code: 0, quote: ipv4({ src: ip4(A), dst: ip4(B), protocol: 17, ttl: 1 }, udp({ srcPort: 33434, dstPort: 33435 })) }))));
  add('ICMP need to frag', ethernet(0x0800, ipv4({ src: ip4('198.18.0.254'), dst: ip4(A), protocol: 1 },
    icmp({ kind: 'destinationUnreachable', code: 4, nextHopMtu: 1400, quote: ipv4({ src: ip4(A), dst: ip4(B), protocol: 6, dontFragment: true }, new Uint8Array(8)) }))));
  add('ICMPv6 echo request', ethernet(0x86dd, ipv6({ src: ip6('2001:db8::1'), dst: ip6('2001:db8::2'), nextHeader: 58 },
    icmp6({ kind: 'echoRequest', identifier: 7, sequence: 1, data: new Uint8Array(16) }, ip6('2001:db8::1'), ip6('2001:db8::2')))));
  const bad = tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1, ack: 1, flags: 0x10, payload: new Uint8Array(4) });
  bad[bad.length - 1] ^= 0xff;
  add('TCP with a bad checksum', bad);
  const badIp = udp4Frame(A, B, 1, 2, new Uint8Array(4));
  badIp[14 + 8] ^= 0x01; // TTL changed, header checksum not updated
  add('IPv4 with a bad header checksum', badIp);
  const big = tcp4Frame(A, B, { srcPort: 40000, dstPort: 9000, seq: 1, ack: 1, flags: 0x18, payload: new Uint8Array(1000) });
  add('cut short by a 96-byte snap length', big.subarray(0, 96), big.length);
  add('cut short inside the TCP header', big.subarray(0, 44), big.length);
  return frames;
}

/**
 * Many TCP connections over IPv4 and IPv6 (some in VLANs, some between an address and itself),
 * interleaved: handshakes with options, data both ways with timestamps, ACKs with SACK, FINs. For
 * tcpdump's relative sequence numbers, kept per conversation.
 */
function connectionFrames(): Uint8Array[] {
  let seed = 7;
  const r = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
  const ts = (): TcpOption[] => [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: r(2 ** 32), tsEcr: r(2 ** 32) }];
  const v6 = ['2001:db8::1', '2001:db8::2', 'fe80::1:0:0:7', '::ffff:198.18.0.9', '2001:db8:0:0:1:0:0:1'];
  const scripts: Uint8Array[][] = [];
  for (let c = 0; c < 60; c++) {
    const six = c % 3 === 0;
    const a = six ? v6[r(v6.length)] : `198.18.${r(2)}.${1 + r(4)}`;
    const b = c % 11 === 0 ? a : six ? v6[r(v6.length)] : `198.18.${r(2)}.${1 + r(4)}`;
    const pa = 30000 + r(30000);
    const pb = [80, 443, 9000][r(3)];
    const vlans = c % 4 === 1 ? [{ tpid: 0x8100, pcp: 0, dei: false, vid: 10 + c }] : [];
    const seg = (fromA: boolean, o: Omit<TcpOptions, 'srcPort' | 'dstPort'>) =>
      (six ? tcp6Frame : tcp4Frame)(fromA ? a : b, fromA ? b : a, { srcPort: fromA ? pa : pb, dstPort: fromA ? pb : pa, window: 500 + r(60000), ...o }, { vlans });
    let sa = r(2 ** 32);
    let sb = r(2 ** 32);
    const frames: Uint8Array[] = [];
    frames.push(seg(true, { seq: sa, flags: 0x02, options: [{ kind: 'mss', value: 1460 }, { kind: 'sackPermitted' }, ...ts().slice(2), { kind: 'nop' }, { kind: 'wscale', shift: 7 }] }));
    frames.push(seg(false, { seq: sb, ack: (sa + 1) >>> 0, flags: 0x12, options: [{ kind: 'mss', value: 1400 }, { kind: 'nop' }, { kind: 'wscale', shift: 9 }] }));
    sa = (sa + 1) >>> 0;
    sb = (sb + 1) >>> 0;
    frames.push(seg(true, { seq: sa, ack: sb, flags: 0x10, options: ts() }));
    for (let k = 0; k < 4; k++) {
      const len = 100 * (k + 1);
      frames.push(seg(true, { seq: sa, ack: sb, flags: 0x18, options: ts(), payload: new Uint8Array(len) }));
      const sack: TcpOption[] = k === 2 ? [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [{ left: (sa + len + 300) >>> 0, right: (sa + len + 700) >>> 0 }] }] : [];
      sa = (sa + len) >>> 0;
      frames.push(seg(false, { seq: sb, ack: sa, flags: 0x10, options: [...ts(), ...sack] }));
    }
    frames.push(seg(false, { seq: sb, ack: sa, flags: 0x18, options: ts(), payload: new Uint8Array(50) }));
    sb = (sb + 50) >>> 0;
    frames.push(seg(true, { seq: sa, ack: sb, flags: 0x10, options: ts() }));
    frames.push(seg(true, { seq: sa, ack: sb, flags: 0x11 }));
    frames.push(seg(false, { seq: sb, ack: (sa + 1) >>> 0, flags: 0x11 }));
    frames.push(seg(true, { seq: (sa + 1) >>> 0, ack: (sb + 1) >>> 0, flags: 0x10 }));
    scripts.push(frames);
  }
  const out: Uint8Array[] = [];
  for (let left = scripts.reduce((n, f) => n + f.length, 0); left > 0; left--) {
    const live = scripts.filter((f) => f.length > 0);
    out.push(live[r(live.length)].shift()!);
  }
  return out;
}

describe('decode agrees with tcpdump and tshark', { skip: toolsMissing }, () => {
  let dir: string;
  let recorded = false;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bypass-scope-decode-'));
    // As root, `unshare -n`; as anyone else, a user namespace too (see the script).
    const ns = process.getuid?.() === 0 ? ['-n'] : ['-Urn'];
    const res = spawnSync('unshare', [...ns, 'bash', join(root, 'test/support/record-traffic.sh'), dir], { encoding: 'utf8', timeout: 60_000 });
    recorded = res.status === 0 && existsSync(join(dir, 'traffic.pcap')) && existsSync(join(dir, 'traffic.pcapng'));
    if (!recorded) console.log(`recording traffic failed: ${res.stderr}`);
    const w = createCaptureWriter(join(dir, 'crafted.pcapng'), 'pcapng', { userAppl: 'bypass-scope tests' });
    const eth = w.addInterface({ linkType: 1, name: 'sim0', tsResolution: 1e9 });
    craftedFrames().forEach((f, i) =>
      w.writePacket({ interfaceId: eth, tsSec: 1_700_000_000 + i, tsNsec: i * 1000 + 7, data: f.data, origLen: f.origLen, comment: f.comment, direction: i % 2 ? 'inbound' : 'outbound' }),
    );
    w.close();
    const c = createCaptureWriter(join(dir, 'connections.pcap'), 'pcap', { nanosecond: false });
    connectionFrames().forEach((data, i) => c.writePacket({ tsSec: 1_700_000_100 + (i >> 4), tsNsec: (i & 15) * 61_000_000, data }));
    c.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('matches tshark field by field on real Linux traffic captured to pcap', (t) => {
    if (!recorded) return t.skip('could not record traffic in a private network namespace here');
    const compared = compareWithTshark(join(dir, 'traffic.pcap'));
    assert.ok(compared > 500, `compared only ${compared} values`);
  });

  it('matches tshark field by field on real Linux traffic captured to pcapng', (t) => {
    if (!recorded) return t.skip('could not record traffic in a private network namespace here');
    compareWithTshark(join(dir, 'traffic.pcapng'));
  });

  it('prints the line tcpdump prints for every packet of real traffic', (t) => {
    if (!recorded) return t.skip('could not record traffic in a private network namespace here');
    assert.ok(compareWithTcpdump(join(dir, 'traffic.pcap')) > 40);
    compareWithTcpdump(join(dir, 'traffic.pcapng'));
  });

  it('matches tshark field by field on crafted frames: VLAN, SACK, fragments, options, damage', () => {
    compareWithTshark(join(dir, 'crafted.pcapng'));
  });

  it('prints the line tcpdump prints for every crafted frame', () => {
    compareWithTcpdump(join(dir, 'crafted.pcapng'));
  });

  it('prints, from the CLI, the line tcpdump prints for every packet of real traffic and crafted frames', (t) => {
    compareWithTcpdump(join(dir, 'crafted.pcapng'), 'cli');
    if (!recorded) return t.skip('could not record traffic in a private network namespace here');
    compareWithTcpdump(join(dir, 'traffic.pcap'), 'cli');
    compareWithTcpdump(join(dir, 'traffic.pcapng'), 'cli');
  });

  it('prints the relative sequence numbers tcpdump prints across many interleaved connections, from summarize and from the CLI', () => {
    const file = join(dir, 'connections.pcap');
    assert.ok(compareWithTcpdump(file) > 900);
    compareWithTcpdump(file, 'cli');
  });

  it('writes a pcapng that tshark reads with no malformed packet, our comments and our directions', () => {
    const file = join(dir, 'crafted.pcapng');
    const rows = tsharkFields(file, ['frame.number', 'frame.comment', 'frame.p2p_dir', '_ws.malformed'], 'f');
    const crafted = craftedFrames();
    assert.equal(rows.length, crafted.length);
    rows.forEach((row, i) => {
      assert.equal(row[1], crafted[i].comment, `packet ${i + 1} comment`);
      assert.equal(row[2], i % 2 ? '1' : '0', `packet ${i + 1} direction`);
    });
    const malformed = rows.filter((r) => r[3] !== '' && !crafted[Number(r[0]) - 1].comment.startsWith('cut short'));
    assert.deepEqual(malformed.map((r) => crafted[Number(r[0]) - 1].comment), []);
  });
});
