// Interop with Linux TCP, both ways, through the lab: Linux clients (Node's net and curl in the peer
// namespace) to servers on the bypass stack, bypass clients to Linux servers; 64 MiB each way with
// matching SHA-256 on a clean wire (lab-tcp-loss.test.ts has 1% and 5% loss plus reordering).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labProblem, runCase, sameHash, type Bulk } from './lab-support';

const MiB64 = 64 * 1024 * 1024;
const skip = labProblem();

describe('lab: bulk TCP between the bypass stack and Linux', { skip }, () => {
  it('a Linux client (Node net) sends 64 MiB to a bypass server intact', async () => {
    const r = await runCase<Bulk>('bulk', { mode: 'node-upload', bytes: MiB64 });
    sameHash(r.linuxSent, r.bypassReceived, 'Linux → bypass');
    assert.equal(r.bypassBytes, MiB64, `bypass server got ${r.bypassBytes} bytes, want ${MiB64}`);
  });

  it('curl downloads 64 MiB from a bypass HTTP server intact', async () => {
    const r = await runCase<Bulk>('bulk', { mode: 'curl-download', bytes: MiB64 });
    sameHash(r.bypassSent, r.curlReceived, 'bypass → curl');
  });

  it('a bypass client sends 64 MiB to a Linux server intact', async () => {
    const r = await runCase<Bulk>('bulk', { mode: 'bypass-upload', bytes: MiB64 });
    sameHash(r.bypassSent, r.linuxReceived, 'bypass → Linux');
    assert.equal(r.linuxBytes, MiB64, `Linux server got ${r.linuxBytes} bytes, want ${MiB64}`);
  });

  it('a bypass client downloads 64 MiB from a Linux server intact', async () => {
    const r = await runCase<Bulk>('bulk', { mode: 'bypass-download', bytes: MiB64 });
    sameHash(r.linuxSent, r.bypassReceived, 'Linux → bypass');
  });
  it('a Linux client sends 64 MiB to a server on the host kernel intact, GSO frames forwarded whole through the kernel path', async () => {
    const r = await runCase<Bulk & { kernelReceived?: string; kernelBytes?: number; trace: { offloadRecords: number; largestFrame: number } }>('bulk', { mode: 'kernel-upload', bytes: MiB64 });
    sameHash(r.linuxSent, r.kernelReceived, 'Linux → host kernel');
    assert.equal(r.kernelBytes, MiB64, `kernel server got ${r.kernelBytes} bytes, want ${MiB64}`);
    assert.ok(r.trace.offloadRecords > 0 && r.trace.largestFrame > 1514, `the trace shows offloaded frames: ${JSON.stringify(r.trace)}, want OFFLOAD records and frames over 1514 bytes`);
  });

  it('with the TAP offloads off, a Linux client sends 64 MiB to a bypass server intact in frames of at most 1514 bytes', async () => {
    const r = await runCase<Bulk & { trace: { offloadRecords: number; largestFrame: number } }>('bulk', { mode: 'node-upload', bytes: MiB64, offloads: false });
    sameHash(r.linuxSent, r.bypassReceived, 'Linux → bypass');
    assert.deepEqual(r.trace, { offloadRecords: 0, largestFrame: r.trace.largestFrame }, 'no record flagged OFFLOAD');
    assert.ok(r.trace.largestFrame <= 1514, `largest frame ${r.trace.largestFrame}, want at most 1514`);
  });
});
