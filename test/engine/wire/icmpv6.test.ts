import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitIcmpv6,
  ICMPV6_TYPE,
  icmpv6Len,
  parseIcmpv6,
  type Icmpv6Repr,
  type Ipv6ChecksumContext,
  type NdpOption,
} from '../../../engine/wire/icmpv6';
import { parseIpv6 } from '../../../engine/wire/ipv6';
import { parseEthernet } from '../../../engine/wire/ethernet';
import { ipv6FromString, ipv6ToString, macFromString, macToString } from '../../../engine/wire/address';
import { FRAMES, hex } from './frames';
import { assertBytes, concat, failure, guarded, pick, prefix, record, unwrap } from './support';

const a6 = (s: string): Uint8Array => ipv6FromString(s)!;

/** The ICMPv6 bytes of a golden frame and the checksum context of its IPv6 header. */
function icmpOf(frame: Uint8Array): { bytes: Uint8Array; ctx: Ipv6ChecksumContext } {
  const ip = unwrap(parseIpv6(unwrap(parseEthernet(frame)).payload));
  assert.equal(ip.upperProtocol, 58);
  return { bytes: ip.upperPayload, ctx: { version: 6, src: ip.src, dst: ip.dst } };
}

function emitted(repr: Icmpv6Repr, ctx: Ipv6ChecksumContext): Uint8Array {
  const buf = new Uint8Array(icmpv6Len(repr));
  assert.equal(emitIcmpv6(repr, buf, 0, ctx), buf.length);
  return buf;
}

const CTX: Ipv6ChecksumContext = { version: 6, src: a6('2001:db8::1'), dst: a6('2001:db8::2') };
const PING_DATA = hex('6a3b635f00000000 101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f 3031323334353637');
const ICMPV6_FRAMES = Object.entries(FRAMES).filter(([name]) => name.startsWith('ethIpv6') && !name.startsWith('ethIpv6Frag'));

describe('ICMPv6 echo', () => {
  it('parses the golden echo request and checks its checksum over the pseudo-header', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Icmpv6Echo);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'echoRequest');
    assert.deepEqual([m.type, m.code, m.identifier, m.sequence, m.checksumValid], [128, 0, 0x1a2b, 7, true]);
    assertBytes(m.data, PING_DATA);
  });

  it('emits a hand-written echo request as the exact golden bytes', () => {
    const { bytes } = icmpOf(FRAMES.ethIpv6Icmpv6Echo);
    assertBytes(emitted({ kind: 'echoRequest', identifier: 0x1a2b, sequence: 7, data: PING_DATA }, CTX), bytes);
  });

  it('leaves the checksum unchecked without addresses and fails it with the wrong ones', () => {
    const { bytes } = icmpOf(FRAMES.ethIpv6Icmpv6Echo);
    assert.equal(unwrap(parseIcmpv6(bytes)).checksumValid, undefined);
    assert.equal(unwrap(parseIcmpv6(bytes, { version: 6, src: CTX.src, dst: a6('2001:db8::3') })).checksumValid, false);
  });

  it('flags a corrupted message as having a bad checksum', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Icmpv6Echo);
    const bad = bytes.slice();
    bad[10] ^= 0x40;
    assert.equal(unwrap(parseIcmpv6(bad, ctx)).checksumValid, false);
  });
});

describe('ICMPv6 errors', () => {
  it('parses packet too big with its MTU and the quoted header', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Ptb);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'packetTooBig');
    assert.deepEqual([m.code, m.mtu, m.quote.length, m.checksumValid], [0, 1280, 60, true]);
    assert.ok(m.quoted);
    assert.deepEqual([ipv6ToString(m.quoted.dst), m.quoted.nextHeader, m.quoted.payloadLength, m.quoted.truncated], ['2001:db8:9::9', 6, 1440, true]);
  });

  it('parses a port unreachable', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Unreach);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'destinationUnreachable');
    assert.deepEqual([m.code, m.quote.length, m.checksumValid, m.quoted?.upperProtocol], [4, 48, true, 6]);
  });

  it('parses time exceeded and parameter problem with its pointer', () => {
    const te = unwrap(parseIcmpv6(emitted({ kind: 'timeExceeded', code: 1, quote: hex('60') }, CTX), CTX));
    assert.deepEqual([te.kind, te.type, te.code, te.quoted], ['timeExceeded', 3, 1, undefined]);
    const pp = unwrap(parseIcmpv6(emitted({ kind: 'parameterProblem', code: 0, pointer: 6, quote: new Uint8Array(8) }, CTX), CTX));
    assert.ok(pp.kind === 'parameterProblem');
    assert.deepEqual([pp.type, pp.pointer, pp.checksumValid], [4, 6, true]);
  });
});

describe('Neighbor Discovery', () => {
  it('parses a neighbor solicitation: target and source link-layer address', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Ns);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'neighborSolicitation');
    assert.equal(ipv6ToString(m.target), 'fe80::2');
    assert.deepEqual(m.options, [{ kind: 'sourceLinkLayerAddress', address: macFromString('02:00:00:00:00:01') }]);
    assert.deepEqual([m.checksumValid, m.optionsError], [true, undefined]);
  });

  it('parses a solicited, override neighbor advertisement with a target link-layer address', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Na);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'neighborAdvertisement');
    assert.deepEqual([m.router, m.solicited, m.override, ipv6ToString(m.target), m.checksumValid], [false, true, true, 'fe80::2', true]);
    const [opt] = m.options;
    assert.ok(opt.kind === 'targetLinkLayerAddress');
    assert.equal(macToString(opt.address), '02:00:00:00:00:02');
  });

  it('parses a router advertisement with its link-layer address, MTU and prefix options', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Ra);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'routerAdvertisement');
    assert.deepEqual([m.curHopLimit, m.flags, m.routerLifetime, m.reachableTime, m.retransTimer, m.checksumValid], [64, 0, 1800, 0, 0, true]);
    assert.deepEqual(m.options, [
      { kind: 'sourceLinkLayerAddress', address: macFromString('02:00:00:00:00:02') },
      { kind: 'mtu', mtu: 1500 },
      {
        kind: 'prefixInformation',
        prefixLength: 64,
        onLink: true,
        autonomous: true,
        validLifetime: 2592000,
        preferredLifetime: 604800,
        prefix: a6('2001:db8:0:1::'),
      },
    ]);
  });

  it('parses a router solicitation', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6Rs);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'routerSolicitation');
    assert.deepEqual([m.options.length, m.options[0].kind, m.checksumValid], [1, 'sourceLinkLayerAddress', true]);
  });

  it('keeps an MLDv2 report as unknown with its type and bytes', () => {
    const { bytes, ctx } = icmpOf(FRAMES.ethIpv6HbhMld);
    const m = unwrap(parseIcmpv6(bytes, ctx));
    assert.ok(m.kind === 'unknown');
    assert.deepEqual([m.type, m.code, m.rest.length, m.checksumValid], [143, 0, 24, true]);
  });

  it('emits every golden ICMPv6 message byte for byte from its parsed representation', () => {
    for (const [name, frame] of ICMPV6_FRAMES) {
      const { bytes, ctx } = icmpOf(frame);
      assertBytes(emitted(unwrap(parseIcmpv6(bytes, ctx)), ctx), bytes, name);
    }
  });

  it('flags an option of length 0 and stops the walk there', () => {
    const ns = concat(hex('8700 0000 0000 0000'), a6('fe80::2'), hex('0101 0200 0000 0001'), hex('0e00 0000 0000 0000'));
    const m = unwrap(parseIcmpv6(ns));
    assert.deepEqual(m.optionsError && [m.optionsError.code, m.optionsError.offset], ['bad-option', 33]);
    assert.ok(m.kind === 'neighborSolicitation');
    assert.equal(m.options.length, 1);
  });

  it('flags an option whose length runs past the end of the message', () => {
    const rs = hex('8500 0000 0000 0000 0102 0200 0000 0001');
    const m = unwrap(parseIcmpv6(guarded(rs)));
    assert.deepEqual(m.optionsError && [m.optionsError.code, m.optionsError.offset], ['bad-option', 9]);
  });

  it('keeps a prefix option of the wrong size as unknown and a long link-layer address whole', () => {
    const rs = concat(hex('8500 0000 0000 0000'), hex('0301 4000 0000 0000'), hex('0102'), new Uint8Array(14).fill(7));
    const m = unwrap(parseIcmpv6(rs));
    assert.ok(m.kind === 'routerSolicitation');
    const [prefixOpt, lla] = m.options;
    assert.deepEqual([prefixOpt.kind, prefixOpt.kind === 'unknown' && prefixOpt.type], ['unknown', 3]);
    assert.ok(lla.kind === 'sourceLinkLayerAddress');
    assert.equal(lla.address.length, 14);
  });

  it('rejects neighbor and router messages shorter than their fixed part as truncated', () => {
    const e = failure(parseIcmpv6(hex('8700 0000 0000 0000 fe80 0000')));
    assert.deepEqual([e.code, e.offset], ['truncated', 12]);
    assert.equal(failure(parseIcmpv6(hex('8600 0000 4000 0708 0000 0000'))).code, 'truncated');
  });
});

describe('ICMPv6 malformed input', () => {
  it('never throws or reads past the end when any golden ICMPv6 message is cut at any byte', () => {
    for (const [name, frame] of ICMPV6_FRAMES) {
      const { bytes, ctx } = icmpOf(frame);
      for (let n = 0; n < bytes.length; n++) {
        const r = parseIcmpv6(prefix(bytes, n), ctx);
        if (!r.ok) {
          assert.equal(r.error.code, 'truncated', `${name} cut at ${n}`);
          assert.ok(n < 24, `${name} cut at ${n}`);
          continue;
        }
        const lostOnlyZeros = bytes.subarray(n).every((b) => b === 0);
        assert.ok(r.value.checksumValid === false || lostOnlyZeros, `${name} cut at ${n}: checksum should fail`);
      }
    }
  });

  it('never throws or reads past the end on random bytes of every type', () => {
    const msg = fc.tuple(fc.constantFrom(1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 143), fc.uint8Array({ maxLength: 96 })).map(([t, b]) => {
      if (b.length) b[0] = t;
      return b;
    });
    fc.assert(
      fc.property(msg, (b) => {
        const r = parseIcmpv6(guarded(b), CTX);
        if (r.ok && r.value.optionsError) assert.ok(r.value.optionsError.offset < b.length);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('ICMPv6 round trip', () => {
  const u8 = fc.integer({ min: 0, max: 255 });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.nat({ max: 0xffffffff });
  const bytes = (max: number) => fc.uint8Array({ maxLength: max });
  const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
  const option: fc.Arbitrary<NdpOption> = fc.oneof(
    record({ kind: fc.constantFrom('sourceLinkLayerAddress' as const, 'targetLinkLayerAddress' as const), address: mac }),
    record({
      kind: fc.constant('prefixInformation' as const),
      prefixLength: fc.integer({ min: 0, max: 128 }),
      onLink: fc.boolean(),
      autonomous: fc.boolean(),
      validLifetime: u32,
      preferredLifetime: u32,
      prefix: addr,
    }),
    record({ kind: fc.constant('mtu' as const), mtu: u32 }),
    record({
      kind: fc.constant('unknown' as const),
      type: u8.filter((t) => t > 5),
      data: fc.integer({ min: 0, max: 3 }).chain((k) => fc.uint8Array({ minLength: 8 * k + 6, maxLength: 8 * k + 6 })),
    }),
  );
  const options = fc.array(option, { maxLength: 4 });
  const repr: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
    record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), identifier: u16, sequence: u16, data: bytes(64) }),
    record({ kind: fc.constantFrom('destinationUnreachable' as const, 'timeExceeded' as const), code: u8, quote: bytes(64) }),
    record({ kind: fc.constant('packetTooBig' as const), code: u8, mtu: u32, quote: bytes(64) }),
    record({ kind: fc.constant('parameterProblem' as const), code: u8, pointer: u32, quote: bytes(64) }),
    record({ kind: fc.constant('routerSolicitation' as const), options }),
    record({
      kind: fc.constant('routerAdvertisement' as const),
      curHopLimit: u8,
      flags: u8,
      routerLifetime: u16,
      reachableTime: u32,
      retransTimer: u32,
      options,
    }),
    record({ kind: fc.constant('neighborSolicitation' as const), target: addr, options }),
    record({ kind: fc.constant('neighborAdvertisement' as const), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(), target: addr, options }),
    record({
      kind: fc.constant('unknown' as const),
      type: u8.filter((t) => !(Object.values(ICMPV6_TYPE) as number[]).includes(t) || t === ICMPV6_TYPE.REDIRECT),
      code: u8,
      rest: fc.uint8Array({ minLength: 4, maxLength: 40 }),
    }),
  );

  it('parses what it emits back to the same representation with a valid checksum', () => {
    fc.assert(
      fc.property(repr, addr, addr, (r, src, dst) => {
        const ctx: Ipv6ChecksumContext = { version: 6, src, dst };
        const m = unwrap(parseIcmpv6(emitted(r, ctx), ctx));
        assert.deepEqual(pick(m, r), r);
        assert.deepEqual([m.checksumValid, m.optionsError], [true, undefined]);
      }),
    );
  });
});
