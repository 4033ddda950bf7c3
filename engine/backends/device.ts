// backends: the one small interface every frame source and sink implements, and how time reaches it.
//
// No device reads a clock: the driver passes `now` (milliseconds; virtual in `sim`, monotonic on
// real devices) and asks `pollAt()` when the device next needs to run. Wrappers (impairments, pcap
// writing, tracing) implement the same interface around any device.

import type { LinkOffloads, RxOffload, TxOffload } from '../stack/offload';

export interface Device {
  readonly name: string;
  /** Largest IP packet the device carries (the frame is 14 bytes more, plus VLAN tags). */
  readonly mtu: number;
  /**
   * Sends one frame. The device copies the bytes if it keeps them past the call. `offload` (only
   * for a device with `offloads`): the checksum or segmentation the device must finish.
   */
  transmit(frame: Uint8Array, now: number, offload?: TxOffload): void;
  /** What the device finishes for a stack (stack/offload.ts); none when absent. */
  readonly offloads?: LinkOffloads;
  /** Set by the owner of the device; called once per received frame, which is only valid during the call. */
  onReceive: FrameHandler | undefined;
  /** Runs anything due at `now` (delayed deliveries, rate-limited queues). */
  poll(now: number): void;
  /** When `poll` next has work, or undefined when it has none. */
  pollAt(): number | undefined;
}

/**
 * A received frame and the time. `wireLen` is the frame's length on the wire when that is more than
 * `frame.length` (a replayed capture cut at its snap length); left out, it is `frame.length`. `rx`:
 * what a device with offloads says of the frame (a checksum it vouches for, a GSO super-frame).
 */
export type FrameHandler = (frame: Uint8Array, now: number, wireLen?: number, rx?: RxOffload) => void;
