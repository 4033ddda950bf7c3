// native: the one wait for every device — an epoll set over all their fds plus an eventfd for wake-ups
// and shutdown. Two ways to wait on it: `wait`, a single koffi async call on a libuv pool thread
// (koffi's async calls occupy threads of libuv's small pool, so there is never more than one in
// flight), which calls back on the main thread; or `waitNow`, a synchronous epoll_pwait2 on the
// calling thread, optionally after busy-polling for a few microseconds (as OpenOnload's
// EF_POLL_USEC does, yielding the CPU between looks), which spares the pool thread and the hop back. Owns `struct epoll_event` and
// `struct timespec`.
// The module's `performance`: the global one is a lazy getter, a call per read of the clock.
import { performance } from 'node:perf_hooks';
import { EFD_CLOEXEC, EFD_NONBLOCK, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLIN, lastError, libc, O_CLOEXEC, RUSAGE_THREAD, type Libc } from './libc';

/** sizeof(struct epoll_event) on x86_64 (packed: u32 events, u64 data); aarch64 pads it to 16. */
const EVENT_LEN = process.arch === 'x64' ? 12 : 16;
const DATA_OFF = process.arch === 'x64' ? 4 : 8;
const MAX_EVENTS = 64;
/** sizeof(struct timespec) on LP64: i64 tv_sec, i64 tv_nsec. */
const TIMESPEC_LEN = 16;
/** A look of a spin (epoll_wait, sched_yield) that takes longer than this (ms) may have lost the CPU to another thread. */
const PREEMPTED_MS = 0.05;
/** sizeof(struct rusage) on LP64 (two timevals, fourteen longs), and where ru_nivcsw is in it. */
const RUSAGE_LEN = 144;
const NIVCSW_OFF = 136;
/** The token of the wake-up eventfd. */
const WAKE_TOKEN = 0;

export class Poller {
  private readonly c: Libc;
  private readonly epfd: number;
  private readonly wakeFd: number;
  private readonly events = Buffer.alloc(EVENT_LEN * MAX_EVENTS);
  private readonly one = Buffer.alloc(8);
  private readonly ev = Buffer.alloc(EVENT_LEN);
  private readonly timespec = Buffer.alloc(TIMESPEC_LEN);
  private readonly rusage = Buffer.alloc(RUSAGE_LEN);
  /** The tokens the last `waitNow` found readable, in `ready[0 .. count)` (the wake-up is never listed). */
  readonly ready = new Int32Array(MAX_EVENTS);
  /** The last `waitNow` that spun found its events while spinning (not in the blocking wait after it). */
  spinHit = false;
  /** The last `waitNow` stopped spinning because this thread lost its CPU for a while (see PREEMPTED_MS). */
  spinPreempted = false;
  private inFlight = false;
  private closeWhenIdle = false;
  private closed = false;

  constructor() {
    this.c = libc();
    this.epfd = this.c.epollCreate1(O_CLOEXEC);
    if (this.epfd < 0) throw lastError(this.c, 'epoll_create1', '');
    this.wakeFd = this.c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.wakeFd < 0) throw lastError(this.c, 'eventfd', '');
    this.add(this.wakeFd, WAKE_TOKEN);
  }

  /** Watches `fd` for input; `token` (> 0) comes back from `wait` when it is readable. */
  add(fd: number, token: number): void {
    this.ev.writeUInt32LE(EPOLLIN, 0);
    this.ev.writeBigUInt64LE(BigInt(token), DATA_OFF);
    if (this.c.epollCtl(this.epfd, EPOLL_CTL_ADD, fd, this.ev) < 0) throw lastError(this.c, 'epoll_ctl', `ADD fd ${fd}`);
  }

  remove(fd: number): void {
    this.c.epollCtl(this.epfd, EPOLL_CTL_DEL, fd, this.ev);
  }

  get waiting(): boolean {
    return this.inFlight;
  }

  /**
   * Waits (on a libuv thread) until a watched fd is readable, `wake()` is called, or `timeoutMs`
   * passes (-1: no timeout), then calls back on the main thread with the readable tokens (the
   * wake-up is drained and not listed). Only one wait may be in flight.
   */
  wait(timeoutMs: number, done: (tokens: readonly number[]) => void): void {
    if (this.closed) throw new Error('poller is closed');
    if (this.inFlight) throw new Error('a wait is already in flight: the engine keeps exactly one');
    this.inFlight = true;
    this.c.epollWait.async(this.epfd, this.events, MAX_EVENTS, Math.round(timeoutMs), (err: unknown, n: number) => {
      this.inFlight = false;
      const tokens: number[] = [];
      if (err === null || err === undefined) {
        for (let i = 0; i < n; i++) {
          const t = this.tokenAt(i);
          if (t === WAKE_TOKEN) this.c.read(this.wakeFd, this.one, 8);
          else tokens.push(t);
        }
      }
      // n < 0 is EINTR (a signal): an empty wake-up, the caller simply waits again.
      if (this.closeWhenIdle) this.closeNow();
      done(tokens);
    });
  }

  /**
   * Waits on this thread until a watched fd is readable or `timeoutMs` passes (0: just look; -1: no
   * timeout), busy-polling first for up to `spinUs` microseconds of it, with a sched_yield between
   * looks so that any other thread that wants this CPU gets it. Returns how many tokens are
   * in `ready`. Refused while an async `wait` is in flight (that thread is using the set).
   */
  waitNow(timeoutMs: number, spinUs = 0): number {
    if (this.closed) throw new Error('poller is closed');
    if (this.inFlight) throw new Error('an async wait is in flight: waitNow would race it');
    const c = this.c;
    let n = 0;
    this.spinHit = false;
    this.spinPreempted = false;
    if (spinUs > 0 && timeoutMs !== 0) {
      const start = performance.now();
      const spinMs = timeoutMs < 0 ? spinUs / 1000 : Math.min(spinUs / 1000, timeoutMs);
      let before = start;
      let at = start;
      let switches = -1;
      do {
        n = c.epollWait(this.epfd, this.events, MAX_EVENTS, 0);
        if (n !== 0) {
          this.spinHit = true;
          return this.collect(n);
        }
        // A thread that this one keeps from its CPU (a peer woken here) runs now: a spin never starves it.
        c.schedYield();
        at = performance.now();
        // One look took far longer than a look: this thread lost its CPU. If another thread had it
        // (an involuntary context switch: a busy machine), spinning only loses this one its turn, so
        // the caller blocks and should stop spinning for a while. If not, the hypervisor took the
        // whole vCPU (steal), which blocking would not have avoided: spin on.
        if (at - before > PREEMPTED_MS) {
          const now = this.involuntarySwitches();
          if (switches >= 0 && now > switches) {
            this.spinPreempted = true;
            break;
          }
          switches = now;
        } else if (switches < 0) {
          switches = this.involuntarySwitches();
        }
        before = at;
      } while (at - start < spinMs);
      if (timeoutMs > 0) timeoutMs = Math.max(0, timeoutMs - (at - start));
      if (timeoutMs === 0) return 0;
    }
    if (timeoutMs === 0 || timeoutMs < 0 || c.epollPwait2 === undefined) {
      // epoll_wait's timeout is whole milliseconds: round up, so a deadline is never woken early.
      n = c.epollWait(this.epfd, this.events, MAX_EVENTS, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs));
    } else {
      const ns = Math.ceil(timeoutMs * 1e6);
      const ts = this.timespec;
      ts.writeUInt32LE(Math.floor(ns / 1e9), 0);
      ts.writeUInt32LE(0, 4);
      ts.writeUInt32LE(ns % 1e9, 8);
      ts.writeUInt32LE(0, 12);
      n = c.epollPwait2(this.epfd, this.events, MAX_EVENTS, ts, null);
    }
    // n < 0 is EINTR (a signal): an empty wake-up, the caller simply waits again.
    return n > 0 ? this.collect(n) : 0;
  }

  /** This thread's involuntary context switches so far (getrusage RUSAGE_THREAD ru_nivcsw; a sched_yield that gave the CPU away counts). */
  private involuntarySwitches(): number {
    if (this.c.getrusage(RUSAGE_THREAD, this.rusage) !== 0) return 0;
    return Number(this.rusage.readBigInt64LE(NIVCSW_OFF));
  }

  private collect(n: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) {
      const t = this.tokenAt(i);
      if (t === WAKE_TOKEN) this.c.read(this.wakeFd, this.one, 8);
      else this.ready[k++] = t;
    }
    return k;
  }

  /** The token of event `i`: tokens are small, so the low half of the u64 data field is all of it (no BigInt per event). */
  private tokenAt(i: number): number {
    return this.events.readUInt32LE(i * EVENT_LEN + DATA_OFF);
  }

  /** Ends the wait in flight (if any) at once. */
  wake(): void {
    if (this.closed) return;
    this.one.writeBigUInt64LE(1n, 0);
    this.c.write(this.wakeFd, this.one, 8);
  }

  /** Closes the epoll set and the eventfd; with a wait in flight, it is woken and they close when it returns. */
  close(): void {
    if (this.closed) return;
    if (this.inFlight) {
      this.closeWhenIdle = true;
      this.wake();
      return;
    }
    this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.epfd);
    this.c.close(this.wakeFd);
  }
}
