// The inspector's field tree on frames whose TCP/UDP checksum was left for a device with checksum
// offload: a field that holds exactly the pseudo-header sum is shown as partial, left to the device,
// and is not a problem, whether or not the record was flagged OFFLOAD (a tcpdump capture of a host
// with offloads has them too); a field one bit away from it is incorrect.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dissect } from '../../engine/wire/dissect';
import { emitEthernet } from '../../engine/wire/ethernet';
import { emitIpv4 } from '../../engine/wire/ipv4';
import { emitTcp } from '../../engine/wire/tcp';
import { emitUdp } from '../../engine/wire/udp';
import { foldSum, ipv4PseudoSum } from '../../engine/wire/checksum';
import { writePartialTcpChecksum } from '../../engine/stack/offload';
import { fieldTree } from '../../webview/fields';

const A = 0xc6120002;
const B = 0xc6120001;

/** Ethernet + IPv4 + TCP or UDP with 100 payload bytes, its checksum left as the pseudo-header sum (what a stack hands a device with offloads). */
function partialFrame(protocol: 6 | 17): Uint8Array {
  const payload = new Uint8Array(100).fill(7);
  const l4 = (protocol === 6 ? 20 : 8) + payload.length;
  const f = new Uint8Array(14 + 20 + l4);
  emitEthernet({ dst: new Uint8Array([2, 0, 0, 0, 0, 1]), src: new Uint8Array([2, 0, 0, 0, 0, 2]), vlans: [], etherType: 0x0800 }, f, 0);
  emitIpv4(
    { src: A, dst: B, protocol, ttl: 64, dscp: 0, ecn: 0, identification: 1, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: new Uint8Array(0), payloadLength: l4 },
    f,
    14,
  );
  if (protocol === 6) {
    emitTcp({ srcPort: 5201, dstPort: 40000, seq: 1, ack: 1, flags: 0x18, window: 512, urgent: 0, options: [], payload }, f, 34);
    writePartialTcpChecksum(f, 34, A, B, l4);
  } else {
    emitUdp({ srcPort: 5201, dstPort: 40000, payload }, f, 34);
    const s = foldSum(ipv4PseudoSum(A, B, 17, l4));
    f[40] = s >>> 8;
    f[41] = s & 0xff;
  }
  return f;
}

function checksumField(f: Uint8Array, layer: 'tcp' | 'udp') {
  return fieldTree(dissect(f), f).find((l) => l.key.startsWith(layer))?.fields.find((x) => x.key.endsWith('csum'));
}

describe('webview fields: checksum offload', () => {
  for (const [layer, protocol, at] of [['tcp', 6, 50], ['udp', 17, 40]] as const) {
    it(`shows a ${layer.toUpperCase()} checksum that is the pseudo-header sum as partial, left to the device, with no problem`, () => {
      const c = checksumField(partialFrame(protocol), layer);
      assert.match(c?.value ?? '', /\[partial: left to the device \(checksum offload\)\]/, `checksum field: got ${JSON.stringify(c)}`);
      assert.equal(c?.problem, undefined, 'no problem on a partial checksum');
    });

    it(`shows a ${layer.toUpperCase()} checksum one bit away from the pseudo-header sum as incorrect, with a problem`, () => {
      const f = partialFrame(protocol);
      f[at + 1] ^= 0x01;
      const c = checksumField(f, layer);
      assert.match(c?.value ?? '', /\[incorrect\]/, `checksum field: got ${JSON.stringify(c)}`);
      assert.ok(c?.problem !== undefined, `a problem on a checksum that does not add up: got ${JSON.stringify(c)}`);
    });
  }
});
