// backends: the `sim` backend — a virtual wire joining any number of devices, and a virtual clock that
// drives everything attached to it. Deterministic: no real clock, no real randomness.
import type { Driver, Pollable } from './backend';
import type { Device, FrameHandler } from './device';

export type { Pollable } from './backend';

export interface SimWireOptions {
  /** One-way propagation delay in milliseconds. */
  readonly latencyMs?: number;
  /** Link rate of each port in bits per second; undefined is infinitely fast. */
  readonly rateBps?: number;
  /** MTU of the ports (IP bytes); default 1500. */
  readonly mtu?: number;
}

/**
 * A learning switch with a fixed propagation delay: a frame goes to the port that last sent from
 * its destination MAC, or to every other port when that is unknown, broadcast or multicast.
 */
export class SimWire {
  readonly latencyMs: number;
  readonly rateBps: number | undefined;
  readonly mtu: number;
  private readonly ports: SimPort[] = [];
  /** MAC (as a 48-bit number) → port that last sent from it. */
  private readonly learned = new Map<number, SimPort>();

  constructor(options: SimWireOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0.01;
    this.rateBps = options.rateBps;
    this.mtu = options.mtu ?? 1500;
  }

  /** A new port on this wire. */
  attach(name: string): SimPort {
    const port = new SimPort(name, this);
    this.ports.push(port);
    return port;
  }

  /**
   * Carries a frame from `from`; called by SimPort.transmit. The frame is copied, unless `owned`
   * (built in a buffer from `take`): then it travels as it is to the first port it goes to.
   */
  carry(from: SimPort, frame: Uint8Array, departs: number, owned = false): void {
    if (frame.length < 14) return;
    const src = macKey(frame, 6);
    if (this.learned.get(src) !== from) this.learned.set(src, from);
    const arrives = departs + this.latencyMs;
    const multicast = (frame[0] & 1) === 1;
    const to = multicast ? undefined : this.learned.get(macKey(frame, 0));
    if (to !== undefined) {
      if (to !== from) to.enqueue(owned ? frame : this.copy(frame), arrives);
      else if (owned) this.recycle(frame);
      return;
    }
    // Flooding: copies for all ports but one, which may take the original (copies are made first,
    // while the original is still unread).
    let last: SimPort | undefined;
    for (const port of this.ports) {
      if (port === from) continue;
      if (last !== undefined) last.enqueue(this.copy(frame), arrives);
      last = port;
    }
    if (last !== undefined) last.enqueue(owned ? frame : this.copy(frame), arrives);
    else if (owned) this.recycle(frame);
  }

  /** A recycled (or new) buffer of exactly `len` bytes, for a frame that will be carried without a copy. */
  take(len: number): Uint8Array {
    if (len > POOLED_FRAME) return new Uint8Array(len);
    const out = this.pool[len]?.pop();
    if (out === undefined) return new Uint8Array(new ArrayBuffer(len <= SMALL_FRAME ? SMALL_FRAME : POOLED_FRAME), 0, len);
    this.pooled--;
    return out;
  }

  /**
   * A copy of `frame` in a recycled buffer. A received frame is only valid during the receive call
   * (the Device contract), so SimPort gives it back right after; this spares the allocator and the
   * garbage collector a fresh 1.5 KB buffer per frame. Views are kept by length, so a frame of a
   * length seen before (bulk traffic is mostly full segments and bare ACKs) reuses the view as well.
   */
  private copy(frame: Uint8Array): Uint8Array {
    const out = this.take(frame.length);
    out.set(frame);
    return out;
  }

  /** Takes back a frame after delivery. */
  recycle(frame: Uint8Array): void {
    const size = frame.buffer.byteLength;
    if (frame.byteOffset !== 0 || (size !== POOLED_FRAME && size !== SMALL_FRAME) || this.pooled >= MAX_POOLED) return;
    (this.pool[frame.length] ??= []).push(frame);
    this.pooled++;
  }

  /** Recycled frames, indexed by length (filled, so that V8 keeps it a plain array, not a dictionary). */
  private readonly pool: (Uint8Array[] | undefined)[] = new Array<Uint8Array[] | undefined>(POOLED_FRAME + 1).fill(undefined);
  private pooled = 0;
}

/** Frames up to this size (a 1500-byte MTU plus Ethernet header and tags, with room) use pooled buffers. */
const POOLED_FRAME = 2048;
/** Bare ACKs and other short frames get buffers of this size. */
const SMALL_FRAME = 128;
/**
 * Enough for a 4 MiB window of full frames in flight and the ACKs coming back (some 4,400), so that
 * bulk transfers settle into reusing buffers; at most 16 MiB are kept.
 */
const MAX_POOLED = 8192;

const EMPTY_FRAME = new Uint8Array(0);

function macKey(frame: Uint8Array, offset: number): number {
  return (
    frame[offset] * 2 ** 40 +
    frame[offset + 1] * 2 ** 32 +
    ((frame[offset + 2] << 24) | (frame[offset + 3] << 16) | (frame[offset + 4] << 8) | frame[offset + 5]) >>> 0
  );
}

/** One end on a SimWire. Arrivals are in time order (fixed latency, FIFO serialization). */
export class SimPort implements Device {
  onReceive: FrameHandler | undefined;
  readonly mtu: number;
  /** Frames in flight to this port: a ring of (arrival time, frame), oldest at `head`. */
  private times = new Float64Array(1024);
  private frames: Uint8Array[] = new Array<Uint8Array>(1024).fill(EMPTY_FRAME);
  private head = 0;
  private count = 0;
  /** When this port's transmitter is free again (serialization at the link rate). */
  private busyUntil = 0;
  /** Frames sent and received, for tests and stats. */
  txFrames = 0;
  rxFrames = 0;

  constructor(
    readonly name: string,
    private readonly wire: SimWire,
  ) {
    this.mtu = wire.mtu;
  }

  /**
   * A buffer of exactly `len` bytes to build the next frame in. Handing that same buffer to
   * `transmit` gives it to the wire, which carries it without copying; the sender must not touch it
   * afterwards. Anything else given to `transmit` is copied as usual.
   */
  frameBuffer(len: number): Uint8Array {
    this.lent = this.wire.take(len);
    return this.lent;
  }

  /** The buffer last handed out by `frameBuffer` and not yet transmitted. */
  private lent: Uint8Array | undefined;

  transmit(frame: Uint8Array, now: number): void {
    const owned = frame === this.lent;
    if (owned) this.lent = undefined;
    this.txFrames++;
    let departs = now;
    if (this.wire.rateBps !== undefined) {
      const start = Math.max(now, this.busyUntil);
      // 20 bytes of preamble, start delimiter and inter-frame gap, and the 4-byte FCS.
      departs = start + ((frame.length + 24) * 8 * 1000) / this.wire.rateBps;
      this.busyUntil = departs;
    }
    this.wire.carry(this, frame, departs, owned);
  }

  enqueue(frame: Uint8Array, arrives: number): void {
    if (this.count === this.frames.length) this.grow();
    const i = (this.head + this.count) & (this.frames.length - 1);
    this.times[i] = arrives;
    this.frames[i] = frame;
    this.count++;
  }

  poll(now: number): void {
    while (this.count > 0 && this.times[this.head] <= now) {
      const frame = this.frames[this.head];
      this.frames[this.head] = EMPTY_FRAME;
      // The ring may grow during the receive call (another port sending to this one): re-read its size.
      this.head = (this.head + 1) & (this.frames.length - 1);
      this.count--;
      this.rxFrames++;
      this.onReceive?.(frame, now);
      this.wire.recycle(frame);
    }
  }

  pollAt(): number | undefined {
    return this.count > 0 ? this.times[this.head] : undefined;
  }

  private grow(): void {
    const n = this.frames.length;
    const times = new Float64Array(n * 2);
    const frames = new Array<Uint8Array>(n * 2).fill(EMPTY_FRAME);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & (n - 1);
      times[k] = this.times[i];
      frames[k] = this.frames[i];
    }
    this.times = times;
    this.frames = frames;
    this.head = 0;
  }
}

/**
 * The virtual clock. `runUntil` advances time from deadline to deadline, polling whatever is due,
 * so a simulated second costs only the work done in it.
 */
export class SimClock implements Driver {
  readonly virtual = true;
  now = 0;
  private readonly members: Pollable[] = [];

  add(member: Pollable): void {
    this.members.push(member);
  }

  remove(member: Pollable): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
  }

  /** The earliest deadline of any member, or undefined when nothing is pending. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const t = members[i].pollAt();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  /**
   * Runs one step: advances to the earliest deadline (never backwards, never past `limit`) and
   * polls every member due then. Returns false when nothing is due by `limit`.
   */
  step(limit = Infinity): boolean {
    const next = this.nextDeadline();
    if (next === undefined || next > limit) return false;
    if (next > this.now) this.setNow(next);
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i];
      const t = m.pollAt();
      if (t !== undefined && t <= this.now) m.poll(this.now);
    }
    return true;
  }

  /** Runs until `time`, or until `done()` holds after a step, or until `maxSteps`; returns the steps run. */
  runUntil(time: number, done?: () => boolean, maxSteps = Infinity): number {
    let steps = 0;
    while (steps < maxSteps && this.step(time)) {
      steps++;
      if (done?.()) return steps;
    }
    if (!done?.() && time !== Infinity && this.now < time) this.setNow(time);
    return steps;
  }

  /** Moves the clock forward to `time` (never back) and tells the members that want to know. */
  setNow(time: number): void {
    if (time <= this.now) return;
    this.now = time;
    const members = this.members;
    for (let i = 0; i < members.length; i++) members[i].advance?.(time);
  }
}
