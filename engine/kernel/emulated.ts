// kernel: the emulated kernel path for `sim` (and `pcap`) — a second instance of the userspace stack
// configured like a default Linux host, whose hops are named after the kernel's layers and labelled
// `emulated`. It is one implementation of the kernel path (path.ts); on `lab`/`tap` the real kernel
// takes this place and its insides become one span hop.
//
// What is emulated (and so labelled): Linux's TCP defaults (LINUX_TCP_CONFIG: initial window 10,
// minimum RTO 200 ms, delayed ACK 40 ms, CUBIC, TIME-WAIT 60 s), TTL 64, the ephemeral port range.
// What is not: the kernel's own costs (softirq, copies, syscalls, scheduling). The stack runs in zero
// virtual time, so every hop of one packet on this path carries the same virtual time; nothing is
// invented to make the lanes look different.
import type { Device } from '../backends/device';
import { Ipv4Stack, type Layer as StackLayer, type PacketIdSource, type StackObserver } from '../stack/index';
import { LINUX_TCP_CONFIG, type Rng, type TcpConfig } from '../tcp/index';
import type { LayerName } from '../trace/schema';
import { stackHost, type Scheduler, type WorkloadHost } from '../workloads/api';
import type { KernelPath, KernelPathFactory } from './path';

export interface EmulatedKernelOptions {
  readonly mac: Uint8Array;
  readonly address: number;
  readonly prefixLength: number;
  readonly gateway?: number;
  readonly rng: Rng;
  readonly packetIds?: PacketIdSource;
  readonly observer?: StackObserver;
  /** Settings over LINUX_TCP_CONFIG (tests use them; the defaults are Linux's). */
  readonly tcp?: Partial<TcpConfig>;
}

/** The stack's layer names (one vocabulary for both instances) → the kernel's, per DESIGN.md "Paths and hops". */
export const KERNEL_LAYER: { readonly [L in StackLayer]: LayerName } = {
  'bypass.eth': 'kernel.driver',
  'bypass.ip': 'kernel.ip',
  'bypass.tcp': 'kernel.tcp',
  'bypass.udp': 'kernel.udp',
  'bypass.icmp': 'kernel.icmp',
  'bypass.socket': 'kernel.socket',
};

/** The same mapping for the bypass stack: its names are already the trace's. */
export const BYPASS_LAYER: { readonly [L in StackLayer]: LayerName } = {
  'bypass.eth': 'bypass.eth',
  'bypass.ip': 'bypass.ip',
  'bypass.tcp': 'bypass.tcp',
  'bypass.udp': 'bypass.udp',
  'bypass.icmp': 'bypass.icmp',
  'bypass.socket': 'bypass.socket',
};

/**
 * The kernel of the simulated host: an Ipv4Stack named `kernel` with Linux's defaults, attached to
 * `device` (the NIC's kernel-side port). Its observer reports hops under the stack's own names; the
 * NIC renames them with KERNEL_LAYER.
 */
export function createEmulatedKernel(device: Device, options: EmulatedKernelOptions): Ipv4Stack {
  return new Ipv4Stack(device, {
    name: 'kernel',
    mac: options.mac,
    address: options.address,
    prefixLength: options.prefixLength,
    gateway: options.gateway,
    rng: options.rng,
    packetIds: options.packetIds,
    observer: options.observer,
    ttl: 64,
    ephemeralPorts: [32768, 60999],
    tcp: { ...LINUX_TCP_CONFIG, ...options.tcp },
  });
}

/** The emulated kernel as the NIC's kernel path: receives go to the stack, its hops are labelled `emulated`. */
export class EmulatedKernelPath implements KernelPath {
  readonly name = 'emulated Linux (our stack with Linux\'s defaults)';
  readonly hopKind = 'emulated';

  constructor(readonly stack: Ipv4Stack) {}

  receive(frame: Uint8Array, now: number): void {
    this.stack.receive(frame, now);
  }

  host(timers: Scheduler): WorkloadHost {
    return stackHost(this.stack, timers, 'kernel');
  }

  get callbackRounds(): number {
    return this.stack.callbackRounds;
  }

  poll(now: number): void {
    this.stack.poll(now);
  }

  pollAt(): number | undefined {
    return this.stack.pollAt();
  }

  advance(now: number): void {
    this.stack.advance(now);
  }
}

/** The kernel path for sim and replay: the emulated kernel, with `tcp` over Linux's defaults. */
export function emulatedKernel(tcp?: Partial<TcpConfig>): KernelPathFactory {
  return (ctx) =>
    new EmulatedKernelPath(
      createEmulatedKernel(ctx.port, {
        mac: ctx.mac,
        address: ctx.address,
        prefixLength: ctx.prefixLength,
        rng: ctx.rng,
        packetIds: ctx.packetIds,
        observer: ctx.observer,
        tcp,
      }),
    );
}
