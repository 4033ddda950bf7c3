// wire: tcpdump-style summaries written as ASCII straight from frame bytes — the fast path of `summarize`.
//
// `FastSummary.write` reads the few header fields a summary needs from the frame, checking every
// length the parsers check, and writes exactly the text `summarize(dissect(frame), origLen, ctx)`
// gives, into a byte buffer, without allocating. It handles the common cases: Ethernet (any number
// of 802.1Q/802.1ad tags) carrying IPv4 (options allowed, not a later fragment) or IPv6 (no
// extension headers) with TCP, UDP or ICMP/ICMPv6 echo, and ARP/RARP. Everything else it declines
// by returning -1, having changed nothing: other link types and EtherTypes, later fragments, IPv6
// extension headers, ICMP errors and other messages, other IP protocols, and any header that is
// malformed or cut short. The caller then prints the frame with dissect + summarize and the same
// SummaryContext, so relative sequence numbers stay the same whichever path prints a segment.
import { ARP_OP_RARP_REPLY, ARP_OP_RARP_REQUEST, ARP_OP_REPLY, ARP_OP_REQUEST } from './arp';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_RARP, isVlanTpid } from './ethernet';
import { IP_PROTOCOL } from './ipv4';
import type { SummaryContext } from './summary';
import { TCP_ACK, TCP_FIN, TCP_OPTION_KIND, TCP_RST, TCP_SYN, TCP_URG, tcpFlagsToString } from './tcp';

/**
 * Room `write` needs after `pos`. The longest line it can produce is about 450 bytes: two IPv6
 * addresses with ports, every TCP field, and 40 bytes of options printed at up to 6 characters a byte.
 */
export const FAST_SUMMARY_ROOM = 1024;

const LINKTYPE_ETHERNET = 1;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

const HEX = ascii('0123456789abcdef');
/** Two decimal digits for each of 0..99. */
const DIGITS2 = ascii(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''));
/** `: Flags [..]` for every value of the 9 flag bits, as tcpdump spells them. */
const FLAG_TEXT: readonly Uint8Array[] = Array.from({ length: 512 }, (_, f) => ascii(`: Flags [${tcpFlagsToString(f)}]`));

const T_IP = ascii('IP ');
const T_IP6 = ascii('IP6 ');
const T_GT = ascii(' > ');
const T_SEQ = ascii(', seq ');
const T_ACK = ascii(', ack ');
const T_WIN = ascii(', win ');
const T_URG = ascii(', urg ');
const T_OPTIONS = ascii(', options [');
const T_LENGTH = ascii(', length ');
const T_UDP = ascii(': UDP, length ');
const T_ICMP_ECHO_REQUEST = ascii(': ICMP echo request, id ');
const T_ICMP_ECHO_REPLY = ascii(': ICMP echo reply, id ');
const T_ICMP6_ECHO_REQUEST = ascii(': ICMP6, echo request, id ');
const T_ICMP6_ECHO_REPLY = ascii(': ICMP6, echo reply, id ');
const T_ID_SEQ = ascii(', seq ');
const T_EOL = ascii('eol');
const T_NOP = ascii('nop');
const T_MSS = ascii('mss ');
const T_WSCALE = ascii('wscale ');
const T_SACK_OK = ascii('sackOK');
const T_SACK = ascii('sack ');
const T_TS_VAL = ascii('TS val ');
const T_TS_ECR = ascii(' ecr ');
const T_UNKNOWN = ascii('unknown-');
const T_HEX = ascii(' 0x');
const T_ARP = ascii('ARP, ');
const T_RARP = ascii('RARP, ');
const T_WHO_HAS = ascii('Request who-has ');
const T_TELL = ascii(' tell ');
const T_REPLY = ascii('Reply ');
const T_IS_AT = ascii(' is-at ');
const T_WHO_IS = ascii('Reverse Request who-is ');
const T_REVERSE_REPLY = ascii('Reverse Reply ');
const T_AT = ascii(' at ');
const T_ARP_UNKNOWN = ascii('unknown (');

function put(out: Uint8Array, p: number, text: Uint8Array): number {
  for (let i = 0; i < text.length; i++) out[p + i] = text[i];
  return p + text.length;
}

function be16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function be32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Writes `n` as `String(n)` spells it; returns the end. Integers up to 2^32 - 1 take the quick way. */
export function writeDecimal(out: Uint8Array, p: number, n: number): number {
  if (!(n >= 0 && n <= 0xffffffff && n === Math.floor(n))) {
    const text = String(n);
    for (let i = 0; i < text.length; i++) out[p + i] = text.charCodeAt(i);
    return p + text.length;
  }
  const len =
    n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
  let q = p + len;
  if (n > 0x7fffffff) {
    // Above int32: one step in floating point, then the rest in integer arithmetic.
    const hi = Math.floor(n / 100);
    const r = n - hi * 100;
    n = hi;
    q -= 2;
    out[q] = DIGITS2[2 * r];
    out[q + 1] = DIGITS2[2 * r + 1];
  }
  while (n >= 100) {
    const hi = (n / 100) | 0;
    const r = n - hi * 100;
    n = hi;
    q -= 2;
    out[q] = DIGITS2[2 * r];
    out[q + 1] = DIGITS2[2 * r + 1];
  }
  if (n >= 10) {
    out[q - 2] = DIGITS2[2 * n];
    out[q - 1] = DIGITS2[2 * n + 1];
  } else {
    out[q - 1] = 48 + n;
  }
  return p + len;
}

/** `n` (0..999999) as six digits with leading zeros. */
export function writeSixDigits(out: Uint8Array, p: number, n: number): number {
  let r = n % 100;
  out[p + 4] = DIGITS2[2 * r];
  out[p + 5] = DIGITS2[2 * r + 1];
  n = (n - r) / 100;
  r = n % 100;
  out[p + 2] = DIGITS2[2 * r];
  out[p + 3] = DIGITS2[2 * r + 1];
  n = (n - r) / 100;
  out[p] = DIGITS2[2 * n];
  out[p + 1] = DIGITS2[2 * n + 1];
  return p + 6;
}

function writeByteDecimal(out: Uint8Array, p: number, v: number): number {
  if (v >= 100) {
    const h = v >= 200 ? 2 : 1;
    out[p] = 48 + h;
    v -= 100 * h;
    out[p + 1] = DIGITS2[2 * v];
    out[p + 2] = DIGITS2[2 * v + 1];
    return p + 3;
  }
  if (v >= 10) {
    out[p] = DIGITS2[2 * v];
    out[p + 1] = DIGITS2[2 * v + 1];
    return p + 2;
  }
  out[p] = 48 + v;
  return p + 1;
}

/** Dotted decimal of the 4 bytes at `at`, as ipv4ToString writes it. */
function writeIpv4(out: Uint8Array, p: number, b: Uint8Array, at: number): number {
  p = writeByteDecimal(out, p, b[at]);
  out[p++] = 46;
  p = writeByteDecimal(out, p, b[at + 1]);
  out[p++] = 46;
  p = writeByteDecimal(out, p, b[at + 2]);
  out[p++] = 46;
  return writeByteDecimal(out, p, b[at + 3]);
}

function writeHex16(out: Uint8Array, p: number, w: number): number {
  if (w >= 0x1000) out[p++] = HEX[w >>> 12];
  if (w >= 0x100) out[p++] = HEX[(w >>> 8) & 15];
  if (w >= 0x10) out[p++] = HEX[(w >>> 4) & 15];
  out[p++] = HEX[w & 15];
  return p;
}

/** The 16 bytes at `at` in RFC 5952 text, exactly as ipv6ToString writes them (see there for the rules). */
function writeIpv6(out: Uint8Array, p: number, b: Uint8Array, at: number): number {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && b[at + 2 * i] === 0 && b[at + 2 * i + 1] === 0) {
      if (curBase < 0) curBase = i;
    } else if (curBase >= 0) {
      if (i - curBase > bestLen) {
        bestBase = curBase;
        bestLen = i - curBase;
      }
      curBase = -1;
    }
  }
  if (bestLen < 2) {
    bestBase = -1;
    bestLen = 0;
  }
  const dotted = bestBase === 0 && (bestLen === 6 || (bestLen === 5 && b[at + 10] === 0xff && b[at + 11] === 0xff));
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      out[p++] = 58;
      out[p++] = 58;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestBase + bestLen) out[p++] = 58;
    if (i === 6 && dotted) return writeIpv4(out, p, b, at + 12);
    p = writeHex16(out, p, (b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  }
  return p;
}

/** `aa:bb:cc:dd:ee:ff`, as macToString writes it. */
function writeMac(out: Uint8Array, p: number, b: Uint8Array, at: number): number {
  for (let i = 0; i < 6; i++) {
    if (i) out[p++] = 58;
    out[p++] = HEX[b[at + i] >>> 4];
    out[p++] = HEX[b[at + i] & 15];
  }
  return p;
}

/**
 * Whether the TCP options in `b[start, end)` parse (the checks of tcp.ts readOptions): when they do
 * not, dissect has no TCP layer and summarize prints something else.
 */
function tcpOptionsParse(b: Uint8Array, start: number, end: number): boolean {
  let q = start;
  while (q < end) {
    const kind = b[q];
    if (kind === TCP_OPTION_KIND.EOL) return true;
    if (kind === TCP_OPTION_KIND.NOP) {
      q++;
      continue;
    }
    if (q + 1 >= end) return false;
    const len = b[q + 1];
    if (len < 2 || q + len > end) return false;
    switch (kind) {
      case TCP_OPTION_KIND.MSS:
        if (len !== 4) return false;
        break;
      case TCP_OPTION_KIND.WSCALE:
        if (len !== 3) return false;
        break;
      case TCP_OPTION_KIND.SACK_PERMITTED:
        if (len !== 2) return false;
        break;
      case TCP_OPTION_KIND.SACK:
        if ((len - 2) % 8 !== 0 || len < 10 || len > 34) return false;
        break;
      case TCP_OPTION_KIND.TIMESTAMPS:
        if (len !== 10) return false;
        break;
    }
    q += len;
  }
  return true;
}

/** The options of tcpOptionsParse-checked bytes, comma-separated, as summary.ts tcpOptionText prints them. */
function writeTcpOptions(out: Uint8Array, p: number, b: Uint8Array, start: number, end: number, sackBase: number): number {
  let q = start;
  while (q < end) {
    if (q > start) out[p++] = 44;
    const kind = b[q];
    if (kind === TCP_OPTION_KIND.EOL) return put(out, p, T_EOL);
    if (kind === TCP_OPTION_KIND.NOP) {
      p = put(out, p, T_NOP);
      q++;
      continue;
    }
    const len = b[q + 1];
    switch (kind) {
      case TCP_OPTION_KIND.MSS:
        p = writeDecimal(out, put(out, p, T_MSS), be16(b, q + 2));
        break;
      case TCP_OPTION_KIND.WSCALE:
        p = writeDecimal(out, put(out, p, T_WSCALE), b[q + 2]);
        break;
      case TCP_OPTION_KIND.SACK_PERMITTED:
        p = put(out, p, T_SACK_OK);
        break;
      case TCP_OPTION_KIND.SACK: {
        const n = (len - 2) >>> 3;
        p = writeDecimal(out, put(out, p, T_SACK), n);
        out[p++] = 32;
        for (let i = 0, e = q + 2; i < n; i++, e += 8) {
          out[p++] = 123;
          p = writeDecimal(out, p, (be32(b, e) - sackBase) >>> 0);
          out[p++] = 58;
          p = writeDecimal(out, p, (be32(b, e + 4) - sackBase) >>> 0);
          out[p++] = 125;
        }
        break;
      }
      case TCP_OPTION_KIND.TIMESTAMPS:
        p = writeDecimal(out, put(out, p, T_TS_VAL), be32(b, q + 2));
        p = writeDecimal(out, put(out, p, T_TS_ECR), be32(b, q + 6));
        break;
      default:
        p = writeDecimal(out, put(out, p, T_UNKNOWN), kind);
        if (len > 2) {
          p = put(out, p, T_HEX);
          for (let i = q + 2; i < q + len; i++) {
            out[p++] = HEX[b[i] >>> 4];
            out[p++] = HEX[b[i] & 15];
          }
        }
    }
    q += len;
  }
  return p;
}

/** Writes the fast-path summaries of frames; declines (-1) what it does not handle. */
export class FastSummary {
  constructor(private readonly ctx: SummaryContext) {}

  /**
   * Writes the summary of `frame` (link type `linkType`, `origLen` bytes on the wire) at `out[pos]`
   * and returns where it ends; or returns -1, with `ctx` untouched, for a frame that needs
   * dissect + summarize. `out` must have FAST_SUMMARY_ROOM bytes of room after `pos`.
   */
  write(frame: Uint8Array, linkType: number, origLen: number, out: Uint8Array, pos: number): number {
    if (linkType !== LINKTYPE_ETHERNET || frame.length < 14) return -1;
    // parseEthernet: each VLAN tag needs its TCI and the type after it in the frame.
    let at = 12;
    let type = be16(frame, at);
    while (isVlanTpid(type)) {
      if (at + 6 > frame.length) return -1;
      at += 4;
      type = be16(frame, at);
    }
    at += 2;
    switch (type) {
      case ETHERTYPE_IPV4:
        return this.ipv4(frame, at, out, pos);
      case ETHERTYPE_IPV6:
        return this.ipv6(frame, at, out, pos);
      case ETHERTYPE_ARP:
      case ETHERTYPE_RARP:
        return arp(frame, at, origLen, type === ETHERTYPE_RARP, out, pos);
    }
    return -1;
  }

  private ipv4(f: Uint8Array, o: number, out: Uint8Array, p: number): number {
    // parseIpv4's checks: version, IHL, a whole header, a total length that covers it.
    const avail = f.length - o;
    if (avail < 20 || f[o] >>> 4 !== 4) return -1;
    const hl = (f[o] & 15) * 4;
    if (hl < 20 || hl > avail) return -1;
    const total = be16(f, o + 2);
    if (total < hl) return -1;
    // Only the first fragment carries the transport header (RFC 791 §3.2); summarize prints later ones.
    if ((be16(f, o + 6) & 0x1fff) !== 0) return -1;
    const t = o + hl;
    const end = o + (total < avail ? total : avail);
    const payloadLen = total - hl;
    switch (f[o + 9]) {
      case IP_PROTOCOL.TCP:
        return this.tcp(f, t, end, payloadLen, false, o + 12, o + 16, out, p);
      case IP_PROTOCOL.UDP:
        return udp(f, t, end, false, o + 12, o + 16, out, p);
      case IP_PROTOCOL.ICMP: {
        if (end - t < 8) return -1;
        const type = f[t];
        if (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) return -1;
        p = writeIpv4(out, put(out, p, T_IP), f, o + 12);
        p = writeIpv4(out, put(out, p, T_GT), f, o + 16);
        p = put(out, p, type === ICMP_ECHO_REQUEST ? T_ICMP_ECHO_REQUEST : T_ICMP_ECHO_REPLY);
        return echoTail(f, t, payloadLen, out, p);
      }
    }
    return -1;
  }

  private ipv6(f: Uint8Array, o: number, out: Uint8Array, p: number): number {
    const avail = f.length - o;
    if (avail < 40 || f[o] >>> 4 !== 6) return -1;
    const payloadLen = be16(f, o + 4);
    const t = o + 40;
    const end = o + (40 + payloadLen < avail ? 40 + payloadLen : avail);
    // Extension headers (and jumbograms, which need one) are left to dissect.
    switch (f[o + 6]) {
      case IP_PROTOCOL.TCP:
        return this.tcp(f, t, end, payloadLen, true, o + 8, o + 24, out, p);
      case IP_PROTOCOL.UDP:
        return udp(f, t, end, true, o + 8, o + 24, out, p);
      case IP_PROTOCOL.ICMPV6: {
        if (end - t < 8) return -1;
        const type = f[t];
        if (type !== ICMP6_ECHO_REQUEST && type !== ICMP6_ECHO_REPLY) return -1;
        p = writeIpv6(out, put(out, p, T_IP6), f, o + 8);
        p = writeIpv6(out, put(out, p, T_GT), f, o + 24);
        p = put(out, p, type === ICMP6_ECHO_REQUEST ? T_ICMP6_ECHO_REQUEST : T_ICMP6_ECHO_REPLY);
        return echoTail(f, t, payloadLen, out, p);
      }
    }
    return -1;
  }

  /** The segment is f[t, end); `ipPayloadLen` is what the IP header says follows it. */
  private tcp(f: Uint8Array, t: number, end: number, ipPayloadLen: number, v6: boolean, src: number, dst: number, out: Uint8Array, p: number): number {
    // parseTcp's checks, all before the relative-sequence state is touched.
    if (end - t < 20) return -1;
    const off = f[t + 12];
    const headerLen = (off >>> 4) * 4;
    if (headerLen < 20 || headerLen > end - t) return -1;
    if (headerLen > 20 && !tcpOptionsParse(f, t + 20, t + headerLen)) return -1;

    const srcPort = be16(f, t);
    const dstPort = be16(f, t + 2);
    const flags = ((off & 1) << 8) | f[t + 13];
    const length = ipPayloadLen - headerLen;
    let seq = be32(f, t + 4);
    let ack = be32(f, t + 8);
    let sackBase = 0;
    const ctx = this.ctx;
    if (!ctx.absolute && flags & TCP_ACK) {
      const syn = (flags & TCP_SYN) !== 0;
      if (v6) ctx.relative6(f, src, f, dst, srcPort, dstPort, seq, ack, syn);
      else ctx.relative4(be32(f, src), be32(f, dst), srcPort, dstPort, seq, ack, syn);
      seq = (seq - ctx.seqBase) >>> 0;
      ack = (ack - ctx.ackBase) >>> 0;
      sackBase = ctx.sackBase;
    }

    p = writeEnds(f, v6, src, srcPort, dst, dstPort, out, p);
    p = put(out, p, FLAG_TEXT[flags]);
    if (length > 0 || flags & (TCP_SYN | TCP_FIN | TCP_RST)) {
      p = writeDecimal(out, put(out, p, T_SEQ), seq);
      if (length > 0) {
        out[p++] = 58;
        p = writeDecimal(out, p, (seq + length) >>> 0);
      }
    }
    if (flags & TCP_ACK) p = writeDecimal(out, put(out, p, T_ACK), ack);
    p = writeDecimal(out, put(out, p, T_WIN), be16(f, t + 14));
    if (flags & TCP_URG) p = writeDecimal(out, put(out, p, T_URG), be16(f, t + 18));
    if (headerLen > 20) {
      p = writeTcpOptions(out, put(out, p, T_OPTIONS), f, t + 20, t + headerLen, sackBase);
      out[p++] = 93;
    }
    return writeDecimal(out, put(out, p, T_LENGTH), length);
  }
}

/** `IP src.port > dst.port` (or `IP6 …`). */
function writeEnds(f: Uint8Array, v6: boolean, src: number, srcPort: number, dst: number, dstPort: number, out: Uint8Array, p: number): number {
  if (v6) p = writeIpv6(out, put(out, p, T_IP6), f, src);
  else p = writeIpv4(out, put(out, p, T_IP), f, src);
  out[p++] = 46;
  p = writeDecimal(out, p, srcPort);
  p = put(out, p, T_GT);
  p = v6 ? writeIpv6(out, p, f, dst) : writeIpv4(out, p, f, dst);
  out[p++] = 46;
  return writeDecimal(out, p, dstPort);
}

function udp(f: Uint8Array, t: number, end: number, v6: boolean, src: number, dst: number, out: Uint8Array, p: number): number {
  // parseUdp's checks: a whole header, a length field that covers it.
  if (end - t < 8) return -1;
  const length = be16(f, t + 4);
  if (length < 8) return -1;
  p = writeEnds(f, v6, src, be16(f, t), dst, be16(f, t + 2), out, p);
  return writeDecimal(out, put(out, p, T_UDP), length - 8);
}

/** `ID, seq SEQ, length N` of an ICMP or ICMPv6 echo message at `t`. */
function echoTail(f: Uint8Array, t: number, payloadLen: number, out: Uint8Array, p: number): number {
  p = writeDecimal(out, p, be16(f, t + 4));
  p = writeDecimal(out, put(out, p, T_ID_SEQ), be16(f, t + 6));
  return writeDecimal(out, put(out, p, T_LENGTH), payloadLen);
}

/** ARP or RARP at `o`, as summary.ts summarizeArp prints it; `origLen - o` is the length printed. */
function arp(f: Uint8Array, o: number, origLen: number, rarp: boolean, out: Uint8Array, p: number): number {
  // parseArp's checks: Ethernet hardware, IPv4 protocol, their address sizes, all 28 bytes.
  if (f.length - o < 28 || be16(f, o) !== 1 || be16(f, o + 2) !== ETHERTYPE_IPV4 || f[o + 4] !== 6 || f[o + 5] !== 4) return -1;
  const length = origLen - o;
  const sha = o + 8;
  const spa = o + 14;
  const tha = o + 18;
  const tpa = o + 24;
  p = put(out, p, rarp ? T_RARP : T_ARP);
  const op = be16(f, o + 6);
  switch (op) {
    case ARP_OP_REQUEST: {
      p = writeIpv4(out, put(out, p, T_WHO_HAS), f, tpa);
      if (f[tha] | f[tha + 1] | f[tha + 2] | f[tha + 3] | f[tha + 4] | f[tha + 5]) {
        out[p++] = 32;
        out[p++] = 40;
        p = writeMac(out, p, f, tha);
        out[p++] = 41;
      }
      p = writeIpv4(out, put(out, p, T_TELL), f, spa);
      break;
    }
    case ARP_OP_REPLY:
      p = writeIpv4(out, put(out, p, T_REPLY), f, spa);
      p = writeMac(out, put(out, p, T_IS_AT), f, sha);
      break;
    case ARP_OP_RARP_REQUEST:
      p = writeMac(out, put(out, p, T_WHO_IS), f, tha);
      p = writeMac(out, put(out, p, T_TELL), f, sha);
      break;
    case ARP_OP_RARP_REPLY:
      p = writeMac(out, put(out, p, T_REVERSE_REPLY), f, tha);
      p = writeIpv4(out, put(out, p, T_AT), f, tpa);
      break;
    default:
      p = writeDecimal(out, put(out, p, T_ARP_UNKNOWN), op);
      out[p++] = 41;
  }
  return writeDecimal(out, put(out, p, T_LENGTH), length);
}
