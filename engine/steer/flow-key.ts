// steer: the flow key of a frame — which flow (TCP/UDP 5-tuple, ICMP, ARP or fragment-train pseudo-flow)
// it belongs to, written into a reusable word array so that nothing is allocated per packet.
//
// Keys are direction-free: both directions of a conversation give the same key, with the lower
// (address, port) endpoint first, so that a flow is steered one way whichever side sends.

/** Words in a key: kind, endpoint A address (4 words), endpoint B address (4 words), ports. */
export const KEY_WORDS = 10;

/** What kind of flow a key names; stored in the low byte of word 0. */
export const FlowKind = {
  NONE: 0,
  TCP: 1,
  UDP: 2,
  ICMP: 3,
  ARP: 4,
  /** IPv4/IPv6 fragments and other IP protocols: (protocol, addresses, fragment id). */
  IP_OTHER: 5,
} as const;
export type FlowKind = (typeof FlowKind)[keyof typeof FlowKind];

/** Flags the extractor sets besides the key, for TCP bookkeeping. */
export interface KeyInfo {
  kind: FlowKind;
  /** The frame runs from endpoint A to endpoint B (A is the lower endpoint). */
  forward: boolean;
  /** TCP flags byte, 0 for other kinds. */
  tcpFlags: number;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;
const ETH_RARP = 0x8035;

/**
 * Writes the flow key of `frame` (Ethernet, any number of 802.1Q/802.1ad tags) into `key` and its
 * kind, direction and TCP flags into `info`. Returns false when the frame has no flow (too short,
 * not IP/ARP): such frames are classified one by one.
 */
export function extractFlowKey(frame: Uint8Array, key: Uint32Array, info: KeyInfo): boolean {
  const n = frame.length;
  info.kind = FlowKind.NONE;
  info.forward = true;
  info.tcpFlags = 0;
  let off = 12;
  if (n < 14) return false;
  let type = (frame[12] << 8) | frame[13];
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && off + 6 <= n) {
    off += 4;
    type = (frame[off] << 8) | frame[off + 1];
  }
  off += 2;
  key.fill(0);
  if (type === ETH_IPV4) return ipv4Key(frame, off, key, info);
  if (type === ETH_IPV6) return ipv6Key(frame, off, key, info);
  if (type === ETH_ARP || type === ETH_RARP) {
    // RFC 826: sender and target protocol addresses name the conversation.
    if (off + 28 > n) return false;
    const spa = read32(frame, off + 14);
    const tpa = read32(frame, off + 24);
    setEndpoints(key, info, spa, 0, tpa, 0);
    key[0] = FlowKind.ARP;
    info.kind = FlowKind.ARP;
    return true;
  }
  return false;
}

function ipv4Key(f: Uint8Array, off: number, key: Uint32Array, info: KeyInfo): boolean {
  if (off + 20 > f.length || f[off] >>> 4 !== 4) return false;
  const ihl = (f[off] & 15) * 4;
  if (ihl < 20) return false;
  const proto = f[off + 9];
  const src = read32(f, off + 12);
  const dst = read32(f, off + 16);
  const fragField = (f[off + 6] << 8) | f[off + 7];
  const fragmented = (fragField & 0x3fff) !== 0;
  const t = off + ihl;
  if (!fragmented && (proto === 6 || proto === 17) && t + 4 <= f.length) {
    setEndpoints(key, info, src, (f[t] << 8) | f[t + 1], dst, (f[t + 2] << 8) | f[t + 3]);
    key[0] = proto === 6 ? FlowKind.TCP : FlowKind.UDP;
    info.kind = key[0] as FlowKind;
    if (proto === 6 && t + 14 <= f.length) info.tcpFlags = f[t + 13];
    return true;
  }
  if (!fragmented && proto === 1 && t + 8 <= f.length) {
    // Echo request/reply (types 8/0) pair up by identifier; other ICMP by type.
    const type = f[t];
    const tag = type === 0 || type === 8 ? 0x10000 | ((f[t + 4] << 8) | f[t + 5]) : 0x20000 | type;
    setEndpoints(key, info, src, 0, dst, 0);
    key[9] = tag;
    key[0] = FlowKind.ICMP;
    info.kind = FlowKind.ICMP;
    return true;
  }
  // Fragments (first and later alike, so a datagram's pieces go one way) and other protocols.
  setEndpoints(key, info, src, 0, dst, 0);
  key[9] = fragmented ? 0x10000 | ((f[off + 4] << 8) | f[off + 5]) : 0;
  key[0] = FlowKind.IP_OTHER | (proto << 8);
  info.kind = FlowKind.IP_OTHER;
  return true;
}

/** IPv6 with the upper layer directly after the fixed header (as libpcap reads it); others by protocol. */
function ipv6Key(f: Uint8Array, off: number, key: Uint32Array, info: KeyInfo): boolean {
  if (off + 40 > f.length || f[off] >>> 4 !== 6) return false;
  const nh = f[off + 6];
  const t = off + 40;
  const a = off + 8;
  const b = off + 24;
  const cmp = compare16(f, a, b);
  let ports = 0;
  let kind: FlowKind = FlowKind.IP_OTHER;
  let sp = 0;
  let dp = 0;
  if ((nh === 6 || nh === 17) && t + 4 <= f.length) {
    sp = (f[t] << 8) | f[t + 1];
    dp = (f[t + 2] << 8) | f[t + 3];
    kind = nh === 6 ? FlowKind.TCP : FlowKind.UDP;
    if (nh === 6 && t + 14 <= f.length) info.tcpFlags = f[t + 13];
  } else if (nh === 58 && t + 8 <= f.length) {
    const type = f[t];
    ports = type === 128 || type === 129 ? 0x10000 | ((f[t + 4] << 8) | f[t + 5]) : 0x20000 | type;
    kind = FlowKind.ICMP;
  }
  const forward = cmp < 0 || (cmp === 0 && sp <= dp);
  const first = forward ? a : b;
  const second = forward ? b : a;
  for (let i = 0; i < 4; i++) {
    key[1 + i] = read32(f, first + 4 * i);
    key[5 + i] = read32(f, second + 4 * i);
  }
  key[9] = kind === FlowKind.TCP || kind === FlowKind.UDP ? (((forward ? sp : dp) << 16) | (forward ? dp : sp)) >>> 0 : ports;
  key[0] = kind === FlowKind.IP_OTHER ? FlowKind.IP_OTHER | (nh << 8) | 0x80 : kind | 0x80;
  info.kind = kind;
  info.forward = forward;
  return true;
}

function setEndpoints(key: Uint32Array, info: KeyInfo, srcAddr: number, srcPort: number, dstAddr: number, dstPort: number): void {
  const forward = srcAddr < dstAddr || (srcAddr === dstAddr && srcPort <= dstPort);
  info.forward = forward;
  key[1] = forward ? srcAddr : dstAddr;
  key[5] = forward ? dstAddr : srcAddr;
  key[9] = forward ? ((srcPort << 16) | dstPort) >>> 0 : ((dstPort << 16) | srcPort) >>> 0;
}

function read32(f: Uint8Array, i: number): number {
  return ((f[i] << 24) | (f[i + 1] << 16) | (f[i + 2] << 8) | f[i + 3]) >>> 0;
}

function compare16(f: Uint8Array, a: number, b: number): number {
  for (let i = 0; i < 16; i++) if (f[a + i] !== f[b + i]) return f[a + i] - f[b + i];
  return 0;
}

/**
 * A 32-bit hash of a key: one multiply-xorshift round per word, then murmur3's finalizer. Half the
 * multiplications of murmur3's full block mix, and ample for an open-addressing table.
 */
export function hashKey(key: Uint32Array): number {
  let h = 0x9747b28c;
  for (let i = 0; i < KEY_WORDS; i++) {
    h = Math.imul(h ^ key[i], 0x9e3779b1);
    h ^= h >>> 15;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
