// wire: the dissector — walks a captured frame layer by layer (link, network, transport) with every
// header parsed, every layer's byte range, and every problem found with its absolute byte offset.
//
// Stateless and exception-free: a bad layer stops the walk and is reported in `problems`; the
// layers before it stay usable. Checksums that do not verify are problems too, but the walk goes on,
// as tcpdump and Wireshark keep decoding such packets — except a TCP/UDP checksum left partial for a
// device with checksum offload (the exact pseudo-header sum, checksum.ts isPartialChecksum), which is
// a note, not a problem: tcpdump -vv calls those "incorrect", Wireshark does not check them by default.
import { parseArp, type ArpRepr } from './arp';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_RARP, parseEthernet, type EthernetFrame } from './ethernet';
import { parseIcmpv4, type Icmpv4Packet } from './icmpv4';
import { parseIcmpv6, type Icmpv6Packet } from './icmpv6';
import { PARTIAL_CHECKSUM_TEXT } from './checksum';
import { IP_PROTOCOL, parseIpv4, type Ipv4Packet } from './ipv4';
import { parseIpv6, type Ipv6Packet } from './ipv6';
import type { ChecksumContext } from './ip-context';
import type { WireErrorCode } from './result';
import { parseTcp, type TcpPacket } from './tcp';
import { parseUdp, type UdpPacket } from './udp';

/** pcap LINKTYPE_ values this dissector reads (www.tcpdump.org/linktypes.html). */
export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229 } as const;

export type LayerName = 'eth' | 'sll' | 'null' | 'arp' | 'ipv4' | 'ipv6' | 'icmp' | 'icmpv6' | 'tcp' | 'udp' | 'data';

/** Where a layer's header (and, for the last layer, its data) lies in the frame. */
export interface LayerSpan {
  readonly name: LayerName;
  readonly offset: number;
  readonly length: number;
}

export interface Problem {
  readonly layer: LayerName;
  readonly code: WireErrorCode | 'bad-checksum' | 'truncated-capture' | 'unknown-link';
  /** Absolute byte offset in the frame. */
  readonly offset: number;
  readonly message: string;
}

/** Something found that is not wrong: a TCP/UDP checksum left partial for the device (checksum offload). */
export interface Note {
  readonly layer: LayerName;
  readonly code: 'partial-checksum';
  /** Absolute byte offset in the frame (the checksum field). */
  readonly offset: number;
  readonly message: string;
}

export interface Dissection {
  readonly linkType: number;
  /** Captured bytes. */
  readonly capLen: number;
  readonly eth?: EthernetFrame;
  /** For LINKTYPE_LINUX_SLL and NULL/LOOP: the protocol field, as an EtherType. */
  readonly linkProtocol?: number;
  readonly arp?: ArpRepr;
  /** The ARP/RARP EtherType that carried `arp`. */
  readonly arpEtherType?: number;
  readonly ipv4?: Ipv4Packet;
  readonly ipv6?: Ipv6Packet;
  readonly icmp?: Icmpv4Packet;
  readonly icmpv6?: Icmpv6Packet;
  readonly tcp?: TcpPacket;
  readonly udp?: UdpPacket;
  /** Application bytes after the last header understood. */
  readonly data?: Uint8Array;
  readonly layers: readonly LayerSpan[];
  readonly problems: readonly Problem[];
  readonly notes: readonly Note[];
}

type Mutable = { -readonly [K in keyof Dissection]: Dissection[K] };

/** Most frames have no notes: they share this one (a note makes the frame a list of its own). */
const NO_NOTES: readonly Note[] = Object.freeze([]);

/** Dissects one captured frame. `frame` is only read; the result's views share its bytes. */
export function dissect(frame: Uint8Array, linkType: number = LINKTYPE.ETHERNET): Dissection {
  const d: Mutable = { linkType, capLen: frame.length, layers: [], problems: [], notes: NO_NOTES };
  const layers = d.layers as LayerSpan[];
  const problems = d.problems as Problem[];
  let etherType: number;
  let at: number;

  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      const r = parseEthernet(frame);
      if (!r.ok) {
        problems.push({ layer: 'eth', code: r.error.code, offset: r.error.offset, message: r.error.message });
        return d;
      }
      d.eth = r.value;
      layers.push({ name: 'eth', offset: 0, length: r.value.headerLen });
      if (r.value.lengthField) return withData(d, frame, r.value.headerLen);
      etherType = r.value.etherType;
      at = r.value.headerLen;
      break;
    }
    case LINKTYPE.LINUX_SLL: {
      if (frame.length < 16) return linkTooShort(d, 'sll', frame.length, 16);
      etherType = (frame[14] << 8) | frame[15];
      d.linkProtocol = etherType;
      layers.push({ name: 'sll', offset: 0, length: 16 });
      at = 16;
      break;
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (frame.length < 4) return linkTooShort(d, 'null', frame.length, 4);
      // The BSD address family, in the capturing host's byte order for NULL, big-endian for LOOP.
      const le = frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] << 24);
      const be = (frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3];
      const family = linkType === LINKTYPE.LOOP ? be : le > 0xffff ? be : le;
      etherType = family === 2 ? ETHERTYPE_IPV4 : family === 24 || family === 28 || family === 30 ? ETHERTYPE_IPV6 : -1;
      d.linkProtocol = etherType;
      layers.push({ name: 'null', offset: 0, length: 4 });
      at = 4;
      break;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      etherType = frame.length > 0 && frame[0] >>> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
      at = 0;
      break;
    default:
      problems.push({ layer: 'data', code: 'unknown-link', offset: 0, message: `link type ${linkType} is not decoded` });
      return withData(d, frame, 0);
  }

  const rest = frame.subarray(at);
  switch (etherType) {
    case ETHERTYPE_IPV4:
      dissectIpv4(d, rest, at);
      break;
    case ETHERTYPE_IPV6:
      dissectIpv6(d, rest, at);
      break;
    case ETHERTYPE_ARP:
    case ETHERTYPE_RARP: {
      const r = parseArp(rest);
      if (!r.ok) {
        problems.push({ layer: 'arp', code: r.error.code, offset: at + r.error.offset, message: r.error.message });
        return withData(d, frame, at);
      }
      d.arp = r.value;
      d.arpEtherType = etherType;
      layers.push({ name: 'arp', offset: at, length: Math.min(28, rest.length) });
      break;
    }
    default:
      withData(d, frame, at);
  }
  return d;
}

function linkTooShort(d: Mutable, layer: LayerName, have: number, want: number): Dissection {
  (d.problems as Problem[]).push({ layer, code: 'truncated', offset: have, message: `link header needs ${want} bytes, have ${have}` });
  return d;
}

function withData(d: Mutable, frame: Uint8Array, at: number): Dissection {
  if (at < frame.length) {
    d.data = frame.subarray(at);
    (d.layers as LayerSpan[]).push({ name: 'data', offset: at, length: frame.length - at });
  }
  return d;
}

function dissectIpv4(d: Mutable, buf: Uint8Array, base: number): void {
  const problems = d.problems as Problem[];
  const r = parseIpv4(buf);
  if (!r.ok) {
    problems.push({ layer: 'ipv4', code: r.error.code, offset: base + r.error.offset, message: r.error.message });
    withData(d, buf, 0);
    return;
  }
  const ip = r.value;
  d.ipv4 = ip;
  (d.layers as LayerSpan[]).push({ name: 'ipv4', offset: base, length: ip.headerLen });
  if (!ip.checksumValid) {
    problems.push({ layer: 'ipv4', code: 'bad-checksum', offset: base + 10, message: `IPv4 header checksum 0x${hex4(ip.checksum)} is wrong` });
  }
  if (ip.optionsError) {
    const e = ip.optionsError;
    problems.push({ layer: 'ipv4', code: e.code, offset: base + e.offset, message: e.message });
  }
  if (ip.truncated) {
    problems.push({ layer: 'ipv4', code: 'truncated-capture', offset: base + buf.length, message: `captured ${buf.length} of ${ip.totalLength} IP bytes` });
  }
  const at = base + ip.headerLen;
  // Only the first fragment carries the transport header (RFC 791 §3.2).
  if (ip.fragmentOffset !== 0) {
    addData(d, ip.payload, at);
    return;
  }
  // A transport checksum covers the whole datagram: check it only when all of it was captured and it is not a fragment.
  const ctx: ChecksumContext | undefined = ip.truncated || ip.moreFragments ? undefined : { version: 4, src: ip.src, dst: ip.dst };
  dissectTransport(d, ip.protocol, ip.payload, at, ctx);
}

function dissectIpv6(d: Mutable, buf: Uint8Array, base: number): void {
  const problems = d.problems as Problem[];
  const r = parseIpv6(buf);
  if (!r.ok) {
    problems.push({ layer: 'ipv6', code: r.error.code, offset: base + r.error.offset, message: r.error.message });
    withData(d, buf, 0);
    return;
  }
  const ip = r.value;
  d.ipv6 = ip;
  (d.layers as LayerSpan[]).push({ name: 'ipv6', offset: base, length: ip.upperOffset });
  if (ip.extensionError) {
    const e = ip.extensionError;
    problems.push({ layer: 'ipv6', code: e.code, offset: base + e.offset, message: e.message });
    return;
  }
  if (ip.truncated) {
    problems.push({ layer: 'ipv6', code: 'truncated-capture', offset: base + buf.length, message: `captured ${buf.length - 40} of ${ip.payloadLength} IPv6 payload bytes` });
  }
  const at = base + ip.upperOffset;
  if (ip.laterFragment) {
    addData(d, ip.upperPayload, at);
    return;
  }
  const fragmented = ip.extensionHeaders.some((h) => h.kind === 'fragment');
  const ctx: ChecksumContext | undefined = ip.truncated || fragmented ? undefined : { version: 6, src: ip.src, dst: ip.dst };
  dissectTransport(d, ip.upperProtocol, ip.upperPayload, at, ctx);
}

function dissectTransport(d: Mutable, protocol: number, buf: Uint8Array, base: number, ctx: ChecksumContext | undefined): void {
  const problems = d.problems as Problem[];
  const layers = d.layers as LayerSpan[];
  switch (protocol) {
    case IP_PROTOCOL.TCP: {
      const r = parseTcp(buf, ctx);
      if (!r.ok) {
        problems.push({ layer: 'tcp', code: r.error.code, offset: base + r.error.offset, message: r.error.message });
        addData(d, buf, base);
        return;
      }
      d.tcp = r.value;
      layers.push({ name: 'tcp', offset: base, length: r.value.headerLen });
      if (r.value.checksumPartial) partialChecksum(d, 'tcp', base + 16, r.value.checksum);
      else if (r.value.checksumValid === false) badChecksum(problems, 'tcp', base + 16, r.value.checksum);
      addData(d, r.value.payload, base + r.value.headerLen);
      return;
    }
    case IP_PROTOCOL.UDP: {
      const r = parseUdp(buf, ctx);
      if (!r.ok) {
        problems.push({ layer: 'udp', code: r.error.code, offset: base + r.error.offset, message: r.error.message });
        addData(d, buf, base);
        return;
      }
      d.udp = r.value;
      layers.push({ name: 'udp', offset: base, length: 8 });
      if (r.value.checksumPartial) partialChecksum(d, 'udp', base + 6, r.value.checksum);
      else if (r.value.checksumValid === false) badChecksum(problems, 'udp', base + 6, r.value.checksum);
      addData(d, r.value.payload, base + 8);
      return;
    }
    case IP_PROTOCOL.ICMP: {
      if (d.ipv4 === undefined) break;
      const r = parseIcmpv4(buf);
      if (!r.ok) {
        problems.push({ layer: 'icmp', code: r.error.code, offset: base + r.error.offset, message: r.error.message });
        addData(d, buf, base);
        return;
      }
      d.icmp = r.value;
      layers.push({ name: 'icmp', offset: base, length: buf.length });
      // A cut-short message cannot be checked; parseIcmpv4 reports it as invalid, so only flag complete ones.
      if (!r.value.checksumValid && ctx !== undefined) badChecksum(problems, 'icmp', base + 2, r.value.checksum);
      return;
    }
    case IP_PROTOCOL.ICMPV6: {
      if (d.ipv6 === undefined) break;
      const r = parseIcmpv6(buf, ctx?.version === 6 ? ctx : undefined);
      if (!r.ok) {
        problems.push({ layer: 'icmpv6', code: r.error.code, offset: base + r.error.offset, message: r.error.message });
        addData(d, buf, base);
        return;
      }
      d.icmpv6 = r.value;
      layers.push({ name: 'icmpv6', offset: base, length: buf.length });
      if (r.value.checksumValid === false) badChecksum(problems, 'icmpv6', base + 2, r.value.checksum);
      if (r.value.optionsError) {
        const e = r.value.optionsError;
        problems.push({ layer: 'icmpv6', code: e.code, offset: base + e.offset, message: e.message });
      }
      return;
    }
  }
  addData(d, buf, base);
}

function addData(d: Mutable, bytes: Uint8Array, at: number): void {
  if (bytes.length === 0) return;
  d.data = bytes;
  (d.layers as LayerSpan[]).push({ name: 'data', offset: at, length: bytes.length });
}

function badChecksum(problems: Problem[], layer: LayerName, offset: number, checksum: number): void {
  problems.push({ layer, code: 'bad-checksum', offset, message: `${layer.toUpperCase()} checksum 0x${hex4(checksum)} is wrong` });
}

function partialChecksum(d: Mutable, layer: LayerName, offset: number, checksum: number): void {
  if (d.notes === NO_NOTES) d.notes = [];
  (d.notes as Note[]).push({ layer, code: 'partial-checksum', offset, message: `${layer.toUpperCase()} checksum 0x${hex4(checksum)} is ${PARTIAL_CHECKSUM_TEXT}` });
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
