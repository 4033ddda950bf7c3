// Each workload, run through a capture session's NIC on the sim topology: on the bypass stack, on the
// emulated kernel, and under 5% loss with reordering — it must finish and verify its data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Impairments } from '../../../engine/backends/impair';
import { CaptureSession } from '../../../engine/capture/session';
import { parseRules } from '../../../engine/steer/rules';
import { bulk, echo, http, ping, rr, udpFeed, type RrRun, type WorkloadRun } from '../../../engine/workloads/index';
import type { ScenarioHosts } from '../../../engine/workloads/mixed';

type Side = 'bypass' | 'kernel';

/** How each workload is placed: which side is the host's (the one under test) and which the peer's. */
const WORKLOADS: Record<string, (h: ScenarioHosts, side: Side) => WorkloadRun> = {
  echo: (h, side) => echo(h[side], h.peer, { port: 7, messages: 12 }),
  rr: (h, side) => rr(h.peer, h[side], { port: 9000, requests: 30 }),
  bulk: (h, side) => bulk(h[side], h.peer, { port: 5001, bytes: 512 * 1024 }),
  http: (h, side) => http(h[side], h.peer, { port: 8080 }),
  'udp-feed': (h, side) => udpFeed(h[side], h.peer, { port: 20001, rate: 2000, messages: 400 }),
  ping: (h, side) => ping(h[side], h.peer, { count: 5, intervalMs: 20 }),
};

const LOSSY: Impairments = { loss: 0.05, reorder: 0.05, reorderGapMs: 2, delayMs: 0.5 };

async function runOne(name: string, side: Side, impairments?: Impairments): Promise<{ run: WorkloadRun; s: CaptureSession; ipv4: Record<string, number> }> {
  let run: WorkloadRun | undefined;
  const ipv4: Record<string, number> = { bypass: 0, kernel: 0, none: 0, drop: 0 };
  const s = new CaptureSession({
    // Everything goes to the side under test: the default rule decides every flow.
    rules: parseRules(`default ${side}\n`),
    scenario: { name, description: name, start: (h) => [(run = WORKLOADS[name](h, side))] },
    impairments,
    seed: 11,
  });
  // IPv4 packets per path (both stacks also announce themselves with ARP, whatever the rules).
  s.onPacket.push((p) => {
    if (p.frame.length > 14 && p.frame[12] === 0x08 && p.frame[13] === 0x00) ipv4[p.path]++;
  });
  await s.run({ durationMs: 60_000, untilWorkloadsDone: true });
  return { run: run!, s, ipv4 };
}

for (const name of Object.keys(WORKLOADS)) {
  describe(`the ${name} workload`, () => {
    for (const side of ['bypass', 'kernel'] as const) {
      it(`completes and verifies its data on the ${side === 'bypass' ? 'bypass stack' : 'emulated kernel'}`, async () => {
        const { run, ipv4 } = await runOne(name, side);
        assert.ok(run.done && run.verified, `got ${run.summary()}, want ok`);
        const other = side === 'bypass' ? 'kernel' : 'bypass';
        assert.ok(ipv4[side] > 0, `${side} IPv4 packets: got ${ipv4[side]}, want > 0`);
        assert.equal(ipv4[other], 0, `${other} IPv4 packets: got ${ipv4[other]}, want 0`);
      });
    }

    it('completes and verifies its data with 5% loss and reordering', async () => {
      const { run, s } = await runOne(name, 'bypass', LOSSY);
      assert.ok(run.done && run.verified, `got ${run.summary()}, want ok`);
      assert.ok(s.impaired!.counters.loss + s.impaired!.counters.reordered > 0, 'impairments were applied');
    });
  });
}

describe('the rr workload', () => {
  it('records one RTT per request, none shorter than the round trip on the wire', async () => {
    const { run } = await runOne('rr', 'bypass');
    const rtts = (run as RrRun).rtts;
    assert.equal(rtts.length, 30);
    // Two crossings of the 0.01 ms wire at least.
    for (const t of rtts) assert.ok(t >= 0.02, `RTT ${t} ms is shorter than two wire crossings`);
  });
});
