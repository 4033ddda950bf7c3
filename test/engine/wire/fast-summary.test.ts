// Tests for engine/wire/fast-summary.ts: the byte-level fast path prints, byte for byte, what
// dissect + summarize print — on bench-like traffic, on the sample capture and on damaged frames —
// and keeps tcpdump's relative sequence numbers in step with the slow path it falls back to.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { FAST_SUMMARY_ROOM, FastSummary, writeDecimal, writeSixDigits } from '../../../engine/wire/fast-summary';
import { dissect, LINKTYPE } from '../../../engine/wire/dissect';
import { SummaryContext, summarize } from '../../../engine/wire/summary';
import { openCaptureFile } from '../../../engine/trace/capture-file';
import type { TcpOption } from '../../../engine/wire/tcp';
import type { VlanTag } from '../../../engine/wire/ethernet';
import { ethernet, icmp, icmp6, ip4, ip6, ipv4, ipv6, tcp, tcp4Frame, tcp6Frame, udp, udp4Frame } from '../../support/packet-builder';
import { decodeMix } from '../../support/traffic-mix';

interface Frame {
  readonly data: Uint8Array;
  readonly origLen?: number;
  readonly linkType?: number;
}

const decoder = new TextDecoder();

/** Lines as the CLI prints them: the fast path where it can, dissect + summarize where it declines. */
function fastLines(frames: readonly Frame[], absolute = false): { lines: string[]; declined: number } {
  const ctx = new SummaryContext(absolute);
  const fast = new FastSummary(ctx);
  const out = new Uint8Array(FAST_SUMMARY_ROOM + 8).fill(0xee);
  const lines: string[] = [];
  let declined = 0;
  for (const f of frames) {
    const linkType = f.linkType ?? LINKTYPE.ETHERNET;
    const origLen = f.origLen ?? f.data.length;
    // Writing after a few bytes of other text checks the offsets are honoured.
    const end = fast.write(f.data, linkType, origLen, out, 3);
    if (end < 0) {
      declined++;
      lines.push(summarize(dissect(f.data, linkType), origLen, ctx));
    } else {
      assert.ok(end <= out.length - 8, `wrote past the room it asks for: ${end}`);
      lines.push(decoder.decode(out.subarray(3, end)));
    }
  }
  return { lines, declined };
}

/** Lines from dissect + summarize alone. */
function slowLines(frames: readonly Frame[], absolute = false): string[] {
  const ctx = new SummaryContext(absolute);
  return frames.map((f) => summarize(dissect(f.data, f.linkType ?? LINKTYPE.ETHERNET), f.origLen ?? f.data.length, ctx));
}

/** Both paths over `frames`, relative and absolute; fails at the first line that differs. */
function assertSameLines(frames: readonly Frame[]): number {
  let declined = 0;
  for (const absolute of [false, true]) {
    const want = slowLines(frames, absolute);
    const got = fastLines(frames, absolute);
    declined = got.declined;
    for (let i = 0; i < frames.length; i++) {
      if (got.lines[i] !== want[i]) {
        const bytes = Buffer.from(frames[i].data).toString('hex');
        assert.fail(`packet ${i + 1}${absolute ? ' (absolute)' : ''}:\n  got  ${got.lines[i]}\n  want ${want[i]}\n  frame ${bytes}`);
      }
    }
  }
  return declined;
}

/** A small seeded generator, so the traffic is the same on every run. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

const TS: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 1000, tsEcr: 2000 }];

/** The benchmark's mix (bench/decode.bench.ts), from the one generator both use. */
function benchTraffic(count: number): Frame[] {
  return Array.from(decodeMix(count), (data) => ({ data }));
}

function arpBody(op: number, sha: number[], spa: number[], tha: number[], tpa: number[]): Uint8Array {
  return Uint8Array.from([0, 1, 8, 0, 6, 4, op >> 8, op & 0xff, ...sha, ...spa, ...tha, ...tpa]);
}

const V6_ADDRESSES = ['2001:db8::1', '2001:db8::2', 'fe80::1:0:0:7', '::1', '::', '::ffff:198.18.0.9', '::198.18.0.10', '2001:db8:0:0:1:0:0:1', '1:2:3:4:5:6:7:8', 'ff02::1:ff00:0', '::2'];

/** IPv6 carrying a destination-options header before `upper` (protocol `next`): dissect's work, not the fast path's. */
function ipv6WithDestOpts(src: Uint8Array, dst: Uint8Array, next: number, upper: Uint8Array): Uint8Array {
  const body = new Uint8Array(8 + upper.length);
  body.set([next, 0, 1, 4, 0, 0, 0, 0]); // PadN over the rest of the 8 bytes
  body.set(upper, 8);
  return ethernet(0x86dd, ipv6({ src, dst, nextHeader: 60 }, body));
}

/**
 * Many interleaved TCP connections over IPv4 and IPv6 (whole handshakes, data both ways, SACK, FIN,
 * RST, every flag), with some of each connection's segments going to the slow path (raw-IP link type,
 * IPv6 extension headers) so both paths must share the relative-sequence state; plus VLAN/QinQ
 * tags, UDP, ICMP and ICMPv6 echoes and errors, every ARP operation, and other EtherTypes.
 */
function mixedTraffic(count: number, seed: number): Frame[] {
  const r = rng(seed);
  const frames: Frame[] = [];
  const vlanSets: VlanTag[][] = [[], [], [], [{ tpid: 0x8100, pcp: 3, dei: false, vid: 100 }], [{ tpid: 0x88a8, pcp: 0, dei: true, vid: 200 }, { tpid: 0x8100, pcp: 1, dei: false, vid: 4095 }], [{ tpid: 0x9100, pcp: 0, dei: false, vid: 7 }]];
  interface Conn {
    v6: boolean;
    a: string;
    b: string;
    pa: number;
    pb: number;
    sa: number;
    sb: number;
  }
  const conns: Conn[] = [];
  for (let i = 0; i < 150; i++) {
    const v6 = i % 3 === 0;
    const pick = () => (v6 ? V6_ADDRESSES[r(V6_ADDRESSES.length)] : `198.18.${r(3)}.${r(4)}`);
    // Some connections run between an address and itself: tcpdump then orders them by port.
    const a = pick();
    const b = i % 17 === 0 ? a : pick();
    conns.push({ v6, a, b, pa: 1024 + r(60000), pb: [80, 443, 9000, r(65536)][r(4)], sa: r(2 ** 32), sb: r(2 ** 32) });
  }
  const options = (): TcpOption[] => {
    switch (r(10)) {
      case 0:
        return [];
      case 1:
        return [{ kind: 'mss', value: r(65536) }, { kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: r(2 ** 32), tsEcr: 0 }, { kind: 'nop' }, { kind: 'wscale', shift: r(15) }];
      case 2:
        return [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: Array.from({ length: 1 + r(3) }, () => ({ left: r(2 ** 32), right: r(2 ** 32) })) }];
      case 3:
        return [{ kind: 'unknown', type: 30 + r(200), data: Uint8Array.from({ length: r(6) }, () => r(256)) }, { kind: 'nop' }, { kind: 'eol' }];
      case 4:
        return [{ kind: 'sack', blocks: Array.from({ length: 4 }, () => ({ left: r(2 ** 32), right: r(2 ** 32) })) }];
      case 5:
        return [{ kind: 'eol' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }];
      default:
        return TS;
    }
  };
  for (let i = 0; i < count; i++) {
    const what = r(100);
    const vlans = vlanSets[r(vlanSets.length)];
    if (what < 70) {
      const c = conns[r(conns.length)];
      const fromA = r(2) === 0;
      const step = r(20);
      // SYN, SYN-ACK, the rest ACK-bearing with assorted flags; now and then a flag byte of every kind.
      const flags = step === 0 ? 0x02 : step === 1 ? 0x12 : step === 2 ? 0x11 : step === 3 ? 0x14 : step === 4 ? 0x04 : step === 5 ? r(512) : step === 6 ? 0xf8 : 0x18;
      const len = r(4) === 0 ? 0 : r(1500);
      const seq = fromA ? c.sa : c.sb;
      const seg = {
        srcPort: fromA ? c.pa : c.pb,
        dstPort: fromA ? c.pb : c.pa,
        seq,
        ack: fromA ? c.sb : c.sa,
        flags,
        window: r(65536),
        urgent: r(3) === 0 ? r(65536) : 0,
        options: options(),
        payload: new Uint8Array(len),
      };
      if (fromA) c.sa = (c.sa + len) >>> 0;
      else c.sb = (c.sb + len) >>> 0;
      const [src, dst] = fromA ? [c.a, c.b] : [c.b, c.a];
      const slow = r(8) === 0;
      if (!c.v6) {
        const frame = tcp4Frame(src, dst, seg, { vlans });
        frames.push(slow ? { data: frame.subarray(14 + 4 * vlans.length), linkType: LINKTYPE.RAW } : { data: frame });
      } else if (slow) {
        frames.push({ data: ipv6WithDestOpts(ip6(src), ip6(dst), 6, tcp(seg, { src6: ip6(src), dst6: ip6(dst) })) });
      } else {
        frames.push({ data: tcp6Frame(src, dst, seg, { vlans }) });
      }
    } else if (what < 78) {
      const a = `10.${r(256)}.${r(256)}.${r(256)}`;
      const b = `192.168.${r(256)}.${r(256)}`;
      frames.push({ data: udp4Frame(a, b, r(65536), r(65536), new Uint8Array(r(600)), { vlans }) });
    } else if (what < 81) {
      const s = ip6(V6_ADDRESSES[r(V6_ADDRESSES.length)]);
      const d = ip6(V6_ADDRESSES[r(V6_ADDRESSES.length)]);
      frames.push({ data: ethernet(0x86dd, ipv6({ src: s, dst: d, nextHeader: 17 }, udp({ srcPort: r(65536), dstPort: 53, payload: new Uint8Array(r(100)) }, { src6: s, dst6: d })), { vlans }) });
    } else if (what < 85) {
      const kind = r(2) === 0 ? 'echoRequest' : 'echoReply';
      frames.push({ data: ethernet(0x0800, ipv4({ src: ip4('198.18.0.1'), dst: ip4('198.18.0.200'), protocol: 1 }, icmp({ kind, identifier: r(65536), sequence: r(65536), data: new Uint8Array(r(100)) })), { vlans }) });
    } else if (what < 87) {
      const s = ip6(V6_ADDRESSES[r(V6_ADDRESSES.length)]);
      const d = ip6(V6_ADDRESSES[r(V6_ADDRESSES.length)]);
      const kind = r(2) === 0 ? 'echoRequest' : 'echoReply';
      frames.push({ data: ethernet(0x86dd, ipv6({ src: s, dst: d, nextHeader: 58 }, icmp6({ kind, identifier: r(65536), sequence: r(65536), data: new Uint8Array(r(64)) }, s, d))) });
    } else if (what < 89) {
      const quote = ipv4({ src: ip4('198.18.0.1'), dst: ip4('198.18.9.9'), protocol: 17 }, udp({ srcPort: 33434, dstPort: 33435 }));
      frames.push({ data: ethernet(0x0800, ipv4({ src: ip4('198.18.0.254'), dst: ip4('198.18.0.1'), protocol: 1 }, icmp({ kind: 'destinationUnreachable', code: r(16), nextHopMtu: 1400, quote }))) });
    } else if (what < 96) {
      const op = [1, 1, 2, 3, 4, 9][r(6)];
      const tha = r(2) === 0 ? [0, 0, 0, 0, 0, 0] : [0x02, 0, 0, 0, 0, r(256)];
      const body = arpBody(op, [0x02, 0xab, 0xcd, 0, 0, r(256)], [198, 18, 0, r(256)], tha, [198, 18, 1, r(256)]);
      const padded = r(2) === 0 ? body : Uint8Array.from([...body, ...new Uint8Array(18)]);
      frames.push({ data: ethernet(r(4) === 0 ? 0x8035 : 0x0806, padded, { vlans }) });
    } else if (what < 98) {
      // A later IPv4 fragment, and a TCP segment in a first fragment.
      frames.push({ data: ethernet(0x0800, ipv4({ src: ip4('198.18.0.1'), dst: ip4('198.18.0.2'), protocol: 17, fragmentOffset: 8 * (1 + r(100)) }, new Uint8Array(r(200)))) });
      frames.push({ data: tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 1, dstPort: 2, seq: r(2 ** 32), ack: r(2 ** 32), flags: 0x10 }, {}, { moreFragments: true }) });
    } else {
      frames.push({ data: ethernet([0x88cc, 0x86dd, 0x9000][r(3)], new Uint8Array(r(60))) });
    }
  }
  return frames;
}

describe('fast summary', () => {
  it('prints the benchmark mix exactly as summarize does, without falling back once', () => {
    const frames = benchTraffic(4000);
    assert.equal(assertSameLines(frames), 0);
  });

  it('prints mixed traffic over many interleaved connections exactly as summarize does, sharing relative sequence numbers with it', () => {
    for (const seed of [1, 2, 3]) {
      const frames = mixedTraffic(3000, seed);
      const declined = assertSameLines(frames);
      // Both paths must have had a real share of the work.
      assert.ok(declined > 100 && declined < frames.length / 3, `declined ${declined} of ${frames.length}`);
    }
  });

  it('prints every packet of examples/sample.pcapng exactly as summarize does', () => {
    const reader = openCaptureFile(join(__dirname, '..', '..', '..', 'examples', 'sample.pcapng'));
    const frames: Frame[] = [];
    try {
      for (const pkt of reader) frames.push({ data: pkt.data.slice(), origLen: pkt.origLen, linkType: reader.interfaces[pkt.interfaceId].linkType });
    } finally {
      reader.close();
    }
    assert.equal(frames.length, 29);
    assertSameLines(frames);
  });

  it('prints TCP segments with every flag combination and every option shape exactly as summarize does', () => {
    const frames: Frame[] = [];
    for (let flags = 0; flags < 512; flags++) frames.push({ data: tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 5, dstPort: 6, seq: 100 + flags, ack: 7, flags, urgent: flags }) });
    const shapes: TcpOption[][] = [
      [{ kind: 'eol' }],
      [{ kind: 'nop' }, { kind: 'eol' }, { kind: 'nop' }, { kind: 'nop' }],
      Array.from({ length: 40 }, () => ({ kind: 'nop' as const })),
      Array.from({ length: 20 }, (_, i) => ({ kind: 'unknown' as const, type: 200 + i, data: new Uint8Array(0) })),
      [{ kind: 'unknown', type: 255, data: new Uint8Array(38).fill(0xa5) }],
      [{ kind: 'sack', blocks: [{ left: 0, right: 0xffffffff }, { left: 1, right: 2 }, { left: 3, right: 4 }, { left: 0x80000000, right: 0x7fffffff }] }],
      [{ kind: 'mss', value: 0 }, { kind: 'mss', value: 65535 }, { kind: 'wscale', shift: 255 }, { kind: 'sackPermitted' }, { kind: 'timestamps', tsVal: 0xffffffff, tsEcr: 1 }],
    ];
    for (const options of shapes) {
      frames.push({ data: tcp4Frame('198.18.0.2', '198.18.0.1', { srcPort: 6, dstPort: 5, seq: 1, ack: 101, flags: 0x12, options }) });
      frames.push({ data: tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 5, dstPort: 6, seq: 101, ack: 2, flags: 0x10, options }) });
    }
    // Options with lengths that do not parse: the fast path must decline, summarize prints the damage.
    const bad = [[5, 2, 1, 1], [5, 42, 0, 0], [2, 5, 1, 1, 1], [3, 2, 0, 0], [4, 3, 0, 0], [5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 30], [77, 1, 0, 0], [77, 9, 0, 0]];
    for (const opt of bad) {
      const f = tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 5, dstPort: 6, seq: 1, ack: 1, flags: 0x10, options: [{ kind: 'unknown', type: 99, data: new Uint8Array(opt.length - 2) }] });
      f.set(opt, 14 + 20 + 20);
      frames.push({ data: f });
    }
    assertSameLines(frames);
  });

  it('prints the same lines as summarize when any header byte takes a telling value or the frame ends at any byte', () => {
    const s6 = ip6('2001:db8::1');
    const d6 = ip6('::ffff:198.18.0.7');
    const representative: Uint8Array[] = [
      tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 1, dstPort: 2, seq: 7, ack: 9, flags: 0x10, options: TS, payload: new Uint8Array(4) }),
      tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 1, dstPort: 2, seq: 7, ack: 9, flags: 0x18, options: [{ kind: 'sack', blocks: [{ left: 1, right: 2 }] }] }, {}, { options: new Uint8Array([7, 7, 4, 1, 2, 3, 4, 0]) }),
      tcp4Frame('198.18.0.2', '198.18.0.1', { srcPort: 2, dstPort: 1, seq: 9, ack: 8, flags: 0x10 }, { vlans: [{ tpid: 0x8100, pcp: 0, dei: false, vid: 1 }] }),
      udp4Frame('198.18.0.1', '198.18.0.2', 53, 5353, new Uint8Array(3)),
      ethernet(0x0800, ipv4({ src: ip4('198.18.0.1'), dst: ip4('198.18.0.2'), protocol: 1 }, icmp({ kind: 'echoReply', identifier: 1, sequence: 2, data: new Uint8Array(4) }))),
      tcp6Frame('2001:db8::1', '::ffff:198.18.0.7', { srcPort: 1, dstPort: 2, seq: 7, ack: 9, flags: 0x12, options: [{ kind: 'mss', value: 1440 }] }),
      ethernet(0x86dd, ipv6({ src: s6, dst: d6, nextHeader: 17 }, udp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(2) }, { src6: s6, dst6: d6 }))),
      ethernet(0x86dd, ipv6({ src: s6, dst: d6, nextHeader: 58 }, icmp6({ kind: 'echoRequest', identifier: 3, sequence: 4, data: new Uint8Array(0) }, s6, d6))),
      ethernet(0x0806, arpBody(1, [2, 0, 0, 0, 0, 1], [198, 18, 0, 1], [0, 0, 0, 0, 0, 0], [198, 18, 0, 2])),
      ethernet(0x8035, arpBody(4, [2, 0, 0, 0, 0, 1], [198, 18, 0, 1], [0, 0, 0, 0, 0, 9], [198, 18, 0, 2])),
    ];
    const values = [0, 1, 2, 4, 5, 6, 8, 9, 10, 0x11, 0x12, 0x3a, 0x45, 0x46, 0x4f, 0x50, 0x60, 0x7f, 0x80, 0x81, 0x88, 0xa8, 0xdd, 0xfe, 0xff];
    const frames: Frame[] = [];
    for (const base of representative) {
      for (let at = 12; at < Math.min(base.length, 100); at++) {
        for (const v of values) {
          const data = base.slice();
          data[at] = v;
          frames.push({ data });
        }
      }
      for (let cut = 0; cut <= base.length; cut++) frames.push({ data: base.subarray(0, cut) });
      // Ethernet padding after the datagram, and wire lengths shorter than the capture.
      frames.push({ data: Uint8Array.from([...base, ...new Uint8Array(30)]) });
      for (const origLen of [0, 10, 14, 42, base.length - 1]) frames.push({ data: base, origLen });
    }
    assertSameLines(frames);
  });

  it('prints the same lines as summarize for frames with random bytes changed, cut short or with odd wire lengths', () => {
    const base = [...benchTraffic(40), ...mixedTraffic(200, 9)];
    const mutation = fc.record({
      frame: fc.nat({ max: base.length - 1 }),
      // Most changes land in the headers, where the checks are.
      edits: fc.array(fc.tuple(fc.oneof(fc.nat({ max: 80 }), fc.nat({ max: 1600 })), fc.oneof(fc.nat({ max: 255 }), fc.constantFrom(0, 0xff, 0x45, 0x60, 0x81, 0x06, 0x11))), { maxLength: 4 }),
      cut: fc.option(fc.nat({ max: 120 }), { nil: undefined }),
      origDelta: fc.oneof(fc.constant(0), fc.integer({ min: -100, max: 100 })),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 40 }), (ms) => {
        const frames: Frame[] = ms.map((m) => {
          const f = base[m.frame];
          const data = f.data.slice();
          for (const [at, v] of m.edits) if (at < data.length) data[at] = v;
          const cut = m.cut === undefined ? data : data.subarray(0, m.cut);
          return { data: cut, linkType: f.linkType, origLen: Math.max(0, data.length + m.origDelta) };
        });
        assertSameLines(frames);
      }),
      { numRuns: 400, seed: 20261124 },
    );
  });

  it('prints the same lines as summarize for random bytes after an Ethernet, IPv4 or IPv6 header', () => {
    const heads = [
      Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]),
      Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]),
      Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0, 5, 0x08, 0x06]),
      ethernet(0x0800, ipv4({ src: ip4('198.18.0.1'), dst: ip4('198.18.0.2'), protocol: 6 }, new Uint8Array(0))).subarray(0, 34),
      ethernet(0x86dd, ipv6({ src: ip6('2001:db8::1'), dst: ip6('::ffff:1.2.3.4'), nextHeader: 6 }, new Uint8Array(0))).subarray(0, 54),
    ];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: heads.length - 1 }), fc.uint8Array({ maxLength: 80 })), { minLength: 1, maxLength: 20 }), (items) => {
        assertSameLines(items.map(([h, tail]) => ({ data: Uint8Array.from([...heads[h], ...tail]) })));
      }),
      { numRuns: 500, seed: 5 },
    );
  });

  it('writes IPv6 addresses as ipv6ToString does, zero runs and embedded IPv4 included', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.constant(1), fc.integer({ min: 0, max: 0xffff }));
    const addr = fc.array(group, { minLength: 8, maxLength: 8 }).map((ws) => Uint8Array.from(ws.flatMap((w) => [w >> 8, w & 0xff])));
    fc.assert(
      fc.property(addr, addr, (s, d) => {
        const data = ethernet(0x86dd, ipv6({ src: s, dst: d, nextHeader: 17 }, udp({ srcPort: 1, dstPort: 2 })));
        assertSameLines([{ data }]);
      }),
      { numRuns: 2000, seed: 4291 },
    );
  });

  it('writes numbers as String does, and six-digit fractions with leading zeros', () => {
    const out = new Uint8Array(64);
    const text = (end: number) => decoder.decode(out.subarray(0, end));
    for (const n of [0, 1, 9, 10, 99, 100, 101, 999, 1000, 65535, 99999, 100000, 999999999, 1e9, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 1e21, 1.5, -1, -0]) {
      assert.equal(text(writeDecimal(out, 0, n)), String(n), `writeDecimal(${n})`);
    }
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (n) => assert.equal(text(writeDecimal(out, 0, n)), String(n))));
    fc.assert(fc.property(fc.nat({ max: 999999 }), (n) => assert.equal(text(writeSixDigits(out, 0, n)), String(n).padStart(6, '0'))));
  });
});
