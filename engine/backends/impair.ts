// backends: the impairment wrapper — loss, delay, jitter, reordering, duplication, corruption, rate and
// MTU applied to the frames a device sends and receives, reproducible from one seeded RNG. It wraps any
// backend, because the kernels this runs on have no netem.
//
// Impairments act on a wire of MTU-sized frames with complete checksums. Around a device with
// offloads (a lab TAP with a virtio-net header) the wrapper offers the stacks none, and finishes in
// software, as a NIC does before the wire, what a frame leaves to a device: a TSO/GSO super-frame is
// cut into segments and partial checksums are completed, in both directions, before any impairment
// (so a loss takes one segment, and a corrupted segment fails its checksum as it would on a wire).
import type { Device, FrameHandler } from './device';
import { finishInSoftware, forwardOffload, txOffload, type LinkOffloads, type TxOffload } from '../stack/offload';
import type { SeededRng } from '../tcp/rng';
import { TimerQueue } from './timer-queue';

export interface Impairments {
  /** Probability that a frame is lost. */
  readonly loss?: number;
  /** Fixed extra one-way delay, milliseconds. */
  readonly delayMs?: number;
  /** Uniform jitter added to the delay, ± milliseconds (the result is never below zero). */
  readonly jitterMs?: number;
  /** Probability that a frame is held back by `reorderGapMs`, so that frames behind it overtake it. */
  readonly reorder?: number;
  readonly reorderGapMs?: number;
  /** Probability that a frame is sent twice. */
  readonly duplicate?: number;
  /** Probability that one random bit of the frame is flipped. */
  readonly corrupt?: number;
  /** Bottleneck rate in megabits per second, with a drop-tail queue of `queueFrames`. */
  readonly rateMbit?: number;
  readonly queueFrames?: number;
  /** Frames whose IP part is larger than this are dropped, as a smaller link would. */
  readonly mtu?: number;
  /** Which way the impairments apply; default both. */
  readonly direction?: 'tx' | 'rx' | 'both';
}

/** What an impairment did: dropped the frame (loss, mtu, queue-full), or changed it or its timing. `delay`: held back (delay, jitter, a rate queue). */
export type ImpairmentEvent = 'loss' | 'mtu' | 'queue-full' | 'duplicate' | 'corrupt' | 'reorder' | 'delay';

export interface ImpairmentCounters {
  loss: number;
  mtu: number;
  queueFull: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  delayed: number;
}

/**
 * Called for every impairment applied, so that the tracer can put it on the frame's record: a drop
 * when it happens; on transmit, every change during `transmit` (the frame's record is still open);
 * on receive, every change to a frame right before that frame is handed to `onReceive` (its record
 * opens then) — a duplicate is reported on the copy, a corruption on the corrupted copy.
 */
export type ImpairmentObserver = (event: ImpairmentEvent, frame: Uint8Array, direction: 'tx' | 'rx', now: number) => void;

interface Pending {
  frame: Uint8Array;
  direction: 'tx' | 'rx';
  wireLen: number;
  /** Received frames: what was done to this frame, reported when it is delivered. */
  marks: ImpairmentEvent[] | undefined;
}

export class ImpairedDevice implements Device {
  onReceive: FrameHandler | undefined;
  readonly counters: ImpairmentCounters = { loss: 0, mtu: 0, queueFull: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0 };
  observer: ImpairmentObserver | undefined;
  private readonly pending = new TimerQueue<Pending>();
  /** Per direction, when the bottleneck is free again. */
  private readonly busyUntil = { tx: 0, rx: 0 };
  private readonly queued = { tx: 0, rx: 0 };
  private readonly rxOff = txOffload();

  constructor(
    readonly inner: Device,
    private readonly impairments: Impairments,
    private readonly rng: SeededRng,
  ) {
    inner.onReceive = (frame, now, wireLen, rx) => {
      const off = forwardOffload(rx, this.rxOff);
      if (off === undefined) return this.pass(frame, 'rx', now, wireLen ?? frame.length);
      finishInSoftware(frame, off, (f) => this.pass(f, 'rx', now, f.length));
    };
  }

  /** None: the impairments sit on a wire of MTU-sized frames (see above). */
  get offloads(): LinkOffloads | undefined {
    return undefined;
  }

  get name(): string {
    return this.inner.name;
  }

  get mtu(): number {
    return Math.min(this.inner.mtu, this.impairments.mtu ?? Infinity);
  }

  transmit(frame: Uint8Array, now: number, offload?: TxOffload): void {
    if (offload === undefined) return this.pass(frame, 'tx', now, frame.length);
    // A frame a forwarding path passes on as it came (the lab's kernel path): finished here first.
    finishInSoftware(frame, offload, (f) => this.pass(f, 'tx', now, f.length));
  }

  poll(now: number): void {
    this.inner.poll(now);
    for (let p = this.pending.popDue(now); p !== undefined; p = this.pending.popDue(now)) {
      if (this.impairments.rateMbit !== undefined) this.queued[p.direction]--;
      this.deliver(p.frame, p.direction, now, p.wireLen, p.marks);
    }
  }

  pollAt(): number | undefined {
    const a = this.inner.pollAt();
    const b = this.pending.peekTime();
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  private applies(direction: 'tx' | 'rx'): boolean {
    const d = this.impairments.direction ?? 'both';
    return d === 'both' || d === direction;
  }

  private pass(frame: Uint8Array, direction: 'tx' | 'rx', now: number, wireLen: number): void {
    if (!this.applies(direction)) return this.deliver(frame, direction, now, wireLen, undefined);
    const im = this.impairments;
    if (im.mtu !== undefined && frame.length - ipOffset(frame) > im.mtu) return this.note('mtu', frame, direction, now);
    if (this.rng.chance(im.loss ?? 0)) return this.note('loss', frame, direction, now);
    const copies = this.rng.chance(im.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) {
      this.counters.duplicated++;
      if (direction === 'tx') this.report('duplicate', frame, direction, now);
    }
    for (let i = 0; i < copies; i++) {
      let out = frame;
      // A received frame's marks travel with it (the second of two copies is the duplicate).
      let marks: ImpairmentEvent[] | undefined = direction === 'rx' && i === 1 ? ['duplicate'] : undefined;
      if (this.rng.chance(im.corrupt ?? 0)) {
        out = frame.slice();
        const bit = this.rng.below(out.length * 8);
        out[bit >> 3] ^= 0x80 >> (bit & 7);
        this.counters.corrupted++;
        if (direction === 'tx') this.report('corrupt', out, direction, now);
        else (marks ??= []).push('corrupt');
      }
      this.schedule(out, direction, now, wireLen, marks);
    }
  }

  private schedule(frame: Uint8Array, direction: 'tx' | 'rx', now: number, wireLen: number, marks: ImpairmentEvent[] | undefined): void {
    const im = this.impairments;
    let at = now;
    if (im.rateMbit !== undefined) {
      if (this.queued[direction] >= (im.queueFrames ?? 1000)) return this.note('queue-full', frame, direction, now);
      const start = Math.max(now, this.busyUntil[direction]);
      at = start + (frame.length * 8) / (im.rateMbit * 1000);
      this.busyUntil[direction] = at;
      this.queued[direction]++;
    }
    at += im.delayMs ?? 0;
    if (im.jitterMs) at = Math.max(now, at + (this.rng.next() * 2 - 1) * im.jitterMs);
    if (this.rng.chance(im.reorder ?? 0)) {
      at += im.reorderGapMs ?? Math.max(1, im.delayMs ?? 0, im.jitterMs ?? 0);
      this.counters.reordered++;
      if (direction === 'tx') this.report('reorder', frame, direction, now);
      else (marks ??= []).push('reorder');
    }
    if (at === now && im.rateMbit === undefined) return this.deliver(frame, direction, now, wireLen, marks);
    this.counters.delayed++;
    if (at > now) {
      if (direction === 'tx') this.report('delay', frame, direction, now);
      else (marks ??= []).push('delay');
    }
    // The caller may reuse its buffer; a held frame needs its own copy.
    this.pending.push(at, { frame: frame.slice(), direction, wireLen, marks });
  }

  private deliver(frame: Uint8Array, direction: 'tx' | 'rx', now: number, wireLen: number, marks: ImpairmentEvent[] | undefined): void {
    if (direction === 'tx') this.inner.transmit(frame, now);
    else {
      if (marks !== undefined) for (const m of marks) this.report(m, frame, 'rx', now);
      this.onReceive?.(frame, now, wireLen);
    }
  }

  /** A drop: counted and reported at once. */
  private note(event: 'loss' | 'mtu' | 'queue-full', frame: Uint8Array, direction: 'tx' | 'rx', now: number): void {
    if (event === 'loss') this.counters.loss++;
    else if (event === 'mtu') this.counters.mtu++;
    else this.counters.queueFull++;
    this.report(event, frame, direction, now);
  }

  private report(event: ImpairmentEvent, frame: Uint8Array, direction: 'tx' | 'rx', now: number): void {
    this.observer?.(event, frame, direction, now);
  }
}

/** Offset of the IP header: 14, plus 4 for each 802.1Q/802.1ad tag. */
function ipOffset(frame: Uint8Array): number {
  let off = 12;
  while (off + 4 <= frame.length) {
    const type = (frame[off] << 8) | frame[off + 1];
    if (type !== 0x8100 && type !== 0x88a8 && type !== 0x9100) break;
    off += 4;
  }
  return off + 2;
}
