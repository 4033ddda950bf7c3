// The inspector's field tree on a frame that crossed a device with checksum offload (a record flagged
// OFFLOAD): its TCP checksum is the partial one the device completes, shown as such and not as an
// error; the same bytes without the flag are a bad checksum.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dissect } from '../../engine/wire/dissect';
import { emitEthernet } from '../../engine/wire/ethernet';
import { emitIpv4 } from '../../engine/wire/ipv4';
import { emitTcp } from '../../engine/wire/tcp';
import { writePartialTcpChecksum } from '../../engine/stack/offload';
import { fieldTree } from '../../webview/fields';

const A = 0xc6120002;
const B = 0xc6120001;

/** Ethernet + IPv4 + TCP with 100 payload bytes, its TCP checksum left as the pseudo-header sum (what a stack hands a device with offloads). */
function partialFrame(): Uint8Array {
  const payload = new Uint8Array(100).fill(7);
  const f = new Uint8Array(14 + 20 + 20 + payload.length);
  emitEthernet({ dst: new Uint8Array([2, 0, 0, 0, 0, 1]), src: new Uint8Array([2, 0, 0, 0, 0, 2]), vlans: [], etherType: 0x0800 }, f, 0);
  emitIpv4(
    { src: A, dst: B, protocol: 6, ttl: 64, dscp: 0, ecn: 0, identification: 1, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: new Uint8Array(0), payloadLength: 20 + payload.length },
    f,
    14,
  );
  emitTcp({ srcPort: 5201, dstPort: 40000, seq: 1, ack: 1, flags: 0x18, window: 512, urgent: 0, options: [], payload }, f, 34);
  writePartialTcpChecksum(f, 34, A, B, 20 + payload.length);
  return f;
}

function tcpChecksumField(offloaded: boolean) {
  const f = partialFrame();
  const tcp = fieldTree(dissect(f), f, offloaded).find((l) => l.key.startsWith('tcp'));
  return tcp?.fields.find((x) => x.key.endsWith('csum'));
}

describe('webview fields: checksum offload', () => {
  it('shows a partial TCP checksum of a record flagged OFFLOAD as completed by the device, with no problem', () => {
    const c = tcpChecksumField(true);
    assert.match(c?.value ?? '', /partial: the device completes it/, `checksum field: got ${JSON.stringify(c)}`);
    assert.equal(c?.problem, undefined, 'no problem on an offloaded checksum');
  });

  it('shows the same bytes without the flag as an incorrect checksum', () => {
    const c = tcpChecksumField(false);
    assert.match(c?.value ?? '', /\[incorrect\]/, `checksum field: got ${JSON.stringify(c)}`);
    assert.ok(c?.problem !== undefined, 'a problem on a checksum that does not add up');
  });
});
