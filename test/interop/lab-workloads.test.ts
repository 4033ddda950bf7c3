// Every workload of engine/workloads runs in the lab with Linux programs as the peers (the `mixed`
// scenario holds them all: udp-feed, http, rr, echo, bulk, ping), and the kernel path's hops are the
// measured write into tap-host, one kernel.stack span and the measured socket read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labProblem, runCase } from './lab-support';

const skip = labProblem();

describe('lab: the workloads', { skip }, () => {
  it('runs every workload of the mixed scenario against Linux peers, verified', async () => {
    const r = await runCase<{ reason: string; workloads: { name: string; done: boolean; verified: boolean; summary: string }[]; paths: Record<string, number>; kernelHops: Record<string, number> }>('scenario', { name: 'mixed' });
    assert.deepEqual(r.workloads.map((w) => w.name).sort(), ['bulk', 'echo', 'http', 'ping', 'rr', 'udp-feed']);
    for (const w of r.workloads) assert.ok(w.done && w.verified, `workload ${w.summary}`);
    assert.ok((r.paths.bypass ?? 0) > 0 && (r.paths.kernel ?? 0) > 0, `packets per path: ${JSON.stringify(r.paths)}`);
    assert.ok((r.kernelHops['kernel.driver:measured'] ?? 0) > 0, `kernel hops: ${JSON.stringify(r.kernelHops)}`);
    assert.ok((r.kernelHops['kernel.stack:span'] ?? 0) > 0, `no kernel.stack span: ${JSON.stringify(r.kernelHops)}`);
    assert.ok((r.kernelHops['kernel.socket:measured'] ?? 0) > 0, `no measured kernel.socket hop: ${JSON.stringify(r.kernelHops)}`);
    assert.equal(r.kernelHops['kernel.tcp:emulated'], undefined, 'an emulated kernel hop in the lab');
  });
});
