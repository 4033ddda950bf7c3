import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitEthernet,
  ethernetHeaderLen,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_LEGACY,
  ETHERTYPE_VLAN,
  isVlanTpid,
  parseEthernet,
  type EthernetRepr,
} from '../../../engine/wire/ethernet';
import { macToString } from '../../../engine/wire/address';
import { FRAMES, hex } from './frames';
import { assertBytes, failure, prefix, record, unwrap } from './support';

function emitted(repr: EthernetRepr): Uint8Array {
  const buf = new Uint8Array(ethernetHeaderLen(repr));
  assert.equal(emitEthernet(repr, buf), buf.length);
  return buf;
}

describe('Ethernet II', () => {
  it('parses an untagged IPv4 frame into addresses, type and a payload view', () => {
    const f = unwrap(parseEthernet(FRAMES.ethIpv4IcmpEcho));
    assert.equal(macToString(f.dst), '02:00:00:00:00:02');
    assert.equal(macToString(f.src), '02:00:00:00:00:01');
    assert.deepEqual(f.vlans, []);
    assert.equal(f.etherType, ETHERTYPE_IPV4);
    assert.equal(f.headerLen, 14);
    assert.equal(f.lengthField, false);
    assert.equal(f.truncated, false);
    assert.equal(f.payload.length, 76);
    assert.equal(f.payload.buffer, FRAMES.ethIpv4IcmpEcho.buffer, 'the payload is a view, not a copy');
    assert.equal(f.payload.byteOffset, FRAMES.ethIpv4IcmpEcho.byteOffset + 14);
  });

  it('keeps the padding of a short typed frame in the payload', () => {
    const f = unwrap(parseEthernet(FRAMES.ethArpRequest));
    assert.equal(f.etherType, ETHERTYPE_ARP);
    assert.equal(f.payload.length, 46);
  });

  it('emits the exact header bytes of the untagged golden frame', () => {
    const f = unwrap(parseEthernet(FRAMES.ethIpv4IcmpEcho));
    assertBytes(emitted({ dst: f.dst, src: f.src, vlans: [], etherType: ETHERTYPE_IPV4 }), FRAMES.ethIpv4IcmpEcho.subarray(0, 14));
  });

  it('gives addresses that stay valid when the frame buffer is reused', () => {
    const frame = FRAMES.ethIpv4IcmpEcho.slice();
    const f = unwrap(parseEthernet(frame));
    frame.fill(0);
    assert.equal(macToString(f.dst), '02:00:00:00:00:02');
  });
});

describe('VLAN tags', () => {
  it('parses an 802.1Q tag into PCP, DEI and VID and reports the inner type', () => {
    const f = unwrap(parseEthernet(FRAMES.ethVlanIpv4Udp));
    assert.deepEqual(f.vlans, [{ tpid: ETHERTYPE_VLAN, pcp: 5, dei: false, vid: 100 }]);
    assert.equal(f.etherType, ETHERTYPE_IPV4);
    assert.equal(f.headerLen, 18);
    assert.equal(f.payload.length, 37);
  });

  it('parses an 802.1ad S-tag around a C-tag, outermost first', () => {
    const f = unwrap(parseEthernet(FRAMES.ethQinqArp));
    assert.deepEqual(f.vlans, [
      { tpid: ETHERTYPE_QINQ, pcp: 3, dei: true, vid: 200 },
      { tpid: ETHERTYPE_VLAN, pcp: 0, dei: false, vid: 100 },
    ]);
    assert.equal(f.etherType, ETHERTYPE_ARP);
    assert.equal(f.headerLen, 22);
    assert.equal(f.payload.length, 28);
  });

  it('emits the exact header bytes of the 802.1Q and QinQ golden frames', () => {
    for (const frame of [FRAMES.ethVlanIpv4Udp, FRAMES.ethQinqArp]) {
      const f = unwrap(parseEthernet(frame));
      assertBytes(emitted(f), frame.subarray(0, f.headerLen));
    }
  });

  it('parses three stacked tags including the legacy 0x9100 TPID', () => {
    const frame = hex('ffffffffffff 020000000001 9100 e00a 88a8 0014 8100 301e 0800 45');
    const f = unwrap(parseEthernet(frame));
    assert.deepEqual(f.vlans, [
      { tpid: ETHERTYPE_QINQ_LEGACY, pcp: 7, dei: false, vid: 10 },
      { tpid: ETHERTYPE_QINQ, pcp: 0, dei: false, vid: 20 },
      { tpid: ETHERTYPE_VLAN, pcp: 1, dei: true, vid: 30 },
    ]);
    assert.equal(f.etherType, ETHERTYPE_IPV4);
    assert.equal(f.headerLen, 26);
    assert.equal(f.payload.length, 1);
  });

  it('reports a tag cut off by the end of the frame as truncated, at the end of the buffer', () => {
    const e = failure(parseEthernet(prefix(FRAMES.ethQinqArp, 17)));
    assert.equal(e.code, 'truncated');
    assert.equal(e.offset, 17);
  });
});

describe('802.3 length-field frames', () => {
  it('keeps a type below 0x0600 as a length, flags it and cuts the payload at that length', () => {
    const f = unwrap(parseEthernet(FRAMES.eth8023Llc));
    assert.equal(macToString(f.dst), '01:80:c2:00:00:00');
    assert.equal(f.etherType, 38);
    assert.equal(f.lengthField, true);
    assert.equal(f.truncated, false);
    assert.equal(f.payload.length, 38);
    assertBytes(f.payload.subarray(0, 3), hex('42 42 03'), 'LLC DSAP, SSAP, control');
  });

  it('flags an 802.3 frame whose length runs past the buffer as truncated and keeps what there is', () => {
    const f = unwrap(parseEthernet(prefix(FRAMES.eth8023Llc, 30)));
    assert.equal(f.truncated, true);
    assert.equal(f.payload.length, 16);
  });

  it('emits the exact header bytes of the 802.3 golden frame', () => {
    const f = unwrap(parseEthernet(FRAMES.eth8023Llc));
    assertBytes(emitted(f), FRAMES.eth8023Llc.subarray(0, 14));
  });
});

describe('Ethernet malformed input', () => {
  it('never throws or reads past the end when any golden frame is cut at any byte', () => {
    for (const [name, frame] of Object.entries(FRAMES)) {
      const full = unwrap(parseEthernet(frame));
      for (let n = 0; n <= frame.length; n++) {
        const r = parseEthernet(prefix(frame, n));
        if (n < full.headerLen) {
          assert.equal(failure(r).code, 'truncated', `${name} cut at ${n}`);
          assert.ok(failure(r).offset <= n, `${name} cut at ${n}: offset within the buffer`);
        } else {
          const f = unwrap(r);
          assert.equal(f.headerLen, full.headerLen, `${name} cut at ${n}`);
          if (f.lengthField) assert.equal(f.truncated, n < f.headerLen + f.etherType, `${name} cut at ${n}`);
        }
      }
    }
  });
});

describe('Ethernet round trip', () => {
  const tag = record({
    tpid: fc.constantFrom(ETHERTYPE_VLAN, ETHERTYPE_QINQ, ETHERTYPE_QINQ_LEGACY),
    pcp: fc.integer({ min: 0, max: 7 }),
    dei: fc.boolean(),
    vid: fc.integer({ min: 0, max: 4095 }),
  });
  const repr = record({
    dst: fc.uint8Array({ minLength: 6, maxLength: 6 }),
    src: fc.uint8Array({ minLength: 6, maxLength: 6 }),
    vlans: fc.array(tag, { maxLength: 4 }),
    etherType: fc.integer({ min: 0, max: 0xffff }).filter((t) => !isVlanTpid(t)),
  });

  it('parses what it emits back to the same representation', () => {
    fc.assert(
      fc.property(repr, fc.uint8Array({ maxLength: 64 }), (r, payload) => {
        const buf = new Uint8Array(ethernetHeaderLen(r) + payload.length);
        const n = emitEthernet(r, buf);
        buf.set(payload, n);
        const f = unwrap(parseEthernet(buf));
        assert.deepEqual({ dst: f.dst, src: f.src, vlans: f.vlans, etherType: f.etherType }, r);
        assert.equal(f.headerLen, n);
        assert.equal(f.lengthField, r.etherType < 0x600);
      }),
    );
  });

  it('emits at an offset without touching the bytes around the header', () => {
    const buf = new Uint8Array(20).fill(0xee);
    const f = unwrap(parseEthernet(FRAMES.ethIpv4IcmpEcho));
    emitEthernet(f, buf, 3);
    assertBytes(buf.subarray(3, 17), FRAMES.ethIpv4IcmpEcho.subarray(0, 14));
    assert.deepEqual([...buf.subarray(0, 3), ...buf.subarray(17)], [0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
  });

  it('refuses to emit into a buffer that is too small', () => {
    assert.throws(() => emitEthernet({ dst: new Uint8Array(6), src: new Uint8Array(6), vlans: [], etherType: 0x800 }, new Uint8Array(13)), RangeError);
  });
});
