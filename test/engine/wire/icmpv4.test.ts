import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emitIcmpv4, ICMPV4_TYPE, icmpv4Len, parseIcmpv4, type Icmpv4Repr } from '../../../engine/wire/icmpv4';
import { IP_PROTOCOL, parseIpv4 } from '../../../engine/wire/ipv4';
import { parseEthernet } from '../../../engine/wire/ethernet';
import { ipv4FromString as ip } from '../../../engine/wire/address';
import { FRAMES, hex } from './frames';
import { assertBytes, failure, guarded, pick, prefix, record, unwrap } from './support';

const icmpOf = (frame: Uint8Array): Uint8Array => unwrap(parseIpv4(unwrap(parseEthernet(frame)).payload)).payload;

function emitted(repr: Icmpv4Repr): Uint8Array {
  const buf = new Uint8Array(icmpv4Len(repr));
  assert.equal(emitIcmpv4(repr, buf), buf.length);
  return buf;
}

const PING_DATA = hex('6a3b635f00000000 101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f 3031323334353637');

const ICMP_FRAMES = Object.entries(FRAMES).filter(([name]) => name.startsWith('ethIpv4Icmp'));

describe('ICMP echo', () => {
  it('parses the golden echo request with a valid checksum', () => {
    const m = unwrap(parseIcmpv4(icmpOf(FRAMES.ethIpv4IcmpEcho)));
    assert.ok(m.kind === 'echoRequest');
    assert.deepEqual([m.type, m.code, m.identifier, m.sequence, m.checksum, m.checksumValid], [8, 0, 0x4d2a, 1, 0x1e67, true]);
    assertBytes(m.data, PING_DATA);
    assert.equal(m.quoted, undefined);
  });

  it('parses the golden echo reply', () => {
    const m = unwrap(parseIcmpv4(icmpOf(FRAMES.ethIpv4IcmpEchoReply)));
    assert.deepEqual([m.kind, m.checksum, m.checksumValid], ['echoReply', 0x2667, true]);
  });

  it('emits a hand-written echo request as the exact golden bytes', () => {
    const repr: Icmpv4Repr = { kind: 'echoRequest', identifier: 0x4d2a, sequence: 1, data: PING_DATA };
    assertBytes(emitted(repr), icmpOf(FRAMES.ethIpv4IcmpEcho));
  });

  it('flags a corrupted message as having a bad checksum', () => {
    const bytes = icmpOf(FRAMES.ethIpv4IcmpEcho).slice();
    bytes[20] ^= 0x01;
    assert.equal(unwrap(parseIcmpv4(bytes)).checksumValid, false);
  });
});

describe('ICMP errors', () => {
  it('parses a port unreachable and the UDP flow it quotes', () => {
    const m = unwrap(parseIcmpv4(icmpOf(FRAMES.ethIpv4IcmpPortUnreachable)));
    assert.ok(m.kind === 'destinationUnreachable');
    assert.deepEqual([m.code, m.nextHopMtu, m.quote.length, m.checksumValid], [3, 0, 37, true]);
    assert.ok(m.quoted);
    assert.deepEqual(
      [m.quoted.header.src, m.quoted.header.dst, m.quoted.header.protocol, m.quoted.header.identification, m.quoted.header.truncated],
      [ip('198.18.0.2'), ip('198.18.0.1'), IP_PROTOCOL.UDP, 0x77aa, false],
    );
    assert.deepEqual([m.quoted.srcPort, m.quoted.dstPort], [20001, 40000]);
  });

  it('parses fragmentation needed with its next-hop MTU and a quote cut after 8 bytes of TCP', () => {
    const m = unwrap(parseIcmpv4(icmpOf(FRAMES.ethIpv4IcmpFragNeeded)));
    assert.ok(m.kind === 'destinationUnreachable');
    assert.deepEqual([m.code, m.nextHopMtu, m.quote.length], [4, 1400, 28]);
    assert.ok(m.quoted);
    assert.deepEqual([m.quoted.header.totalLength, m.quoted.header.truncated, m.quoted.header.protocol], [1500, true, IP_PROTOCOL.TCP]);
    assert.deepEqual([m.quoted.srcPort, m.quoted.dstPort], [50000, 8888]);
  });

  it('parses time exceeded for a traceroute probe', () => {
    const m = unwrap(parseIcmpv4(icmpOf(FRAMES.ethIpv4IcmpTimeExceeded)));
    assert.ok(m.kind === 'timeExceeded');
    assert.equal(m.code, 0);
    assert.deepEqual([m.quoted?.header.ttl, m.quoted?.srcPort, m.quoted?.dstPort], [1, 33434, 33435]);
  });

  it('parses a host redirect and its gateway', () => {
    const m = unwrap(parseIcmpv4(icmpOf(FRAMES.ethIpv4IcmpRedirect)));
    assert.ok(m.kind === 'redirect');
    assert.deepEqual([m.code, m.gateway, m.checksumValid], [1, ip('198.18.0.253'), true]);
    assert.equal(m.quoted?.dstPort, 33435);
  });

  it('emits every golden ICMP message byte for byte from its parsed representation', () => {
    for (const [name, frame] of ICMP_FRAMES) {
      const bytes = icmpOf(frame);
      assertBytes(emitted(unwrap(parseIcmpv4(bytes))), bytes, name);
    }
  });

  it('keeps a quote that is not IPv4 as bytes without a parsed header', () => {
    const m = unwrap(parseIcmpv4(emitted({ kind: 'timeExceeded', code: 1, quote: hex('6000 0000') })));
    assert.ok(m.kind === 'timeExceeded');
    assert.equal(m.quoted, undefined);
    assertBytes(m.quote, hex('6000 0000'));
  });

  it('gives no ports when the quote stops inside the transport header or quotes a later fragment', () => {
    const cut = icmpOf(FRAMES.ethIpv4IcmpTimeExceeded).slice(0, 8 + 22);
    const m = unwrap(parseIcmpv4(cut));
    assert.ok(m.quoted);
    assert.deepEqual([m.quoted.srcPort, m.quoted.dstPort], [undefined, undefined]);
    const later = icmpOf(FRAMES.ethIpv4IcmpTimeExceeded).slice();
    later[8 + 7] = 0xb9; // quoted fragment offset 185 × 8 = 1480: the bytes after the header are not a UDP header
    const f = unwrap(parseIcmpv4(later));
    assert.deepEqual([f.quoted?.header.fragmentOffset, f.quoted?.srcPort, f.quoted?.dstPort], [1480, undefined, undefined]);
  });
});

describe('ICMP other types', () => {
  it('keeps a timestamp request as unknown with its type, code and the bytes after the checksum', () => {
    // Type 13, id 0x1234, seq 1, originate 1000 ms, receive and transmit 0; checksum computed separately.
    const bytes = hex('0d00 dce2 1234 0001 000003e8 00000000 00000000');
    const m = unwrap(parseIcmpv4(bytes));
    assert.ok(m.kind === 'unknown');
    assert.deepEqual([m.type, m.code, m.checksumValid], [ICMPV4_TYPE.TIMESTAMP, 0, true]);
    assertBytes(m.rest, bytes.subarray(4));
    assertBytes(emitted(m), bytes);
  });
});

describe('ICMP malformed input', () => {
  it('returns truncated below 8 bytes and a bad checksum above, never throwing or reading past the end', () => {
    for (const [name, frame] of ICMP_FRAMES) {
      const bytes = icmpOf(frame);
      for (let n = 0; n < bytes.length; n++) {
        const r = parseIcmpv4(prefix(bytes, n));
        if (n < 8) {
          const e = failure(r);
          assert.deepEqual([e.code, e.offset], ['truncated', n], `${name} cut at ${n}`);
        } else {
          const m = unwrap(r);
          const lostOnlyZeros = bytes.subarray(n).every((b) => b === 0);
          assert.ok(m.checksumValid === false || lostOnlyZeros, `${name} cut at ${n}: checksum should fail`);
        }
      }
    }
  });

  it('never throws or reads past the end on random bytes of every type', () => {
    const msg = fc.tuple(fc.constantFrom(0, 3, 5, 8, 11, 13, 255), fc.uint8Array({ maxLength: 80 })).map(([t, b]) => {
      if (b.length) b[0] = t;
      return b;
    });
    fc.assert(fc.property(msg, (b) => void parseIcmpv4(guarded(b))), { numRuns: 3000 });
  });
});

describe('ICMP round trip', () => {
  const bytes = (max: number) => fc.uint8Array({ maxLength: max });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u8 = fc.integer({ min: 0, max: 255 });
  const repr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
    record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), identifier: u16, sequence: u16, data: bytes(64) }),
    record({ kind: fc.constant('destinationUnreachable' as const), code: u8, nextHopMtu: u16, quote: bytes(64) }),
    record({ kind: fc.constant('timeExceeded' as const), code: u8, quote: bytes(64) }),
    record({ kind: fc.constant('redirect' as const), code: u8, gateway: fc.nat({ max: 0xffffffff }), quote: bytes(64) }),
    record({
      kind: fc.constant('unknown' as const),
      type: u8.filter((t) => ![0, 3, 5, 8, 11].includes(t)),
      code: u8,
      rest: fc.uint8Array({ minLength: 4, maxLength: 40 }),
    }),
  );

  it('parses what it emits back to the same representation with a valid checksum', () => {
    fc.assert(
      fc.property(repr, (r) => {
        const m = unwrap(parseIcmpv4(emitted(r)));
        assert.deepEqual(pick(m, r), r);
        assert.equal(m.checksumValid, true);
      }),
    );
  });
});
