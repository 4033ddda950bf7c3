// kernel: the kernel path — the seam between the NIC and whatever plays the host's kernel. The NIC
// hands a kernel path every frame steered to the kernel (`receive`) and gives it a port to send on
// (frames it writes there leave through the NIC to the wire, with their tx hops); kernel-side
// workloads run on the path's `host`.
//
//   emulated  (emulated.ts) a second instance of our stack configured like Linux, for sim and pcap
//             replay; it reports its hops through the StackObserver under the stack's layer names,
//             which the NIC renames to the kernel's (KERNEL_LAYER) and labels `emulated`
//   real      (kernel/real*.ts, the lab) the Linux kernel behind a TAP device: `receive` writes the
//             frame to the TAP and reports what it can observe through `KernelTrace` — the write as a
//             measured `kernel.driver` hop, the unobservable middle as one `kernel.stack` span, the
//             kernel-side workload's receive as a measured `app` hop. Such a packet's record stays
//             open after `receive` returns (`hold`) until the path `finish`es it.
import type { Pollable } from '../backends/backend';
import type { Ipv4Stack, LinkDevice, PacketIdSource, StackObserver } from '../stack/index';
import type { RxOffload } from '../stack/offload';
import type { Rng } from '../tcp/index';
import type { Direction, HopKind, LayerName, Verdict } from '../trace/schema';
import type { Scheduler, WorkloadHost } from '../workloads/api';

export interface KernelPath extends Pollable {
  /** What plays the kernel, for logs and summaries ('emulated Linux', 'Linux 6.1 behind tap-host'). */
  readonly name: string;
  /** How this path's hops are labelled: `emulated` (our code standing in for Linux), or, for the real kernel, `measured` (the default for its hops; spans say so themselves). */
  readonly hopKind: HopKind;
  /** A frame the NIC steered to the kernel; valid only during the call. Its packet id is `packetIds.next()`; `wireLen` as in FrameHandler. */
  /** `rx`: what a device with offloads said of the frame (stack/offload.ts), for a path that passes it on. */
  receive(frame: Uint8Array, now: number, wireLen?: number, rx?: RxOffload): void;
  /** Where kernel-side workloads run; absent when none can (a replay's kernel path). */
  host?(timers: Scheduler): WorkloadHost;
  /** Application callbacks run so far: the session lets Node's event loop turn when this moves. */
  readonly callbackRounds: number;
  /** The stack behind the path when it is ours (the emulated kernel). */
  readonly stack?: Ipv4Stack;
  /** Releases what the path holds (devices, processes). */
  close?(): void;
}

/**
 * Hops of the trace vocabulary that a kernel path reports itself (a real kernel's insides cannot go
 * through the StackObserver). `atMs` is when the layer was done with the packet, on the clock of
 * `performance.now()` (CLOCK_MONOTONIC, shared with other processes); the NIC reads the clock when it
 * is left out.
 */
export interface KernelTrace {
  hop(packetId: number, direction: Direction, layer: LayerName, kind: HopKind, verdict: Verdict, reason?: string, atMs?: number): void;
  /** Keeps a received packet's record open after `receive` returns; its later hops come through `hop`. */
  hold(packetId: number): void;
  /** Closes a held record (or a transmit record that will never reach the NIC). */
  finish(packetId: number): void;
}

/** What the NIC gives a kernel path when the session makes it. */
export interface KernelPathContext {
  /** Frames sent here leave through the NIC to the wire. */
  readonly port: LinkDevice;
  /** Packet ids: in `receive`, `next()` is the received frame's id; elsewhere a fresh one. */
  readonly packetIds: PacketIdSource;
  /** For a path that is our stack: the hooks that turn its hops into kernel hops. */
  readonly observer: StackObserver;
  readonly trace: KernelTrace;
  /** The host's address and MAC, shared with the bypass stack. */
  readonly mac: Uint8Array;
  readonly address: number;
  readonly prefixLength: number;
  /** The path's own generator, forked from the capture's seed. */
  readonly rng: Rng;
}

export type KernelPathFactory = (ctx: KernelPathContext) => KernelPath;
