// How long the real-time driver busy-polls before a blocking wait (engine/backends/spin-window.ts):
// poll grows its window while frames end waits soon after they block and shrinks it otherwise; both
// poll and spin stop spinning for a while after a spin lost its CPU. Pure bookkeeping: exact, not timed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpinWindow, type WaitOutcome } from '../../../engine/backends/spin-window';

const blocked = (waitedUs: number, frame = true): WaitOutcome => ({ spinHit: false, preempted: false, frame, waitedUs });
const hit: WaitOutcome = { spinHit: true, preempted: false, frame: true, waitedUs: 5 };
const preempted: WaitOutcome = { spinHit: false, preempted: true, frame: false, waitedUs: 3000 };

describe('spin window', () => {
  it('poll starts without spinning and doubles its window, from 10 µs up to the largest, while frames come soon after it blocks', () => {
    const w = new SpinWindow(50, true);
    assert.equal(w.windowUs(0), 0);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      w.afterWait(i, w.windowUs(i), blocked(60));
      seen.push(w.windowUs(i));
    }
    assert.deepEqual(seen, [10, 20, 40, 50, 50]);
  });

  it('poll keeps its window while spins find frames, and halves it down to 0 after waits that blocked long or saw nothing', () => {
    const w = new SpinWindow(50, true);
    for (let i = 0; i < 4; i++) w.afterWait(i, w.windowUs(i), blocked(30));
    assert.equal(w.windowUs(10), 50);
    w.afterWait(11, 50, hit);
    assert.equal(w.windowUs(11), 50, 'a spin that caught its frame keeps the window');
    const seen: number[] = [];
    for (const out of [blocked(5000), blocked(2000, false), blocked(400), blocked(1000)]) {
      w.afterWait(12, w.windowUs(12), out);
      seen.push(w.windowUs(12));
    }
    assert.deepEqual(seen, [25, 12.5, 0, 0], 'halved below 10 µs is 0');
    assert.equal(w.counters.spinHits, 1);
  });

  it('spin always uses its whole window, whatever the waits find', () => {
    const w = new SpinWindow(80, false);
    assert.equal(w.windowUs(0), 80);
    w.afterWait(1, 80, blocked(100_000, false));
    assert.equal(w.windowUs(1), 80);
  });

  it('stops spinning for 20 ms after a spin lost its CPU, twice as long each time that recurs up to 200 ms, and forgets once spins run undisturbed', () => {
    const w = new SpinWindow(50, false);
    w.afterWait(100, 50, preempted);
    assert.equal(w.windowUs(119.9), 0, 'paused 20 ms');
    assert.equal(w.windowUs(120), 50);
    w.afterWait(120, 50, preempted);
    assert.equal(w.windowUs(159.9), 0, 'paused 40 ms the second time');
    assert.equal(w.windowUs(160), 50);
    for (let k = 0; k < 10; k++) w.afterWait(1000 * k, 50, preempted);
    assert.equal(w.windowUs(9000 + 199), 0, 'the pause stops growing at 200 ms');
    assert.equal(w.windowUs(9000 + 200), 50);
    // Undisturbed spins a whole pause after the last pause ended: the next preemption pauses 20 ms again.
    w.afterWait(9000 + 200 + 201, 50, blocked(40));
    w.afterWait(20_000, 50, preempted);
    assert.equal(w.windowUs(20_019), 0);
    assert.equal(w.windowUs(20_020), 50);
    assert.equal(w.counters.preempted, 13);
  });

  it('poll does not grow while paused, so a busy machine does not teach it to spin', () => {
    const w = new SpinWindow(50, true);
    w.afterWait(0, 0, preempted);
    for (let i = 0; i < 5; i++) w.afterWait(1 + i, w.windowUs(1 + i), blocked(30));
    assert.equal(w.windowUs(19), 0);
  });
});
