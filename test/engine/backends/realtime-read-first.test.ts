// The real-time driver reads first after a step that read frames (sync mode): the next step reads
// that source without an epoll wait; a read that finds nothing makes it wait first, for longer
// after each such miss. A source here is an eventfd (readable only when the test says so) in front
// of a queue of frames, so what each step read and whether it waited is exact, not timed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeDriver, type FrameSource } from '../../../engine/backends/realtime';
import { libc } from '../../../native/index';
import { EFD_CLOEXEC, EFD_NONBLOCK } from '../../../native/libc';

/** A source whose frames are numbers in a queue; its fd is readable while `signal` has been called and `reset` not. */
function fakeSource() {
  const c = libc();
  const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  assert.ok(fd >= 0, `eventfd: got ${fd}`);
  const one = Buffer.alloc(8);
  const queue: number[] = [];
  const read: number[] = [];
  const source: FrameSource = {
    name: 'fake',
    fd,
    drain(_now: number, max: number): number {
      let n = 0;
      while (n < max && queue.length > 0) {
        read.push(queue.shift()!);
        n++;
      }
      return n;
    },
  };
  return {
    source,
    queue,
    read,
    signal: () => {
      one.writeBigUInt64LE(1n, 0);
      c.write(fd, one, 8);
    },
    reset: () => void c.read(fd, one, 8),
    close: () => void c.close(fd),
  };
}

describe('realtime driver: read first', { skip: process.platform !== 'linux' }, () => {
  it('reads the source again without waiting after a step that read a frame, and waits first after a read that found nothing', async () => {
    const f = fakeSource();
    const driver = new RealtimeDriver({ mode: 'sync', parkAfterMs: Infinity });
    driver.addSource(f.source);
    const c = driver.counters;
    try {
      // 1. The fd is readable: the driver waits, sees it, and the step reads the frame.
      f.queue.push(1);
      f.signal();
      await driver.waitForWork(driver.now + 50);
      driver.step();
      f.reset();
      assert.deepEqual(f.read, [1], 'the first step reads the frame the wait saw');
      assert.equal(c.syncWaits, 1, `waits before the first step: got ${c.syncWaits}, want 1`);

      // 2. A frame queued while the fd says nothing: read first, no wait.
      f.queue.push(2);
      await driver.waitForWork(driver.now + 50);
      driver.step();
      assert.deepEqual(f.read, [1, 2], 'the step after a step that read a frame reads without a wait');
      assert.equal(c.syncWaits, 1, `waits: got ${c.syncWaits}, want still 1`);
      assert.equal(c.readFirstHits, 1, `read-first hits: got ${c.readFirstHits}, want 1`);

      // 3. Nothing there: the read-first step finds nothing (a miss), still without a wait.
      await driver.waitForWork(driver.now + 50);
      driver.step();
      assert.equal(c.readFirstMisses, 1, `read-first misses: got ${c.readFirstMisses}, want 1`);
      assert.equal(c.syncWaits, 1, `waits: got ${c.syncWaits}, want still 1`);

      // 4. After a step that read nothing the driver waits; the fd is quiet, so the frame stays queued.
      f.queue.push(3);
      await driver.waitForWork(driver.now + 2);
      driver.step();
      assert.equal(c.syncWaits, 2, `waits after the miss: got ${c.syncWaits}, want 2`);
      assert.deepEqual(f.read, [1, 2], 'a source the wait did not find readable is not read');

      // 5. The wait sees the fd: the frame is read. Then the miss's backoff makes the next step wait
      //    first once (the frame queued behind the quiet fd waits), and the one after reads first again.
      f.signal();
      await driver.waitForWork(driver.now + 50);
      driver.step();
      f.reset();
      assert.deepEqual(f.read, [1, 2, 3]);
      f.queue.push(4);
      await driver.waitForWork(driver.now + 2);
      driver.step();
      assert.equal(c.syncWaits, 4, `waits during the backoff: got ${c.syncWaits}, want 4`);
      assert.deepEqual(f.read, [1, 2, 3], 'during the backoff the quiet source is not read');
      f.signal();
      await driver.waitForWork(driver.now + 50);
      driver.step();
      f.reset();
      f.queue.push(5);
      await driver.waitForWork(driver.now + 50);
      driver.step();
      assert.deepEqual(f.read, [1, 2, 3, 4, 5], 'after the backoff the driver reads first again');
      assert.equal(c.syncWaits, 5, `waits: got ${c.syncWaits}, want 5 (none before the last read)`);
      assert.equal(c.readFirstHits, 2, `read-first hits: got ${c.readFirstHits}, want 2`);
    } finally {
      await driver.stop();
      f.close();
    }
  });
});
