// backends: a simulated network of N userspace stacks on one SimWire — one SimClock, one seed — with
// optional impairments per host, and helpers that run it until a condition or a virtual deadline.
import { Ipv4Stack, type StackOptions } from '../stack/stack';
import { packetIdCounter, type PacketIdSource } from '../stack/observe';
import type { TcpConfig } from '../tcp/index';
import type { Device } from './device';
import { ImpairedDevice, type Impairments } from './impair';
import { SeededRng } from '../tcp/rng';
import { SimClock, SimWire, type SimPort, type SimWireOptions } from './sim';

export interface SimHostOptions {
  readonly name?: string;
  /** Impairments applied at this host's port (both directions unless they say otherwise). */
  readonly impair?: Impairments;
  readonly tcp?: Partial<TcpConfig>;
  /** Anything else for the stack (address, MAC and RNG are assigned by the network). */
  readonly stack?: Partial<Omit<StackOptions, 'mac' | 'address' | 'rng' | 'packetIds'>>;
}

export interface SimNetworkOptions {
  readonly seed: number;
  readonly wire?: SimWireOptions;
  /** A number of plain hosts, or one options object per host. */
  readonly hosts: number | readonly SimHostOptions[];
  /** Host i gets base + i + 1; default 198.18.0.0/24 (RFC 2544 benchmarking space). */
  readonly base?: number;
  readonly prefixLength?: number;
}

export const SIM_NETWORK_BASE = 0xc6120000; // 198.18.0.0

/** Host i's MAC: 02:00:00:00:xx:yy (locally administered), from i + 1. */
export function simMac(i: number): Uint8Array {
  const n = i + 1;
  return new Uint8Array([0x02, 0, 0, 0, (n >>> 8) & 0xff, n & 0xff]);
}

export class SimNetwork {
  readonly clock = new SimClock();
  readonly wire: SimWire;
  readonly rng: SeededRng;
  readonly stacks: Ipv4Stack[] = [];
  readonly ports: SimPort[] = [];
  readonly devices: Device[] = [];
  readonly packetIds: PacketIdSource = packetIdCounter();

  constructor(options: SimNetworkOptions) {
    this.rng = new SeededRng(options.seed);
    this.wire = new SimWire(options.wire);
    const hosts: readonly SimHostOptions[] = typeof options.hosts === 'number' ? Array.from({ length: options.hosts }, () => ({})) : options.hosts;
    const base = options.base ?? SIM_NETWORK_BASE;
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[i];
      const name = h.name ?? `host${i + 1}`;
      const port = this.wire.attach(name);
      // Each part gets its own generator forked from the one seed, so adding impairments to one host
      // does not change another host's ISNs.
      const stackRng = this.rng.fork();
      const impairRng = this.rng.fork();
      const device: Device = h.impair !== undefined ? new ImpairedDevice(port, h.impair, impairRng) : port;
      const stack = new Ipv4Stack(device, {
        name,
        ...h.stack,
        tcp: { ...h.stack?.tcp, ...h.tcp },
        mac: simMac(i),
        address: (base + i + 1) >>> 0,
        prefixLength: options.prefixLength ?? 24,
        rng: stackRng,
        packetIds: this.packetIds,
      });
      this.ports.push(port);
      this.devices.push(device);
      this.stacks.push(stack);
      this.clock.add(stack);
    }
  }

  get now(): number {
    return this.clock.now;
  }

  /**
   * Runs without giving Node's event loop a turn: for code that uses the stacks directly (no
   * streams). Stops at `deadline` (virtual ms), when `done()` holds, or after `maxSteps`.
   */
  runSync(deadline: number, done?: () => boolean, maxSteps = 50_000_000): boolean {
    this.clock.runUntil(deadline, done, maxSteps);
    return done?.() ?? true;
  }

  /**
   * Runs until `done()` holds or virtual time reaches `deadline`, letting Node's event loop turn
   * (setImmediate) whenever a stack ran application callbacks, so that stream events Node defers
   * with process.nextTick happen at the virtual instant that caused them. Resolves to `done()`.
   */
  async run(done: () => boolean, deadline: number, maxSteps = 50_000_000): Promise<boolean> {
    let seen = this.callbackRounds();
    for (let steps = 0; steps < maxSteps; steps++) {
      if (done()) return true;
      const stepped = this.clock.step(deadline);
      const rounds = this.callbackRounds();
      if (rounds !== seen || !stepped) {
        await turn();
        seen = this.callbackRounds();
        if (!stepped) {
          if (done()) return true;
          const next = this.clock.nextDeadline();
          if (next === undefined || next > deadline) {
            if (deadline !== Infinity) this.clock.setNow(deadline);
            return done();
          }
        }
      }
    }
    return done();
  }

  /** Runs for `ms` of virtual time (with event-loop turns). */
  async runFor(ms: number): Promise<void> {
    await this.run(() => false, this.clock.now + ms);
  }

  private callbackRounds(): number {
    let n = 0;
    for (const s of this.stacks) n += s.callbackRounds;
    return n;
  }
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
