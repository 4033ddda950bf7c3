// backends: the real-time driver — runs devices, stacks, timers and workloads on the monotonic clock
// with `poll(now)`/`pollAt()`, as SimClock does in virtual time. Frames come from file descriptors
// (TAP, AF_PACKET) watched by ONE epoll set (native/epoll.ts); each step reads at most `batch`
// frames per source, so a flood cannot starve the event loop. sync, poll and spin read a source whose
// traffic is sparse (its last read found one frame, then nothing) one frame a step: the wait that
// follows says whether another is there, so a request/response costs no read that fails with
// EAGAIN; a frame that comes within a few microseconds of the one before (a burst), or a whole-batch
// read every few steps that finds more than one frame (ACKs queueing behind a bulk send), goes back
// to whole batches. After a step that read frames, sync, poll and spin read those sources again before
// waiting (`readFirst`): on a busy machine the peer the step's frames woke has often answered by
// the time the step ends, so a request/response costs no wait; a read that finds nothing makes the
// driver wait first for a while.
//
// How it waits for frames (`mode`, or BYPASS_SCOPE_DRIVER=async|sync|poll[:µs]|spin[:µs] in the environment):
//   sync   a synchronous epoll_pwait2 on the main thread, bounded by the next deadline and by
//          `maxBlockMs` (1 ms), then a turn of Node's event loop (setImmediate) so that IPC, timers,
//          process.nextTick and promise callbacks run between waits (at least every `yieldEveryMs`,
//          5 ms, while frames keep the driver busy). A frame wakes the thread that processes it: no
//          thread-pool hop. After `parkAfterMs` (100 ms) without a frame the driver parks on the
//          async wait below, so an idle engine sleeps.
//   poll   (the default) as sync, but busy-polls the epoll set before each blocking wait for an
//          adaptive window of up to `spinUs` (50 µs), as KVM's halt polling sizes its window: a wait
//          that a frame ended soon after it blocked doubles the window (from 10 µs), since spinning
//          would have caught the frame without the wake-up; a wait that blocked long halves it, down
//          to 0. So it spins only while frames come in quick succession (request/response, where
//          each wake-up of a sleeping thread costs tens of µs on a VM), and sleeps otherwise.
//   spin   as poll with a fixed window of `spinUs` (50 µs), as OpenOnload's EF_POLL_USEC does.
//   Both spin with a sched_yield between looks, so a peer woken on the same CPU runs at once. A spin
//   that loses its CPU to another thread anyway (one look takes over 50 µs and the thread was
//   switched out: a busy machine, where spinning only costs the spinner its turn) stops, and
//   spinning pauses for 20 ms, doubling up to 200 ms while that recurs. A look that took long only
//   because the hypervisor took the whole vCPU (steal) is no reason to stop.
//   async  one koffi async epoll_wait on a libuv pool thread, calling back on the main thread: the
//          event loop is never blocked, for one thread hop per wake-up.
//
// Two ways to run it: `start()` runs its own loop (stack programs, tests); or a capture session
// drives it through the Driver shape (`step`, `nextDeadline`, `waitForWork`), as it drives SimClock.
// `now` is milliseconds since the driver was made, from performance.now() (CLOCK_MONOTONIC), so a
// time taken anywhere in the process with performance.now() converts with `toDriverTime`.
// The module's `performance`, not the global: in Node the global is a lazy getter, a call per read of the clock.
import { performance } from 'node:perf_hooks';
import { Poller } from '../../native/index';
import { SpinWindow } from './spin-window';
import type { Pollable } from './sim';

/** A device whose frames arrive on a file descriptor. */
export interface FrameSource {
  readonly name: string;
  readonly fd: number;
  /** Reads and delivers up to `max` frames; returns how many (== max: there may be more). */
  drain(now: number, max: number): number;
  /** Sends anything queued (batched transmit); called after every round of polls. */
  flush?(now: number): void;
}

export type WaitMode = 'async' | 'sync' | 'poll' | 'spin';

/** sync, poll, spin: frames of one source read this close together (ms) are a burst, not sparse traffic. */
const BURST_GAP_MS = 0.008;
/** sync, poll, spin: a sparse source gets a whole-batch read every this many steps, to see whether frames queue up. */
const SPARSE_RECHECK = 8;
/** sync, poll, spin: after a read-first step that found nothing, the most waits made before reading first again. */
const READ_FIRST_BACKOFF_MAX = 64;

export interface RealtimeOptions {
  /** Frames read per source per step (default 64). */
  readonly batch?: number;
  /** Called once if a device fails while the driver runs its own loop (it has stopped by then). */
  readonly onError?: (err: Error) => void;
  /** How the driver waits for frames (see above); default from BYPASS_SCOPE_DRIVER, else 'poll'. */
  readonly mode?: WaitMode;
  /** poll: the most microseconds of busy-polling before a blocking wait; spin: always this many (default 50). */
  readonly spinUs?: number;
  /** sync, poll, spin: the longest the main thread blocks in one wait (default 1 ms). */
  readonly maxBlockMs?: number;
  /** sync, poll, spin: while frames keep the driver busy, a full turn of the event loop at least this often (default 5 ms). */
  readonly yieldEveryMs?: number;
  /** sync, poll, spin: after this long without a frame, wait on the pool thread instead (default 100 ms). */
  readonly parkAfterMs?: number;
  /**
   * Whether what the members call back may queue work with process.nextTick that must run before
   * the next step (default true: Node-style streams do). False for applications on the stack's own
   * TCP interface, whose callbacks run inside the stack's poll: the own loop then goes from one
   * busy step to the next without a tick between them (a tick costs about what a small step does).
   */
  readonly appTicks?: boolean;
}

/** The driver options BYPASS_SCOPE_DRIVER asks for (`async`, `sync`, `poll[:USEC]` or `spin[:USEC]`), or an error naming what it wants. */
export function driverOptionsFromEnv(value = process.env.BYPASS_SCOPE_DRIVER): Pick<RealtimeOptions, 'mode' | 'spinUs'> {
  if (value === undefined || value === '') return {};
  const m = /^(async|sync|poll|spin)(?::(\d+))?$/.exec(value.trim());
  if (m === null || (m[2] !== undefined && m[1] !== 'spin' && m[1] !== 'poll')) {
    throw new Error(`BYPASS_SCOPE_DRIVER=${value}: want async, sync, poll, poll:MICROSECONDS, spin or spin:MICROSECONDS`);
  }
  return m[2] === undefined ? { mode: m[1] as WaitMode } : { mode: m[1] as WaitMode, spinUs: Number(m[2]) };
}

export class RealtimeDriver {
  /** Time is wall time: it moves on its own. */
  readonly virtual = false;
  /** performance.now() at time 0. */
  readonly origin = performance.now();
  readonly batch: number;
  readonly mode: WaitMode;
  readonly spinUs: number;
  readonly maxBlockMs: number;
  readonly yieldEveryMs: number;
  readonly parkAfterMs: number;
  readonly appTicks: boolean;
  /** poll, spin: how long to busy-poll before a blocking wait (spin-window.ts). */
  readonly spin: SpinWindow;
  private readonly members: Pollable[] = [];
  private readonly sources: FrameSource[] = [];
  private readonly poller = new Poller();
  /** sync, poll, spin: per source (by index), whether the last wait found it readable. */
  private readonly readable = new Uint8Array(64);
  /** sync, poll, spin: `readable` is what a wait just found, not yet used by a step. */
  private fresh = false;
  /** sync, poll, spin: per source, its traffic is sparse: read one frame a step (see above). */
  private readonly sparse = new Uint8Array(64);
  /** sync, poll, spin: per source, one-frame reads since its last whole-batch read. */
  private readonly sparseRun = new Uint8Array(64);
  /** sync, poll, spin: per source, driver time of the step that last read a frame from it. */
  private readonly lastRead = new Float64Array(64);
  /** Frames the last step read, in all and per source (1: some). */
  private stepFrames = 0;
  private readonly stepRead = new Uint8Array(64);
  /** sync, poll, spin: the coming step reads first, without a wait before it (see `loop`). */
  private readingFirst = false;
  /** sync, poll, spin: waits to make before reading first again (after a read-first step found nothing), and the next such backoff. */
  private readFirstSkip = 0;
  private readFirstBackoff = 1;
  private running = false;
  private stopped = false;
  /**
   * The last step hit a batch cap (async: read anything at all): the next step is due at once,
   * before any wait, so that a burst costs one wake-up, not one per frame.
   */
  private backlog = false;
  /** Driver time of the last frame read (sync, poll, spin: when to park). */
  private lastFrameAt = 0;
  private immediate: NodeJS.Immediate | undefined;
  /** The own loop's async wait returned: step before waiting again. */
  private woken = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** Whoever waits in `waitForWork`: woken by the epoll wait, the deadline timer, `kick` or `stop`. */
  private waiters: (() => void)[] = [];
  private stopWaiters: (() => void)[] = [];
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly immediateFn = (): void => {
    this.immediate = undefined;
    this.lastYield = this.now;
    this.loop();
  };
  private readonly tickFn = (): void => {
    this.tickPending = false;
    if (this.immediate === undefined) this.loop();
  };
  /** The own loop's next turn is queued with process.nextTick (sync, poll, spin: between yields to the event loop). */
  private tickPending = false;
  /** Driver time of the own loop's last turn of the event loop. */
  private lastYield = 0;
  readonly counters = { steps: 0, waits: 0, syncWaits: 0, parks: 0, framesRead: 0, cappedReads: 0, sparseReads: 0, readFirstHits: 0, readFirstMisses: 0 };

  constructor(options: RealtimeOptions = {}) {
    const env = options.mode === undefined ? driverOptionsFromEnv() : {};
    this.batch = options.batch ?? 64;
    this.onError = options.onError;
    this.mode = options.mode ?? env.mode ?? 'poll';
    this.spinUs = this.mode === 'spin' || this.mode === 'poll' ? (options.spinUs ?? env.spinUs ?? 50) : 0;
    this.spin = new SpinWindow(this.spinUs, this.mode === 'poll');
    this.maxBlockMs = options.maxBlockMs ?? 1;
    this.yieldEveryMs = options.yieldEveryMs ?? Math.max(this.maxBlockMs, 5);
    this.parkAfterMs = options.parkAfterMs ?? 100;
    this.appTicks = options.appTicks ?? true;
    if (!(this.batch >= 1) || !(this.maxBlockMs > 0) || !(this.yieldEveryMs > 0) || !(this.spinUs >= 0) || !(this.parkAfterMs >= 0)) {
      throw new Error('RealtimeDriver: batch ≥ 1, maxBlockMs > 0, yieldEveryMs > 0, spinUs ≥ 0 and parkAfterMs ≥ 0 are required');
    }
  }

  /** Milliseconds since the driver was made (monotonic). */
  get now(): number {
    return performance.now() - this.origin;
  }

  /** A performance.now() reading (another part of the process took it) in driver time. */
  toDriverTime(performanceNow: number): number {
    return performanceNow - this.origin;
  }

  add(member: Pollable): void {
    this.members.push(member);
    this.kick();
  }

  remove(member: Pollable): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
  }

  /** Watches a source's fd; its frames are read on every step. */
  addSource(source: FrameSource): void {
    if (this.sources.length >= this.readable.length) throw new Error(`a driver watches at most ${this.readable.length} sources`);
    this.sources.push(source);
    this.poller.add(source.fd, this.sources.length);
    this.kick();
  }

  /** The earliest deadline of any member (now, when a source has frames waiting), or undefined. */
  nextDeadline(now?: number): number | undefined {
    if (this.backlog) return now ?? this.now;
    let next: number | undefined;
    for (const m of this.members) {
      const t = m.pollAt();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  /** Time is the clock's: nothing to set. */
  setNow(): void {}

  /**
   * Reads what the sources have (at most `batch` frames each), polls every member due now (again,
   * while a poll makes another due at the same instant), and sends what was queued. True when it
   * did anything.
   */
  step(): boolean {
    return this.stepAt(this.now);
  }

  /** `step` at driver time `now`, a reading of the clock just taken. */
  private stepAt(now: number): boolean {
    if (this.stopped) return false;
    this.counters.steps++;
    let busy = false;
    let frames = 0;
    this.backlog = false;
    for (const m of this.members) m.advance?.(now);
    if (this.mode !== 'async' && !this.fresh && !this.poller.waiting) this.look(0);
    const all = this.mode === 'async' || !this.fresh;
    this.fresh = false;
    const sources = this.sources;
    const async = this.mode === 'async';
    for (let i = 0; i < sources.length; i++) {
      this.stepRead[i] = 0;
      if (!all && this.readable[i] === 0) continue;
      this.readable[i] = 0;
      const one = !async && this.sparse[i] === 1 && this.batch > 1 && ++this.sparseRun[i] < SPARSE_RECHECK;
      const n = sources[i].drain(now, one ? 1 : this.batch);
      this.counters.framesRead += n;
      frames += n;
      if (n > 0) {
        this.stepRead[i] = 1;
        busy = true;
        this.lastFrameAt = now;
        if (async) this.backlog = true;
      }
      if (one) {
        this.counters.sparseReads++;
        // The frame came hard on the heels of the last: a burst, read in batches again.
        if (n > 0 && now - this.lastRead[i] < BURST_GAP_MS) this.sparse[i] = 0;
      } else {
        if (!async) {
          this.sparse[i] = n === 1 ? 1 : 0;
          this.sparseRun[i] = 0;
        }
        if (n >= this.batch) {
          this.counters.cappedReads++;
          this.backlog = true;
        }
      }
      if (n > 0) this.lastRead[i] = now;
    }
    for (let pass = 0; pass < 8; pass++) {
      let polled = false;
      for (const m of this.members) {
        const t = m.pollAt();
        if (t !== undefined && t <= now) {
          m.poll(now);
          polled = true;
        }
      }
      if (!polled) break;
      busy = true;
    }
    for (const s of sources) s.flush?.(now);
    this.stepFrames = frames;
    if (this.readingFirst) this.afterReadFirst();
    return busy;
  }

  /**
   * Resolves when a source's fd becomes readable, `untilMs` (driver time) comes, `kick()` is
   * called or the driver stops. async: keeps the one epoll wait in flight and never starts a
   * second. sync, poll, spin: waits on this thread (at most maxBlockMs), then resolves on the next turn
   * of the event loop.
   */
  waitForWork(untilMs: number): Promise<void> {
    if (this.stopped || this.backlog) return Promise.resolve();
    if (this.mode !== 'async' && !this.poller.waiting && !this.parked()) {
      if (!this.readFirst()) this.blockingWait(untilMs);
      return new Promise((resolve) => setImmediate(resolve));
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.armTimer(untilMs);
      this.startAsyncWait();
    });
  }

  /**
   * Wakes `waitForWork` (and the own loop) at once: for calls into a stack made from outside the
   * driver's callbacks (a test, another process's events), so that what they queued goes out now.
   */
  kick(): void {
    this.wakeWaiters();
    if (this.running && this.immediate === undefined) this.immediate = setImmediate(this.immediateFn);
  }

  /** Runs the driver's own loop until `stop()`. */
  start(): void {
    if (this.stopped) throw new Error('the driver was stopped');
    if (this.running) return;
    this.running = true;
    this.lastFrameAt = this.now;
    this.kick();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Stops: no more steps; resolves once the wait in flight has returned (device fds may then be closed). */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    this.running = false;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.clearTimer();
    this.wakeWaiters();
    if (!this.poller.waiting) {
      this.poller.close();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.stopWaiters.push(resolve);
      this.poller.close();
    });
  }

  /**
   * Resolves when `done()` holds (checked every `checkMs`), or with false at `timeoutMs` of real
   * time. For tests and programs that wait for a workload.
   */
  until(done: () => boolean, timeoutMs: number, checkMs = 5): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = (): void => {
        if (done()) return resolve(true);
        if (performance.now() >= end || this.stopped) return resolve(done());
        setTimeout(check, checkMs);
      };
      check();
    });
  }

  /**
   * One turn of the own loop. After a step that did work it lets what application callbacks queued
   * with process.nextTick run, then goes on (`next`). Otherwise sync, poll and spin wait right here, and
   * step at once when a frame or a deadline comes; a wait that ran to the maxBlockMs cap yields to
   * the event loop. async (or a parked driver) waits on the pool thread.
   */
  private loop(): void {
    if (!this.running) return;
    try {
      // Bounded, so that a source that stays readable without giving frames cannot hold the thread.
      for (let turn = 0; turn < 64; turn++) {
        // One reading of the clock serves the turn, unless it waits (then time has moved).
        let now = this.now;
        const next = this.nextDeadline(now);
        const due = this.woken || (next !== undefined && next <= now);
        this.woken = false;
        if (!due && !this.fresh && !this.readFirst()) {
          if (this.mode === 'async' || this.poller.waiting || this.parked()) {
            void this.waitForWork(next ?? Infinity).then(() => {
              this.woken = true;
              this.kick();
            });
            return;
          }
          const readable = this.blockingWait(next ?? Infinity);
          now = this.now;
          if (readable === 0 && (next === undefined || next > now)) {
            // A wait that ran to the cap: a full turn of the event loop.
            this.kick();
            return;
          }
        }
        // A busy step ends the turn, so that what its callbacks queued with process.nextTick runs (`next`), unless they queue none.
        if (this.stepAt(now) && (this.appTicks || this.mode === 'async' || now - this.lastYield >= this.yieldEveryMs)) break;
        if (!this.running) return;
      }
    } catch (e) {
      void this.stop();
      this.onError?.(e as Error);
      return;
    }
    this.next();
  }

  /**
   * The own loop's next turn. sync, poll, spin: after process.nextTick, so that what the step's callbacks
   * queued with it runs first, without a turn of the event loop (its epoll_wait, a system call per
   * step); at least every yieldEveryMs a full turn (setImmediate) lets I/O, timers and promise
   * callbacks run. async: always a full turn.
   */
  private next(): void {
    if (this.mode !== 'async' && this.now - this.lastYield < this.yieldEveryMs) {
      if (!this.tickPending && this.immediate === undefined) {
        this.tickPending = true;
        process.nextTick(this.tickFn);
      }
      return;
    }
    this.kick();
  }

  /**
   * sync, poll, spin: whether the coming step reads before it waits. On a machine with few cores the
   * peer that a step's frames woke often runs on this very core while the write returns, so its
   * answer is already queued when the step ends: reading at once saves the wait, a system call per
   * request/response. A read-first step that finds nothing (the peer is slower: another core, or
   * idle) costs a read that fails with EAGAIN, so after one the driver waits first for a while
   * (1, 2, 4 … READ_FIRST_BACKOFF_MAX waits), and again only after a step that read frames.
   */
  private readFirst(): boolean {
    if (this.mode === 'async' || this.stepFrames === 0 || this.poller.waiting || this.fresh) return false;
    if (this.readFirstSkip > 0) {
      this.readFirstSkip--;
      return false;
    }
    // The step reads the sources the last step read from (one frame from a sparse one).
    for (let i = 0; i < this.sources.length; i++) this.readable[i] = this.stepRead[i];
    this.fresh = true;
    this.readingFirst = true;
    return true;
  }

  private afterReadFirst(): void {
    this.readingFirst = false;
    if (this.stepFrames > 0) {
      this.counters.readFirstHits++;
      this.readFirstBackoff = 1;
      return;
    }
    this.counters.readFirstMisses++;
    this.readFirstSkip = this.readFirstBackoff;
    this.readFirstBackoff = Math.min(READ_FIRST_BACKOFF_MAX, this.readFirstBackoff * 2);
  }

  /** sync, poll, spin: waits on this thread until a source is readable, `untilMs`, or maxBlockMs; returns how many sources are readable. */
  private blockingWait(untilMs: number): number {
    const timeout = Math.max(0, Math.min(untilMs - this.now, this.maxBlockMs));
    this.counters.syncWaits++;
    return this.look(timeout);
  }

  /** sync, poll, spin: one epoll look (0: no wait); marks the readable sources for the next step. */
  private look(timeoutMs: number): number {
    const p = this.poller;
    if (timeoutMs === 0) {
      const n = p.waitNow(0);
      return this.mark(n);
    }
    const spinUs = this.spinUs > 0 ? this.spin.windowUs(this.now) : 0;
    const start = spinUs > 0 || this.spin.adaptive ? performance.now() : 0;
    const n = p.waitNow(timeoutMs, spinUs);
    if (this.spinUs > 0) {
      const waitedUs = (performance.now() - start) * 1000;
      this.spin.afterWait(this.now, spinUs, { spinHit: p.spinHit, preempted: p.spinPreempted, frame: n > 0, waitedUs });
    }
    return this.mark(n);
  }

  private mark(n: number): number {
    const p = this.poller;
    for (let i = 0; i < n; i++) this.readable[p.ready[i] - 1] = 1;
    this.fresh = true;
    return n;
  }

  /** sync, poll, spin: idle long enough to sleep on the pool thread (a frame or a deadline wakes it). */
  private parked(): boolean {
    return this.parkAfterMs !== Infinity && this.now - this.lastFrameAt > this.parkAfterMs;
  }

  private startAsyncWait(): void {
    if (this.poller.waiting) return;
    this.counters.waits++;
    if (this.mode !== 'async') this.counters.parks++;
    this.poller.wait(-1, (tokens) => this.afterWait(tokens.length));
  }

  private afterWait(readable: number): void {
    if (this.stopped) {
      for (const w of this.stopWaiters.splice(0)) w();
      return;
    }
    // sync, poll, spin: a frame ends the park (the next step reads every source).
    if (this.mode !== 'async' && readable > 0) this.lastFrameAt = this.now;
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    // sync, poll, spin: the pool thread must give the epoll set back before this thread waits on it.
    if (this.mode !== 'async' && this.poller.waiting && !this.stopped) this.poller.wake();
    if (this.waiters.length === 0) return;
    this.clearTimer();
    for (const w of this.waiters.splice(0)) w();
  }

  private armTimer(untilMs: number): void {
    if (untilMs === this.timerAt && this.timer !== undefined) return;
    this.clearTimer();
    if (untilMs === Infinity) return;
    this.timerAt = untilMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.wakeWaiters();
    }, Math.max(0, Math.ceil(untilMs - this.now)));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
