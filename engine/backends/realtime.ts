// backends: the real-time driver — runs devices, stacks, timers and workloads on the monotonic clock
// with `poll(now)`/`pollAt()`, as SimClock does in virtual time. Frames come from file descriptors
// (TAP, AF_PACKET) watched by ONE epoll wait in flight (native/epoll.ts), deadlines by one Node
// timer; each step reads at most `batch` frames per source, so a flood cannot starve the event loop.
//
// Two ways to run it: `start()` runs its own loop (stack programs, tests); or a capture session
// drives it through the Driver shape (`step`, `nextDeadline`, `waitForWork`), as it drives SimClock.
// `now` is milliseconds since the driver was made, from performance.now() (CLOCK_MONOTONIC), so a
// time taken anywhere in the process with performance.now() converts with `toDriverTime`.
import { Poller } from '../../native/index';
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

export interface RealtimeOptions {
  /** Frames read per source per step (default 64). */
  readonly batch?: number;
  /** Called once if a device fails while the driver runs its own loop (it has stopped by then). */
  readonly onError?: (err: Error) => void;
}

export class RealtimeDriver {
  /** Time is wall time: it moves on its own. */
  readonly virtual = false;
  /** performance.now() at time 0. */
  readonly origin = performance.now();
  readonly batch: number;
  private readonly members: Pollable[] = [];
  private readonly sources: FrameSource[] = [];
  private readonly poller = new Poller();
  private running = false;
  private stopped = false;
  /**
   * The last step read frames (or hit the batch cap): the next step is due at once, before any wait,
   * so that a burst costs one async wake-up, not one per frame.
   */
  private backlog = false;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** Whoever waits in `waitForWork`: woken by the epoll wait, the deadline timer, `kick` or `stop`. */
  private waiters: (() => void)[] = [];
  private stopWaiters: (() => void)[] = [];
  private readonly onError: ((err: Error) => void) | undefined;
  readonly counters = { steps: 0, waits: 0, framesRead: 0, cappedReads: 0 };

  constructor(options: RealtimeOptions = {}) {
    this.batch = options.batch ?? 64;
    this.onError = options.onError;
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
    this.sources.push(source);
    this.poller.add(source.fd, this.sources.length);
    this.kick();
  }

  /** The earliest deadline of any member (now, when a source has frames waiting), or undefined. */
  nextDeadline(): number | undefined {
    if (this.backlog) return this.now;
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
    if (this.stopped) return false;
    this.counters.steps++;
    const now = this.now;
    let busy = false;
    this.backlog = false;
    for (const m of this.members) m.advance?.(now);
    for (const s of this.sources) {
      const n = s.drain(now, this.batch);
      this.counters.framesRead += n;
      if (n > 0) {
        busy = true;
        this.backlog = true;
      }
      if (n >= this.batch) this.counters.cappedReads++;
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
    for (const s of this.sources) s.flush?.(now);
    return busy;
  }

  /**
   * Resolves when a source's fd becomes readable, `untilMs` (driver time) comes, `kick()` is
   * called or the driver stops. Keeps the one epoll wait in flight; never starts a second.
   */
  waitForWork(untilMs: number): Promise<void> {
    if (this.stopped || this.backlog) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.armTimer(untilMs);
      if (!this.poller.waiting) {
        this.counters.waits++;
        this.poller.wait(-1, () => this.afterWait());
      }
    });
  }

  /**
   * Wakes `waitForWork` (and the own loop) at once: for calls into a stack made from outside the
   * driver's callbacks (a test, another process's events), so that what they queued goes out now.
   */
  kick(): void {
    this.wakeWaiters();
    if (this.running && this.immediate === undefined) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.loop();
      });
    }
  }

  /** Runs the driver's own loop until `stop()`. */
  start(): void {
    if (this.stopped) throw new Error('the driver was stopped');
    if (this.running) return;
    this.running = true;
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

  /** One turn of the own loop: a step, then another on the next turn of the event loop after work (what application callbacks queued with process.nextTick is then polled at once), else a wait. */
  private loop(): void {
    if (!this.running) return;
    let busy: boolean;
    try {
      busy = this.step();
    } catch (e) {
      void this.stop();
      this.onError?.(e as Error);
      return;
    }
    const next = this.nextDeadline();
    if (busy || (next !== undefined && next <= this.now)) {
      this.kick();
      return;
    }
    void this.waitForWork(next ?? Infinity).then(() => this.kick());
  }

  private afterWait(): void {
    if (this.stopped) {
      for (const w of this.stopWaiters.splice(0)) w();
      return;
    }
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
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
