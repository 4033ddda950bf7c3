// The pcapng packet comment and epb_flags of a trace record (engine/trace/packet-comment.ts): what
// the CLI's --out and the extension's export write, and what a replay reads back — the OFFLOAD flag
// above all, which must come back exactly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureWriter, openCaptureFile } from '../../../engine/trace/capture-file';
import { EPB_FLAG_CHECKSUM_NOT_READY, LinkType, type CapturedPacket } from '../../../engine/trace/capture-format';
import { epbFlags, hopText, offloadedInFile, OFFLOAD_TOKEN, packetComment, PCAPNG_COMMENT_FORMAT, readPacketComment } from '../../../engine/trace/packet-comment';
import { PacketFlag } from '../../../engine/trace/schema';
import { LAB_LINUX_SYN, LAB_LINUX_UDP } from '../../support/offload-frames';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'bypass-scope-comment-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

function readAll(file: string): (CapturedPacket & { data: Uint8Array })[] {
  const r = openCaptureFile(file);
  try {
    return [...r].map((p) => ({ ...p, data: p.data.slice() }));
  } finally {
    r.close();
  }
}

const HOPS = [
  hopText('nic.rx', 0, 0, 'measured', 'pass', undefined),
  hopText('steer', 0, 1200.4, 'measured', 'pass', undefined),
  hopText('bypass.tcp', 1200.4, 800, 'measured', 'deliver', 'checksum partial: left to the device (checksum offload)'),
].join(' ');

describe('pcapng packet comments', () => {
  it('the pcapng comment round-trips the flag (write, read back, flag seen)', () => {
    const file = join(dir, 'flags.pcapng');
    const w = createCaptureWriter(file, 'pcapng', { comment: PCAPNG_COMMENT_FORMAT });
    w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 1e9 });
    const records = [
      { path: 'bypass', rule: 'my rules.bypass:3', direction: 'rx', connId: 7, flags: PacketFlag.OFFLOAD, hops: HOPS, data: LAB_LINUX_SYN },
      { path: 'kernel', rule: 'default', direction: 'rx', connId: 0, flags: 0, hops: HOPS, data: LAB_LINUX_UDP },
      { path: 'bypass', rule: '-', direction: 'tx', connId: 7, flags: PacketFlag.OFFLOAD | PacketFlag.RETRANSMISSION, hops: HOPS, data: LAB_LINUX_SYN },
      { path: 'drop', rule: 'default', direction: 'rx', connId: 0, flags: PacketFlag.RETRANSMISSION, hops: 'steer@0+5!drop:default rule', data: LAB_LINUX_UDP },
    ] as const;
    records.forEach((r, i) =>
      w.writePacket({ interfaceId: 0, tsSec: 1, tsNsec: i, data: r.data, direction: r.direction === 'rx' ? 'inbound' : 'outbound', flags: epbFlags(r.flags), comment: packetComment(r) }),
    );
    w.close();
    const got = readAll(file);
    assert.equal(got.length, records.length);
    got.forEach((p, i) => {
      const want = records[i];
      const offloaded = (want.flags & PacketFlag.OFFLOAD) !== 0;
      const c = readPacketComment(p.comment);
      assert.deepEqual(c, { path: want.path, rule: want.rule, direction: want.direction, connId: want.connId, offload: offloaded, hops: want.hops }, `packet ${i + 1}: comment ${p.comment}`);
      assert.equal(offloadedInFile(p), offloaded, `packet ${i + 1}: flag seen`);
      assert.equal(((p.flags ?? 0) & EPB_FLAG_CHECKSUM_NOT_READY) !== 0, offloaded, `packet ${i + 1}: epb_flags bit 9`);
      assert.equal(p.direction, want.direction === 'rx' ? 'inbound' : 'outbound', `packet ${i + 1}: direction kept beside the flag`);
      assert.equal(p.comment?.includes(OFFLOAD_TOKEN), offloaded, `packet ${i + 1}: ${OFFLOAD_TOKEN} only on OFFLOAD records`);
    });
  });

  it('writes the token before hops=, so that hops with spaces in their notes cannot hide or fake it', () => {
    const c = packetComment({ path: 'bypass', rule: 'default', direction: 'rx', connId: 0, flags: PacketFlag.OFFLOAD, hops: HOPS });
    assert.match(c, /^path=bypass rule=default dir=rx csum=partial hops=nic\.rx@0 steer@0\+1200 bypass\.tcp@1200\+800\(checksum partial: left to the device \(checksum offload\)\)$/);
    const faked = packetComment({ path: 'bypass', rule: 'default', direction: 'rx', connId: 0, flags: 0, hops: 'bypass.udp@0(note csum=partial)' });
    assert.equal(readPacketComment(faked)?.offload, false);
    assert.equal(offloadedInFile({ comment: faked }), false);
  });

  it('takes no mark from a comment that is not ours, and takes bit 9 of epb_flags from any writer', () => {
    for (const comment of ['csum=partial', 'path=bypass csum=partial hops=x', 'offloaded frame, csum=partial', '']) {
      assert.equal(readPacketComment(comment), undefined, comment);
      assert.equal(offloadedInFile({ comment }), false, comment);
    }
    assert.equal(offloadedInFile({ flags: EPB_FLAG_CHECKSUM_NOT_READY | 1 }), true);
    assert.equal(offloadedInFile({ flags: 1 }), false);
    assert.equal(offloadedInFile({}), false);
  });

  it('documents the token in the format written into the section header', () => {
    assert.ok(PCAPNG_COMMENT_FORMAT.includes(`[${OFFLOAD_TOKEN}]`), 'the comment grammar has the token');
    assert.match(PCAPNG_COMMENT_FORMAT, /csum=partial \(with epb_flags bit 9, "checksum not ready"\) marks a frame/);
    assert.equal(epbFlags(0), undefined);
    assert.equal(epbFlags(PacketFlag.OFFLOAD), EPB_FLAG_CHECKSUM_NOT_READY);
  });
});
