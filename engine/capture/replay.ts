// capture: the host side of a replayed capture. The frames of a capture file were sent between other
// hosts, so neither stack may take them as its own (it would drop them as not for it, or answer
// them): on a passive backend each path gets a ReplayHost instead, which runs the receive checks of
// that path's layers — the same parsers and drop reasons as the stack (engine/wire, stack/observe.ts
// RxDropReason) — and reports each layer's verdict as a hop, then hands TCP segments the layers
// accepted to the passive observer. Nothing is ever sent.
//
// Left out, because they depend on being the addressed host: the destination MAC and IP checks, the
// source-address sanity checks, sockets (a packet the layers accept is delivered at its transport
// layer), and reassembly (a fragment is delivered at IP, with a note). A frame the capture cut at its
// snap length is checked as far as its bytes go: checksums over missing bytes are not verified, and a
// header the capture did not keep ends the path with a note instead of a drop.
//
// A TCP/UDP checksum left partial — the field holds exactly the pseudo-header sum, as a host with
// checksum offload hands its outgoing frames to the device and to tcpdump, and as the lab's TAPs
// carry them (wire/checksum.ts isPartialChecksum) — is delivered with a note, as the stacks took it
// live (the device said so); any other mismatch is a bad checksum and a drop. This holds for every
// file, whether or not our own comment marked the packet (backends/pcap.ts reads the mark).
import type { KernelPath, KernelTrace } from '../kernel/path';
import { BYPASS_LAYER, KERNEL_LAYER } from '../kernel/emulated';
import type { Layer as StackLayer, PacketIdSource, RxDropReason } from '../stack/index';
import type { HopKind, LayerName } from '../trace/schema';
import { read16 } from '../wire/byteorder';
import { PARTIAL_CHECKSUM_TEXT } from '../wire/checksum';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, isVlanTpid } from '../wire/ethernet';
import { parseIcmpv4 } from '../wire/icmpv4';
import { IP_PROTOCOL, parseIpv4 } from '../wire/ipv4';
import { parseTcp } from '../wire/tcp';
import { parseUdp } from '../wire/udp';
import { parseArp } from '../wire/arp';
import type { HostSide, StackPath } from './nic';
import type { PassiveTcp } from './passive-tcp';

const ETH = 14;
const CUT = 'cut at the snap length: not checked further';
const CUT_PAYLOAD = 'payload cut at the snap length: checksum not verified';
const PARTIAL = `checksum ${PARTIAL_CHECKSUM_TEXT}`;

export class ReplayHost implements HostSide {
  private readonly names: { readonly [L in StackLayer]: LayerName };
  private readonly ctx = { version: 4 as const, src: 0, dst: 0 };
  private id = 0;

  constructor(
    readonly path: StackPath,
    private readonly ids: PacketIdSource,
    private readonly trace: KernelTrace,
    private readonly kind: HopKind,
    private readonly tcp: PassiveTcp,
    /** Sets the trace connection of a packet (the observer's answer). */
    private readonly connection: (packetId: number, connId: number) => void,
  ) {
    this.names = path === 'kernel' ? KERNEL_LAYER : BYPASS_LAYER;
  }

  /** A frame steered to this path; `wireLen` is its length on the wire (more than frame.length when the capture cut it). */
  receive(frame: Uint8Array, now: number, wireLen = frame.length): void {
    this.id = this.ids.next();
    const cut = wireLen > frame.length;
    if (frame.length < ETH) return cut ? this.note('bypass.eth') : this.drop('bypass.eth', 'eth-truncated');
    const type = read16(frame, 12);
    if (type === ETHERTYPE_ARP) {
      const r = parseArp(frame.subarray(ETH));
      if (!r.ok) return cut ? this.note('bypass.eth') : this.drop('bypass.eth', r.error.code === 'unsupported' ? 'arp-unsupported' : 'arp-malformed');
      return this.hop('bypass.eth', 'deliver');
    }
    if (isVlanTpid(type)) return this.drop('bypass.eth', 'eth-vlan-unsupported');
    if (type !== ETHERTYPE_IPV4) return this.drop('bypass.eth', 'eth-unknown-type');
    this.hop('bypass.eth', 'pass');
    this.ip(frame.subarray(ETH), cut, now);
  }

  /** RFC 791, RFC 1122 §3.2.1: the header checks the stack makes on a received datagram. */
  private ip(p: Uint8Array, cut: boolean, now: number): void {
    const r = parseIpv4(p);
    if (!r.ok) {
      const code = r.error.code;
      if (cut && (code === 'truncated' || code === 'bad-header-length')) return this.note('bypass.ip');
      const reason: RxDropReason =
        code === 'bad-version' ? 'ip-bad-version' : code === 'bad-total-length' ? 'ip-bad-total-length' : p.length > 0 && (p[0] & 0x0f) < 5 ? 'ip-bad-header-length' : 'ip-truncated';
      return this.drop('bypass.ip', reason);
    }
    const ip = r.value;
    if (!ip.checksumValid) return this.drop('bypass.ip', 'ip-bad-checksum');
    if (ip.truncated && !cut) return this.drop('bypass.ip', 'ip-truncated');
    if (ip.optionsError !== undefined) return this.drop('bypass.ip', 'ip-bad-options');
    if (ip.ttl === 0) return this.drop('bypass.ip', 'ip-ttl-zero');
    if (ip.moreFragments || ip.fragmentOffset !== 0) return this.hop('bypass.ip', 'deliver', 'fragment: not reassembled in replay');
    this.hop('bypass.ip', 'pass');
    // Cut datagrams carry less than their length: checksums over the transport cannot be verified.
    const whole = !ip.truncated;
    this.ctx.src = ip.src;
    this.ctx.dst = ip.dst;
    switch (ip.protocol) {
      case IP_PROTOCOL.TCP: {
        const t = parseTcp(ip.payload, whole ? this.ctx : undefined);
        if (!t.ok) {
          const code = t.error.code;
          if (!whole && (code === 'truncated' || code === 'bad-header-length')) return this.note('bypass.tcp');
          return this.drop('bypass.tcp', code === 'truncated' ? 'tcp-truncated' : code === 'bad-option' ? 'tcp-bad-option' : 'tcp-bad-header-length');
        }
        const seg = t.value;
        if (seg.checksumValid === false && !seg.checksumPartial) return this.drop('bypass.tcp', 'tcp-bad-checksum');
        if (seg.srcPort === 0 || seg.dstPort === 0) return this.drop('bypass.tcp', 'tcp-bad-port');
        const conn = this.tcp.segment(this.path, ip.src, ip.dst, seg, ip.payloadLength - seg.headerLen, this.id, now);
        if (conn !== 0) this.connection(this.id, conn);
        return this.hop('bypass.tcp', 'deliver', !whole ? CUT_PAYLOAD : seg.checksumPartial ? PARTIAL : undefined);
      }
      case IP_PROTOCOL.UDP: {
        const u = parseUdp(ip.payload, whole ? this.ctx : undefined);
        if (!u.ok) {
          if (!whole && u.error.code === 'truncated') return this.note('bypass.udp');
          return this.drop('bypass.udp', u.error.code === 'truncated' ? 'udp-truncated' : 'udp-bad-length');
        }
        if (u.value.truncated && whole) return this.drop('bypass.udp', 'udp-bad-length');
        if (u.value.checksumValid === false && !u.value.checksumPartial) return this.drop('bypass.udp', 'udp-bad-checksum');
        return this.hop('bypass.udp', 'deliver', !whole ? CUT_PAYLOAD : u.value.checksumPartial ? PARTIAL : undefined);
      }
      case IP_PROTOCOL.ICMP: {
        const m = parseIcmpv4(ip.payload);
        if (!m.ok) return whole ? this.drop('bypass.icmp', 'icmp-truncated') : this.note('bypass.icmp');
        if (whole && !m.value.checksumValid) return this.drop('bypass.icmp', 'icmp-bad-checksum');
        return this.hop('bypass.icmp', 'deliver', whole ? undefined : CUT_PAYLOAD);
      }
      default:
        return this.drop('bypass.ip', 'ip-unknown-protocol');
    }
  }

  private hop(layer: StackLayer, verdict: 'pass' | 'deliver', reason?: string): void {
    this.trace.hop(this.id, 'rx', this.names[layer], this.kind, verdict, reason);
  }

  private drop(layer: StackLayer, reason: RxDropReason): void {
    this.trace.hop(this.id, 'rx', this.names[layer], this.kind, 'drop', reason);
  }

  /** A header the capture did not keep: the path ends here, neither accepted nor dropped. */
  private note(layer: StackLayer): void {
    this.trace.hop(this.id, 'rx', this.names[layer], this.kind, 'deliver', CUT);
  }
}

/** The kernel path of a replay: the emulated kernel's receive checks (labelled emulated), nothing behind them. */
export class ReplayKernelPath implements KernelPath {
  readonly name = "emulated Linux's receive checks (replay: nothing is answered)";
  readonly hopKind = 'emulated';
  readonly callbackRounds = 0;

  constructor(private readonly checks: ReplayHost) {}

  receive(frame: Uint8Array, now: number, wireLen?: number): void {
    this.checks.receive(frame, now, wireLen);
  }

  poll(): void {}

  pollAt(): number | undefined {
    return undefined;
  }
}
