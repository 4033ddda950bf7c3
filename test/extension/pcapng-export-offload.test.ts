// The extension's pcapng export carries the OFFLOAD flag as the CLI's --out does (one function,
// engine/trace/packet-comment.ts): a lab-like file whose frames are marked csum=partial is replayed
// by the forked engine, its records come back flagged OFFLOAD, and the export of the store marks
// exactly those frames again (the comment's token and epb_flags bit 9), with the format in the
// section header.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureWriter, openCaptureFile } from '../../engine/trace/capture-file';
import { EPB_FLAG_CHECKSUM_NOT_READY, LinkType } from '../../engine/trace/capture-format';
import { epbFlags, packetComment, PCAPNG_COMMENT_FORMAT, readPacketComment } from '../../engine/trace/packet-comment';
import { PacketFlag } from '../../engine/trace/schema';
import { CaptureStore } from '../../extension/capture-store';
import { exportPcapng } from '../../extension/pcapng-export';
import { tcp4Frame } from '../support/packet-builder';
import { LAB_LINUX_SYN, LAB_LINUX_UDP } from '../support/offload-frames';
import { recordCapture } from './support';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'bypass-scope-export-offload-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pcapng export: checksum offload', () => {
  it('marks the frames of records flagged OFFLOAD, and only those, as the CLI does', async () => {
    const source = join(dir, 'lab-like.pcapng');
    const w = createCaptureWriter(source, 'pcapng', { comment: PCAPNG_COMMENT_FORMAT });
    w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 1e9 });
    const frames = [
      { data: LAB_LINUX_SYN, flags: PacketFlag.OFFLOAD },
      { data: tcp4Frame('198.18.0.1', '198.18.0.2', { srcPort: 40001, dstPort: 9000, seq: 1, ack: 0, flags: 0x02, window: 500 }), flags: 0 },
      { data: LAB_LINUX_UDP, flags: PacketFlag.OFFLOAD },
    ];
    frames.forEach((f, i) => {
      const comment = packetComment({ path: 'bypass', rule: 'default', direction: 'rx', connId: 0, flags: f.flags, hops: 'nic.rx@0' });
      w.writePacket({ interfaceId: 0, tsSec: 1000, tsNsec: i * 1000, data: f.data, direction: 'inbound', flags: epbFlags(f.flags), comment });
    });
    w.close();

    const run = await recordCapture({ backend: 'pcap', file: source, scenario: undefined, lossless: undefined, rules: { text: 'default bypass\n', source: 'test' } });
    const store = new CaptureStore(1000);
    for (const b of run.batches) assert.equal(store.addBatch(b).error, undefined);
    const stored = [...store.packets()];
    assert.deepEqual(stored.map((p) => p.flags & PacketFlag.OFFLOAD), frames.map((f) => f.flags), 'the replayed records are flagged as the file says');

    const res = exportPcapng(store, { ruleName: (i) => `rules:${i}`, interfaceName: 'replay0', interfaceDescription: 'replay' });
    assert.equal(res.written, frames.length);
    const out = join(dir, 'export.pcapng');
    writeFileSync(out, res.bytes);
    const r = openCaptureFile(out);
    try {
      const got = [...r].map((p) => ({ comment: readPacketComment(p.comment), bit9: ((p.flags ?? 0) & EPB_FLAG_CHECKSUM_NOT_READY) !== 0, raw: p.comment }));
      got.forEach((g, i) => {
        const offloaded = frames[i].flags !== 0;
        assert.ok(g.comment !== undefined, `frame ${i + 1}: a comment of ours, got ${g.raw}`);
        assert.equal(g.comment.offload, offloaded, `frame ${i + 1}: csum=partial in ${g.raw}`);
        assert.equal(g.bit9, offloaded, `frame ${i + 1}: epb_flags bit 9`);
        // The replay's own hop note travels too.
        if (offloaded) assert.match(g.comment.hops, /bypass\.(tcp|udp)@\d+(\+\d+)?\(checksum partial: left to the device \(checksum offload\)\)/);
      });
    } finally {
      r.close();
    }
  });
});
