// The two seams of a capture session: a backend with a monotonic driver (time is wall time, the
// session waits for work between steps), and a kernel path that reports hops of its own and keeps a
// received packet's record open until it finishes it (as the lab's real kernel does).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendFactory, Driver, Pollable } from '../../../engine/backends/backend';
import { SimWire } from '../../../engine/backends/sim';
import { CaptureSession, PEER_ADDRESS, PEER_MAC } from '../../../engine/capture/session';
import { EmulatedKernelPath, emulatedKernel } from '../../../engine/kernel/emulated';
import type { KernelPathFactory } from '../../../engine/kernel/path';
import { Ipv4Stack } from '../../../engine/stack/index';
import { parseRules } from '../../../engine/steer/rules';
import { LINUX_TCP_CONFIG } from '../../../engine/tcp/index';
import { stackHost } from '../../../engine/workloads/api';
import { echo } from '../../../engine/workloads/echo';
import { StringTable, decodeBatch } from '../../../engine/trace/codec';
import type { PacketRecord } from '../../../engine/trace/schema';
import { pathProblem } from './support';

/** Wall time since it was made, polling members due now and sleeping until the next deadline. */
class WallDriver implements Driver {
  readonly virtual = false;
  private readonly t0 = performance.now();
  private readonly members: Pollable[] = [];
  waits = 0;

  get now(): number {
    return performance.now() - this.t0;
  }

  add(m: Pollable): void {
    this.members.push(m);
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const m of this.members) {
      const t = m.pollAt();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  step(): boolean {
    const now = this.now;
    let any = false;
    for (const m of this.members) {
      m.advance?.(now);
      const t = m.pollAt();
      if (t !== undefined && t <= now) {
        m.poll(now);
        any = true;
      }
    }
    return any;
  }

  setNow(): void {}

  waitForWork(untilMs: number): Promise<void> {
    this.waits++;
    const ms = Math.max(0, Math.min(untilMs, this.now + 5) - this.now);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** The sim wire and peer, driven by wall time. */
function wallBackend(driver: WallDriver): BackendFactory {
  return (ctx) => {
    const wire = new SimWire({ latencyMs: 0.05 });
    const peerPort = wire.attach('wire');
    const hostPort = wire.attach('host');
    const peer = new Ipv4Stack(peerPort, { name: 'peer', mac: PEER_MAC, address: PEER_ADDRESS, prefixLength: 24, rng: ctx.rng, tcp: LINUX_TCP_CONFIG });
    return {
      name: 'wall-sim',
      device: hostPort,
      driver,
      interfaceName: 'wall0',
      interfaceDescription: 'sim wire on wall time',
      members: [peer],
      peerHost: (timers) => stackHost(peer, timers, 'peer'),
      callbackRounds: () => peer.callbackRounds,
    };
  };
}

function decoded(s: CaptureSession): PacketRecord[] {
  const out: PacketRecord[] = [];
  const strings = new StringTable();
  s.onBatches.push((bs) => {
    for (const b of bs) decodeBatch(b, strings, (r) => r.type === 'packet' && out.push({ ...r, bytes: r.bytes.slice() }));
  });
  return out;
}

describe('a backend with a monotonic driver', () => {
  it('runs a workload in wall time, waiting for work between steps', async () => {
    const wall0 = performance.now();
    const driver = new WallDriver();
    let run: ReturnType<typeof echo> | undefined;
    const s = new CaptureSession({
      rules: parseRules('default kernel\n'),
      backend: wallBackend(driver),
      scenario: { name: 'echo', description: 'echo', start: (h) => [(run = echo(h.kernel, h.peer, { port: 7, messages: 5 }))] },
    });
    const records = decoded(s);
    const reason = await s.run({ durationMs: 10_000, untilWorkloadsDone: true });
    assert.equal(reason, 'workloads-done');
    assert.ok(run?.done && run.verified, `echo: got ${run?.summary()}, want ok`);
    assert.ok(driver.waits > 0, 'the session waited for work');
    const wallMs = performance.now() - wall0;
    assert.ok(s.now > 0 && s.now <= wallMs + 1, `session time ${s.now} ms is wall time (the run took ${wallMs} ms)`);
    assert.ok(records.length > 10, `packet records: got ${records.length}, want > 10`);
    const bad = records.filter((p) => pathProblem(p) !== undefined);
    assert.equal(bad.length, 0, `invalid paths: got ${bad.length} (first: ${bad[0] && pathProblem(bad[0])})`);
  });
});

describe('a kernel path that reports its own hops', () => {
  it("keeps a held packet's record open until it finishes it, with the hops it added", async () => {
    const held: number[] = [];
    // The emulated kernel, with a span hop of its own after every received frame, finished one poll later.
    const spanning: KernelPathFactory = (ctx) => {
      // The stack behind it takes the ids the NIC hands out; the path notes the received frame's (the first asked for in `receive`).
      let rxId = -1;
      const ids = {
        next: () => {
          const id = ctx.packetIds.next();
          if (rxId === 0) rxId = id;
          return id;
        },
      };
      const inner = emulatedKernel()({ ...ctx, packetIds: ids }) as EmulatedKernelPath;
      return {
        name: 'emulated, spanning',
        hopKind: 'measured',
        receive(frame, now) {
          rxId = 0;
          inner.receive(frame, now);
          const id = rxId;
          rxId = -1;
          ctx.trace.hop(id, 'rx', 'kernel.stack', 'span', 'deliver');
          ctx.trace.hold(id);
          held.push(id);
        },
        host: (timers) => inner.host(timers),
        get callbackRounds() {
          return inner.callbackRounds;
        },
        poll(now) {
          inner.poll(now);
          for (const id of held.splice(0)) ctx.trace.finish(id);
        },
        pollAt: () => (held.length > 0 ? 0 : inner.pollAt()),
        advance: (now) => inner.advance(now),
      };
    };
    const s = new CaptureSession({ rules: parseRules('default kernel\n'), kernel: spanning, scenario: 'echo' });
    const records = decoded(s);
    await s.run({ durationMs: 2000, untilWorkloadsDone: true });
    assert.ok(s.workloadsDone && s.workloads.every((w) => w.verified), `workloads: ${s.workloads.map((w) => w.summary()).join('; ')}`);
    const rx = records.filter((p) => p.direction === 'rx' && p.path === 'kernel');
    assert.ok(rx.length > 10, `kernel rx records: got ${rx.length}, want > 10`);
    for (const p of rx) {
      const last = p.hops[p.hops.length - 1];
      assert.equal(last.layer, 'kernel.stack', `packet ${p.packetId}: last hop ${last.layer}, want the path's own kernel.stack`);
      assert.equal(last.kind, 'span');
    }
    assert.equal(s.nic.openPackets, 0, 'every held record was finished');
    // The stack's own hops on this path carry the path's kind.
    assert.ok(rx.every((p) => p.hops.filter((h) => h.layer.startsWith('kernel.') && h.layer !== 'kernel.stack').every((h) => h.kind === 'measured')));
  });
});
