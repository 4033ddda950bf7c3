// steer: the flow key of a frame — which flow (TCP/UDP 5-tuple, ICMP, ARP or fragment-train pseudo-flow)
// it belongs to, written into a reusable word array so that nothing is allocated per packet.
//
// Keys are direction-free: both directions of a conversation give the same key, with the lower
// (address, port) endpoint first, so that a flow is steered one way whichever side sends.
//
// This runs for every packet: one function, no calls, every word of the key written (no `fill`),
// and constants that are this module's own (imported bindings can be getter calls once transpiled).

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
  /**
   * The frame may begin a flow. False for a TCP segment that cannot open or pick up a connection —
   * FIN or RST without SYN, or an empty ACK — as a late retransmission or the last ACK of a flow
   * already forgotten is: such a frame is steered by the rules alone, so that it leaves no flow
   * behind (Linux conntrack marks FIN and RST on no connection invalid likewise).
   */
  opens: boolean;
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

/** Whether a TCP segment with these flags and `payload` bytes of data may begin a flow (see KeyInfo.opens). */
function tcpOpens(flags: number, payload: number): boolean {
  return (flags & TCP_SYN) !== 0 || ((flags & (TCP_FIN | TCP_RST)) === 0 && payload > 0);
}

const K_NONE = 0;
const K_TCP = 1;
const K_UDP = 2;
const K_ICMP = 3;
const K_ARP = 4;
const K_IP_OTHER = 5;
/** Word 0 flag of an IPv6 key (its address words 2-4 and 6-8 are in use). */
const V6 = 0x80;

/**
 * Writes the flow key of `frame` (Ethernet, any number of 802.1Q/802.1ad tags) into `key` and its
 * kind, direction and TCP flags into `info`. Returns false when the frame has no flow (too short,
 * not IP/ARP): such frames are classified one by one.
 */
export function extractFlowKey(f: Uint8Array, key: Uint32Array, info: KeyInfo): boolean {
  const n = f.length;
  info.kind = K_NONE;
  info.forward = true;
  info.tcpFlags = 0;
  info.opens = true;
  if (n < 14) return false;
  let off = 12;
  let type = (f[12] << 8) | f[13];
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && off + 6 <= n) {
    off += 4;
    type = (f[off] << 8) | f[off + 1];
  }
  off += 2;
  if (type === 0x0800) {
    if (off + 20 > n) return false;
    const vihl = f[off];
    if (vihl >>> 4 !== 4 || (vihl & 15) < 5) return false;
    const proto = f[off + 9];
    const src = ((f[off + 12] << 24) | (f[off + 13] << 16) | (f[off + 14] << 8) | f[off + 15]) >>> 0;
    const dst = ((f[off + 16] << 24) | (f[off + 17] << 16) | (f[off + 18] << 8) | f[off + 19]) >>> 0;
    // More-fragments or a fragment offset: first and later fragments alike, so a datagram's pieces go one way.
    const fragmented = (f[off + 6] & 0x3f) !== 0 || f[off + 7] !== 0;
    const t = off + ((vihl & 15) << 2);
    let word0: number;
    let last: number;
    let forward: boolean;
    if (!fragmented && (proto === 6 || proto === 17) && t + 4 <= n) {
      const sp = (f[t] << 8) | f[t + 1];
      const dp = (f[t + 2] << 8) | f[t + 3];
      forward = src < dst || (src === dst && sp <= dp);
      last = forward ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0;
      if (proto === 6) {
        word0 = K_TCP;
        if (t + 14 <= n) {
          info.tcpFlags = f[t + 13];
          info.opens = tcpOpens(f[t + 13], ((f[off + 2] << 8) | f[off + 3]) - ((vihl & 15) << 2) - ((f[t + 12] >>> 4) << 2));
        }
      } else word0 = K_UDP;
      info.kind = word0 as FlowKind;
    } else if (!fragmented && proto === 1 && t + 8 <= n) {
      // Echo request/reply (types 8/0) pair up by identifier; other ICMP by type.
      const it = f[t];
      last = it === 0 || it === 8 ? 0x10000 | (f[t + 4] << 8) | f[t + 5] : 0x20000 | it;
      forward = src <= dst;
      word0 = K_ICMP;
      info.kind = K_ICMP;
    } else {
      last = fragmented ? 0x10000 | (f[off + 4] << 8) | f[off + 5] : 0;
      forward = src <= dst;
      word0 = K_IP_OTHER | (proto << 8);
      info.kind = K_IP_OTHER;
    }
    info.forward = forward;
    key[0] = word0;
    key[1] = forward ? src : dst;
    key[2] = 0;
    key[3] = 0;
    key[4] = 0;
    key[5] = forward ? dst : src;
    key[6] = 0;
    key[7] = 0;
    key[8] = 0;
    key[9] = last;
    return true;
  }
  if (type === 0x86dd) return ipv6Key(f, off, key, info);
  if (type === 0x0806 || type === 0x8035) {
    // RFC 826: sender and target protocol addresses name the conversation.
    if (off + 28 > n) return false;
    const spa = ((f[off + 14] << 24) | (f[off + 15] << 16) | (f[off + 16] << 8) | f[off + 17]) >>> 0;
    const tpa = ((f[off + 24] << 24) | (f[off + 25] << 16) | (f[off + 26] << 8) | f[off + 27]) >>> 0;
    const forward = spa <= tpa;
    info.forward = forward;
    info.kind = K_ARP;
    key[0] = K_ARP;
    key[1] = forward ? spa : tpa;
    key[2] = 0;
    key[3] = 0;
    key[4] = 0;
    key[5] = forward ? tpa : spa;
    key[6] = 0;
    key[7] = 0;
    key[8] = 0;
    key[9] = 0;
    return true;
  }
  return false;
}

/** IPv6 with the upper layer directly after the fixed header (as libpcap reads it); others by protocol. */
function ipv6Key(f: Uint8Array, off: number, key: Uint32Array, info: KeyInfo): boolean {
  const n = f.length;
  if (off + 40 > n || f[off] >>> 4 !== 6) return false;
  const nh = f[off + 6];
  const t = off + 40;
  // The two addresses as four words each, compared word by word (unsigned) to order the endpoints.
  const a = off + 8;
  const b = off + 24;
  const a0 = ((f[a] << 24) | (f[a + 1] << 16) | (f[a + 2] << 8) | f[a + 3]) >>> 0;
  const a1 = ((f[a + 4] << 24) | (f[a + 5] << 16) | (f[a + 6] << 8) | f[a + 7]) >>> 0;
  const a2 = ((f[a + 8] << 24) | (f[a + 9] << 16) | (f[a + 10] << 8) | f[a + 11]) >>> 0;
  const a3 = ((f[a + 12] << 24) | (f[a + 13] << 16) | (f[a + 14] << 8) | f[a + 15]) >>> 0;
  const b0 = ((f[b] << 24) | (f[b + 1] << 16) | (f[b + 2] << 8) | f[b + 3]) >>> 0;
  const b1 = ((f[b + 4] << 24) | (f[b + 5] << 16) | (f[b + 6] << 8) | f[b + 7]) >>> 0;
  const b2 = ((f[b + 8] << 24) | (f[b + 9] << 16) | (f[b + 10] << 8) | f[b + 11]) >>> 0;
  const b3 = ((f[b + 12] << 24) | (f[b + 13] << 16) | (f[b + 14] << 8) | f[b + 15]) >>> 0;
  const cmp = a0 !== b0 ? a0 - b0 : a1 !== b1 ? a1 - b1 : a2 !== b2 ? a2 - b2 : a3 - b3;
  let kind: number = K_IP_OTHER;
  let sp = 0;
  let dp = 0;
  let tag = 0;
  if ((nh === 6 || nh === 17) && t + 4 <= n) {
    sp = (f[t] << 8) | f[t + 1];
    dp = (f[t + 2] << 8) | f[t + 3];
    kind = nh === 6 ? K_TCP : K_UDP;
    if (nh === 6 && t + 14 <= n) {
      info.tcpFlags = f[t + 13];
      // The payload length counts what follows the fixed header: here, the TCP header and data.
      info.opens = tcpOpens(f[t + 13], ((f[off + 4] << 8) | f[off + 5]) - ((f[t + 12] >>> 4) << 2));
    }
  } else if (nh === 58 && t + 8 <= n) {
    const type = f[t];
    tag = type === 128 || type === 129 ? 0x10000 | (f[t + 4] << 8) | f[t + 5] : 0x20000 | type;
    kind = K_ICMP;
  }
  const forward = cmp < 0 || (cmp === 0 && sp <= dp);
  key[0] = kind === K_IP_OTHER ? K_IP_OTHER | (nh << 8) | V6 : kind | V6;
  key[1] = forward ? a0 : b0;
  key[2] = forward ? a1 : b1;
  key[3] = forward ? a2 : b2;
  key[4] = forward ? a3 : b3;
  key[5] = forward ? b0 : a0;
  key[6] = forward ? b1 : a1;
  key[7] = forward ? b2 : a2;
  key[8] = forward ? b3 : a3;
  key[9] = kind === K_TCP || kind === K_UDP ? (((forward ? sp : dp) << 16) | (forward ? dp : sp)) >>> 0 : tag;
  info.kind = kind as FlowKind;
  info.forward = forward;
  return true;
}

/**
 * A 32-bit hash of a key: two lanes of multiply-xorshift rounds, one over the kind and endpoint A,
 * one over endpoint B and the ports (an IPv4 key leaves its other address words zero and skips
 * them), so that the two chains of multiplications run side by side; then the lanes are mixed and
 * put through murmur3's finalizer, so that every key bit reaches the low bits a table indexes by.
 * Signed (an int32), so that it stays a small integer in the engine's registers.
 */
export function hashKey(key: Uint32Array): number {
  return hashKeyAt(key, 0);
}

/** `hashKey` of the key stored in `words` from `at` (a flow table's record). */
export function hashKeyAt(words: Uint32Array, at: number): number {
  const w0 = words[at];
  let x = Math.imul(0x9747b28c ^ w0, 0x9e3779b1);
  let y = Math.imul(0x5bd1e995 ^ words[at + 9], 0x85ebca77);
  x = Math.imul(x ^ (x >>> 15) ^ words[at + 1], 0xc2b2ae3d);
  y = Math.imul(y ^ (y >>> 15) ^ words[at + 5], 0x27d4eb2f);
  if ((w0 & V6) !== 0) {
    x = Math.imul(x ^ (x >>> 15) ^ words[at + 2], 0x9e3779b1);
    y = Math.imul(y ^ (y >>> 15) ^ words[at + 6], 0x85ebca77);
    x = Math.imul(x ^ (x >>> 15) ^ words[at + 3], 0xc2b2ae3d);
    y = Math.imul(y ^ (y >>> 15) ^ words[at + 7], 0x27d4eb2f);
    x = Math.imul(x ^ (x >>> 15) ^ words[at + 4], 0x9e3779b1);
    y = Math.imul(y ^ (y >>> 15) ^ words[at + 8], 0x85ebca77);
  }
  let h = x ^ ((y << 13) | (y >>> 19));
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
