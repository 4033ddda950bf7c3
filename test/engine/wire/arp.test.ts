import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ARP_OP_RARP_REQUEST,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ARP_PACKET_LEN,
  arpPacketLen,
  emitArp,
  parseArp,
  type ArpRepr,
} from '../../../engine/wire/arp';
import { parseEthernet } from '../../../engine/wire/ethernet';
import { ipv4ToString, macToString } from '../../../engine/wire/address';
import { FRAMES, hex } from './frames';
import { assertBytes, failure, prefix, record, unwrap } from './support';

const arpOf = (frame: Uint8Array): Uint8Array => unwrap(parseEthernet(frame)).payload;

function emitted(repr: ArpRepr): Uint8Array {
  const buf = new Uint8Array(arpPacketLen(repr));
  assert.equal(emitArp(repr, buf), ARP_PACKET_LEN);
  return buf;
}

describe('ARP', () => {
  it('parses a broadcast request and ignores the Ethernet padding after it', () => {
    const a = unwrap(parseArp(arpOf(FRAMES.ethArpRequest)));
    assert.equal(a.operation, ARP_OP_REQUEST);
    assert.equal(macToString(a.senderHardware), '02:00:00:00:00:01');
    assert.equal(ipv4ToString(a.senderProtocol), '198.18.0.1');
    assert.equal(macToString(a.targetHardware), '00:00:00:00:00:00');
    assert.equal(ipv4ToString(a.targetProtocol), '198.18.0.2');
  });

  it('parses a reply', () => {
    const a = unwrap(parseArp(arpOf(FRAMES.ethArpReply)));
    assert.deepEqual(
      { op: a.operation, sha: macToString(a.senderHardware), spa: ipv4ToString(a.senderProtocol), tha: macToString(a.targetHardware), tpa: ipv4ToString(a.targetProtocol) },
      { op: ARP_OP_REPLY, sha: '02:00:00:00:00:02', spa: '198.18.0.2', tha: '02:00:00:00:00:01', tpa: '198.18.0.1' },
    );
  });

  it('parses a request inside QinQ tags', () => {
    const a = unwrap(parseArp(arpOf(FRAMES.ethQinqArp)));
    assert.equal(ipv4ToString(a.targetProtocol), '198.18.0.2');
  });

  it('emits the exact bytes of the golden request and reply', () => {
    for (const frame of [FRAMES.ethArpRequest, FRAMES.ethArpReply]) {
      const bytes = arpOf(frame);
      assertBytes(emitted(unwrap(parseArp(bytes))), bytes.subarray(0, 28));
    }
  });

  it('keeps RARP and unknown operation codes as numbers', () => {
    const bytes = arpOf(FRAMES.ethArpRequest).slice(0, 28);
    bytes[7] = ARP_OP_RARP_REQUEST;
    assert.equal(unwrap(parseArp(bytes)).operation, 3);
    bytes[6] = 0x12;
    bytes[7] = 0x34;
    assert.equal(unwrap(parseArp(bytes)).operation, 0x1234);
  });
});

describe('ARP malformed input', () => {
  const base = (): Uint8Array => arpOf(FRAMES.ethArpReply).slice();

  it('reports a non-Ethernet hardware type as unsupported at offset 0', () => {
    const b = base();
    b[1] = 6;
    const e = failure(parseArp(b));
    assert.deepEqual([e.code, e.offset], ['unsupported', 0]);
  });

  it('reports a non-IPv4 protocol type as unsupported at offset 2', () => {
    const b = base();
    b.set(hex('86dd'), 2);
    const e = failure(parseArp(b));
    assert.deepEqual([e.code, e.offset], ['unsupported', 2]);
  });

  it('reports address lengths other than 6 and 4 as bad-length at their offsets', () => {
    const h = base();
    h[4] = 8;
    assert.deepEqual([failure(parseArp(h)).code, failure(parseArp(h)).offset], ['bad-length', 4]);
    const p = base();
    p[5] = 16;
    assert.deepEqual([failure(parseArp(p)).code, failure(parseArp(p)).offset], ['bad-length', 5]);
  });

  it('returns truncated, never throws and never reads past the end, when cut at any byte', () => {
    const bytes = base();
    for (let n = 0; n < ARP_PACKET_LEN; n++) {
      const e = failure(parseArp(prefix(bytes, n)));
      assert.equal(e.code, 'truncated', `cut at ${n}`);
      assert.equal(e.offset, n, `cut at ${n}`);
    }
    unwrap(parseArp(prefix(bytes, ARP_PACKET_LEN)));
  });
});

describe('ARP round trip', () => {
  it('parses what it emits back to the same representation', () => {
    const repr = record({
      operation: fc.integer({ min: 0, max: 0xffff }),
      senderHardware: fc.uint8Array({ minLength: 6, maxLength: 6 }),
      senderProtocol: fc.nat({ max: 0xffffffff }),
      targetHardware: fc.uint8Array({ minLength: 6, maxLength: 6 }),
      targetProtocol: fc.nat({ max: 0xffffffff }),
    });
    fc.assert(fc.property(repr, (r) => assert.deepEqual(unwrap(parseArp(emitted(r))), r)));
  });
});
