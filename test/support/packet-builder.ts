// test support: whole frames built with the project's own emitters, for captures that tests write
// themselves (crafted cases real traffic cannot easily produce: VLAN tags, SACK, fragments, damage).
import { emitEthernet, ethernetHeaderLen, type VlanTag } from '../../engine/wire/ethernet';
import { emitIcmpv4, icmpv4Len, type Icmpv4Repr } from '../../engine/wire/icmpv4';
import { emitIcmpv6, icmpv6Len, type Icmpv6Repr } from '../../engine/wire/icmpv6';
import { emitIpv4, ipv4HeaderLen, type Ipv4Repr } from '../../engine/wire/ipv4';
import { emitIpv6 } from '../../engine/wire/ipv6';
import { emitTcp, tcpBufferLen, type TcpRepr } from '../../engine/wire/tcp';
import { emitUdp, udpBufferLen, type UdpRepr } from '../../engine/wire/udp';
import { ipv4FromString, ipv6FromString, macFromString } from '../../engine/wire/address';

export const MAC_A = macFromString('02:00:00:00:00:01')!;
export const MAC_B = macFromString('02:00:00:00:00:02')!;

export function ip4(text: string): number {
  const a = ipv4FromString(text);
  if (a === undefined) throw new Error(`bad IPv4 address ${text}`);
  return a;
}

export function ip6(text: string): Uint8Array {
  const a = ipv6FromString(text);
  if (a === undefined) throw new Error(`bad IPv6 address ${text}`);
  return a;
}

export interface EthOptions {
  dst?: Uint8Array;
  src?: Uint8Array;
  vlans?: VlanTag[];
}

export function ethernet(etherType: number, payload: Uint8Array, o: EthOptions = {}): Uint8Array {
  const repr = { dst: o.dst ?? MAC_B, src: o.src ?? MAC_A, vlans: o.vlans ?? [], etherType };
  const hl = ethernetHeaderLen(repr);
  const frame = new Uint8Array(hl + payload.length);
  emitEthernet(repr, frame, 0);
  frame.set(payload, hl);
  return frame;
}

export type Ipv4Options = Partial<Omit<Ipv4Repr, 'payloadLength'>> & { src: number; dst: number; protocol: number };

export function ipv4(o: Ipv4Options, payload: Uint8Array): Uint8Array {
  const repr: Ipv4Repr = {
    ttl: 64,
    dscp: 0,
    ecn: 0,
    identification: 1,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    options: new Uint8Array(0),
    ...o,
    payloadLength: payload.length,
  };
  const hl = ipv4HeaderLen(repr);
  const out = new Uint8Array(hl + payload.length);
  emitIpv4(repr, out, 0);
  out.set(payload, hl);
  return out;
}

export function ipv6(o: { src: Uint8Array; dst: Uint8Array; nextHeader: number; hopLimit?: number }, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(40 + payload.length);
  emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: payload.length, hopLimit: o.hopLimit ?? 64, ...o }, out, 0);
  out.set(payload, 40);
  return out;
}

export type TcpOptions = Partial<TcpRepr> & { srcPort: number; dstPort: number };

export function tcp(o: TcpOptions, ctx?: { src: number; dst: number } | { src6: Uint8Array; dst6: Uint8Array }): Uint8Array {
  const repr: TcpRepr = { seq: 0, ack: 0, flags: 0x10, window: 65535, urgent: 0, options: [], payload: new Uint8Array(0), ...o };
  const out = new Uint8Array(tcpBufferLen(repr));
  emitTcp(repr, out, 0, checksumCtx(ctx));
  return out;
}

export function udp(o: Partial<UdpRepr> & { srcPort: number; dstPort: number }, ctx?: { src: number; dst: number } | { src6: Uint8Array; dst6: Uint8Array }): Uint8Array {
  const repr: UdpRepr = { payload: new Uint8Array(0), ...o };
  const out = new Uint8Array(udpBufferLen(repr));
  emitUdp(repr, out, 0, checksumCtx(ctx));
  return out;
}

export function icmp(repr: Icmpv4Repr): Uint8Array {
  const out = new Uint8Array(icmpv4Len(repr));
  emitIcmpv4(repr, out, 0);
  return out;
}

export function icmp6(repr: Icmpv6Repr, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const out = new Uint8Array(icmpv6Len(repr));
  emitIcmpv6(repr, out, 0, { version: 6, src, dst });
  return out;
}

function checksumCtx(ctx: { src: number; dst: number } | { src6: Uint8Array; dst6: Uint8Array } | undefined) {
  if (ctx === undefined) return undefined;
  return 'src6' in ctx ? ({ version: 6, src: ctx.src6, dst: ctx.dst6 } as const) : ({ version: 4, src: ctx.src, dst: ctx.dst } as const);
}

/** IPv4/TCP in Ethernet with correct checksums. */
export function tcp4Frame(src: string, dst: string, seg: TcpOptions, eth: EthOptions = {}, ip: Partial<Ipv4Options> = {}): Uint8Array {
  const s = ip4(src);
  const d = ip4(dst);
  return ethernet(0x0800, ipv4({ src: s, dst: d, protocol: 6, ...ip }, tcp(seg, { src: s, dst: d })), eth);
}

/** IPv4/UDP in Ethernet with correct checksums. */
export function udp4Frame(src: string, dst: string, srcPort: number, dstPort: number, payload: Uint8Array, eth: EthOptions = {}, ip: Partial<Ipv4Options> = {}): Uint8Array {
  const s = ip4(src);
  const d = ip4(dst);
  return ethernet(0x0800, ipv4({ src: s, dst: d, protocol: 17, ...ip }, udp({ srcPort, dstPort, payload }, { src: s, dst: d })), eth);
}

/** IPv6/TCP in Ethernet with correct checksums. */
export function tcp6Frame(src: string, dst: string, seg: TcpOptions, eth: EthOptions = {}): Uint8Array {
  const s = ip6(src);
  const d = ip6(dst);
  return ethernet(0x86dd, ipv6({ src: s, dst: d, nextHeader: 6 }, tcp(seg, { src6: s, dst6: d })), eth);
}
