// backends: the `afpacket` backend — the NIC on an AF_PACKET socket on an existing interface, the
// rules compiled to classic BPF and run in the kernel (afpacket-filter.ts), so only what the bypass
// stack must see crosses into the engine. The bypass stack has an address of its own on the segment
// (AF_PACKET copies frames, it does not take them from the kernel, which would otherwise answer or
// reset the bypass stack's flows); the kernel path is the host's kernel as it is (real-passive.ts).
// Needs CAP_NET_RAW. There is no wire-side host of ours: the remote hosts are the network's.
import type { RuleSet } from '../steer/rules';
import { passiveKernel } from '../kernel/real-passive';
import type { KernelPathFactory } from '../kernel/path';
import { AfPacketDevice } from './afpacket';
import { afpacketFilter } from './afpacket-filter';
import type { BackendFactory, CaptureBackend } from './backend';
import { RealtimeDriver } from './realtime';

/** Linux's ip_local_port_range, which the bypass stack uses too: replies to its own flows come to these ports. */
export const EPHEMERAL_PORTS: readonly [number, number] = [32768, 60999];

export class AfPacketCapture {
  private closed = false;

  private constructor(
    readonly device: AfPacketDevice,
    readonly driver: RealtimeDriver,
  ) {}

  /** Opens the socket on `ifname` with the filter for `rules` and the bypass address; promiscuous when the bypass MAC is not the interface's. */
  static open(ifname: string, rules: RuleSet, address: number, promiscuous: boolean): AfPacketCapture {
    const device = new AfPacketDevice(ifname, { filter: afpacketFilter(rules, address, EPHEMERAL_PORTS), promiscuous });
    const driver = new RealtimeDriver();
    driver.addSource(device);
    return new AfPacketCapture(device, driver);
  }

  backend(): BackendFactory {
    return (): CaptureBackend => ({
      name: 'afpacket',
      device: this.device,
      driver: this.driver,
      interfaceName: this.device.name,
      interfaceDescription: `AF_PACKET on ${this.device.name}, filtered in the kernel by the rules' cBPF`,
      close: () => void this.close(),
    });
  }

  kernel(): KernelPathFactory {
    return passiveKernel();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.driver.stop();
    this.device.close();
  }
}
