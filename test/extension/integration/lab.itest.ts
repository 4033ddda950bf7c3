// test/extension/integration: the lab backend from VS Code — Start Capture runs a real lab capture in
// an engine of its own inside a private network namespace (the real Linux kernel on the kernel path),
// its packets take both paths with kernel hops the real kernel's (a measured span, no emulated hop),
// and when it stops its engine, namespaces and processes are gone. Needs root or unprivileged user
// namespaces (the tests run as root here).
import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import * as vscode from 'vscode';
import type { Capture } from '../../../extension/capture-controller';
import { api, noLiveCapture, startCapture, until } from './helpers';

function netnsOf(pid: number | string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** The processes under `pid` (children, recursively), from /proc/PID/task/TID/children. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        visit(k);
      }
    }
  };
  visit(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Processes of the machine whose network namespace is one of `spaces`. */
function inNamespaces(spaces: ReadonlySet<string>): string[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d) && spaces.has(netnsOf(d) ?? ''));
}

/** The lab engine, its namespace and the namespaces of what it started (the peer namespace's holder). */
function labFootprint(pid: number): { pids: number[]; spaces: Set<string> } {
  const pids = [pid, ...descendants(pid)];
  return { pids, spaces: new Set(pids.map((p) => netnsOf(p)).filter((n): n is string => n !== undefined && n !== netnsOf('self'))) };
}

async function assertNothingLeft(footprint: { pids: number[]; spaces: Set<string> }): Promise<void> {
  await until(`the lab's processes ${footprint.pids.join(', ')} to end`, () => footprint.pids.every((p) => !alive(p)), 10_000);
  assert.deepEqual(inNamespaces(footprint.spaces), [], 'no process is left in the lab\'s namespaces');
}

describe('lab captures from VS Code', () => {
  it('Start Capture → lab runs the mixed scenario in a private namespace, on both paths with the real kernel\'s hops, and leaves nothing behind', async () => {
    const a = await api();
    await noLiveCapture(a);
    await a.engine.ensure();
    const shared = a.engine.pid!;
    const c: Capture = await startCapture(a, { backend: 'lab', scenario: 'mixed' });
    assert.equal(a.engine.place.kind, 'lab');
    const pid = a.engine.pid!;
    assert.notEqual(pid, shared, 'a second engine process');
    assert.equal(a.engine.parkedPid, shared, 'the shared engine waits meanwhile');
    assert.notEqual(netnsOf(pid), netnsOf('self'), 'the lab engine runs in a network namespace of its own');
    assert.ok(a.engine.current!.hello.backends.includes('lab'));
    await until('the peer namespace', () => labFootprint(pid).spaces.size >= 2);
    const footprint = labFootprint(pid);
    // Real time: the scenario's workloads end it by themselves within a few seconds.
    await until(`the lab capture to stop (it is ${c.state} ${c.error ?? ''})`, () => c.state === 'stopped', 30_000);
    assert.equal(c.summary?.reason, 'workloads-done');
    const totals = c.store.pathTotals();
    assert.ok(totals.bypass > 100 && totals.kernel > 50, `packets on both paths: ${JSON.stringify(totals)}`);
    // The kernel path is Linux behind tap-host: a measured write into it, one measured span across the kernel, no emulation.
    const kernelHops = [...c.store.packets()].filter((p) => p.path === 'kernel').flatMap((p) => c.store.hopsOf(p));
    assert.ok(kernelHops.length > 0);
    assert.deepEqual(kernelHops.filter((h) => h.kind === 'emulated').map((h) => h.layer), [], 'no emulated hop in a lab capture');
    const spans = kernelHops.filter((h) => h.layer === 'kernel.stack');
    assert.ok(spans.length > 10 && spans.every((h) => h.kind === 'span'), `kernel.stack hops: ${spans.length}, kinds ${[...new Set(spans.map((h) => h.kind))]}`);
    assert.ok(spans.some((h) => h.durationNs > 0), 'the span across the kernel has its measured time');
    assert.ok(c.store.connections().some((x) => x.stack === 'bypass'), 'the bypass stack\'s TCP connections');
    await assertNothingLeft(footprint);
    await until('the shared engine to be the one talked to again', () => a.engine.place.kind === 'shared' && a.engine.pid === shared);
  });

  it('Stop Capture stops a lab capture; its engine and namespaces go with it, and a sim capture runs next on the shared engine', async () => {
    const a = await api();
    await noLiveCapture(a);
    const c = await startCapture(a, { backend: 'lab', scenario: 'idle' });
    const pid = a.engine.pid!;
    await until('the peer namespace', () => labFootprint(pid).spaces.size >= 2);
    const footprint = labFootprint(pid);
    assert.equal(await vscode.commands.executeCommand('bypassScope.stopCapture'), true);
    assert.equal(c.state, 'stopped');
    assert.equal(c.summary?.reason, 'stopped');
    await assertNothingLeft(footprint);
    const sim = await startCapture(a, { backend: 'sim', speed: 'max', lossless: true });
    assert.equal(a.engine.place.kind, 'shared');
    await until('the sim capture to stop', () => sim.state === 'stopped', 30_000);
    assert.ok(sim.store.totalPackets > 0);
  });

  it('lab addresses from the settings that are not one network are refused before any engine starts, saying which setting', async () => {
    const a = await api();
    await noLiveCapture(a);
    const config = vscode.workspace.getConfiguration('bypassScope');
    await config.update('lab.peerAddress', '10.1.2.3', vscode.ConfigurationTarget.Global);
    try {
      const before = a.controller.captures.length;
      await assert.rejects(a.controller.start({ backend: 'lab', scenario: 'idle', impairment: 'none' }), /lab: the host 198\.18\.0\.2 and the peer 10\.1\.2\.3 must be two addresses on one \/15 network/);
      const c = await vscode.commands.executeCommand('bypassScope.startCapture', { backend: 'lab', scenario: 'idle', rulesUri: undefined, impairment: 'none' });
      assert.equal(c, undefined, 'the command says so and starts nothing');
      assert.equal(a.controller.captures.length, before, 'no capture was made');
      assert.equal(a.engine.place.kind, 'shared');
    } finally {
      await config.update('lab.peerAddress', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
