// Interop with Linux TCP under loss, through the lab: 64 MiB each way between Linux (Node's net in
// the peer namespace) and the bypass stack, with the engine's impairments on the wire side at 1% and
// 5% loss plus reordering, SHA-256 matched. (A file of its own so that it runs beside the others.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labProblem, runCase, sameHash, type Bulk } from './lab-support';

const MiB64 = 64 * 1024 * 1024;
const skip = labProblem();

describe('lab: bulk TCP between the bypass stack and Linux, under loss', { skip }, () => {
  for (const [loss, reorder] of [
    [0.01, 0.01],
    [0.05, 0.02],
  ] as const) {
    const label = `${loss * 100}% loss and ${reorder * 100}% reordering`;
    it(`with ${label} on the wire, 64 MiB from Linux to the bypass stack arrive intact`, async () => {
      const r = await runCase<Bulk>('bulk', { mode: 'node-upload', bytes: MiB64, loss, reorder }, 180_000);
      sameHash(r.linuxSent, r.bypassReceived, `Linux → bypass at ${label}`);
      assert.ok((r.impaired?.loss ?? 0) > 0, `the impairments dropped no frame (counters ${JSON.stringify(r.impaired)})`);
      assert.ok((r.impaired?.reordered ?? 0) > 0, `the impairments reordered no frame (counters ${JSON.stringify(r.impaired)})`);
    });
    it(`with ${label} on the wire, 64 MiB from the bypass stack to Linux arrive intact`, async () => {
      const r = await runCase<Bulk>('bulk', { mode: 'bypass-upload', bytes: MiB64, loss, reorder }, 180_000);
      sameHash(r.bypassSent, r.linuxReceived, `bypass → Linux at ${label}`);
      assert.ok((r.impaired?.loss ?? 0) > 0, `the impairments dropped no frame (counters ${JSON.stringify(r.impaired)})`);
    });
  }
});
