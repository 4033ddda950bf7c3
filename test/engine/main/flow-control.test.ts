// engine/main flow control: a slow parent costs trace records (sampled away and counted), never
// packets; in lossless mode it costs time instead, and nothing is lost.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { CaptureSummary, EngineNotification, StartCapture } from '../../../engine/protocol';
import { engine, packets, stopped, transitions, until, waitFor } from './support';

interface Run {
  readonly summary: CaptureSummary;
  readonly delivered: number;
  readonly transitions: number;
  readonly batchDropped: number;
  /** Packet records the engine produced per wall millisecond, from its last stats. */
  readonly packetsPerMs: number;
}

async function capture(capture: StartCapture, consumerDelayMs?: number): Promise<Run> {
  const { client, got } = await engine({ consumerDelayMs });
  try {
    await client.start(capture);
    const end = await waitFor(client, got, stopped, 60_000);
    const summary = end.summary!;
    await until('every batch to be consumed', () => got.batches.at(-1)?.seq === summary.lastSeq, 60_000);
    const stats = got.notes.filter((n): n is Extract<EngineNotification, { type: 'stats' }> => n.type === 'stats').at(-1)!;
    return {
      summary,
      delivered: packets(got.records).length,
      transitions: transitions(got.records).length,
      batchDropped: got.dropped,
      packetsPerMs: stats.flow.packets / stats.flow.wallMs,
    };
  } finally {
    await client.dispose();
  }
}

const MIXED: StartCapture = { backend: 'sim', scenario: 'mixed', seed: 7, speed: 'max' };

describe('engine process: flow control', () => {
  it('samples packet records for a slow consumer without slowing the packets, and counts what it dropped', async (t: TestContext) => {
    const fast = await capture({ ...MIXED, maxBatchesInFlight: 1 });
    const slow = await capture({ ...MIXED, maxBatchesInFlight: 1 }, 40);
    t.diagnostic(`packets per wall ms: fast consumer ${fast.packetsPerMs.toFixed(1)}, slow consumer ${slow.packetsPerMs.toFixed(1)} (ratio ${(slow.packetsPerMs / fast.packetsPerMs).toFixed(2)})`);
    t.diagnostic(`slow consumer: ${slow.delivered} records delivered, ${slow.summary.recordsDropped} dropped; fast: ${fast.delivered} delivered, ${fast.summary.recordsDropped} dropped`);
    // The same network ran: the same packets, whatever the consumer did.
    assert.equal(slow.summary.packets, fast.summary.packets);
    assert.equal(slow.summary.timeNs, fast.summary.timeNs);
    assert.ok(slow.summary.recordsDropped > 0, 'a consumer 40 ms per batch behind a one-batch window gets records dropped');
    assert.ok(slow.batchDropped > 0 && slow.batchDropped <= slow.summary.recordsDropped, `got ${slow.batchDropped} drops reported in batches, want 1..${slow.summary.recordsDropped}`);
    assert.equal(slow.delivered + slow.summary.recordsDropped, fast.delivered + fast.summary.recordsDropped);
    assert.equal(slow.delivered + slow.summary.recordsDropped, slow.summary.packets);
    // Transitions are never sampled.
    assert.equal(slow.transitions, fast.transitions);
    assert.equal(slow.transitions, slow.summary.transitions);
  });

  it('in lossless mode holds virtual time for a slow consumer and loses nothing', async () => {
    const fast = await capture({ ...MIXED, lossless: true });
    const slow = await capture({ ...MIXED, lossless: true, maxBatchesInFlight: 1 }, 20);
    assert.equal(fast.summary.recordsDropped, 0);
    assert.equal(slow.summary.recordsDropped, 0);
    assert.equal(slow.batchDropped, 0);
    assert.equal(slow.delivered, fast.delivered);
    assert.equal(slow.delivered, slow.summary.packets);
    assert.equal(slow.transitions, fast.transitions);
  });
});
