// Replaying frames whose TCP/UDP checksum was left partial for a device with checksum offload (the
// field holds the pseudo-header sum only): the lab's captures, marked csum=partial by our writer, and
// foreign captures such as tcpdump's of a host with offloads, unmarked. Either way such a frame is
// delivered with a note, not dropped; a marked one is flagged OFFLOAD again, as it was live; and a
// checksum that is truly bad (one bit off the partial form) is still dropped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcapBackend } from '../../../engine/backends/pcap';
import { CaptureSession } from '../../../engine/capture/session';
import type { Impairments } from '../../../engine/backends/impair';
import { parseRules } from '../../../engine/steer/rules';
import { StringTable, decodeBatch } from '../../../engine/trace/codec';
import { createCaptureWriter } from '../../../engine/trace/capture-file';
import { LinkType } from '../../../engine/trace/capture-format';
import { epbFlags, packetComment, PCAPNG_COMMENT_FORMAT } from '../../../engine/trace/packet-comment';
import { PacketFlag, type PacketRecord, type TraceRecord } from '../../../engine/trace/schema';
import { tcp4Frame, udp4Frame } from '../../support/packet-builder';
import { flipChecksumBit, LAB_LINUX_SYN, LAB_LINUX_UDP, withPartialChecksum } from '../../support/offload-frames';
import { packets } from './support';

const NOTE = 'checksum partial: left to the device (checksum offload)';

interface Case {
  readonly name: string;
  readonly data: Uint8Array;
  /** The last hop, as layer:verdict:reason. */
  readonly want: string;
}

const payload = new Uint8Array(200).map((_, i) => i & 0xff);
const ourTcp = withPartialChecksum(tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 40000, dstPort: 8080, seq: 100, ack: 200, flags: 0x18, window: 500, payload }));
const ourUdp = withPartialChecksum(udp4Frame('198.18.0.1', '198.18.0.2', 5353, 20001, payload));
const CASES: readonly Case[] = [
  { name: "Linux's SYN from a lab capture", data: LAB_LINUX_SYN, want: `bypass.tcp:deliver:${NOTE}` },
  { name: "Linux's UDP datagram from a lab capture", data: LAB_LINUX_UDP, want: `bypass.udp:deliver:${NOTE}` },
  { name: 'a TCP segment made partial by our code', data: ourTcp, want: `bypass.tcp:deliver:${NOTE}` },
  { name: 'a UDP datagram made partial by our code', data: ourUdp, want: `bypass.udp:deliver:${NOTE}` },
  { name: 'a TCP checksum one bit off the partial form', data: flipChecksumBit(LAB_LINUX_SYN, 3), want: 'bypass.tcp:drop:tcp-bad-checksum' },
  { name: 'a UDP checksum one bit off the partial form', data: flipChecksumBit(LAB_LINUX_UDP, 12), want: 'bypass.udp:drop:udp-bad-checksum' },
  { name: 'a good TCP segment', data: tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 40001, dstPort: 8080, seq: 1, ack: 1, flags: 0x10, window: 500 }), want: 'bypass.tcp:deliver:' },
];

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'bypass-scope-replay-offload-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Our pcapng, every frame commented as the CLI writes them and flagged OFFLOAD (csum=partial, epb_flags bit 9) as a lab capture's are. */
function ourFile(cases: readonly Case[]): string {
  const file = join(dir, 'lab-like.pcapng');
  const w = createCaptureWriter(file, 'pcapng', { comment: PCAPNG_COMMENT_FORMAT });
  w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 1e9 });
  cases.forEach((c, i) => {
    const flags = PacketFlag.OFFLOAD;
    const comment = packetComment({ path: 'bypass', rule: 'default', direction: 'rx', connId: 0, flags, hops: 'nic.rx@0 steer@0+100 bypass.eth@100+10' });
    w.writePacket({ interfaceId: 0, tsSec: 1000, tsNsec: i * 1000, data: c.data, direction: 'inbound', flags: epbFlags(flags), comment });
  });
  w.close();
  return file;
}

/** A plain pcap with no marks: what tcpdump writes on a host with offloads. */
function foreignFile(cases: readonly Case[]): string {
  const file = join(dir, 'tcpdump-like.pcap');
  const w = createCaptureWriter(file, 'pcap', { linkType: LinkType.ETHERNET, nanosecond: true });
  cases.forEach((c, i) => w.writePacket({ tsSec: 1000, tsNsec: i * 1000, data: c.data }));
  w.close();
  return file;
}

async function replay(file: string, impairments?: Impairments): Promise<{ ps: PacketRecord[]; drops: Record<string, number> }> {
  // Everything to bypass, so that each frame reaches the transport layer whatever it is.
  const s = new CaptureSession({ rules: parseRules('default bypass\n'), backend: pcapBackend({ file }), impairments });
  const records: TraceRecord[] = [];
  const strings = new StringTable();
  s.onBatches.push((bs) => {
    for (const b of bs) decodeBatch(b, strings, (r) => records.push(r.type === 'packet' ? { ...r, bytes: r.bytes.slice() } : r));
  });
  assert.equal(await s.run({}), 'idle');
  assert.deepEqual(s.problems, []);
  return { ps: packets(records), drops: s.snapshot().drops };
}

const lastHop = (p: PacketRecord) => {
  const h = p.hops.at(-1)!;
  return `${h.layer}:${h.verdict}:${h.reason ?? ''}`;
};

describe('replaying partial checksums (checksum offload)', () => {
  for (const [kind, make, flagged] of [['our own pcapng, marked csum=partial', ourFile, true], ['a foreign pcap, unmarked', foreignFile, false]] as const) {
    it(`${kind}: delivers partial checksums with the note, drops a truly bad one`, async () => {
      const { ps, drops } = await replay(make(CASES));
      assert.equal(ps.length, CASES.length);
      ps.forEach((p, i) => {
        assert.equal(lastHop(p), CASES[i].want, `${CASES[i].name}: got ${p.hops.map((h) => `${h.layer}:${h.verdict}:${h.reason ?? ''}`).join(' ')}`);
        assert.equal(p.path, 'bypass');
        assert.equal((p.flags & PacketFlag.OFFLOAD) !== 0, flagged, `${CASES[i].name}: flagged OFFLOAD ${flagged ? 'as in the file' : 'only when the file says so'}`);
      });
      assert.deepEqual(drops, { 'bypass.tcp: tcp-bad-checksum': 1, 'bypass.udp: udp-bad-checksum': 1 });
    });
  }

  it('behind impairments a marked frame is completed as a device with offloads completes it, and then checks', async () => {
    const partial = CASES.slice(0, 4);
    const { ps, drops } = await replay(ourFile(partial), { delayMs: 1 });
    assert.equal(ps.length, partial.length);
    ps.forEach((p, i) => {
      assert.equal(lastHop(p), partial[i].want.replace(NOTE, ''), `${partial[i].name}: completed, so no note`);
      assert.equal(p.flags & PacketFlag.OFFLOAD, 0, 'impairments sit on a wire of plain frames');
    });
    assert.deepEqual(drops, {});
  });
});
