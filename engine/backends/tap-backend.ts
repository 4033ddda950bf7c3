// backends: the `tap` backend — the NIC on a TAP device the user made and owns
// (`sudo ip tuntap add dev tap0 mode tap user $USER`, an address on its kernel side, link up), so no
// privilege is needed to run. The host's kernel behind the TAP is the wire side: programs on the
// user's machine (curl, ping, and the scenario's wire-side workloads on Node's net) are the remote
// hosts, at the address the TAP's kernel side has; the engine's host is 198.18.0.2 on the other end.
// The kernel path is the emulated kernel, labelled so: the one real kernel here is the remote side.
import { spawnSync } from 'node:child_process';
import { LinuxHost } from '../kernel/real-host';
import { ipv4FromString } from '../wire/address';
import type { BackendFactory, CaptureBackend } from './backend';
import { RealtimeDriver } from './realtime';
import { TapDevice } from './tap';

export interface TapBackendAddresses {
  /** The engine's host address and prefix: the TAP's kernel side must be on the same network. */
  readonly hostAddress: number;
  readonly prefixLength: number;
}

/** The IPv4 address and prefix of `dev`'s kernel side (from `ip -4 -o addr show`), or undefined. */
export function kernelSideAddress(dev: string): { address: number; prefixLength: number } | undefined {
  const r = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'dev', dev], { encoding: 'utf8' });
  const m = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(r.stdout ?? '');
  const address = m === null ? undefined : ipv4FromString(m[1]);
  return address === undefined ? undefined : { address, prefixLength: Number(m![2]) };
}

export class TapCapture {
  private peer: LinuxHost | undefined;
  private closed = false;

  private constructor(
    readonly device: TapDevice,
    readonly driver: RealtimeDriver,
    readonly peerAddress: number,
  ) {}

  /** Attaches to TAP `name` (it must exist and be ours) and checks that its kernel side is on the host's network. */
  static open(name: string, host: TapBackendAddresses): TapCapture {
    const device = TapDevice.open(name);
    try {
      return TapCapture.checked(device, host);
    } catch (e) {
      device.close();
      throw e;
    }
  }

  private static checked(device: TapDevice, host: TapBackendAddresses): TapCapture {
    const name = device.name;
    const side = kernelSideAddress(name);
    const hostText = [24, 16, 8, 0].map((s) => (host.hostAddress >>> s) & 255).join('.');
    const mask = host.prefixLength === 0 ? 0 : (0xffffffff << (32 - host.prefixLength)) >>> 0;
    if (side === undefined) throw new Error(`'${name}' has no IPv4 address on its kernel side: \`sudo ip addr add 198.18.0.1/24 dev ${name}\``);
    if ((side.address & mask) >>> 0 !== (host.hostAddress & mask) >>> 0 || side.address === host.hostAddress) {
      throw new Error(`the engine's host is ${hostText}/${host.prefixLength}: give '${name}' another address on that network (\`sudo ip addr add 198.18.0.1/24 dev ${name}\`)`);
    }
    const driver = new RealtimeDriver();
    driver.addSource(device);
    return new TapCapture(device, driver, side.address);
  }

  backend(): BackendFactory {
    const peer = [24, 16, 8, 0].map((s) => (this.peerAddress >>> s) & 255).join('.');
    return (): CaptureBackend => ({
      name: 'tap',
      device: this.device,
      driver: this.driver,
      interfaceName: this.device.name,
      interfaceDescription: `TAP ${this.device.name}, the host's kernel at ${peer} on its other side`,
      peerHost: (timers) => (this.peer ??= new LinuxHost({ name: 'peer', address: peer, timers })),
      callbackRounds: () => this.peer?.callbackRounds ?? 0,
      close: () => void this.close(),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.peer?.close();
    await this.driver.stop();
    this.device.close();
  }
}
