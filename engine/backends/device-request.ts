// backends: the start request of the device backends (lab, tap, afpacket) — the one function that
// turns a user's options (the command line's flags, the extension's quick picks and settings) into
// the StartCapture fields, checked, with one clear message for what is wrong; and the same check
// again where the engine reads them, with the addresses as numbers. No native code here: the
// extension imports this file to build its request.
import type { LabAddressesText, StartCapture } from '../protocol';
import { ipv4FromString } from '../wire/address';

export type DeviceBackendName = 'lab' | 'tap' | 'afpacket';

/** What the user said, as text: flags or quick-pick answers. */
export interface DeviceOptions {
  readonly backend: DeviceBackendName;
  /** tap: the TAP device; afpacket: the interface. */
  readonly device?: string;
  /** afpacket: the bypass stack's own address on that network, A.B.C.D/N. */
  readonly address?: string;
  /** lab: the private network's addresses (the extension's bypassScope.lab.* settings). */
  readonly lab?: LabAddressesText;
}

/** The device fields of a StartCapture. */
export type DeviceStartRequest = Required<Pick<StartCapture, 'backend'>> & Pick<StartCapture, 'device' | 'address' | 'lab'>;

/** The request, read: addresses as numbers. */
export type DeviceRequest =
  | { readonly backend: 'lab'; readonly hostAddress: number; readonly peerAddress: number; readonly prefixLength: number }
  | { readonly backend: 'tap'; readonly device: string }
  | { readonly backend: 'afpacket'; readonly device: string; readonly address: number; readonly addressText: string; readonly prefixLength: number };

/** A request that cannot run, and why (the CLI's error, the extension's message, the engine's answer). */
export class DeviceRequestError extends Error {}

/** The lab's network when nothing is said: the engine at 198.18.0.2, the wire's peer at .1, a /24. */
export const DEFAULT_LAB: LabAddressesText = { host: '198.18.0.2', peer: '198.18.0.1', prefixLength: 24 };

/** Linux's IFNAMSIZ is 16 with the NUL: up to 15 bytes, no slash or white space. */
const DEVICE_NAME = /^[^\s/:]{1,15}$/;

export const isDeviceBackend = (b: string): b is DeviceBackendName => b === 'lab' || b === 'tap' || b === 'afpacket';

/** Checks the options and gives the StartCapture fields; throws DeviceRequestError with what to fix. */
export function deviceStartRequest(o: DeviceOptions): DeviceStartRequest {
  const r = readDeviceRequest(o);
  switch (r.backend) {
    case 'lab':
      return { backend: 'lab', lab: { host: o.lab?.host ?? DEFAULT_LAB.host, peer: o.lab?.peer ?? DEFAULT_LAB.peer, prefixLength: r.prefixLength } };
    case 'tap':
      return { backend: 'tap', device: r.device };
    case 'afpacket':
      return { backend: 'afpacket', device: r.device, address: `${r.addressText}/${r.prefixLength}` };
  }
}

/** Reads the device fields of a request (as the engine receives it, or as options): the addresses as numbers. */
export function readDeviceRequest(o: DeviceOptions | StartCapture): DeviceRequest {
  const backend = o.backend;
  if (backend === 'lab') {
    const lab = o.lab ?? DEFAULT_LAB;
    const host = typeof lab.host === 'string' ? ipv4FromString(lab.host) : undefined;
    const peer = typeof lab.peer === 'string' ? ipv4FromString(lab.peer) : undefined;
    if (host === undefined) throw new DeviceRequestError(`lab: the host address wants an IPv4 address (bypassScope.lab.hostAddress), got '${String(lab.host)}'`);
    if (peer === undefined) throw new DeviceRequestError(`lab: the peer address wants an IPv4 address (bypassScope.lab.peerAddress), got '${String(lab.peer)}'`);
    const prefixLength = lab.prefixLength;
    if (typeof prefixLength !== 'number' || !Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 30) {
      throw new DeviceRequestError(`lab: the prefix length wants 8 to 30 (bypassScope.lab.prefixLength), got ${String(prefixLength)}`);
    }
    const mask = (0xffffffff << (32 - prefixLength)) >>> 0;
    if ((host & mask) >>> 0 !== (peer & mask) >>> 0 || host === peer) {
      throw new DeviceRequestError(`lab: the host ${lab.host} and the peer ${lab.peer} must be two addresses on one /${prefixLength} network`);
    }
    return { backend: 'lab', hostAddress: host, peerAddress: peer, prefixLength };
  }
  if (backend === 'tap' || backend === 'afpacket') {
    const device = o.device;
    const what = backend === 'tap' ? 'a TAP device you own (sudo ip tuntap add dev tap0 mode tap user $USER)' : 'an interface to watch (needs CAP_NET_RAW)';
    if (typeof device !== 'string' || device === '') throw new DeviceRequestError(`${backend}: name ${what}`);
    if (!DEVICE_NAME.test(device)) throw new DeviceRequestError(`${backend}: '${device}' is not a device name (up to 15 characters, no spaces, '/' or ':')`);
    if (backend === 'tap') return { backend, device };
    const text = o.address;
    const m = typeof text === 'string' ? /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(text.trim()) : null;
    const address = m === null ? undefined : ipv4FromString(m[1]);
    const prefixLength = m === null ? NaN : Number(m[2]);
    if (address === undefined || !(prefixLength >= 1 && prefixLength <= 32)) {
      throw new DeviceRequestError(`afpacket: the bypass stack's address wants A.B.C.D/N (an address of its own on ${device}'s network, not the interface's), got '${String(text ?? '')}'`);
    }
    return { backend, device, address, addressText: m![1], prefixLength };
  }
  throw new DeviceRequestError(`'${String(backend)}' is not a device backend (want lab, tap or afpacket)`);
}

/**
 * What a device backend adds to the rules: on afpacket the bypass stack answers ARP for its own
 * address unless a rule says otherwise (appended, so first match wins).
 */
export function deviceRulesSuffix(r: DeviceRequest): string {
  return r.backend === 'afpacket' ? `\nbypass arp dst host ${r.addressText}    # added by the afpacket backend\n` : '';
}
