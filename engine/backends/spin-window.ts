// backends: how long the real-time driver busy-polls before a blocking wait (realtime.ts, modes poll
// and spin). A wake-up of a sleeping thread costs tens of microseconds on a VM, so when frames come
// in quick succession a short spin catches the next one sooner; when they do not, spinning only
// burns a CPU, and on a busy machine it takes the CPU from another thread or loses this one its turn.
//
// poll sizes the window as KVM's halt polling sizes halt_poll_ns: a wait that a frame ended soon
// after it blocked (within twice the largest window, the wake-up included) doubles the window, from
// START_US, since spinning would have caught that frame; a wait that blocked long, or saw no frame,
// halves it, down to 0. spin keeps the largest window. Both stop spinning for a while when a spin
// lost its CPU to another thread of this machine (native/epoll.ts `spinPreempted`): PAUSE_MS, doubling up to
// PAUSE_MAX_MS while that recurs, back to PAUSE_MS once spins run undisturbed again.

/** poll: the window a growing spin starts from (µs), and below which a shrinking one stops. */
const START_US = 10;
/** After a spin lost its CPU: no spinning for this long (ms), doubled while it recurs. */
const PAUSE_MS = 20;
const PAUSE_MAX_MS = 200;

/** What one wait did, as the driver saw it. */
export interface WaitOutcome {
  /** The spin found a frame (no blocking wait). */
  readonly spinHit: boolean;
  /** The spin stopped because this thread lost its CPU. */
  readonly preempted: boolean;
  /** The wait ended with a frame (rather than its timeout). */
  readonly frame: boolean;
  /** How long the whole wait took, spin included (µs). */
  readonly waitedUs: number;
}

export class SpinWindow {
  private current: number;
  private pausedUntil = 0;
  private pauseMs = PAUSE_MS;
  readonly counters = { spinHits: 0, preempted: 0, grows: 0, shrinks: 0 };

  /** `maxUs`: the largest window; `adaptive`: poll (sized by what waits find) or spin (always `maxUs`). */
  constructor(
    readonly maxUs: number,
    readonly adaptive: boolean,
  ) {
    this.current = adaptive ? 0 : maxUs;
  }

  /** The spin for a wait that starts at `now` (ms): 0 while paused. */
  windowUs(now: number): number {
    return now < this.pausedUntil ? 0 : this.current;
  }

  /** Learns from a wait that started with a spin of `spunUs` (0: none) and ended at `now` (ms). */
  afterWait(now: number, spunUs: number, w: WaitOutcome): void {
    if (w.preempted) {
      this.counters.preempted++;
      this.pausedUntil = now + this.pauseMs;
      this.pauseMs = Math.min(PAUSE_MAX_MS, this.pauseMs * 2);
      return;
    }
    // A spin ran undisturbed a whole pause after the last pause ended: the contention is over.
    if (spunUs > 0 && this.pauseMs > PAUSE_MS && now > this.pausedUntil + this.pauseMs) this.pauseMs = PAUSE_MS;
    if (w.spinHit) {
      this.counters.spinHits++;
      return;
    }
    if (!this.adaptive || now < this.pausedUntil) return;
    if (w.frame && w.waitedUs <= 2 * this.maxUs) {
      const grown = Math.min(this.maxUs, Math.max(START_US, this.current * 2));
      if (grown > this.current) this.counters.grows++;
      this.current = grown;
    } else if (this.current > 0) {
      const half = this.current / 2;
      this.current = half < START_US ? 0 : half;
      this.counters.shrinks++;
    }
  }
}
