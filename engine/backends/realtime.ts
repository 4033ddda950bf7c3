// backends: the real-time driver — runs devices, stacks, timers and workloads on the monotonic clock
// with `poll(now)`/`pollAt()`, as SimClock does in virtual time. Frames come from file descriptors
// (TAP, AF_PACKET) watched by ONE epoll wait in flight (native/epoll.ts), deadlines by one Node
// timer; each wake-up reads at most `batch` frames per source, so a flood cannot starve the event loop.
//
// `now` is milliseconds since the driver was made, from performance.now() (CLOCK_MONOTONIC), so
// times taken anywhere in the process with performance.now() convert with `toDriverTime`.
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
  /** Frames read per source per wake-up (default 64). */
  readonly batch?: number;
  /** Called once if a device fails (the driver has stopped by then). */
  readonly onError?: (err: Error) => void;
}

export class RealtimeDriver {
  /** performance.now() at time 0. */
  readonly origin = performance.now();
  readonly batch: number;
  private readonly members: Pollable[] = [];
  private readonly sources: FrameSource[] = [];
  private readonly poller = new Poller();
  private running = false;
  private stopped = false;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopWaiters: (() => void)[] = [];
  private readonly onError: ((err: Error) => void) | undefined;
  /** Wake-ups and cycles, for tests and stats. */
  readonly counters = { cycles: 0, waits: 0, framesRead: 0, cappedReads: 0 };

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

  /** Watches a source's fd; its frames are read on every wake-up. */
  addSource(source: FrameSource): void {
    this.sources.push(source);
    this.poller.add(source.fd, this.sources.length);
    this.kick();
  }

  start(): void {
    if (this.stopped) throw new Error('the driver was stopped');
    if (this.running) return;
    this.running = true;
    this.kick();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Runs a cycle soon: for calls into a stack made from outside the driver's own callbacks (another
   * process's events, a test), so that what they queued goes out without waiting for a deadline.
   */
  kick(): void {
    if (!this.running || this.immediate !== undefined) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.cycle();
    });
  }

  /** Stops: no more polls; resolves once the wait in flight has returned (device fds may then be closed). */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    this.running = false;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
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
   * Resolves when `done()` holds (checked after every cycle and every `checkMs`), or false at
   * `timeoutMs` of real time. For tests and programs that wait for a workload.
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

  private cycle(): void {
    if (!this.running) return;
    this.counters.cycles++;
    let busy = false;
    let capped = false;
    const now = this.now;
    try {
      for (const m of this.members) m.advance?.(now);
      for (const s of this.sources) {
        const n = s.drain(now, this.batch);
        this.counters.framesRead += n;
        if (n > 0) busy = true;
        if (n >= this.batch) {
          capped = true;
          this.counters.cappedReads++;
        }
      }
      // A poll can make another member due at the same instant (a stack answering through the NIC).
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
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    // After work, one more cycle on the next turn of the event loop: what application callbacks did
    // through process.nextTick (stream writes) is then polled at once.
    if (busy || capped || this.dueNow()) {
      this.kick();
      return;
    }
    this.armTimer();
    if (!this.poller.waiting) {
      this.counters.waits++;
      this.poller.wait(-1, () => this.afterWait());
    }
  }

  private afterWait(): void {
    if (!this.running) {
      for (const w of this.stopWaiters.splice(0)) w();
      return;
    }
    this.cycle();
  }

  private dueNow(): boolean {
    const now = this.now;
    for (const m of this.members) {
      const t = m.pollAt();
      if (t !== undefined && t <= now) return true;
    }
    return false;
  }

  /** One Node timer for the earliest deadline of any member. */
  private armTimer(): void {
    let next = Infinity;
    for (const m of this.members) {
      const t = m.pollAt();
      if (t !== undefined && t < next) next = t;
    }
    if (next === this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.cycle();
    }, Math.max(0, Math.ceil(next - this.now)));
  }

  private fail(err: Error): void {
    void this.stop();
    this.onError?.(err);
  }
}
