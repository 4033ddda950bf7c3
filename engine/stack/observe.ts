// stack: what the stack tells the outside — per-layer packet counters, drops by reason, packet ids,
// and the optional observer hooks the capture engine attaches. Cheap when unused: no observer, no
// allocation; counters are plain number fields.

import type { TcpTransition } from '../tcp/index';

/** Hop layer names, from the shared vocabulary in DESIGN.md ("Paths and hops"). ARP is a link-layer hop. */
export type Layer = 'bypass.eth' | 'bypass.ip' | 'bypass.tcp' | 'bypass.udp' | 'bypass.icmp' | 'bypass.socket';

export type Direction = 'rx' | 'tx';

/** `pass` (went on to the next layer), `deliver` (consumed here), or `drop:<reason>`. */
export type Verdict = 'pass' | 'deliver' | `drop:${string}`;

/** Why a received frame (or a datagram made from fragments) was dropped. */
export type RxDropReason =
  // link
  | 'eth-truncated'
  | 'eth-not-for-us'
  | 'eth-vlan-unsupported'
  | 'eth-unknown-type'
  // ARP (RFC 826)
  | 'arp-malformed'
  | 'arp-unsupported'
  | 'arp-bad-operation'
  | 'arp-bad-sender'
  | 'arp-address-conflict'
  | 'arp-not-for-us'
  // IPv4 (RFC 791, RFC 1122 §3.2.1, RFC 1812 §5.2.2)
  | 'ip-truncated'
  | 'ip-bad-version'
  | 'ip-bad-header-length'
  | 'ip-bad-total-length'
  | 'ip-bad-checksum'
  | 'ip-bad-options'
  | 'ip-ttl-zero'
  | 'ip-not-for-us'
  | 'ip-bad-source'
  | 'ip-unknown-protocol'
  // fragments (RFC 791 §3.2, RFC 815)
  | 'frag-bad-length'
  | 'frag-too-big'
  | 'frag-duplicate'
  | 'frag-overlap'
  | 'frag-inconsistent'
  | 'frag-memory'
  // ICMP (RFC 792, RFC 1122 §3.2.2)
  | 'icmp-truncated'
  | 'icmp-bad-checksum'
  | 'icmp-echo-broadcast'
  | 'icmp-redirect-ignored'
  | 'icmp-unhandled-type'
  | 'icmp-error-no-socket'
  // UDP (RFC 768)
  | 'udp-truncated'
  | 'udp-bad-length'
  | 'udp-bad-checksum'
  | 'udp-no-socket'
  | 'udp-wrong-peer'
  | 'udp-rcvbuf-full'
  // TCP (RFC 9293)
  | 'tcp-truncated'
  | 'tcp-bad-header-length'
  | 'tcp-bad-option'
  | 'tcp-bad-checksum'
  | 'tcp-bad-port'
  | 'tcp-broadcast'
  | 'tcp-no-socket'
  | 'tcp-listen-rst'
  | 'tcp-listen-no-syn'
  | 'tcp-listen-syn-queue-full'
  | 'tcp-listen-accept-queue-full'
  | 'tcp-listen-closed';

/** Why something the stack had to send, or was holding, was dropped. */
export type TxDropReason =
  | 'arp-queue-full'
  | 'arp-resolution-failed'
  | 'no-route'
  | 'too-big'
  | 'icmp-rate-limited'
  | 'frag-timeout'
  | 'frag-evicted';

export interface LayerCounters {
  in: number;
  out: number;
}

/** Every counter the stack keeps. Accounting rule (the hostile-input test checks it):
 *  rx.frames + ip.reassembled = rx.delivered + rx.held + rx.dropped, and rx.dropped = Σ rxDrops. */
export class StackCounters {
  readonly eth: LayerCounters = { in: 0, out: 0 };
  readonly arp: LayerCounters = { in: 0, out: 0 };
  readonly ip = { in: 0, out: 0, fragmentsOut: 0, reassembled: 0 };
  readonly icmp: LayerCounters = { in: 0, out: 0 };
  readonly udp: LayerCounters = { in: 0, out: 0 };
  readonly tcp: LayerCounters = { in: 0, out: 0 };
  /** Deliveries to applications (UDP datagrams, TCP segments carrying data) and sends from them. */
  readonly socket: LayerCounters = { in: 0, out: 0 };
  /** The fate of every received frame, and of every datagram reassembled from fragments. */
  readonly rx = { frames: 0, delivered: 0, held: 0, dropped: 0 };
  /** TCP segments whose SACK blocks had to be cut to fit the MTU (see trimSack in stack.ts); 0 normally. */
  sackTrimmed = 0;
  readonly rxDrops: Partial<Record<RxDropReason, number>> = {};
  readonly txDrops: Partial<Record<TxDropReason, number>> = {};

  /** Σ rxDrops. */
  rxDropTotal(): number {
    let n = 0;
    for (const k in this.rxDrops) n += this.rxDrops[k as RxDropReason] ?? 0;
    return n;
  }
}

/**
 * The hooks the capture engine attaches. `hop` runs once per layer a packet reaches, in order, when
 * that layer is done with it (passed it on, delivered or dropped it);
 * `transition` gets every TCP state change the tcp module records (its packet id is the one given
 * to `hop`).
 */
export interface StackObserver {
  hop?(layer: Layer, direction: Direction, verdict: Verdict, packetId: number, now: number): void;
  transition?(t: TcpTransition): void;
  /**
   * The stack starts making a packet to send, before it writes any header; the packet's first `hop`
   * follows. Lets an observer that times layers tell the new packet's work from the work of the
   * packet that caused it (a segment whose processing sends an ACK).
   */
  txBegin?(): void;
}

/** Where packet ids come from; a simulated network shares one so ids are unique across its stacks. */
export interface PacketIdSource {
  next(): number;
}

export function packetIdCounter(start = 1): PacketIdSource {
  let n = start;
  return { next: () => n++ };
}

const verdictCache = new Map<string, Verdict>();

/** `drop:<reason>`, one string per reason (built once, so an observer does not cost an allocation a packet). */
export function dropVerdict(reason: string): Verdict {
  let v = verdictCache.get(reason);
  if (v === undefined) {
    v = `drop:${reason}`;
    verdictCache.set(reason, v);
  }
  return v;
}
