// backends: the `lab` backend — the real comparison. The NIC sits on tap-wire (the wire: Linux
// clients and servers in the peer namespace at 198.18.0.1), the kernel path is the Linux kernel of
// the engine's own namespace behind tap-host (kernel/real.ts), both hosts share 198.18.0.2 and one
// MAC, and the real-time driver runs it all (lab-topology.ts builds the network). The engine must
// already be in a private network namespace: a Node process cannot unshare itself once it has
// threads, so its parent starts it under `unshare -Urn` (privateNamespaceCommand).
//
// Two settings come from the environment, so that every way of starting a lab capture (the CLI, the
// engine process) has them: BYPASS_SCOPE_DRIVER=poll[:µs]|spin[:µs]|sync|async, how the real-time
// driver waits for frames (realtime.ts; default poll), and BYPASS_SCOPE_LAB_OFFLOADS=0|1, the TAPs' virtio-net
// offloads (TSO/GSO and checksum offload both ways; default on, as on a host whose NIC has them,
// and the way the bench measures the stack). With offloads the trace shows what
// crossed the TAP, as tcpdump on a host with offloads shows it: segments of up to 64 KiB and partial
// checksums, each such record flagged OFFLOAD. Impairments then finish those frames in software
// before the wire (impair.ts).
export const LAB_OFFLOADS_ENV = 'BYPASS_SCOPE_LAB_OFFLOADS';
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { realKernel } from '../kernel/real';
import { LinuxHost } from '../kernel/real-host';
import type { KernelPathFactory } from '../kernel/path';
import { ipv4ToString } from '../wire/address';
import type { BackendFactory, CaptureBackend } from './backend';
import { LAB_NAMESPACE_ENV, LabTopology, privateNamespaceCommand, type LabAddresses } from './lab-topology';
import { RealtimeDriver } from './realtime';

export class Lab {
  private peer: LinuxHost | undefined;
  private closed = false;

  private constructor(
    readonly topology: LabTopology,
    readonly driver: RealtimeDriver,
  ) {}

  /** Builds the lab's network (async: the peer namespace's holder must start). */
  static async create(addresses: LabAddresses): Promise<Lab> {
    const offloads = addresses.offloads ?? process.env[LAB_OFFLOADS_ENV] !== '0';
    const topology = await LabTopology.create({ ...addresses, offloads });
    const driver = new RealtimeDriver();
    driver.addSource(topology.wire);
    return new Lab(topology, driver);
  }

  /** The wire side for a capture session: tap-wire, the driver, and the peer namespace's Linux host. */
  backend(): BackendFactory {
    return (): CaptureBackend => ({
      name: 'lab',
      device: this.topology.wire,
      driver: this.driver,
      interfaceName: this.topology.wire.name,
      interfaceDescription: `lab wire (TAP to the peer namespace, ${ipv4ToString(this.topology.addresses.peerAddress)}${this.topology.addresses.offloads ? '; virtio-net offloads: TSO/GSO frames and partial checksums as they crossed the TAP' : ''})`,
      peerHost: (timers) => this.peerHost(timers),
      callbackRounds: () => this.peer?.callbackRounds ?? 0,
      close: () => void this.close(),
    });
  }

  /** The kernel path for a capture session: the kernel behind tap-host. */
  kernel(): KernelPathFactory {
    return realKernel({ device: this.topology.host, addSource: (s) => this.driver.addSource(s) });
  }

  /** The wire side's host: Node's net and dgram on sockets made in the peer namespace, and its ping. */
  peerHost(timers: LinuxHost['timers']): LinuxHost {
    this.peer ??= new LinuxHost({
      name: 'peer',
      address: ipv4ToString(this.topology.addresses.peerAddress),
      timers,
      netns: this.topology.peerNs,
      command: (program, args) => this.topology.peerCommand(program, args),
    });
    return this.peer;
  }

  /** Stops the driver and tears the network down (nothing is left: the namespaces end with their processes). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.peer?.close();
    await this.driver.stop();
    this.topology.close();
  }
}

/**
 * Runs this same program again inside a private user + network namespace (`unshare -Urn`, or
 * `unshare -n` as root) with LAB_NAMESPACE_ENV set, and resolves with its exit status: for a
 * command line asked for the lab outside one.
 */
export function rerunInPrivateNamespace(): Promise<number> {
  const { command, args } = privateNamespaceCommand([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, [LAB_NAMESPACE_ENV]: '1' } });
    child.on('error', (e) => {
      process.stderr.write(`bypass-scope: cannot start ${command}: ${e.message} (install util-linux)\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + (osConstants.signals[signal] ?? 0))));
    // Ctrl-C reaches the child through the terminal's process group; the parent only waits.
    process.on('SIGINT', () => {});
  });
}

/** True in a process its launcher started in a private namespace for the lab. */
export function inPrivateNamespace(): boolean {
  return process.env[LAB_NAMESPACE_ENV] === '1';
}
