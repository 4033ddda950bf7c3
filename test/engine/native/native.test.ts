// native/: TAP and AF_PACKET I/O through koffi, the one wait in flight, the batch cap, and the errors
// that name a missing privilege. Devices exist only in namespaces these tests make (native-cases.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Poller } from '../../../native/index';
import { labProblem, ROOT, runInNamespace } from '../../interop/lab-support';

const CASES = join(__dirname, 'native-cases.ts');
const skip = labProblem();

function resultOf(stdout: string, stderr: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  const parsed = line === undefined ? undefined : (JSON.parse(line) as { result?: Record<string, unknown>; error?: string });
  if (parsed?.result === undefined) throw new Error(`native case failed: ${parsed?.error ?? stdout}\n${stderr}`);
  return parsed.result;
}

async function inNamespace(name: string): Promise<Record<string, unknown>> {
  const r = await runInNamespace([process.execPath, '--import', 'tsx', CASES, name], 90_000);
  return resultOf(r.stdout, r.stderr);
}

/** Runs a case in a process of its own (with `prefix` before node: e.g. `unshare -U -n`, a user namespace with no capabilities). */
function inProcess(name: string, prefix: readonly string[], nodeArgs: readonly string[] = []): Promise<Record<string, unknown>> {
  const argv = [...prefix, process.execPath, ...nodeArgs, '--import', 'tsx', CASES, name];
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(resultOf(stdout, stderr));
      } catch (e) {
        reject(e);
      }
    });
  });
}

describe('native: the wait', { skip: process.platform !== 'linux' }, () => {
  it('keeps one wait in flight: a second is refused while the first waits', async () => {
    const p = new Poller();
    const done = new Promise<readonly number[]>((resolve) => p.wait(5000, resolve));
    assert.throws(() => p.wait(10, () => {}), /already in flight/);
    p.wake();
    assert.deepEqual(await done, [], 'a wake-up lists no fd');
    p.close();
  });

  it('leaves the rest of the thread pool free while it waits (file reads go on)', async () => {
    const p = new Poller();
    const done = new Promise<void>((resolve) => p.wait(5000, () => resolve()));
    const text = await readFile(join(ROOT, 'package.json'), 'utf8');
    assert.match(text, /"koffi": "3\.3\.4"/);
    p.close();
    await done;
  });
});

describe('native: devices in a private namespace', { skip }, () => {
  it('reads a flood from a TAP at most one batch per step, every frame, with one wait in flight', async () => {
    const r = (await inNamespace('tap-batch')) as { sent: number; udp: number; maxPerStep: number; batch: number; perStep: number[]; waits: number };
    assert.equal(r.udp, r.sent, `frames read: ${r.udp}, sent ${r.sent}`);
    assert.ok(r.maxPerStep <= r.batch, `a step read ${r.maxPerStep} frames, the batch is ${r.batch}`);
    assert.ok(r.perStep.length >= Math.ceil(r.sent / r.batch), `steps that read: ${r.perStep.length}`);
    assert.equal(r.waits, 1, `two waitForWork calls started ${r.waits} epoll waits, want 1`);
  });

  it('reads sparse traffic one frame a step in sync mode, and a flood after it to the last frame, no step past the batch', async () => {
    type R = { lone: { udp: number; sparseReads: number }[]; udp: number; want: number; maxPerStep: number; batch: number };
    const r = (await inNamespace('tap-sparse')) as R;
    assert.deepEqual(r.lone[0], { udp: 1, sparseReads: 0 }, 'the first lone frame: read by a whole-batch read');
    assert.deepEqual(r.lone[1], { udp: 2, sparseReads: 1 }, 'the second lone frame: read by a one-frame read');
    assert.equal(r.udp, r.want, `frames read: ${r.udp}, want ${r.want}`);
    assert.ok(r.maxPerStep <= r.batch, `a step read ${r.maxPerStep} frames, the batch is ${r.batch}`);
  });

  it('carries TCP both ways with Linux over a TAP with offloads: GSO frames read, TSO frames written, every byte intact', async () => {
    const r = (await inNamespace('tap-offload')) as {
      closed: boolean; upWant: string; upGot: string; oursGot: number; downWant: string; downGot: string; linuxGot: number;
      counters: { rxGso: number; txTso: number; rxChecksumPartial: number }; tsoSegments: number; badChecksum: number;
    };
    assert.ok(r.closed, `the connection did not close cleanly: ${JSON.stringify(r)}`);
    assert.equal(r.oursGot, 8 << 20, 'bytes our stack read from Linux');
    assert.equal(r.upGot, r.upWant, 'SHA-256 of what our stack read (Linux sent GSO frames)');
    assert.equal(r.linuxGot, 8 << 20, 'bytes Linux read from our stack');
    assert.equal(r.downGot, r.downWant, 'SHA-256 of what Linux read (our stack sent TSO frames)');
    assert.ok(r.counters.rxGso > 0, `GSO frames read: ${r.counters.rxGso}, want some (the kernel hands the TAP super-frames)`);
    assert.ok(r.counters.rxChecksumPartial > 0, `frames with a partial checksum: ${r.counters.rxChecksumPartial}, want some`);
    assert.ok(r.counters.txTso > 0 && r.tsoSegments === r.counters.txTso, `TSO frames written: ${r.counters.txTso} (stack: ${r.tsoSegments}), want some and equal`);
    assert.equal(r.badChecksum, 0, 'segments dropped for a bad checksum');
  });

  it('serves Linux in each wait mode: async on the pool thread, sync, poll and spin on the main thread, parked when idle', async () => {
    type M = { closed: boolean; echoed: number; want: number; match: boolean; pingAfterIdle: string; counters: { waits: number; syncWaits: number; parks: number } };
    const r = (await inNamespace('driver-modes')) as Record<'async' | 'sync' | 'poll' | 'spin', M>;
    for (const mode of ['async', 'sync', 'poll', 'spin'] as const) {
      const m = r[mode];
      assert.ok(m.closed && m.match && m.echoed === m.want, `${mode}: echoed ${m.echoed} of ${m.want} bytes, digest ${m.match ? 'matches' : 'differs'}`);
      assert.equal(m.pingAfterIdle, 'ok', `${mode}: ping after ${'idle'}`);
    }
    assert.equal(r.async.counters.syncWaits, 0, 'async: waits on the main thread');
    assert.ok(r.async.counters.waits > 0, 'async: waits on the pool thread');
    for (const mode of ['sync', 'poll', 'spin'] as const) {
      assert.ok(r[mode].counters.syncWaits > 0, `${mode}: waits on the main thread: ${r[mode].counters.syncWaits}`);
      assert.ok(r[mode].counters.parks > 0, `${mode}: parked after idling: ${r[mode].counters.parks}`);
    }
  });

  it('serves TCP on AF_PACKET over veth: partial checksums completed, the rules\' cBPF keeps other frames in the kernel', async () => {
    const r = (await inNamespace('afpacket')) as { linux: { sent?: string; echoed?: string; n?: number }; received: string; udpSeen: number; checksumsCompleted: number; stackTcpBadChecksum: number };
    assert.match(r.linux.sent ?? '', /^[0-9a-f]{64}$/, `the Linux client reported nothing: ${JSON.stringify(r)}`);
    assert.equal(r.received, r.linux.sent, 'bytes the stack received differ from what Linux sent');
    assert.equal(r.linux.echoed, r.linux.sent, 'the echo Linux got back differs from what it sent');
    assert.ok(r.checksumsCompleted > 0, 'no CHECKSUM_PARTIAL frame was seen on veth (did PACKET_AUXDATA work?)');
    assert.equal(r.stackTcpBadChecksum, 0, `segments dropped for a bad checksum: ${r.stackTcpBadChecksum}`);
    assert.equal(r.udpSeen, 0, `UDP datagrams to a kernel-path port reached the engine: ${r.udpSeen}, want 0 (filtered in the kernel)`);
  });
});

describe('native: errors', { skip }, () => {
  it('names the missing privilege and the command that grants it', async () => {
    // A user namespace whose process has no capabilities (its uid is unmapped), and a network namespace it cannot configure.
    const r = (await inProcess('no-caps', ['unshare', '-U', '-n'])) as { createTap: string; attachMissing: string; packetSocket: string };
    assert.match(r.createTap, /CAP_NET_ADMIN/);
    assert.match(r.createTap, /unshare -Urn/);
    assert.match(r.createTap, /ip tuntap add dev bsnocap0 mode tap user/);
    assert.match(r.attachMissing, /no network device 'bsmissing0'.*ip tuntap add dev bsmissing0 mode tap user/);
    assert.match(r.packetSocket, /CAP_NET_RAW/);
    assert.match(r.packetSocket, /setcap cap_net_raw/);
  });

  it('says koffi is missing only when a native backend is asked for; the sim runs without it', async () => {
    const r = (await inProcess('no-koffi', [], ['--require', join(__dirname, 'no-koffi.cjs')])) as { error: string; poller: string; simRan: string; simVerified: boolean };
    assert.match(r.error, /koffi package \(3\.3\.4\) could not be loaded/);
    assert.match(r.error, /npm ci/);
    assert.match(r.poller, /koffi/);
    assert.equal(r.simRan, 'workloads-done');
    assert.equal(r.simVerified, true);
  });
});
