// A lab capture with the TAPs' offloads on (`bypass-scope capture --backend lab --out`, which runs
// itself in a private namespace of its own, gone when it exits), replayed: the frames the stacks
// received with partial checksums are marked csum=partial in the file, their checksums are in the
// exact form our dissector calls partial (Linux's CHECKSUM_PARTIAL: the folded pseudo-header sum),
// and the replay steers every received packet down the path it took live, with the same verdict —
// no bad-checksum drops — flagged OFFLOAD again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_OFFLOADS_ENV } from '../../engine/backends/lab';
import { pcapBackend } from '../../engine/backends/pcap';
import { CaptureSession } from '../../engine/capture/session';
import { parseRules } from '../../engine/steer/rules';
import { StringTable, decodeBatch } from '../../engine/trace/codec';
import { openCaptureFile } from '../../engine/trace/capture-file';
import { offloadedInFile, readPacketComment, type ReadComment } from '../../engine/trace/packet-comment';
import { PacketFlag, type PacketRecord } from '../../engine/trace/schema';
import { dissect } from '../../engine/wire/dissect';
import { labProblem, ROOT, runChild, type ChildResult } from './lab-support';

const skip = labProblem();

interface FilePacket {
  readonly comment: ReadComment;
  readonly offloaded: boolean;
  readonly status: 'good' | 'partial' | 'bad' | 'none';
  readonly layer: 'tcp' | 'udp' | undefined;
}

function runCli(args: readonly string[], timeoutMs: number): Promise<ChildResult> {
  return runChild(process.execPath, [join(ROOT, 'out/engine/cli.js'), ...args], timeoutMs, { [LAB_OFFLOADS_ENV]: '1' });
}

describe('lab: partial checksums in a capture file', { skip }, () => {
  let dir: string;
  let file: string;
  let inFile: FilePacket[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bypass-scope-lab-offload-'));
    file = join(dir, 'lab.pcapng');
    const r = await runCli(['capture', '--backend', 'lab', '--scenario', 'mixed', '--duration', '4', '--quiet', '--out', file], 90_000);
    assert.equal(r.code, 0, `lab capture: exit ${r.code}: ${r.stderr}\n${r.stdout}`);
    const reader = openCaptureFile(file);
    try {
      inFile = [...reader].map((p) => {
        const comment = readPacketComment(p.comment);
        assert.ok(comment !== undefined, `a comment of ours on every packet: got ${p.comment}`);
        const d = dissect(p.data);
        const t = d.tcp ?? d.udp;
        const status = t === undefined || t.checksumValid === undefined ? 'none' : t.checksumValid ? 'good' : t.checksumPartial ? 'partial' : 'bad';
        return { comment, offloaded: offloadedInFile(p), status, layer: d.tcp ? 'tcp' : d.udp ? 'udp' : undefined };
      });
    } finally {
      reader.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("marks the offloaded frames csum=partial, and their checksums are the folded pseudo-header sum or complete, never anything else", () => {
    for (const layer of ['tcp', 'udp'] as const) {
      const marked = inFile.filter((p) => p.layer === layer && p.offloaded);
      assert.ok(marked.some((p) => p.status === 'partial'), `${layer}: a marked frame with a partial checksum (of ${marked.length} marked)`);
      for (const p of marked) assert.notEqual(p.status, 'bad', `${layer}: a marked frame whose checksum is neither complete nor partial: ${JSON.stringify(p.comment)}`);
    }
    const bad = inFile.filter((p) => p.status === 'bad');
    assert.deepEqual(bad, [], 'no frame of the lab has a bad checksum');
  });

  it('replays every received packet down the path it took live, with the same verdict, flagged OFFLOAD as it was', async () => {
    const s = new CaptureSession({ rules: parseRules(readFileSync(join(ROOT, 'examples', 'routing.bypass'), 'utf8')), backend: pcapBackend({ file }) });
    const replayed: PacketRecord[] = [];
    const strings = new StringTable();
    s.onBatches.push((bs) => {
      for (const b of bs) decodeBatch(b, strings, (r) => r.type === 'packet' && replayed.push(r));
    });
    assert.equal(await s.run({}), 'idle');
    assert.equal(replayed.length, inFile.length);
    const drops = Object.keys(s.snapshot().drops).filter((k) => /checksum/.test(k));
    assert.deepEqual(drops, [], 'no checksum drops in the replay');
    let compared = 0;
    replayed.forEach((p, i) => {
      const live = inFile[i];
      assert.equal((p.flags & PacketFlag.OFFLOAD) !== 0, live.offloaded, `packet ${i + 1}: OFFLOAD flag as in the file`);
      // Frames the stacks sent, and ARP replies (not steered live), are someone else's frames to a replay: only received, steered packets took a path live.
      if (live.comment.direction !== 'rx' || live.comment.path === 'none') return;
      compared++;
      const liveDropped = /!drop:[^@]*$/.test(live.comment.hops);
      const last = p.hops.at(-1);
      assert.equal(p.path, live.comment.path, `packet ${i + 1}: path (live hops ${live.comment.hops})`);
      assert.equal(last?.verdict === 'drop', liveDropped, `packet ${i + 1}: dropped live ${liveDropped}, in replay ${last?.layer}:${last?.verdict}:${last?.reason ?? ''}`);
    });
    assert.ok(compared > 100, `received packets compared: ${compared}`);
  });
});
