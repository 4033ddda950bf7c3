// backends: opens the device backend a start request names (lab, tap or afpacket) — for the command
// line and the engine process alike; a failure is a DeviceRequestError in the native layer's words.
import type { KernelPathFactory } from '../kernel/path';
import type { RuleSet } from '../steer/rules';
import { HOST_ADDRESS, HOST_MAC, PEER_MAC } from '../capture/session';
import { AfPacketCapture } from './afpacket-backend';
import type { BackendFactory } from './backend';
import { DeviceRequestError, type DeviceRequest } from './device-request';
import { Lab } from './lab';
import { TapCapture } from './tap-backend';

/** An opened device backend: its wire side, its kernel path (when not the emulated one) and the bypass host. */
export interface OpenedDevice {
  readonly backend: BackendFactory;
  readonly kernel: KernelPathFactory | undefined;
  /** The bypass stack's address when it is not the default 198.18.0.2/24. */
  readonly host: { readonly address: number; readonly prefixLength: number; readonly mac: Uint8Array } | undefined;
  readonly close: () => Promise<void>;
}

/** Opens `r` (`rules` as the session runs them: afpacket compiles them to cBPF). Throws DeviceRequestError. */
export async function openDevice(r: DeviceRequest, rules: RuleSet): Promise<OpenedDevice> {
  try {
    switch (r.backend) {
      case 'lab': {
        const lab = await Lab.create({ hostAddress: r.hostAddress, peerAddress: r.peerAddress, prefixLength: r.prefixLength, hostMac: HOST_MAC, peerMac: PEER_MAC });
        return { backend: lab.backend(), kernel: lab.kernel(), host: { address: r.hostAddress, prefixLength: r.prefixLength, mac: HOST_MAC }, close: () => lab.close() };
      }
      case 'tap': {
        const tap = TapCapture.open(r.device, { hostAddress: HOST_ADDRESS, prefixLength: 24 });
        return { backend: tap.backend(), kernel: undefined, host: undefined, close: () => tap.close() };
      }
      case 'afpacket': {
        // The bypass stack's MAC is not the interface's: the socket is promiscuous to see frames for it.
        const af = AfPacketCapture.open(r.device, rules, r.address, true);
        return { backend: af.backend(), kernel: af.kernel(), host: { address: r.address, prefixLength: r.prefixLength, mac: HOST_MAC }, close: () => af.close() };
      }
    }
  } catch (e) {
    // The native layer's messages already say what to do (a missing device, CAP_NET_RAW, ownership).
    throw new DeviceRequestError(`${r.backend}: ${(e as Error).message ?? String(e)}`);
  }
}
