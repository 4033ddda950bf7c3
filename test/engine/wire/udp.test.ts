// Tests for engine/wire/udp.ts: golden datagrams both ways, checksum rules, malformed input, round trips.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitUdp,
  parseUdp,
  udpBufferLen,
  udpHeaderLen,
  UdpHeaderView,
  UDP_HEADER_LEN,
  type UdpPacket,
  type UdpRepr,
} from '../../../engine/wire/udp';
import { onesSum, foldSum, ipv4PseudoSum } from '../../../engine/wire/checksum';
import type { ChecksumContext } from '../../../engine/wire/ip-context';
import { guarded, hex, ip4, toHex } from './support';

const A = ip4(198, 18, 0, 1);
const B = ip4(198, 18, 0, 2);
const AtoB: ChecksumContext = { version: 4, src: A, dst: B };
const V6: ChecksumContext = {
  version: 6,
  src: hex('20010db8000000000000000000000001'),
  dst: hex('20010db8000000000000000000000002'),
};

const MARKET = new TextEncoder().encode('market data'); // 11 bytes: an odd length for the checksum
// Hand-assembled; `tcpdump -vv` over 198.18.0.1 > 198.18.0.2 printed "[udp sum ok]" for the first
// and "[no cksum]" for the second.
const WITH_SUM = hex('14e9 4e20 0013 e87c 6d61726b65742064617461');
const NO_SUM = hex('14e9 4e20 0013 0000 6d61726b65742064617461');
const REPR: UdpRepr = { srcPort: 5353, dstPort: 20000, payload: MARKET };

function parsed(buf: Uint8Array, ctx?: ChecksumContext): UdpPacket {
  const r = parseUdp(buf, ctx);
  if (!r.ok) assert.fail(`parseUdp failed: ${r.error.code} at ${r.error.offset}: ${r.error.message}`);
  return r.value;
}

function reprOf(p: UdpPacket): UdpRepr {
  return { srcPort: p.srcPort, dstPort: p.dstPort, payload: p.payload };
}

function emitted(repr: UdpRepr, ctx?: ChecksumContext): Uint8Array {
  const buf = new Uint8Array(udpBufferLen(repr));
  assert.equal(emitUdp(repr, buf, 0, ctx), buf.length, 'emitUdp returns the bytes written');
  return buf;
}

describe('parseUdp', () => {
  it('parses a real datagram with a correct checksum', () => {
    const p = parsed(WITH_SUM, AtoB);
    assert.deepEqual(reprOf(p), REPR);
    assert.equal(p.length, 19);
    assert.equal(p.checksum, 0xe87c);
    assert.equal(p.checksumValid, true);
    assert.equal(p.truncated, false);
  });

  it('reports no verdict for an IPv4 datagram sent without a checksum (field 0)', () => {
    const p = parsed(NO_SUM, AtoB);
    assert.deepEqual(reprOf(p), REPR);
    assert.equal(p.checksum, 0);
    assert.equal(p.checksumValid, undefined);
  });

  it('treats a zero checksum over IPv6 as invalid (RFC 8200 §8.1)', () => {
    assert.equal(parsed(NO_SUM, V6).checksumValid, false);
  });

  it('leaves checksumValid undefined when no checksum context is given', () => {
    assert.equal(parsed(WITH_SUM).checksumValid, undefined);
  });

  it('flags every single-bit corruption of a checksummed datagram', () => {
    for (let i = 0; i < WITH_SUM.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = WITH_SUM.slice();
        b[i] ^= 1 << bit;
        const r = parseUdp(guarded(b), AtoB);
        if (!r.ok) continue; // a length field below 8
        const p = r.value;
        // A corrupted length either cuts the checksummed range (invalid) or claims more (truncated, no verdict);
        // a checksum field corrupted to 0 reads as "none".
        if (p.truncated || p.checksum === 0) assert.equal(p.checksumValid, undefined, `byte ${i} bit ${bit}`);
        else assert.equal(p.checksumValid, false, `byte ${i} bit ${bit}: got ${p.checksumValid}`);
      }
    }
  });

  it('ignores bytes after the length field’s end (link-layer padding) and checksums only the datagram', () => {
    const padded = new Uint8Array(WITH_SUM.length + 7);
    padded.set(WITH_SUM);
    padded.fill(0x55, WITH_SUM.length);
    const p = parsed(padded, AtoB);
    assert.deepEqual([...p.payload], [...MARKET]);
    assert.equal(p.checksumValid, true);
  });

  it('marks a datagram cut short by the capture as truncated and still decodes what is there', () => {
    const cut = WITH_SUM.slice(0, 12);
    const p = parsed(guarded(cut), AtoB);
    assert.equal(p.truncated, true);
    assert.equal(p.length, 19);
    assert.deepEqual([...p.payload], [...MARKET.subarray(0, 4)]);
    assert.equal(p.checksumValid, undefined);
  });

  it('returns the payload as a view into the buffer, not a copy', () => {
    const p = parsed(WITH_SUM);
    assert.equal(p.payload.buffer, WITH_SUM.buffer);
    assert.equal(p.payload.byteOffset, 8);
  });
});

describe('emitUdp', () => {
  it('writes the real datagram byte for byte, checksum included', () => {
    assert.equal(toHex(emitted(REPR, AtoB)), toHex(WITH_SUM));
  });

  it('writes a zero checksum (none, on IPv4) when no context is given', () => {
    assert.equal(toHex(emitted(REPR)), toHex(NO_SUM));
  });

  it('sends a computed checksum of 0 as 0xffff (RFC 768) and it verifies', () => {
    // Pick the last payload word so that the datagram sums to 0xffff before inversion.
    const payload = new Uint8Array([0x12, 0x34, 0, 0]);
    const header = new Uint8Array([0x14, 0xe9, 0x4e, 0x20, 0x00, 0x0c, 0, 0]);
    const partial = foldSum(onesSum(payload, 0, 4, onesSum(header, 0, 8, ipv4PseudoSum(A, B, 17, 12))));
    const fill = 0xffff - partial;
    payload[2] = fill >> 8;
    payload[3] = fill & 0xff;
    const b = emitted({ srcPort: 5353, dstPort: 20000, payload }, AtoB);
    assert.equal((b[6] << 8) | b[7], 0xffff);
    assert.equal(parsed(b, AtoB).checksumValid, true);
  });

  it('writes at an offset and touches no byte outside the datagram', () => {
    const buf = new Uint8Array(64).fill(0xaa);
    assert.equal(emitUdp(REPR, buf, 34, AtoB), 19);
    assert.equal(toHex(buf.subarray(34, 53)), toHex(WITH_SUM));
    assert.ok(buf.subarray(0, 34).every((x) => x === 0xaa));
    assert.ok(buf.subarray(53).every((x) => x === 0xaa));
  });

  it('accepts a payload already in place, leaves it as it is and checksums it', () => {
    const buf = new Uint8Array(19);
    buf.set(MARKET, 8);
    emitUdp({ srcPort: 5353, dstPort: 20000, payload: buf.subarray(8) }, buf, 0, AtoB);
    assert.equal(toHex(buf), toHex(WITH_SUM));
  });

  it('throws a RangeError for a buffer too small or a datagram over 65535 bytes (programmer errors)', () => {
    assert.throws(() => emitUdp(REPR, new Uint8Array(18), 0), RangeError);
    assert.throws(() => emitUdp(REPR, new Uint8Array(30), 12), RangeError);
    const huge = { ...REPR, payload: new Uint8Array(65535 - 7) };
    assert.throws(() => emitUdp(huge, new Uint8Array(70000), 0), RangeError);
  });

  it('sizes the header at 8 bytes and the buffer at header plus payload', () => {
    assert.equal(udpHeaderLen(REPR), UDP_HEADER_LEN);
    assert.equal(udpBufferLen(REPR), 19);
  });
});

describe('malformed datagrams', () => {
  it('reports truncation at every byte offset below the header, without reading past the end', () => {
    for (let n = 0; n < WITH_SUM.length; n++) {
      const r = parseUdp(guarded(WITH_SUM.slice(0, n)), AtoB);
      if (n < 8) {
        assert.ok(!r.ok, `length ${n}: want an error`);
        assert.equal(r.error.code, 'truncated');
      } else {
        assert.ok(r.ok, `length ${n}: want a parse`);
        assert.equal(r.value.truncated, n < 19);
        assert.equal(r.value.payload.length, n - 8);
        assert.equal(r.value.checksumValid, n < 19 ? undefined : true);
      }
    }
  });

  it('rejects a length field below 8 at the offset of the length field', () => {
    for (let len = 0; len < 8; len++) {
      const b = WITH_SUM.slice();
      b[4] = 0;
      b[5] = len;
      const r = parseUdp(guarded(b), AtoB);
      assert.ok(!r.ok, `length ${len}: want bad-length`);
      assert.equal(r.error.code, 'bad-length');
      assert.equal(r.error.offset, 4);
    }
  });

  it('never throws or reads past the end on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(undefined, AtoB, V6), (bytes, ctx) => {
        const r = parseUdp(guarded(bytes), ctx);
        if (r.ok) assert.ok(r.value.payload.length <= bytes.length - 8);
      }),
      { numRuns: 3000 },
    );
  });
});

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ctxArb: fc.Arbitrary<ChecksumContext | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ version: fc.constant(4 as const), src: u32, dst: u32 }),
  fc.record({
    version: fc.constant(6 as const),
    src: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  }),
);
const reprArb: fc.Arbitrary<UdpRepr> = fc.record(
  { srcPort: u16, dstPort: u16, payload: fc.uint8Array({ maxLength: 300 }) },
  { noNullPrototype: true },
);

describe('round trip', () => {
  it('parse(emit(x)) equals x for generated datagrams, with and without a checksum context, at any offset', () => {
    fc.assert(
      fc.property(reprArb, ctxArb, fc.integer({ min: 0, max: 20 }), (repr, ctx, offset) => {
        const len = udpBufferLen(repr);
        const buf = new Uint8Array(offset + len + 3);
        assert.equal(emitUdp(repr, buf, offset, ctx), len);
        const p = parsed(guarded(buf.slice(offset, offset + len)), ctx);
        assert.deepEqual(reprOf(p), repr);
        assert.equal(p.length, len);
        assert.equal(p.truncated, false);
        assert.equal(p.checksumValid, ctx === undefined ? undefined : true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('UdpHeaderView', () => {
  it('reads and writes the four fields big-endian', () => {
    const b = WITH_SUM.slice();
    const v = new UdpHeaderView(b);
    assert.deepEqual([v.srcPort, v.dstPort, v.length, v.checksum], [5353, 20000, 19, 0xe87c]);
    v.srcPort = 0x0102;
    v.dstPort = 0xfffe;
    v.length = 0x0a0b;
    v.checksum = 0xbeef;
    assert.equal(toHex(b.subarray(0, 8)), '0102fffe0a0bbeef');
  });

  it('fillChecksum writes what emitUdp computes', () => {
    const b = emitted(REPR);
    new UdpHeaderView(b).fillChecksum(AtoB);
    assert.equal(toHex(b), toHex(WITH_SUM));
  });

  it('check rejects short buffers and length fields below 8', () => {
    for (let n = 0; n < 8; n++) {
      const r = UdpHeaderView.check(guarded(WITH_SUM.slice(0, n)));
      assert.ok(!r.ok && r.error.code === 'truncated', `length ${n}`);
    }
    const b = WITH_SUM.slice();
    b[5] = 7;
    const r = UdpHeaderView.check(b);
    assert.ok(!r.ok && r.error.code === 'bad-length' && r.error.offset === 4);
    const at = UdpHeaderView.check(new Uint8Array([0, 0, ...WITH_SUM]), 2);
    assert.ok(at.ok && at.value.dstPort === 20000);
  });
});
