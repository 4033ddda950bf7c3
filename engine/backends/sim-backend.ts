// backends: the `sim` backend — the host's port on a SimWire, a virtual clock, and the remote hosts
// as one userspace stack on the wire's other port (the peer that wire-side workloads run on).
//
//   peer stack (remote hosts) ── SimWire ── host port → the NIC (impairments, steering, both stacks)
import { Ipv4Stack } from '../stack/index';
import { LINUX_TCP_CONFIG, type TcpConfig } from '../tcp/index';
import { stackHost } from '../workloads/api';
import type { BackendFactory, CaptureBackend } from './backend';
import { SimClock, SimWire } from './sim';

export interface SimBackendOptions {
  /** One-way propagation delay (ms) and link rate (bit/s) of the wire. */
  readonly latencyMs?: number;
  readonly rateBps?: number;
  readonly peerAddress: number;
  readonly peerMac: Uint8Array;
  readonly prefixLength: number;
  /** The remote hosts' TCP (Linux's defaults unless told). */
  readonly peerTcp?: Partial<TcpConfig>;
}

export function simBackend(options: SimBackendOptions): BackendFactory {
  return (ctx): CaptureBackend => {
    const clock = new SimClock();
    const wire = new SimWire({ latencyMs: options.latencyMs ?? 0.01, rateBps: options.rateBps ?? 10e9 });
    const peerPort = wire.attach('wire');
    const hostPort = wire.attach('host');
    const peer = new Ipv4Stack(peerPort, {
      name: 'peer',
      mac: options.peerMac,
      address: options.peerAddress,
      prefixLength: options.prefixLength,
      rng: ctx.rng,
      tcp: { ...LINUX_TCP_CONFIG, ...options.peerTcp },
    });
    return {
      name: 'sim',
      device: hostPort,
      driver: clock,
      interfaceName: 'sim0',
      interfaceDescription: 'sim wire, host side',
      members: [peer],
      peerHost: (timers) => stackHost(peer, timers, 'peer'),
      callbackRounds: () => peer.callbackRounds,
    };
  };
}
