import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitIpv4,
  IP_PROTOCOL,
  ipv4HeaderLen,
  ipv4ReprOf,
  parseIpv4,
  type Ipv4Packet,
  type Ipv4Repr,
} from '../../../engine/wire/ipv4';
import { parseEthernet } from '../../../engine/wire/ethernet';
import { ipv4FromString as ip } from '../../../engine/wire/address';
import { FRAMES, hex } from './frames';
import { assertBytes, concat, failure, guarded, prefix, record, unwrap } from './support';

const ipOf = (frame: Uint8Array): Uint8Array => unwrap(parseEthernet(frame)).payload;

function emitted(repr: Ipv4Repr): Uint8Array {
  const buf = new Uint8Array(ipv4HeaderLen(repr));
  assert.equal(emitIpv4(repr, buf), buf.length);
  return buf;
}

/** A header with the given raw options and no payload, checksum correct. */
function withOptions(options: Uint8Array): Uint8Array {
  return emitted({ ...ECHO_REPR, options, payloadLength: 0 });
}

/** What the golden echo request's IPv4 header means, written out by hand. */
const ECHO_REPR: Ipv4Repr = {
  src: ip('198.18.0.1')!,
  dst: ip('198.18.0.2')!,
  protocol: IP_PROTOCOL.ICMP,
  ttl: 64,
  dscp: 0,
  ecn: 0,
  identification: 0xa3c1,
  dontFragment: true,
  moreFragments: false,
  fragmentOffset: 0,
  options: new Uint8Array(0),
  payloadLength: 56,
};

const IPV4_FRAMES = Object.entries(FRAMES).filter(([name]) => name.startsWith('ethIpv4') || name === 'ethVlanIpv4Udp');

describe('IPv4 header', () => {
  it('parses the golden echo request into the hand-written representation', () => {
    const p = unwrap(parseIpv4(ipOf(FRAMES.ethIpv4IcmpEcho)));
    assert.deepEqual(ipv4ReprOf(p), ECHO_REPR);
    assert.equal(p.version, 4);
    assert.equal(p.headerLen, 20);
    assert.equal(p.totalLength, 76);
    assert.equal(p.checksum, 0x0ac8);
    assert.equal(p.checksumValid, true);
    assert.equal(p.reservedFlag, false);
    assert.deepEqual(p.parsedOptions, []);
    assert.equal(p.optionsError, undefined);
    assert.equal(p.truncated, false);
    assert.equal(p.payload.length, 56);
  });

  it('emits the hand-written representation as the exact golden header bytes', () => {
    assertBytes(emitted(ECHO_REPR), ipOf(FRAMES.ethIpv4IcmpEcho).subarray(0, 20));
  });

  it('emits every golden IPv4 header byte for byte from its parsed representation', () => {
    for (const [name, frame] of IPV4_FRAMES) {
      const bytes = ipOf(frame);
      const p = unwrap(parseIpv4(bytes));
      assertBytes(emitted(ipv4ReprOf(p)), bytes.subarray(0, p.headerLen), name);
      assert.equal(p.checksumValid, true, name);
    }
  });

  it('splits the TOS byte into DSCP and ECN', () => {
    const p = unwrap(parseIpv4(ipOf(FRAMES.ethVlanIpv4Udp)));
    assert.deepEqual([p.dscp, p.ecn, p.protocol, p.identification], [46, 0, IP_PROTOCOL.UDP, 1]);
    const ce = unwrap(parseIpv4(emitted({ ...ECHO_REPR, dscp: 10, ecn: 3, payloadLength: 0 })));
    assert.deepEqual([ce.dscp, ce.ecn], [10, 3]);
  });

  it('reports fragment offsets in bytes and keeps the reserved flag', () => {
    const b = emitted({ ...ECHO_REPR, dontFragment: false, moreFragments: true, fragmentOffset: 1480, payloadLength: 0 });
    assert.deepEqual([...b.subarray(6, 8)], [0x20, 0xb9]);
    b[6] |= 0x80;
    const p = unwrap(parseIpv4(b));
    assert.deepEqual([p.moreFragments, p.dontFragment, p.fragmentOffset, p.reservedFlag, p.checksumValid], [true, false, 1480, true, false]);
  });

  it('cuts Ethernet padding off the payload at the total length', () => {
    const bytes = concat(ipOf(FRAMES.ethVlanIpv4Udp), new Uint8Array(9));
    const p = unwrap(parseIpv4(bytes));
    assert.equal(p.payload.length, 17);
    assert.equal(p.truncated, false);
    assert.equal(p.payload.buffer, bytes.buffer, 'the payload is a view, not a copy');
  });

  it('flags a capture cut short inside the payload as truncated and keeps the bytes there are', () => {
    const p = unwrap(parseIpv4(prefix(ipOf(FRAMES.ethIpv4IcmpEcho), 50)));
    assert.deepEqual([p.truncated, p.payload.length, p.payloadLength, p.totalLength], [true, 30, 56, 76]);
  });

  it('flags a wrong header checksum and still parses the header', () => {
    const bytes = ipOf(FRAMES.ethIpv4IcmpEcho).slice();
    bytes[8] = 63;
    const p = unwrap(parseIpv4(bytes));
    assert.equal(p.checksumValid, false);
    assert.equal(p.ttl, 63);
    assert.equal(p.checksum, 0x0ac8);
  });
});

describe('IPv4 options', () => {
  it('parses Router Alert from the golden IGMP report', () => {
    const p = unwrap(parseIpv4(ipOf(FRAMES.ethIpv4IgmpRouterAlert)));
    assert.equal(p.headerLen, 24);
    assertBytes(p.options, hex('94040000'));
    assert.deepEqual(p.parsedOptions, [{ kind: 'routerAlert', offset: 20, value: 0 }]);
    assert.deepEqual([p.ttl, p.dscp, p.protocol, p.dst], [1, 48, IP_PROTOCOL.IGMP, ip('224.0.0.251')]);
  });

  it('parses Record Route and the EOL after it from the golden ping -R', () => {
    const p = unwrap(parseIpv4(ipOf(FRAMES.ethIpv4RecordRoute)));
    assert.equal(p.headerLen, 60);
    assert.deepEqual(p.parsedOptions, [
      { kind: 'recordRoute', offset: 20, pointer: 4, addresses: [0, 0, 0, 0, 0, 0, 0, 0, 0] },
      { kind: 'eol', offset: 59 },
    ]);
    assert.equal(p.optionsError, undefined);
  });

  it('parses source routes, timestamps with addresses and unknown options', () => {
    const p = unwrap(parseIpv4(withOptions(hex('01 83 07 04 c6120001 44 0c 05 11 c6120002 00000064 88 04 12 34'))));
    assert.deepEqual(p.parsedOptions.map((o) => o.kind), ['nop', 'looseSourceRoute', 'timestamp', 'unknown']);
    assert.deepEqual(p.parsedOptions[1], { kind: 'looseSourceRoute', offset: 21, pointer: 4, addresses: [ip('198.18.0.1')] });
    assert.deepEqual(p.parsedOptions[2], {
      kind: 'timestamp',
      offset: 28,
      pointer: 5,
      overflow: 1,
      flag: 1,
      entries: [{ address: ip('198.18.0.2'), timestamp: 100 }],
    });
    const unknown = p.parsedOptions[3];
    assert.ok(unknown.kind === 'unknown');
    assert.equal(unknown.type, 0x88);
    assertBytes(unknown.data, hex('1234'));
    assert.equal(p.optionsError, undefined);
  });

  it('flags an option of length 0 at its length byte and stops the walk', () => {
    const p = unwrap(parseIpv4(withOptions(hex('07 00 00 00'))));
    assert.deepEqual(p.optionsError && [p.optionsError.code, p.optionsError.offset], ['bad-option', 21]);
    assert.deepEqual(p.parsedOptions, []);
    assert.equal(p.checksumValid, true, 'the rest of the header is still usable');
  });

  it('flags an option of length 1 after a NOP and keeps the NOP', () => {
    const p = unwrap(parseIpv4(withOptions(hex('01 83 01 00'))));
    assert.deepEqual(p.optionsError && [p.optionsError.code, p.optionsError.offset], ['bad-option', 22]);
    assert.deepEqual(p.parsedOptions, [{ kind: 'nop', offset: 20 }]);
  });

  it('flags an option whose length runs past the end of the header', () => {
    const p = unwrap(parseIpv4(withOptions(hex('44 0c 05 00'))));
    assert.deepEqual(p.optionsError && [p.optionsError.code, p.optionsError.offset], ['bad-option', 21]);
  });

  it('flags an option type in the last header byte that has no room for its length', () => {
    const p = unwrap(parseIpv4(withOptions(hex('01 01 01 07'))));
    assert.deepEqual(p.optionsError && [p.optionsError.code, p.optionsError.offset], ['bad-option', 23]);
    assert.equal(p.parsedOptions.length, 3);
  });

  it('keeps a known option whose length does not fit its format as unknown, flags it, and walks on', () => {
    const p = unwrap(parseIpv4(withOptions(hex('07 05 04 00 00 01 94 02'))));
    assert.deepEqual(p.optionsError && [p.optionsError.code, p.optionsError.offset], ['bad-option', 21]);
    assert.deepEqual(p.parsedOptions.map((o) => o.kind), ['unknown', 'nop', 'unknown']);
    assert.deepEqual(p.parsedOptions.map((o) => o.offset), [20, 25, 26]);
  });

  it('pads emitted options with zeros to a multiple of 4', () => {
    const b = withOptions(hex('94 04 00'));
    assert.equal(b.length, 24);
    assert.equal(b[0], 0x46);
    assertBytes(unwrap(parseIpv4(b)).options, hex('94 04 00 00'));
  });

  it('refuses to emit more than 40 option bytes or a total length over 65535', () => {
    assert.throws(() => withOptions(new Uint8Array(41)), RangeError);
    assert.throws(() => emitted({ ...ECHO_REPR, payloadLength: 65516 }), RangeError);
  });
});

describe('IPv4 malformed input', () => {
  it('rejects a version other than 4 at offset 0', () => {
    const e = failure(parseIpv4(hex('6000 0000 0000 3b40')));
    assert.deepEqual([e.code, e.offset], ['bad-version', 0]);
  });

  it('rejects an IHL below 5 as a bad header length at offset 0', () => {
    for (const ihl of [0, 1, 4]) {
      const bytes = ipOf(FRAMES.ethIpv4IcmpEcho).slice();
      bytes[0] = 0x40 | ihl;
      const e = failure(parseIpv4(bytes));
      assert.deepEqual([e.code, e.offset], ['bad-header-length', 0], `IHL ${ihl}`);
    }
  });

  it('rejects a header length past the end of the buffer', () => {
    const bytes = ipOf(FRAMES.ethIpv4IcmpEcho).slice(0, 40);
    bytes[0] = 0x4f;
    const e = failure(parseIpv4(guarded(bytes)));
    assert.deepEqual([e.code, e.offset], ['bad-header-length', 0]);
  });

  it('rejects a total length below the header length at offset 2', () => {
    const bytes = ipOf(FRAMES.ethIpv4IgmpRouterAlert).slice();
    bytes[3] = 23;
    const e = failure(parseIpv4(bytes));
    assert.deepEqual([e.code, e.offset], ['bad-total-length', 2]);
  });

  it('never throws or reads past the end when any golden IPv4 packet is cut at any byte', () => {
    for (const [name, frame] of IPV4_FRAMES) {
      const bytes = ipOf(frame);
      const full = unwrap(parseIpv4(bytes));
      for (let n = 0; n <= bytes.length; n++) {
        const r = parseIpv4(prefix(bytes, n));
        if (n < full.headerLen) {
          assert.ok(['truncated', 'bad-header-length'].includes(failure(r).code), `${name} cut at ${n}`);
        } else {
          const p = unwrap(r);
          assert.equal(p.truncated, n < full.totalLength, `${name} cut at ${n}`);
          assert.equal(p.payload.length, Math.min(n, full.totalLength) - full.headerLen, `${name} cut at ${n}`);
          assert.deepEqual(p.parsedOptions, full.parsedOptions, `${name} cut at ${n}`);
        }
      }
    }
  });

  it('never throws or reads past the end on random bytes that start like IPv4', () => {
    const bytes = fc.uint8Array({ minLength: 1, maxLength: 80 }).map((b) => {
      b[0] = 0x40 | (b[0] & 0x0f);
      return b;
    });
    fc.assert(
      fc.property(bytes, (b) => {
        const r = parseIpv4(guarded(b));
        if (r.ok) {
          assert.ok(r.value.headerLen <= b.length);
          for (const o of r.value.parsedOptions) assert.ok(o.offset >= 20 && o.offset < r.value.headerLen);
          if (r.value.optionsError) assert.ok(r.value.optionsError.offset < r.value.headerLen);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('IPv4 round trip', () => {
  const repr = record({
    src: fc.nat({ max: 0xffffffff }),
    dst: fc.nat({ max: 0xffffffff }),
    protocol: fc.integer({ min: 0, max: 255 }),
    ttl: fc.integer({ min: 0, max: 255 }),
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    identification: fc.integer({ min: 0, max: 0xffff }),
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((v) => v * 8),
    options: fc.integer({ min: 0, max: 10 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })),
    payloadLength: fc.integer({ min: 0, max: 1500 }),
  });

  it('parses what it emits back to the same representation with a valid checksum', () => {
    fc.assert(
      fc.property(repr, (r) => {
        const headerLen = ipv4HeaderLen(r);
        const buf = new Uint8Array(headerLen + r.payloadLength);
        emitIpv4(r, buf);
        const p: Ipv4Packet = unwrap(parseIpv4(buf));
        assert.deepEqual(ipv4ReprOf(p), r);
        assert.deepEqual([p.checksumValid, p.truncated, p.headerLen, p.totalLength], [true, false, headerLen, buf.length]);
      }),
    );
  });

  it('emits at an offset with the checksum over that header only', () => {
    const buf = new Uint8Array(30).fill(0xaa);
    emitIpv4(ECHO_REPR, buf, 5);
    assertBytes(buf.subarray(5, 25), ipOf(FRAMES.ethIpv4IcmpEcho).subarray(0, 20));
    assert.equal(buf[4], 0xaa);
    assert.equal(buf[25], 0xaa);
  });
});
