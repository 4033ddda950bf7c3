import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emitIpv6, IPV6_NEXT_HEADER, ipv6HeaderLen, ipv6ReprOf, parseIpv6, type Ipv6Repr } from '../../../engine/wire/ipv6';
import { IP_PROTOCOL } from '../../../engine/wire/ipv4';
import { parseEthernet } from '../../../engine/wire/ethernet';
import { ipv6FromString, ipv6ToString } from '../../../engine/wire/address';
import { FRAMES, hex } from './frames';
import { assertBytes, concat, failure, guarded, prefix, record, unwrap } from './support';

const ipOf = (frame: Uint8Array): Uint8Array => unwrap(parseEthernet(frame)).payload;
const a6 = (s: string): Uint8Array => ipv6FromString(s)!;

function emitted(repr: Ipv6Repr): Uint8Array {
  const buf = new Uint8Array(ipv6HeaderLen(repr));
  assert.equal(emitIpv6(repr, buf), 40);
  return buf;
}

/** A packet with the given next header and bytes after the fixed header; payloadLength defaults to their length. */
function packet(nextHeader: number, rest: Uint8Array, payloadLength = rest.length): Uint8Array {
  const repr: Ipv6Repr = { trafficClass: 0, flowLabel: 0, payloadLength, nextHeader, hopLimit: 64, src: a6('2001:db8::1'), dst: a6('2001:db8::2') };
  return concat(emitted(repr), rest);
}

const ECHO_REPR: Ipv6Repr = {
  trafficClass: 0,
  flowLabel: 0x8a3f2,
  payloadLength: 56,
  nextHeader: IP_PROTOCOL.ICMPV6,
  hopLimit: 64,
  src: a6('2001:db8::1'),
  dst: a6('2001:db8::2'),
};

const IPV6_FRAMES = Object.entries(FRAMES).filter(([name]) => name.startsWith('ethIpv6'));

describe('IPv6 fixed header', () => {
  it('parses the golden echo request into the hand-written representation', () => {
    const p = unwrap(parseIpv6(ipOf(FRAMES.ethIpv6Icmpv6Echo)));
    assert.deepEqual(ipv6ReprOf(p), ECHO_REPR);
    assert.deepEqual([p.version, p.headerLen, p.truncated, p.payload.length], [6, 40, false, 56]);
    assert.deepEqual([p.upperProtocol, p.upperOffset, p.upperPayload.length, p.extensionError], [IP_PROTOCOL.ICMPV6, 40, 56, undefined]);
    assert.deepEqual(p.extensionHeaders, []);
    assert.equal(ipv6ToString(p.src), '2001:db8::1');
  });

  it('emits the hand-written representation as the exact golden header bytes', () => {
    assertBytes(emitted(ECHO_REPR), ipOf(FRAMES.ethIpv6Icmpv6Echo).subarray(0, 40));
  });

  it('emits every golden IPv6 fixed header byte for byte from its parsed representation', () => {
    for (const [name, frame] of IPV6_FRAMES) {
      const bytes = ipOf(frame);
      assertBytes(emitted(ipv6ReprOf(unwrap(parseIpv6(bytes)))), bytes.subarray(0, 40), name);
    }
  });

  it('splits traffic class and flow label across the first word', () => {
    const p = unwrap(parseIpv6(concat(hex('6ba12345 0000 3b 01'), new Uint8Array(32))));
    assert.deepEqual([p.trafficClass, p.flowLabel, p.nextHeader, p.hopLimit], [0xba, 0x12345, 59, 1]);
  });

  it('flags a capture cut short before the payload length as truncated', () => {
    const p = unwrap(parseIpv6(prefix(ipOf(FRAMES.ethIpv6Icmpv6Echo), 60)));
    assert.deepEqual([p.truncated, p.payload.length, p.payloadLength, p.upperPayload.length], [true, 20, 56, 20]);
  });

  it('cuts Ethernet padding off at the payload length', () => {
    const p = unwrap(parseIpv6(concat(ipOf(FRAMES.ethIpv6Icmpv6Echo), new Uint8Array(6))));
    assert.deepEqual([p.truncated, p.payload.length], [false, 56]);
  });

  it('takes a zero payload length behind Hop-by-Hop as a jumbogram reaching the end of the buffer', () => {
    const p = unwrap(parseIpv6(packet(0, hex('3b00 c204 0001 0008 0000 0000'), 0)));
    assert.deepEqual([p.truncated, p.payload.length, p.upperProtocol, p.upperOffset], [false, 12, 59, 48]);
  });
});

describe('IPv6 extension headers', () => {
  it('walks a Hop-by-Hop header to the MLD message behind it', () => {
    const p = unwrap(parseIpv6(ipOf(FRAMES.ethIpv6HbhMld)));
    assert.deepEqual(p.extensionHeaders, [{ kind: 'hopByHop', protocol: 0, offset: 40, length: 8, nextHeader: 58 }]);
    assert.deepEqual([p.upperProtocol, p.upperOffset, p.upperPayload[0]], [IP_PROTOCOL.ICMPV6, 48, 143]);
  });

  it('reads a first fragment and walks on to the UDP header', () => {
    const p = unwrap(parseIpv6(ipOf(FRAMES.ethIpv6FragUdp)));
    assert.deepEqual(p.extensionHeaders, [
      { kind: 'fragment', protocol: 44, offset: 40, length: 8, nextHeader: 17, fragmentOffset: 0, moreFragments: true, identification: 0xdeadbeef },
    ]);
    assert.deepEqual([p.upperProtocol, p.upperOffset, p.laterFragment], [IP_PROTOCOL.UDP, 48, false]);
  });

  it('marks a later fragment, whose bytes are not an upper-layer header', () => {
    const p = unwrap(parseIpv6(ipOf(FRAMES.ethIpv6FragLater)));
    const f = p.extensionHeaders[0];
    assert.ok(f.kind === 'fragment');
    assert.deepEqual([f.fragmentOffset, f.moreFragments, p.laterFragment, p.upperProtocol, p.upperOffset], [1232, false, true, 17, 48]);
  });

  it('walks Destination Options, Routing and AH (in 4-byte units) to TCP', () => {
    const dst = hex('2b00 0104 0000 0000');
    const routing = concat(hex('3302 0401'), new Uint8Array(20)); // next AH, (2 + 1) * 8 = 24 bytes, type 4, 1 segment left
    const ah = concat(hex('0604 0000 00000100 00000007'), new Uint8Array(12)); // next TCP, (4 + 2) * 4 = 24 bytes
    const tcp = new Uint8Array(20);
    const p = unwrap(parseIpv6(guarded(packet(IPV6_NEXT_HEADER.DESTINATION_OPTIONS, concat(dst, routing, ah, tcp)))));
    assert.deepEqual(p.extensionHeaders, [
      { kind: 'destinationOptions', protocol: 60, offset: 40, length: 8, nextHeader: 43 },
      { kind: 'routing', protocol: 43, offset: 48, length: 24, nextHeader: 51, routingType: 4, segmentsLeft: 1 },
      { kind: 'authentication', protocol: 51, offset: 72, length: 24, nextHeader: 6, spi: 0x100, sequence: 7 },
    ]);
    assert.deepEqual([p.upperProtocol, p.upperOffset, p.upperPayload.length, p.extensionError], [IP_PROTOCOL.TCP, 96, 20, undefined]);
  });

  it('stops at No Next Header and at ESP', () => {
    const none = unwrap(parseIpv6(packet(IPV6_NEXT_HEADER.DESTINATION_OPTIONS, hex('3b00 0104 0000 0000'))));
    assert.deepEqual([none.upperProtocol, none.upperOffset, none.upperPayload.length], [59, 48, 0]);
    const esp = unwrap(parseIpv6(packet(IPV6_NEXT_HEADER.ESP, hex('00000100 00000001 aabbccdd'))));
    assert.deepEqual([esp.upperProtocol, esp.upperOffset, esp.extensionHeaders.length], [50, 40, 0]);
  });

  it('reports a header length past the payload length as bad-header-length at its length byte, keeping the headers before', () => {
    // Hop-by-Hop (8 bytes), then Destination Options claiming (5 + 1) * 8 = 48 bytes in a 16-byte payload.
    const p = unwrap(parseIpv6(guarded(packet(0, hex('3c00 0104 0000 0000 0605 0104 0000 0000')))));
    assert.deepEqual(p.extensionError && [p.extensionError.code, p.extensionError.offset], ['bad-header-length', 49]);
    assert.equal(p.extensionHeaders.length, 1);
    assert.deepEqual([p.upperProtocol, p.upperOffset, p.upperPayload.length], [60, 48, 0]);
  });

  it('reports a header cut off by the end of the capture, within the payload length, as truncated', () => {
    const full = packet(60, concat(hex('0601 0104 0000 0000'), new Uint8Array(8), new Uint8Array(20)));
    const p = unwrap(parseIpv6(prefix(full, 50)));
    assert.deepEqual(p.extensionError && [p.extensionError.code, p.extensionError.offset], ['truncated', 41]);
    assert.equal(p.truncated, true);
  });

  it('reports an extension header with no room for its length byte at its own offset', () => {
    const p = unwrap(parseIpv6(guarded(packet(0, hex('2c')))));
    assert.deepEqual(p.extensionError && [p.extensionError.code, p.extensionError.offset], ['bad-header-length', 40]);
  });

  it('reports an AH shorter than its mandatory 12 bytes', () => {
    const p = unwrap(parseIpv6(packet(51, hex('0600 0000 0000 0001'))));
    assert.deepEqual(p.extensionError && [p.extensionError.code, p.extensionError.offset], ['bad-header-length', 41]);
  });
});

describe('IPv6 malformed input', () => {
  it('rejects a version other than 6 at offset 0', () => {
    const e = failure(parseIpv6(ipOf(FRAMES.ethIpv4IcmpEcho)));
    assert.deepEqual([e.code, e.offset], ['bad-version', 0]);
  });

  it('never throws or reads past the end when any golden IPv6 packet is cut at any byte', () => {
    for (const [name, frame] of IPV6_FRAMES) {
      const bytes = ipOf(frame);
      const full = unwrap(parseIpv6(bytes));
      for (let n = 0; n <= bytes.length; n++) {
        const r = parseIpv6(prefix(bytes, n));
        if (n < 40) {
          assert.deepEqual([failure(r).code, failure(r).offset], ['truncated', n], `${name} cut at ${n}`);
          continue;
        }
        const p = unwrap(r);
        assert.equal(p.truncated, n < bytes.length, `${name} cut at ${n}`);
        if (n >= full.upperOffset) {
          assert.deepEqual(p.extensionHeaders, full.extensionHeaders, `${name} cut at ${n}`);
          assert.equal(p.upperPayload.length, n - full.upperOffset);
        } else {
          assert.equal(p.extensionError?.code, 'truncated', `${name} cut at ${n}`);
        }
      }
    }
  });

  it('never throws or reads past the end on random bytes behind a fixed header', () => {
    const nh = fc.constantFrom(0, 43, 44, 50, 51, 59, 60, 135, 6);
    fc.assert(
      fc.property(nh, fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 200 }), (n, rest, plen) => {
        const r = unwrap(parseIpv6(guarded(packet(n, rest, plen))));
        const end = 40 + Math.min(rest.length, n === 0 && plen === 0 ? rest.length : plen);
        assert.ok(r.upperOffset <= end, `upper offset ${r.upperOffset} past the end ${end}`);
        if (r.extensionError) assert.ok(r.extensionError.offset <= end, `error offset ${r.extensionError.offset} past the end ${end}`);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('IPv6 round trip', () => {
  it('parses the fixed header it emits back to the same representation', () => {
    const repr = record({
      trafficClass: fc.integer({ min: 0, max: 255 }),
      flowLabel: fc.integer({ min: 0, max: 0xfffff }),
      payloadLength: fc.integer({ min: 0, max: 0xffff }),
      nextHeader: fc.integer({ min: 0, max: 255 }),
      hopLimit: fc.integer({ min: 0, max: 255 }),
      src: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    });
    fc.assert(fc.property(repr, (r) => assert.deepEqual(ipv6ReprOf(unwrap(parseIpv6(emitted(r)))), r)));
  });
});
