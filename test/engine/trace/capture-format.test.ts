// Tests for engine/trace/capture-format: golden bytes both ways, sections and resolutions, skipped
// blocks, round trips, and damage (truncation, bad lengths, arbitrary chunking, mutation).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ByteBuffer,
  CaptureFormatError,
  CaptureParser,
  PcapWriter,
  PcapngWriter,
  type CapturedPacket,
  type Direction,
} from '../../../engine/trace/capture-format';

/** Bytes from hex text; spaces, newlines and `|` are ignored, 'text' in quotes is ASCII. */
function hex(text: string): Uint8Array {
  const out: number[] = [];
  const re = /'([^']*)'|([0-9a-fA-F]{2})|[\s|]+/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < text.length && (m = re.exec(text))) {
    if (m[1] !== undefined) for (const ch of m[1]) out.push(ch.charCodeAt(0));
    else if (m[2] !== undefined) out.push(parseInt(m[2], 16));
    at = re.lastIndex;
  }
  assert.equal(at, text.length, `bad hex text at ${at}: ${text.slice(at, at + 10)}`);
  return new Uint8Array(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Got = Omit<CapturedPacket, 'data'> & { data: number[] };

interface ParseResult {
  packets: Got[];
  parser: CaptureParser;
  error?: CaptureFormatError;
}

/** Feeds bytes in chunks of `chunk` (copied into one reused buffer, as a file reader does) and collects packets. */
function parse(bytes: Uint8Array, chunk = bytes.length || 1): ParseResult {
  const parser = new CaptureParser();
  const packets: Got[] = [];
  const reused = new Uint8Array(chunk);
  try {
    for (let at = 0; at < bytes.length; at += chunk) {
      const n = Math.min(chunk, bytes.length - at);
      reused.set(bytes.subarray(at, at + n));
      parser.push(reused.subarray(0, n));
      for (let p; (p = parser.next()); ) packets.push({ ...p, data: [...p.data] });
      // Scribble over the chunk: the parser must have kept what it still needs.
      reused.fill(0xee);
    }
    parser.end();
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    return { packets, parser, error: e };
  }
  return { packets, parser };
}

function encode(build: (out: ByteBuffer) => void): Uint8Array {
  const out = new ByteBuffer({ capacity: 16 });
  build(out);
  return out.contents().slice();
}

function assertBytes(got: Uint8Array, want: Uint8Array): void {
  const h = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(.{8})/g, '$1 ').trim();
  assert.equal(h(got), h(want));
}

const DATA = hex('de ad be ef');

// ---- hand-assembled files -----------------------------------------------------------------------

/** pcap, little-endian, nanosecond magic, one 4-byte packet of a 60-byte frame. */
const PCAP_LE_NS = hex(`
  4d 3c b2 a1 | 02 00 04 00 | 00 00 00 00 | 00 00 00 00 | 00 00 04 00 | 01 00 00 00
  00 f1 53 65 | 15 cd 5b 07 | 04 00 00 00 | 3c 00 00 00 | de ad be ef`);

/** pcap, big-endian, microsecond magic, snaplen 65535, one packet at 1700000000.123456. */
const PCAP_BE_US = hex(`
  a1 b2 c3 d4 | 00 02 00 04 | 00 00 00 00 | 00 00 00 00 | 00 00 ff ff | 00 00 00 01
  65 53 f1 00 | 00 01 e2 40 | 00 00 00 04 | 00 00 00 04 | de ad be ef`);

/** pcap, little-endian, microsecond magic. */
const PCAP_LE_US = hex(`
  d4 c3 b2 a1 | 02 00 04 00 | 00 00 00 00 | 00 00 00 00 | 00 00 04 00 | 01 00 00 00
  00 f1 53 65 | 40 e2 01 00 | 04 00 00 00 | 04 00 00 00 | de ad be ef`);

/** pcap, big-endian, nanosecond magic. */
const PCAP_BE_NS = hex(`
  a1 b2 3c 4d | 00 02 00 04 | 00 00 00 00 | 00 00 00 00 | 00 04 00 00 | 00 00 00 01
  65 53 f1 00 | 07 5b cd 15 | 00 00 00 04 | 00 00 00 04 | de ad be ef`);

// pcapng, little-endian, as PcapngWriter writes it.
const SHB_LE = hex(`
  0a 0d 0d 0a | 28 00 00 00 | 4d 3c 2b 1a | 01 00 00 00 | ff ff ff ff ff ff ff ff
  04 00 02 00 'bs' 00 00 | 00 00 00 00 | 28 00 00 00`);
const IDB_LE_NS = hex(`
  01 00 00 00 | 28 00 00 00 | 01 00 00 00 | 00 00 00 00
  02 00 04 00 'eth0' | 09 00 01 00 09 00 00 00 | 00 00 00 00 | 28 00 00 00`);
// 1700000000.123456789 s = 0x17979cfe_3d85cd15 ns; comment "hi"; epb_flags inbound.
const EPB_LE = hex(`
  06 00 00 00 | 38 00 00 00 | 00 00 00 00 | fe 9c 97 17 | 15 cd 85 3d | 04 00 00 00 | 3c 00 00 00
  de ad be ef | 01 00 02 00 'hi' 00 00 | 02 00 04 00 01 00 00 00 | 00 00 00 00 | 38 00 00 00`);
const SPB_LE = hex(`03 00 00 00 | 14 00 00 00 | 3c 00 00 00 | de ad be ef | 14 00 00 00`);
// 198.18.0.1 -> "peer"; 2001:db8::1 -> "v6".
const NRB_LE = hex(`
  04 00 00 00 | 38 00 00 00
  01 00 09 00 | c6 12 00 01 'peer' 00 00 00 00
  02 00 13 00 | 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 'v6' 00 00
  00 00 00 00 | 38 00 00 00`);

// A big-endian section: no options on the SHB; an IDB with if_tsresol 2^-20 (0x94) and a
// description; an EPB at 1700000000.5 s (0x6553f_10080000 units), outbound; an ISB, custom
// blocks and an unknown block type that the reader skips.
const SHB_BE = hex(`0a 0d 0d 0a | 00 00 00 1c | 1a 2b 3c 4d | 00 01 00 00 | ff ff ff ff ff ff ff ff | 00 00 00 1c`);
const IDB_BE_2 = hex(`
  00 00 00 01 | 00 00 00 28 | 00 65 00 00 | 00 00 05 dc
  00 03 00 04 'desc' | 00 09 00 01 94 00 00 00 | 00 00 00 00 | 00 00 00 28`);
const EPB_BE = hex(`
  00 00 00 06 | 00 00 00 30 | 00 00 00 00 | 00 06 55 3f | 10 08 00 00 | 00 00 00 04 | 00 00 00 04
  de ad be ef | 00 02 00 04 00 00 00 02 | 00 00 00 00 | 00 00 00 30`);
const ISB_BE = hex(`00 00 00 05 | 00 00 00 18 | 00 00 00 00 | 00 06 55 3f | 10 08 00 00 | 00 00 00 18`);
const CUSTOM_BE = hex(`00 00 0b ad | 00 00 00 14 | 00 00 7e d9 | 01 02 03 04 | 00 00 00 14`);
const CUSTOM_NOCOPY_BE = hex(`40 00 0b ad | 00 00 00 10 | 00 00 7e d9 | 00 00 00 10`);
const UNKNOWN_BE = hex(`12 34 56 78 | 00 00 00 10 | ff ff ff ff | 00 00 00 10`);

// A third section, little-endian, with an IDB without if_tsresol (microseconds).
const SHB_LE_2 = hex(`0a 0d 0d 0a | 1c 00 00 00 | 4d 3c 2b 1a | 01 00 00 00 | ff ff ff ff ff ff ff ff | 1c 00 00 00`);
const IDB_LE_US = hex(`01 00 00 00 | 14 00 00 00 | 01 00 00 00 | 00 00 00 00 | 14 00 00 00`);
// 1700000000.123456 s = 0x60a24_18202240 us.
const EPB_LE_US = hex(`
  06 00 00 00 | 24 00 00 00 | 00 00 00 00 | 24 0a 06 00 | 40 22 20 18 | 04 00 00 00 | 04 00 00 00
  de ad be ef | 24 00 00 00`);

const ISB_LE = hex(`05 00 00 00 | 18 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 18 00 00 00`);
const CUSTOM_LE = hex(`ad 0b 00 00 | 14 00 00 00 | d9 7e 00 00 | 01 02 03 04 | 14 00 00 00`);

describe('pcap golden bytes', () => {
  it('PcapWriter writes the nanosecond file header and a record exactly as hand-assembled', () => {
    const got = encode((out) => {
      const w = new PcapWriter(out);
      w.writePacket({ tsSec: 1700000000, tsNsec: 123456789, data: DATA, origLen: 60 });
    });
    assertBytes(got, PCAP_LE_NS);
  });

  it('PcapWriter with nanosecond: false writes the microsecond magic and truncates to microseconds', () => {
    const got = encode((out) => {
      const w = new PcapWriter(out, { nanosecond: false });
      w.writePacket({ tsSec: 1700000000, tsNsec: 123456999, data: DATA });
    });
    assertBytes(got, PCAP_LE_US);
  });

  it('PcapWriter truncates packets to the snap length and keeps the original length', () => {
    const { packets } = parse(encode((out) => new PcapWriter(out, { snapLen: 2 }).writePacket({ tsSec: 1, tsNsec: 2, data: DATA })));
    assert.deepEqual(
      packets.map((p) => [p.capLen, p.origLen, p.data]),
      [[2, 4, [0xde, 0xad]]],
    );
  });

  for (const [name, bytes, wantNsec, wantSnap, wantOrig] of [
    ['little-endian nanosecond', PCAP_LE_NS, 123456789, 262144, 60],
    ['big-endian microsecond', PCAP_BE_US, 123456000, 65535, 4],
    ['little-endian microsecond', PCAP_LE_US, 123456000, 262144, 4],
    ['big-endian nanosecond', PCAP_BE_NS, 123456789, 262144, 4],
  ] as const) {
    it(`reads a ${name} pcap file`, () => {
      const { packets, parser, error } = parse(bytes);
      assert.equal(error, undefined);
      assert.equal(parser.format, 'pcap');
      assert.deepEqual(parser.interfaces, [
        { linkType: 1, snapLen: wantSnap, tsResolution: name.includes('nano') ? 1e9 : 1e6, section: 0 },
      ]);
      assert.deepEqual(packets, [
        { interfaceId: 0, tsSec: 1700000000, tsNsec: wantNsec, capLen: 4, origLen: wantOrig, data: [0xde, 0xad, 0xbe, 0xef], offset: 24 },
      ]);
    });
  }
});

describe('pcapng golden bytes', () => {
  it('PcapngWriter writes SHB, IDB, EPB, SPB and NRB exactly as hand-assembled', () => {
    const got = encode((out) => {
      const w = new PcapngWriter(out, { userAppl: 'bs' });
      assert.equal(w.addInterface({ linkType: 1, name: 'eth0', tsResolution: 1e9 }), 0);
      w.writePacket({ interfaceId: 0, tsSec: 1700000000, tsNsec: 123456789, data: DATA, origLen: 60, comment: 'hi', direction: 'inbound' });
      w.writeSimplePacket(DATA, 60);
      w.writeNameResolution([
        { address: '198.18.0.1', names: ['peer'] },
        { address: '2001:db8::1', names: ['v6'] },
      ]);
    });
    assertBytes(got, concat(SHB_LE, IDB_LE_NS, EPB_LE, SPB_LE, NRB_LE));
  });

  it('PcapngWriter writes an IDB with if_tsresol 6 for microseconds and a packet with only epb_flags outbound', () => {
    const got = encode((out) => {
      const w = new PcapngWriter(out);
      w.addInterface({ linkType: 1, snapLen: 1500, tsResolution: 1e6 });
      w.writePacket({ interfaceId: 0, tsSec: 1700000000, tsNsec: 123456789, data: DATA, direction: 'outbound' });
      w.writePacket({ interfaceId: 0, tsSec: 1700000000, tsNsec: 123456789, data: DATA });
    });
    const shb = hex(`0a 0d 0d 0a | 1c 00 00 00 | 4d 3c 2b 1a | 01 00 00 00 | ff ff ff ff ff ff ff ff | 1c 00 00 00`);
    const idb = hex(`01 00 00 00 | 20 00 00 00 | 01 00 00 00 | dc 05 00 00 | 09 00 01 00 06 00 00 00 | 00 00 00 00 | 20 00 00 00`);
    const epb1 = hex(`
      06 00 00 00 | 30 00 00 00 | 00 00 00 00 | 24 0a 06 00 | 40 22 20 18 | 04 00 00 00 | 04 00 00 00
      de ad be ef | 02 00 04 00 02 00 00 00 | 00 00 00 00 | 30 00 00 00`);
    assertBytes(got, concat(shb, idb, epb1, EPB_LE_US));
  });

  it('reads the little-endian blocks back: interface options, comment, direction, SPB and name records', () => {
    const { packets, parser, error } = parse(concat(SHB_LE, IDB_LE_NS, EPB_LE, SPB_LE, NRB_LE));
    assert.equal(error, undefined);
    assert.equal(parser.format, 'pcapng');
    assert.equal(parser.sections[0].userAppl, 'bs');
    assert.equal(parser.sections[0].littleEndian, true);
    assert.deepEqual(parser.interfaces, [{ linkType: 1, snapLen: 0, name: 'eth0', tsResolution: 1e9, section: 0 }]);
    assert.deepEqual(packets, [
      {
        interfaceId: 0,
        tsSec: 1700000000,
        tsNsec: 123456789,
        capLen: 4,
        origLen: 60,
        data: [0xde, 0xad, 0xbe, 0xef],
        comment: 'hi',
        direction: 'inbound',
        flags: 1,
        offset: 80,
      },
      { interfaceId: 0, tsSec: 0, tsNsec: 0, capLen: 4, origLen: 60, data: [0xde, 0xad, 0xbe, 0xef], offset: 136 },
    ]);
    assert.deepEqual(parser.nameRecords, [
      { address: '198.18.0.1', names: ['peer'] },
      { address: '2001:db8::1', names: ['v6'] },
    ]);
  });

  it('reads several sections in both byte orders with tsresol 9, 2^-20 and the default 6, skipping ISB, custom and unknown blocks', () => {
    const file = concat(
      SHB_LE, IDB_LE_NS, ISB_LE, EPB_LE, CUSTOM_LE,
      SHB_BE, IDB_BE_2, CUSTOM_BE, EPB_BE, ISB_BE, CUSTOM_NOCOPY_BE, UNKNOWN_BE,
      SHB_LE_2, IDB_LE_US, EPB_LE_US,
    );
    const { packets, parser, error } = parse(file);
    assert.equal(error, undefined);
    assert.deepEqual(
      parser.sections.map((s) => s.littleEndian),
      [true, false, true],
    );
    assert.deepEqual(parser.interfaces, [
      { linkType: 1, snapLen: 0, name: 'eth0', tsResolution: 1e9, section: 0 },
      { linkType: 101, snapLen: 1500, description: 'desc', tsResolution: 2 ** 20, section: 1 },
      { linkType: 1, snapLen: 0, tsResolution: 1e6, section: 2 },
    ]);
    assert.deepEqual(
      packets.map((p) => [p.interfaceId, p.tsSec, p.tsNsec, p.direction, p.data.length]),
      [
        [0, 1700000000, 123456789, 'inbound', 4],
        [1, 1700000000, 500000000, 'outbound', 4],
        [2, 1700000000, 123456000, undefined, 4],
      ],
    );
  });

  it('an SPB captured length is the original length limited by the snap length and by the block', () => {
    const idb = hex(`01 00 00 00 | 14 00 00 00 | 01 00 00 00 | 03 00 00 00 | 14 00 00 00`); // snaplen 3
    const spbShortOrig = hex(`03 00 00 00 | 14 00 00 00 | 02 00 00 00 | de ad 00 00 | 14 00 00 00`);
    const { packets: limited } = parse(concat(SHB_LE_2, idb, SPB_LE, spbShortOrig));
    assert.deepEqual(
      limited.map((p) => [p.capLen, p.origLen, p.data]),
      [
        [3, 60, [0xde, 0xad, 0xbe]],
        [2, 2, [0xde, 0xad]],
      ],
    );
  });

  it('timestamps in base-2 and sub-nanosecond resolutions are exact to the nanosecond, truncated', () => {
    for (const [tsresol, high, low, sec, nsec] of [
      [0x9e, 0x6553f100 >>> 2, 0x10000000, 1700000000, 250000000], // 2^-30: 1700000000.25
      [0x80 | 32, 0x6553f100, 0x00000001, 1700000000, 0], // 2^-32: one unit is 0.23 ns
      [0x80 | 32, 0x6553f100, 0xffffffff, 1700000000, 999999999],
      [12, 0x00000001, 0x00000000, 0, 4294967], // 2^32 ps = 4294967.296 ns
      [0, 0, 1700000000, 1700000000, 0], // whole seconds
      [0x80, 0, 1700000000, 1700000000, 0], // 2^0
      [19, 0xffffffff, 0xffffffff, 1, 844674407], // 2^64-1 units of 1e-19 s
    ] as const) {
      const idb = hex(`01 00 00 00 | 20 00 00 00 | 01 00 00 00 | 00 00 00 00 | 09 00 01 00 ${tsresol.toString(16).padStart(2, '0')} 00 00 00 | 00 00 00 00 | 20 00 00 00`);
      const epb = new Uint8Array(32);
      const v = new DataView(epb.buffer);
      v.setUint32(0, 6, true);
      v.setUint32(4, 32, true);
      v.setUint32(12, high, true);
      v.setUint32(16, low, true);
      v.setUint32(28, 32, true);
      const { packets, error } = parse(concat(SHB_LE_2, idb, epb));
      assert.equal(error, undefined);
      assert.deepEqual([packets[0].tsSec, packets[0].tsNsec], [sec, nsec], `if_tsresol 0x${tsresol.toString(16)}`);
    }
  });

  it('joins several opt_comment options with a newline and ignores a trailing NUL', () => {
    const epb = hex(`
      06 00 00 00 | 34 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
      01 00 02 00 'ab' 00 00 | 01 00 03 00 'cd' 00 00 | 00 00 00 00 | 34 00 00 00`);
    const { packets, error } = parse(concat(SHB_LE_2, IDB_LE_US, epb));
    assert.equal(error, undefined);
    assert.equal(packets[0].comment, 'ab\ncd');
  });
});

describe('pcapng writer', () => {
  it('hands full chunks to the sink and keeps every byte in order', () => {
    const chunks: Uint8Array[] = [];
    const out = new ByteBuffer({ capacity: 100, sink: (c) => chunks.push(c.slice()) });
    const w = new PcapngWriter(out, { userAppl: 'x' });
    w.addInterface({ linkType: 1 });
    for (let i = 0; i < 50; i++) w.writePacket({ interfaceId: 0, tsSec: i, tsNsec: i, data: new Uint8Array(i) });
    w.writePacket({ interfaceId: 0, tsSec: 0, tsNsec: 0, data: new Uint8Array(500) }); // larger than a chunk
    out.flush();
    assert.ok(chunks.length > 10, `got ${chunks.length} chunks`);
    const { packets, error } = parse(concat(...chunks));
    assert.equal(error, undefined);
    assert.deepEqual(
      packets.map((p) => p.capLen),
      [...Array.from({ length: 50 }, (_, i) => i), 500],
    );
  });

  it('rejects an unknown interface id, a bad timestamp and a resolution that is not a power of ten', () => {
    const w = new PcapngWriter(new ByteBuffer());
    assert.throws(() => w.writePacket({ interfaceId: 0, tsSec: 0, tsNsec: 0, data: DATA }), RangeError);
    w.addInterface({ linkType: 1 });
    assert.throws(() => w.writePacket({ interfaceId: 0, tsSec: 0, tsNsec: 1e9, data: DATA }), RangeError);
    assert.throws(() => w.writePacket({ interfaceId: 0, tsSec: 1.5, tsNsec: 0, data: DATA }), RangeError);
    assert.throws(() => w.addInterface({ linkType: 1, tsResolution: 2 ** 20 }), RangeError);
    assert.throws(() => w.writeNameResolution([{ address: '198.18.0.300', names: [] }]), RangeError);
  });

  it('writes IPv6 name records in their compressed and embedded-IPv4 spellings', () => {
    const addrs = ['::', '::1', 'fe80::1:2', '2001:db8:0:0:1:0:0:1', '1:2:3:4:5:6:7:8', '::ffff:198.18.0.1'];
    const bytes = encode((out) => new PcapngWriter(out).writeNameResolution(addrs.map((address) => ({ address, names: ['n'] }))));
    const { parser } = parse(bytes);
    assert.deepEqual(
      parser.nameRecords.map((r) => r.address),
      ['::', '::1', 'fe80::1:2', '2001:db8::1:0:0:1', '1:2:3:4:5:6:7:8', '::ffff:c612:1'],
    );
  });
});

// ---- round trips ----------------------------------------------------------------------------------

const directionArb = fc.constantFrom<Direction | undefined>(undefined, 'inbound', 'outbound');
const commentArb = fc.option(
  fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\0')),
  { nil: undefined },
);

describe('round trip', () => {
  it('pcapng packets written then read back are equal, timestamps exactly, at any chunk size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(1e9, 1e6, 1e3, 1), { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.record({
            iface: fc.nat(),
            tsSec: fc.integer({ min: 0, max: 2 ** 34 }),
            tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
            data: fc.uint8Array({ maxLength: 70 }),
            extra: fc.nat(100),
            comment: commentArb,
            direction: directionArb,
          }),
          { maxLength: 20 },
        ),
        fc.integer({ min: 1, max: 200 }),
        (resolutions, packets, chunk) => {
          const bytes = encode((out) => {
            const w = new PcapngWriter(out, { userAppl: 'fc' });
            for (const r of resolutions) w.addInterface({ linkType: 1, tsResolution: r });
            for (const p of packets) {
              w.writePacket({
                interfaceId: p.iface % resolutions.length,
                tsSec: p.tsSec,
                tsNsec: p.tsNsec,
                data: p.data,
                origLen: p.data.length + p.extra,
                comment: p.comment,
                direction: p.direction,
              });
            }
          });
          const got = parse(bytes, chunk);
          assert.equal(got.error, undefined);
          assert.deepEqual(
            got.packets.map((p) => [p.interfaceId, p.tsSec, p.tsNsec, p.data, p.origLen, p.comment, p.direction]),
            packets.map((p) => {
              const id = p.iface % resolutions.length;
              const unit = 1e9 / resolutions[id];
              return [id, p.tsSec, p.tsNsec - (p.tsNsec % unit), [...p.data], p.data.length + p.extra, p.comment, p.direction];
            }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pcap packets written then read back are equal in both magics', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(
          fc.record({
            tsSec: fc.integer({ min: 0, max: 0xffffffff }),
            tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
            data: fc.uint8Array({ maxLength: 70 }),
          }),
          { maxLength: 20 },
        ),
        fc.integer({ min: 1, max: 100 }),
        (nanosecond, packets, chunk) => {
          const bytes = encode((out) => {
            const w = new PcapWriter(out, { nanosecond });
            for (const p of packets) w.writePacket(p);
          });
          const got = parse(bytes, chunk);
          assert.equal(got.error, undefined);
          assert.deepEqual(
            got.packets.map((p) => [p.tsSec, p.tsNsec, p.data]),
            packets.map((p) => [p.tsSec, nanosecond ? p.tsNsec : p.tsNsec - (p.tsNsec % 1000), [...p.data]]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- damage -------------------------------------------------------------------------------------

/** A file and the byte offset where each record ends, and which records are packets. */
interface Sample {
  bytes: Uint8Array;
  /** [start, end, isPacket] for every record, header first. */
  records: [number, number, boolean][];
}

function samplePcap(): Sample {
  const out = new ByteBuffer({ capacity: 16 });
  const w = new PcapWriter(out);
  const records: [number, number, boolean][] = [[0, out.length, false]];
  for (let i = 0; i < 4; i++) {
    const start = out.length;
    w.writePacket({ tsSec: 1000 + i, tsNsec: i * 7, data: new Uint8Array(i * 3).fill(i) });
    records.push([start, out.length, true]);
  }
  return { bytes: out.contents().slice(), records };
}

function samplePcapng(): Sample {
  const out = new ByteBuffer({ capacity: 16 });
  const records: [number, number, boolean][] = [];
  const rec = (isPacket: boolean, f: () => void) => {
    const start = out.length;
    f();
    records.push([start, out.length, isPacket]);
  };
  let w!: PcapngWriter;
  rec(false, () => (w = new PcapngWriter(out, { userAppl: 'dmg' })));
  rec(false, () => w.addInterface({ linkType: 1, name: 'a', tsResolution: 1e9 }));
  rec(true, () => w.writePacket({ interfaceId: 0, tsSec: 5, tsNsec: 6, data: new Uint8Array(5).fill(1), comment: 'c' }));
  rec(false, () => w.addInterface({ linkType: 1, tsResolution: 1e6 }));
  rec(true, () => w.writePacket({ interfaceId: 1, tsSec: 7, tsNsec: 8000, data: new Uint8Array(3).fill(2), direction: 'outbound' }));
  rec(false, () => w.writeNameResolution([{ address: '198.18.0.1', names: ['x'] }]));
  rec(true, () => w.writeSimplePacket(new Uint8Array(6).fill(3)));
  return { bytes: out.contents().slice(), records };
}

function checkEveryCut(sample: Sample, chunk?: number): void {
  const all = parse(sample.bytes).packets;
  for (let cut = 0; cut <= sample.bytes.length; cut++) {
    const got = parse(sample.bytes.subarray(0, cut), chunk);
    const whole = sample.records.filter(([, end]) => end <= cut);
    const wantPackets = whole.filter(([, , isPacket]) => isPacket).length;
    assert.deepEqual(got.packets, all.slice(0, wantPackets), `cut at ${cut}`);
    const damaged = sample.records.find(([start, end]) => start <= cut && cut < end && cut !== start);
    const cleanEnd = cut > 0 && sample.records.some(([, end]) => end === cut);
    if (cleanEnd) {
      assert.equal(got.error, undefined, `cut at ${cut} is a record boundary: want no error, got ${got.error?.message}`);
    } else {
      assert.ok(got.error, `cut at ${cut}: want a CaptureFormatError`);
      const wantOffset = damaged ? damaged[0] : 0;
      assert.equal(got.error.offset, wantOffset, `cut at ${cut}: got offset ${got.error.offset}, want ${wantOffset} (${got.error.message})`);
      if (cut >= 4) assert.match(got.error.message, new RegExp(`^truncated record at byte ${wantOffset}: needs \\d+ bytes, file ends at ${cut}$`));
    }
  }
}

describe('damage', () => {
  it('a pcap cut at every byte offset yields the packets before the cut, then an error at the cut record', () => {
    checkEveryCut(samplePcap());
  });

  it('a pcapng cut at every byte offset yields the packets before the cut, then an error at the cut block', () => {
    checkEveryCut(samplePcapng());
  });

  it('cut files read in 1-, 3- and 7-byte chunks behave the same', () => {
    for (const chunk of [1, 3, 7]) {
      checkEveryCut(samplePcap(), chunk);
      checkEveryCut(samplePcapng(), chunk);
    }
  });

  it('every chunk size from 1 byte up gives the same packets', () => {
    for (const sample of [samplePcap(), samplePcapng()]) {
      const want = parse(sample.bytes).packets;
      for (let chunk = 1; chunk <= sample.bytes.length + 1; chunk++) {
        const got = parse(sample.bytes, chunk);
        assert.equal(got.error, undefined);
        assert.deepEqual(got.packets, want, `chunk ${chunk}`);
      }
    }
  });

  it('a pcapng block length that is not a multiple of 4 is reported at that block', () => {
    const s = samplePcapng();
    const [start] = s.records[4];
    const bytes = s.bytes.slice();
    new DataView(bytes.buffer).setUint32(start + 4, 7, true);
    const got = parse(bytes);
    assert.equal(got.packets.length, 1);
    assert.equal(got.error?.offset, start);
    assert.equal(got.error?.message, `pcapng block at byte ${start}: block total length 7 is not a multiple of 4`);
  });

  it('a pcapng block whose leading and trailing lengths disagree is reported at that block', () => {
    const s = samplePcapng();
    const [start] = s.records[4];
    const bytes = s.bytes.slice();
    const v = new DataView(bytes.buffer);
    const len = v.getUint32(start + 4, true);
    v.setUint32(start + 4, len + 4, true);
    const got = parse(bytes);
    assert.equal(got.packets.length, 1);
    assert.equal(got.error?.offset, start);
    assert.match(got.error!.message, /block total length \d+ at the start and \d+ at the end disagree/);
  });

  it('a pcapng block length below 12 or past the limit is reported at that block', () => {
    for (const bad of [0, 8, 0xfffffffc]) {
      const s = samplePcapng();
      const [start] = s.records[2];
      const bytes = s.bytes.slice();
      new DataView(bytes.buffer).setUint32(start + 4, bad, true);
      const got = parse(bytes);
      assert.equal(got.packets.length, 0);
      assert.equal(got.error?.offset, start, `length ${bad}: ${got.error?.message}`);
    }
  });

  it('a pcap captured length larger than the limit is reported at that record', () => {
    const s = samplePcap();
    const [start] = s.records[3];
    const bytes = s.bytes.slice();
    new DataView(bytes.buffer).setUint32(start + 8, 0x7fffffff, true);
    const got = parse(bytes);
    assert.equal(got.packets.length, 2);
    assert.equal(got.error?.offset, start);
    assert.match(got.error!.message, /^pcap record at byte \d+: captured length 2147483647 is larger than the limit 262144/);
  });

  it('an EPB for an interface the section has not described is damage', () => {
    const s = samplePcapng();
    const [start] = s.records[2];
    const bytes = s.bytes.slice();
    new DataView(bytes.buffer).setUint32(start + 8, 9, true);
    const got = parse(bytes);
    assert.equal(got.error?.offset, start);
    assert.match(got.error!.message, /interface 9 is not defined in this section/);
  });

  it('an option running past the end of its block is damage', () => {
    const s = samplePcapng();
    const [start] = s.records[2]; // EPB with 5 data bytes (8 padded), then the comment option at +36
    const bytes = s.bytes.slice();
    new DataView(bytes.buffer).setUint16(start + 36 + 2, 200, true);
    const got = parse(bytes);
    assert.equal(got.error?.offset, start);
    assert.match(got.error!.message, /option 1 with length 200 runs past the end of the block/);
  });

  it('input that is not a capture names its magic, and short input says how long it is', () => {
    assert.equal(parse(new TextEncoder().encode('hello world')).error?.message, 'not a pcap or pcapng file (magic 0x68656c6c)');
    assert.equal(parse(new Uint8Array(0)).error?.message, 'not a pcap or pcapng file (it is empty)');
    assert.equal(parse(hex('0a 0d')).error?.message, 'not a pcap or pcapng file (only 2 bytes)');
  });

  it('a bad byte-order magic or pcapng version in a later section is reported at that section', () => {
    const s = samplePcapng();
    const first = concat(s.bytes, SHB_LE_2);
    const bad = first.slice();
    bad[s.bytes.length + 8] = 0x99;
    const got = parse(bad);
    assert.equal(got.packets.length, 3);
    assert.equal(got.error?.offset, s.bytes.length);
    assert.match(got.error!.message, /byte-order magic 0x993c2b1a/);
    const v2 = first.slice();
    v2[s.bytes.length + 12] = 2;
    assert.match(parse(v2).error!.message, /unsupported version 2\.0/);
  });

  it('after an error the parser keeps throwing the same error', () => {
    const parser = new CaptureParser();
    parser.push(hex('00 11 22 33 44'));
    const errors: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      try {
        parser.next();
      } catch (e) {
        errors.push(e);
      }
    }
    assert.ok(errors[0] instanceof CaptureFormatError);
    assert.equal(errors[1], errors[0]);
  });

  it('random byte damage at random chunk sizes throws nothing but CaptureFormatError', () => {
    const samples = [samplePcap().bytes, samplePcapng().bytes, concat(SHB_LE, IDB_LE_NS, EPB_LE, SPB_LE, NRB_LE, SHB_BE, IDB_BE_2, EPB_BE)];
    fc.assert(
      fc.property(
        fc.nat(samples.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        (which, edits, chunk, cutSeed) => {
          const bytes = samples[which].slice();
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const cut = bytes.length - (cutSeed % 8);
          parse(bytes.subarray(0, cut), chunk); // rethrows anything that is not a CaptureFormatError
        },
      ),
      { numRuns: 2000 },
    );
  });
});
