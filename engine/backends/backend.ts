// backends: a capture's frame source and its clock — the seam under the NIC. A backend gives a capture
// session three things: the wire-side Device the NIC sits on (frames from the wire arrive on it, frames
// both host stacks send leave through it), the Driver that drives every part of the capture, and,
// where the remote side is ours, the host that wire-side workloads run on.
//
//   sim    the host's port on a SimWire; virtual time (SimClock); the peer stack at 198.18.0.1
//   pcap   frames from a capture file at their original times; virtual time; no peer
//   lab    (engine/backends/lab*.ts) a TAP to the wire namespace; a monotonic driver whose
//          `waitForWork` returns when the TAP is readable or a deadline is due; no peer (the wire
//          side runs Linux programs)
//
// A backend is made by a factory the session calls with a generator forked from the capture's one
// seed, so that a simulated run replays exactly whatever the backend draws.
import type { Rng } from '../tcp/index';
import type { Scheduler, WorkloadHost } from '../workloads/api';
import type { Device } from './device';

/** Anything a driver drives: devices, stacks, timers, workloads. Times are milliseconds. */
export interface Pollable {
  poll(now: number): void;
  pollAt(): number | undefined;
  /**
   * Optional: told the time whenever the clock moves, even when nothing of this member is due, so
   * that calls made into it between polls (an application sending) see the current time.
   */
  advance?(now: number): void;
}

/**
 * The clock of a capture, and what moves it. A virtual driver (SimClock) jumps from deadline to
 * deadline as fast as the work allows, and the session may pace it against wall time; a monotonic
 * driver's `now` is wall time since the start, and the session waits in `waitForWork` between steps.
 */
export interface Driver {
  /** True when time is the network's own (sim, replay) and stands still unless stepped. */
  readonly virtual: boolean;
  /** Milliseconds since the capture started. */
  readonly now: number;
  add(member: Pollable): void;
  /** The earliest deadline of any member, or undefined when nothing is pending. */
  nextDeadline(): number | undefined;
  /** Polls every member due now (a virtual driver first advances to the earliest deadline ≤ `limit`); false when none is. */
  step(limit?: number): boolean;
  /** Moves a virtual clock forward to `time`; a monotonic driver ignores it. */
  setNow(time: number): void;
  /** Monotonic drivers: resolves when a member may have work (a device became readable) or at `untilMs`. */
  waitForWork?(untilMs: number): Promise<void>;
}

export interface CaptureBackend {
  /** The backend's name as the protocol spells it (`sim`, `pcap`, `lab`, …). */
  readonly name: string;
  /** The host's side of the wire: the NIC's device (the session wraps impairments around it). */
  readonly device: Device;
  readonly driver: Driver;
  /** For capture files and logs: the interface the frames crossed. */
  readonly interfaceName: string;
  readonly interfaceDescription: string;
  /** Parts of the wire side the driver must poll besides the device (sim: the peer stack); the session adds them after the host's stacks. */
  readonly members?: readonly Pollable[];
  /** Where wire-side workloads run (sim: the peer stack at 198.18.0.1); undefined when the wire side is not ours to drive (pcap). */
  peerHost?(timers: Scheduler): WorkloadHost;
  /** Application callbacks run on the wire side so far: the session lets Node's event loop turn when this moves. */
  callbackRounds?(): number;
  /** Releases what the backend holds (files, devices, namespaces). */
  close?(): void;
}

export interface BackendContext {
  /** The backend's own generator, forked from the capture's seed. */
  readonly rng: Rng;
}

export type BackendFactory = (ctx: BackendContext) => CaptureBackend;
