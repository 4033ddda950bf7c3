// The real-time driver's own loop and process.nextTick: by default a busy step ends the turn, so
// what a member's callbacks queued with nextTick runs before the next step (Node-style streams need
// it); with `appTicks: false` busy steps follow one another without a tick between them. A member
// here is due for a fixed number of polls and queues a tick in each, so the order is exact, not timed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeDriver } from '../../../engine/backends/realtime';

/** Polls made before each of the member's ticks ran, for `polls` polls that each queue one tick. */
async function pollsSeenByTicks(appTicks: boolean, polls: number): Promise<number[]> {
  // A long yieldEveryMs: no full turn of the event loop comes between the steps by the clock.
  const driver = new RealtimeDriver({ mode: 'sync', parkAfterMs: Infinity, yieldEveryMs: 10_000, appTicks });
  let made = 0;
  // Due again a microsecond after each poll: once a step (a step polls again only what is due at its own instant).
  let dueAt = 0;
  const seen: number[] = [];
  driver.add({
    pollAt: () => (made < polls ? dueAt : undefined),
    poll: (now: number) => {
      made++;
      dueAt = now + 0.001;
      process.nextTick(() => seen.push(made));
    },
  });
  driver.start();
  try {
    assert.ok(await driver.until(() => seen.length === polls, 5000), `ticks run: ${seen.length} of ${polls}`);
  } finally {
    await driver.stop();
  }
  return seen;
}

describe('realtime driver: ticks between steps', { skip: process.platform !== 'linux' }, () => {
  it('runs what a step queued with process.nextTick before the next step, by default', async () => {
    assert.deepEqual(await pollsSeenByTicks(true, 5), [1, 2, 3, 4, 5]);
  });

  it('with appTicks false goes from one busy step to the next, and the ticks run after them', async () => {
    assert.deepEqual(await pollsSeenByTicks(false, 5), [5, 5, 5, 5, 5]);
  });
});
