// The lab leaves nothing behind, even after a crash: the engine runs in its own namespace (started
// by EngineClient under unshare), the peer namespace lives as long as a holder tied to the engine by
// a pipe, the TAP devices as long as their fds. Killing the engine with SIGKILL ends them all.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { namespaceInterfaces } from '../../engine/backends/lab-topology';
import { EngineClient } from '../../engine/client';
import { labProblem, ROOT } from './lab-support';

const skip = labProblem();

/** Processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Processes (that we may look at) in network namespace `ns` (`net:[inode]`). */
function processesIn(ns: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/net`) === ns) out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  for (let t = 0; t < ms; t += 50) {
    if (what()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return what();
}

describe('lab: teardown', { skip }, () => {
  it('leaves no process, namespace or device behind when the engine is killed mid-capture', async () => {
    const ours = namespaceInterfaces();
    const client = await EngineClient.start({ enginePath: join(ROOT, 'out/engine/main.js'), privateNetworkNamespace: true, stderr: 'pipe' });
    const pid = client.hello.pid;
    assert.ok(client.hello.backends.includes('lab'), `the engine offers ${client.hello.backends.join(', ')}`);
    await client.start({ backend: 'lab', scenario: 'echo' });
    const engineNs = readlinkSync(`/proc/${pid}/ns/net`);
    assert.notEqual(engineNs, readlinkSync('/proc/self/ns/net'), 'the engine runs in our own network namespace');
    const holders = childrenOf(pid).filter((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith('cat'));
    assert.equal(holders.length, 1, `peer namespace holders: ${holders.length}, want 1`);
    const peerNs = readlinkSync(`/proc/${holders[0]}/ns/net`);
    assert.notEqual(peerNs, engineNs);

    process.kill(pid, 'SIGKILL');
    await client.exited;
    assert.ok(await until(() => processesIn(engineNs).length === 0 && processesIn(peerNs).length === 0, 5000), `processes left in the lab's namespaces: ${processesIn(engineNs).concat(processesIn(peerNs)).join(', ')}`);
    // With no process in them, the namespaces (and tap-host, tap-wire, their addresses) are gone.
    assert.deepEqual(namespaceInterfaces(), ours, 'our own namespace gained or lost an interface');
  });
});
