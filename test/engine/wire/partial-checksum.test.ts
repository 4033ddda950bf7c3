// A TCP/UDP checksum left partial for a device with checksum offload: the field holds the
// pseudo-header sum only (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1), folded and not inverted, as Linux's
// CHECKSUM_PARTIAL leaves it and as the lab's TAPs carry it. The parsers and the dissector tell it
// from a good checksum and from a bad one: only that exact form is partial; every other mismatch,
// one bit away or the inverted sum, is bad.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { foldSum, ipv4PseudoSum, isPartialChecksum, PARTIAL_CHECKSUM_TEXT } from '../../../engine/wire/checksum';
import { dissect, type Dissection } from '../../../engine/wire/dissect';
import { finishInSoftware, writePartialTcpChecksum } from '../../../engine/stack/offload';
import { tcp4Frame, tcp6Frame, udp4Frame, ethernet, ipv6, udp, ip6 } from '../../support/packet-builder';
import { checksumField, flipChecksumBit, LAB_LINUX_SYN, LAB_LINUX_UDP, withPartialChecksum } from '../../support/offload-frames';

type Status = 'good' | 'partial' | 'bad';

/** The transport checksum's status as the dissector reports it, checked against its problems and notes. */
function status(d: Dissection): Status {
  const t = d.tcp ?? d.udp;
  assert.ok(t !== undefined, 'a TCP or UDP layer');
  const layer = d.tcp ? 'tcp' : 'udp';
  const bad = d.problems.filter((p) => p.layer === layer && p.code === 'bad-checksum');
  const notes = d.notes.filter((n) => n.layer === layer && n.code === 'partial-checksum');
  if (t.checksumValid === true) {
    assert.deepEqual([bad.length, notes.length, t.checksumPartial], [0, 0, false], 'a good checksum is neither a problem nor a note');
    return 'good';
  }
  assert.equal(t.checksumValid, false, 'the checksum was checked');
  if (t.checksumPartial) {
    assert.deepEqual([bad.length, notes.length], [0, 1], `a partial checksum is one note and no problem: problems ${JSON.stringify(d.problems)}`);
    assert.match(notes[0].message, new RegExp(`checksum 0x[0-9a-f]{4} is ${PARTIAL_CHECKSUM_TEXT.replace(/[()]/g, '\\$&')}$`));
    return 'partial';
  }
  assert.deepEqual([bad.length, notes.length], [1, 0], 'a bad checksum is one problem and no note');
  return 'bad';
}

const payload = new Uint8Array(333).map((_, i) => (i * 7 + 3) & 0xff);
const OURS: [string, Uint8Array][] = [
  ['TCP over IPv4', tcp4Frame('198.18.0.2', '198.18.0.1', { srcPort: 8080, dstPort: 40000, seq: 1, ack: 2, flags: 0x18, window: 500, payload })],
  ['UDP over IPv4', udp4Frame('198.18.0.1', '198.18.0.2', 5353, 20001, payload)],
  ['TCP over IPv6', tcp6Frame('2001:db8::1', '2001:db8::2', { srcPort: 8080, dstPort: 40000, seq: 1, ack: 2, flags: 0x10, window: 500, payload })],
  ['UDP over IPv6', ethernet(0x86dd, ipv6({ src: ip6('2001:db8::1'), dst: ip6('2001:db8::2'), nextHeader: 17 }, udp({ srcPort: 5353, dstPort: 20001, payload }, { src6: ip6('2001:db8::1'), dst6: ip6('2001:db8::2') })))],
];
const LAB: [string, Uint8Array][] = [
  ["Linux's TCP SYN from a lab capture", LAB_LINUX_SYN],
  ["Linux's UDP datagram from a lab capture", LAB_LINUX_UDP],
];

describe('partial checksums (checksum offload)', () => {
  for (const [name, good] of OURS) {
    it(`${name}: a correct checksum is good, the pseudo-header sum alone is partial`, () => {
      assert.equal(status(dissect(good)), 'good');
      assert.equal(status(dissect(withPartialChecksum(good))), 'partial');
    });

    it(`${name}: every one-bit change of a partial checksum is bad`, () => {
      const partial = withPartialChecksum(good);
      for (let bit = 0; bit < 16; bit++) assert.equal(status(dissect(flipChecksumBit(partial, bit))), 'bad', `bit ${bit} flipped`);
    });
  }

  for (const [name, frame] of LAB) {
    it(`${name} is partial, one bit off is bad, and completed by the device it is good`, () => {
      assert.equal(status(dissect(frame)), 'partial');
      for (let bit = 0; bit < 16; bit++) assert.equal(status(dissect(flipChecksumBit(frame, bit))), 'bad', `bit ${bit} flipped`);
      // What the device does with it (stack/offload.ts, as Linux's skb_checksum_help): the result checks.
      const { at } = checksumField(frame);
      const done: Uint8Array[] = [];
      finishInSoftware(frame, { csumStart: 34, csumOffset: at - 34, gsoSize: 0, hdrLen: 0 }, (f) => done.push(f));
      assert.equal(done.length, 1);
      assert.equal(status(dissect(done[0])), 'good');
    });
  }

  it("the bypass stack's own partial TCP checksum (writePartialTcpChecksum) is partial", () => {
    const f = tcp4Frame('198.18.0.2', '198.18.0.1', { srcPort: 8080, dstPort: 40000, seq: 9, ack: 9, flags: 0x18, window: 500, payload });
    writePartialTcpChecksum(f, 34, 0xc6120002, 0xc6120001, f.length - 34);
    assert.equal(status(dissect(f)), 'partial');
  });

  it('the inverted pseudo-header sum, and a zero field, are bad: only the folded, non-inverted sum is partial', () => {
    for (const [, good] of OURS.slice(0, 2)) {
      const f = withPartialChecksum(good);
      const { at, pseudo } = checksumField(f);
      const inverted = ~foldSum(pseudo) & 0xffff;
      f[at] = inverted >>> 8;
      f[at + 1] = inverted & 0xff;
      assert.equal(status(dissect(f)), 'bad');
    }
    const tcpZero = withPartialChecksum(OURS[0][1]);
    tcpZero[50] = 0;
    tcpZero[51] = 0;
    assert.equal(status(dissect(tcpZero)), 'bad');
  });

  it('isPartialChecksum compares the field with the folded pseudo-header sum, exactly', () => {
    const pseudo = ipv4PseudoSum(0xc6120001, 0xc6120002, 6, 40);
    assert.equal(isPartialChecksum(foldSum(pseudo), pseudo), true);
    assert.equal(isPartialChecksum(foldSum(pseudo) ^ 1, pseudo), false);
    assert.equal(isPartialChecksum(~foldSum(pseudo) & 0xffff, pseudo), false);
  });

  it('a capture cut short is not checked, so its checksum is neither bad nor partial', () => {
    const cut = withPartialChecksum(OURS[0][1]).slice(0, 80);
    const d = dissect(cut);
    assert.deepEqual([d.tcp?.checksumValid, d.tcp?.checksumPartial, d.notes.length], [undefined, false, 0]);
  });
});
