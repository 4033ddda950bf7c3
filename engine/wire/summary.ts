// wire: one-line packet summaries in tcpdump's style (`tcpdump -n`, not verbose), from a Dissection.
//
// tcpdump prints TCP sequence numbers relative to the first ACK-bearing segment it saw of each
// connection (print-tcp.c, unless -S); `SummaryContext` keeps that per-capture state. Only what
// tcpdump prints without -v is printed; application protocols are not decoded (tcpdump's `HTTP:`
// suffixes and the like are left out), and the summary then ends where tcpdump's `length N` ends.
import { ARP_OP_REPLY, ARP_OP_REQUEST, ARP_OP_RARP_REPLY, ARP_OP_RARP_REQUEST } from './arp';
import { ipv4ToString, ipv6ToString, macToString } from './address';
import type { Dissection } from './dissect';
import { ETHERTYPE_RARP } from './ethernet';
import type { Icmpv4Packet } from './icmpv4';
import type { Icmpv6Packet } from './icmpv6';
import { IP_PROTOCOL } from './ipv4';
import type { Ipv6ExtensionHeader } from './ipv6';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TCP_URG, tcpFlagsToString, type TcpOption, type TcpPacket } from './tcp';

/**
 * Per-capture state for relative TCP sequence numbers, as tcpdump keeps it (print-tcp.c, unless -S).
 * Shared by `summarize` and the byte-level fast path (fast-summary.ts), so that a connection's
 * segments get the same bases whichever path prints them.
 */
export class SummaryContext {
  /** What to subtract from the segment's seq and ack (and SACK edges), set by the last `relative4`/`relative6`. */
  seqBase = 0;
  ackBase = 0;
  /** SACK edges are printed relative to this even on the segment that records the bases (print-tcp.c). */
  sackBase = 0;
  private readonly v4 = new ConnectionTable(3);
  private readonly v6 = new ConnectionTable(9);

  /** @param absolute print absolute sequence numbers (tcpdump -S). */
  constructor(readonly absolute = false) {}

  /** Sets `seqBase`/`ackBase` for an ACK-bearing segment over IPv4 (addresses as unsigned 32-bit numbers). */
  relative4(src: number, dst: number, srcPort: number, dstPort: number, seq: number, ack: number, syn: boolean): void {
    // tcpdump keys a conversation by its addresses and ports in a canonical order: lower address first.
    const rev = src > dst || (src === dst && srcPort > dstPort);
    const k = this.v4.key;
    k[0] = rev ? dst : src;
    k[1] = rev ? src : dst;
    k[2] = rev ? (dstPort << 16) | srcPort : (srcPort << 16) | dstPort;
    this.lookup(this.v4, rev, seq, ack, syn);
  }

  /** Sets `seqBase`/`ackBase` for an ACK-bearing segment over IPv6; the addresses are the 16 bytes at `srcAt` and `dstAt`. */
  relative6(src: Uint8Array, srcAt: number, dst: Uint8Array, dstAt: number, srcPort: number, dstPort: number, seq: number, ack: number, syn: boolean): void {
    let cmp = 0;
    for (let i = 0; i < 16 && cmp === 0; i++) cmp = src[srcAt + i] - dst[dstAt + i];
    const rev = cmp > 0 || (cmp === 0 && srcPort > dstPort);
    const k = this.v6.key;
    const lo = rev ? dst : src;
    const loAt = rev ? dstAt : srcAt;
    const hi = rev ? src : dst;
    const hiAt = rev ? srcAt : dstAt;
    for (let i = 0; i < 4; i++) {
      k[i] = (lo[loAt + 4 * i] << 24) | (lo[loAt + 4 * i + 1] << 16) | (lo[loAt + 4 * i + 2] << 8) | lo[loAt + 4 * i + 3];
      k[4 + i] = (hi[hiAt + 4 * i] << 24) | (hi[hiAt + 4 * i + 1] << 16) | (hi[hiAt + 4 * i + 2] << 8) | hi[hiAt + 4 * i + 3];
    }
    k[8] = rev ? (dstPort << 16) | srcPort : (srcPort << 16) | dstPort;
    this.lookup(this.v6, rev, seq, ack, syn);
  }

  private lookup(t: ConnectionTable, rev: boolean, seq: number, ack: number, syn: boolean): void {
    const slot = t.find();
    if (!t.found || syn) {
      // print-tcp.c: a new conversation (or a SYN) records the bases and prints this segment absolute.
      t.seq[slot] = rev ? (ack - 1) >>> 0 : seq;
      t.ack[slot] = rev ? seq : (ack - 1) >>> 0;
      if (!t.found) t.insert(slot);
      this.seqBase = 0;
      this.ackBase = 0;
      this.sackBase = rev ? t.seq[slot] : t.ack[slot];
      return;
    }
    this.seqBase = rev ? t.ack[slot] : t.seq[slot];
    this.ackBase = rev ? t.seq[slot] : t.ack[slot];
    this.sackBase = this.ackBase;
  }
}

/**
 * Open addressing with linear probing over typed arrays, keyed by `width` 32-bit words: no string
 * keys and no allocation per lookup. Callers fill `key`, then `find()`.
 */
class ConnectionTable {
  readonly key: Int32Array;
  /** Whether the last find() met the key; if not, its slot is where to insert it. */
  found = false;
  seq: Uint32Array;
  ack: Uint32Array;
  private keys: Int32Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(private readonly width: number) {
    this.key = new Int32Array(width);
    const capacity = 256;
    this.mask = capacity - 1;
    this.keys = new Int32Array(capacity * width);
    this.used = new Uint8Array(capacity);
    this.seq = new Uint32Array(capacity);
    this.ack = new Uint32Array(capacity);
  }

  /** The slot holding `key`, or the free slot where it belongs (then `found` is false). */
  find(): number {
    const k = this.key;
    const w = this.width;
    let h = 0x811c9dc5;
    for (let i = 0; i < w; i++) h = Math.imul(h ^ k[i], 0x01000193) ^ (h >>> 15);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
    const keys = this.keys;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      if (this.used[slot] === 0) {
        this.found = false;
        return slot;
      }
      let i = 0;
      const at = slot * w;
      while (i < w && keys[at + i] === k[i]) i++;
      if (i === w) {
        this.found = true;
        return slot;
      }
    }
  }

  /** Stores `key` in `slot` (from a find() that did not meet it); its seq and ack are already written there. */
  insert(slot: number): void {
    this.keys.set(this.key, slot * this.width);
    this.used[slot] = 1;
    if (++this.count * 2 > this.mask + 1) this.grow();
  }

  private grow(): void {
    const { keys, used, seq, ack, width: w } = this;
    const key = this.key.slice();
    const capacity = (this.mask + 1) * 2;
    this.mask = capacity - 1;
    this.keys = new Int32Array(capacity * w);
    this.used = new Uint8Array(capacity);
    this.seq = new Uint32Array(capacity);
    this.ack = new Uint32Array(capacity);
    for (let old = 0; old < used.length; old++) {
      if (used[old] === 0) continue;
      this.key.set(keys.subarray(old * w, old * w + w));
      const slot = this.find();
      this.keys.set(this.key, slot * w);
      this.used[slot] = 1;
      this.seq[slot] = seq[old];
      this.ack[slot] = ack[old];
    }
    this.key.set(key);
  }
}

/** The tcpdump-style summary of one dissected frame; `origLen` is the frame's length on the wire. */
export function summarize(d: Dissection, origLen: number, ctx: SummaryContext = new SummaryContext()): string {
  if (d.arp) return summarizeArp(d, origLen);
  if (d.ipv4) {
    const ip = d.ipv4;
    const src = ipv4ToString(ip.src);
    const dst = ipv4ToString(ip.dst);
    if (ip.fragmentOffset !== 0) return `IP ${src} > ${dst}: ip-proto-${ip.protocol}`;
    const ipPayloadLen = ip.totalLength - ip.headerLen;
    return 'IP ' + transport(d, { src, dst, payloadLen: ipPayloadLen, protocol: ip.protocol, bytes: ip.payload, addressesPrinted: false }, ctx);
  }
  if (d.ipv6) {
    const ip = d.ipv6;
    const src = ipv6ToString(ip.src);
    const dst = ipv6ToString(ip.dst);
    const prefix = 'IP6 ';
    const ext = ip.extensionHeaders.map((h) => extName(h, ip.payloadLength)).join(' ');
    if (ip.laterFragment) return `${prefix}${src} > ${dst}: ${ext}`;
    const upperLen = ip.payloadLength - (ip.upperOffset - 40);
    // With extension headers tcpdump prints the addresses first, then the headers, then ports alone.
    const t = { src, dst, payloadLen: upperLen, protocol: ip.upperProtocol, bytes: ip.upperPayload, addressesPrinted: ext !== '' };
    return ext === '' ? prefix + transport(d, t, ctx) : `${prefix}${src} > ${dst}: ${ext} ${transport(d, t, ctx)}`;
  }
  if (d.eth) {
    const e = d.eth;
    if (e.lengthField) return `${macToString(e.src)} > ${macToString(e.dst)}, 802.3, length ${e.etherType}`;
    return `${macToString(e.src)} > ${macToString(e.dst)}, ethertype 0x${e.etherType.toString(16).padStart(4, '0')}, length ${origLen}`;
  }
  return `[|link], length ${origLen}`;
}

function extName(h: Ipv6ExtensionHeader, payloadLength: number): string {
  switch (h.kind) {
    case 'hopByHop':
      return 'HBH';
    case 'destinationOptions':
      return 'DSTOPT';
    case 'routing':
      return `srcrt (type ${h.routingType}, segleft=${h.segmentsLeft})`;
    case 'fragment':
      // print-frag6.c: the offset and the length of the fragment's data after this header.
      return `frag (${h.fragmentOffset}|${payloadLength - (h.offset + h.length - 40)})`;
    case 'authentication':
      return `AH(spi=0x${h.spi.toString(16).padStart(8, '0')},seq=0x${h.sequence.toString(16)})`;
    default:
      return h.kind;
  }
}

interface TransportInfo {
  readonly src: string;
  readonly dst: string;
  /** Bytes after the network headers, as the IP header says. */
  readonly payloadLen: number;
  readonly protocol: number;
  /** The captured transport bytes. */
  readonly bytes: Uint8Array;
  /** The addresses are already printed (IPv6 with extension headers): print ports alone. */
  readonly addressesPrinted: boolean;
}

function transport(d: Dissection, x: TransportInfo, ctx: SummaryContext): string {
  const ends = (sp: number, dp: number) => (x.addressesPrinted ? `${sp} > ${dp}` : `${x.src}.${sp} > ${x.dst}.${dp}`);
  const here = x.addressesPrinted ? '' : `${x.src} > ${x.dst}: `;
  if (d.tcp) {
    const t = d.tcp;
    return `${ends(t.srcPort, t.dstPort)}: ${tcpSummary(d, t, x.payloadLen - t.headerLen, ctx)}`;
  }
  if (d.udp) return `${ends(d.udp.srcPort, d.udp.dstPort)}: UDP, length ${d.udp.length - 8}`;
  if (d.icmp) return `${here}ICMP ${icmpSummary(d.icmp)}, length ${x.payloadLen}`;
  if (d.icmpv6) return `${here}ICMP6, ${icmpv6Summary(d.icmpv6)}, length ${x.payloadLen}`;
  const b = x.bytes;
  const ports = b.length >= 4;
  switch (x.protocol) {
    case IP_PROTOCOL.TCP: {
      if (b.length >= 13) {
        const hl = (b[12] >>> 4) * 4;
        if (hl < 20) return `${ends((b[0] << 8) | b[1], (b[2] << 8) | b[3])}: tcp ${x.payloadLen} [bad hdr length ${hl} - too short, < 20]`;
        if (hl > x.payloadLen) return `${ends((b[0] << 8) | b[1], (b[2] << 8) | b[3])}: tcp ${x.payloadLen} [bad hdr length ${hl} - too long, > ${x.payloadLen}]`;
      }
      return ports ? `${ends((b[0] << 8) | b[1], (b[2] << 8) | b[3])}:  [|tcp]` : `${here}[|tcp]`;
    }
    case IP_PROTOCOL.UDP:
      return ports ? `${ends((b[0] << 8) | b[1], (b[2] << 8) | b[3])}:  [|udp]` : `${here}[|udp]`;
    case IP_PROTOCOL.ICMP:
      return `${here}[|icmp]`;
    case IP_PROTOCOL.ICMPV6:
      return `${here}[|icmp6]`;
    case IP_PROTOCOL.IPV6_NONXT:
      return `${here}no next header`;
  }
  return `${here}ip-proto-${x.protocol} ${x.payloadLen}`;
}

function tcpSummary(d: Dissection, t: TcpPacket, length: number, ctx: SummaryContext): string {
  let seq = t.seq;
  let ack = t.ack;
  let sackBase = 0;
  if (!ctx.absolute && t.flags & TCP_ACK) {
    const syn = (t.flags & TCP_SYN) !== 0;
    if (d.ipv4) ctx.relative4(d.ipv4.src, d.ipv4.dst, t.srcPort, t.dstPort, t.seq, t.ack, syn);
    else if (d.ipv6) ctx.relative6(d.ipv6.src, 0, d.ipv6.dst, 0, t.srcPort, t.dstPort, t.seq, t.ack, syn);
    seq = (seq - ctx.seqBase) >>> 0;
    ack = (ack - ctx.ackBase) >>> 0;
    sackBase = ctx.sackBase;
  }
  let s = `Flags [${tcpFlagsToString(t.flags)}]`;
  if (length > 0 || t.flags & (TCP_SYN | TCP_FIN | TCP_RST)) {
    s += `, seq ${seq}`;
    if (length > 0) s += `:${(seq + length) >>> 0}`;
  }
  if (t.flags & TCP_ACK) s += `, ack ${ack}`;
  s += `, win ${t.window}`;
  if (t.flags & TCP_URG) s += `, urg ${t.urgent}`;
  if (t.options.length > 0) {
    s += `, options [${t.options.map((o) => tcpOptionText(o, sackBase)).join(',')}]`;
  }
  return `${s}, length ${length}`;
}

function tcpOptionText(o: TcpOption, sackBase: number): string {
  switch (o.kind) {
    case 'eol':
      return 'eol';
    case 'nop':
      return 'nop';
    case 'mss':
      return `mss ${o.value}`;
    case 'wscale':
      return `wscale ${o.shift}`;
    case 'sackPermitted':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.length} ${o.blocks.map((b) => `{${(b.left - sackBase) >>> 0}:${(b.right - sackBase) >>> 0}}`).join('')}`;
    case 'timestamps':
      return `TS val ${o.tsVal} ecr ${o.tsEcr}`;
    case 'unknown':
      return `unknown-${o.type}${o.data.length ? ' 0x' + hex(o.data) : ''}`;
  }
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

const UNREACH_PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 33: 'dccp' };

function icmpSummary(m: Icmpv4Packet): string {
  switch (m.kind) {
    case 'echoRequest':
      return `echo request, id ${m.identifier}, seq ${m.sequence}`;
    case 'echoReply':
      return `echo reply, id ${m.identifier}, seq ${m.sequence}`;
    case 'destinationUnreachable': {
      const q = m.quoted;
      const qdst = q ? ipv4ToString(q.header.dst) : '?';
      switch (m.code) {
        case 0:
          return `net ${qdst} unreachable`;
        case 1:
          return `host ${qdst} unreachable`;
        case 2:
          return `${qdst} protocol ${q ? q.header.protocol : '?'} unreachable`;
        case 3:
          return q && q.dstPort !== undefined
            ? `${qdst} ${UNREACH_PROTO[q.header.protocol] ?? `ip-proto-${q.header.protocol}`} port ${q.dstPort} unreachable`
            : `${qdst} port unreachable`;
        case 4:
          return m.nextHopMtu ? `${qdst} unreachable - need to frag (mtu ${m.nextHopMtu})` : `${qdst} unreachable - need to frag`;
        case 5:
          return `${qdst} unreachable - source route failed`;
        case 13:
          return `host ${qdst} unreachable - admin prohibited filter`;
        default:
          return `${qdst} unreachable - #${m.code}`;
      }
    }
    case 'timeExceeded':
      return m.code === 0 ? 'time exceeded in-transit' : m.code === 1 ? 'ip reassembly time exceeded' : `time exceeded-#${m.code}`;
    case 'redirect': {
      const qdst = m.quoted ? ipv4ToString(m.quoted.header.dst) : '?';
      const what = ['net', 'host', 'tos net', 'tos host'][m.code] ?? `#${m.code}`;
      return `redirect ${qdst} to ${what} ${ipv4ToString(m.gateway)}`;
    }
    case 'unknown':
      return ICMP_TYPE_NAMES[m.type] ?? `type-#${m.type}`;
  }
}

const ICMP_TYPE_NAMES: Record<number, string> = {
  4: 'source quench',
  9: 'router advertisement',
  10: 'router solicitation',
  12: 'parameter problem',
  13: 'time stamp query',
  14: 'time stamp reply',
  15: 'information request',
  16: 'information reply',
  17: 'address mask request',
  18: 'address mask reply',
};

const ICMP6_UNREACH: Record<number, string> = {
  0: 'unreachable route',
  1: 'unreachable prohibited',
  2: 'beyond scope',
  3: 'unreachable address',
  4: 'unreachable port',
  5: 'failed policy',
  6: 'reject route',
};

function icmpv6Summary(m: Icmpv6Packet): string {
  switch (m.kind) {
    case 'echoRequest':
      return `echo request, id ${m.identifier}, seq ${m.sequence}`;
    case 'echoReply':
      return `echo reply, id ${m.identifier}, seq ${m.sequence}`;
    case 'destinationUnreachable': {
      let s = `destination unreachable, ${ICMP6_UNREACH[m.code] ?? `unknown unreach code (${m.code})`}`;
      const q = m.quoted;
      if (q) {
        const qdst = ipv6ToString(q.dst);
        if (m.code === 4 && (q.upperProtocol === 6 || q.upperProtocol === 17) && q.upperPayload.length >= 4) {
          const port = (q.upperPayload[2] << 8) | q.upperPayload[3];
          s += `, ${qdst} ${q.upperProtocol === 6 ? 'tcp' : 'udp'} port ${port}`;
        } else s += `, ${qdst}`;
      }
      return s;
    }
    case 'packetTooBig':
      return `packet too big, mtu ${m.mtu}`;
    case 'timeExceeded':
      return m.code === 0 ? 'time exceeded in-transit' : m.code === 1 ? 'ip6 reassembly time exceeded' : `time exceeded, code-#${m.code}`;
    case 'parameterProblem':
      return `parameter problem, code-#${m.code}, pointer ${m.pointer}`;
    case 'routerSolicitation':
      return 'router solicitation';
    case 'routerAdvertisement':
      return 'router advertisement';
    case 'neighborSolicitation':
      return `neighbor solicitation, who has ${ipv6ToString(m.target)}`;
    case 'neighborAdvertisement':
      return `neighbor advertisement, tgt is ${ipv6ToString(m.target)}`;
    case 'unknown':
      if (m.type === 143 && m.rest.length >= 4) {
        const n = (m.rest[2] << 8) | m.rest[3];
        return `multicast listener report v2, ${n} group record(s)`;
      }
      return ICMP6_TYPE_NAMES[m.type] ?? `unknown icmp6 type (${m.type})`;
  }
}

const ICMP6_TYPE_NAMES: Record<number, string> = {
  130: 'multicast listener query',
  131: 'multicast listener report',
  132: 'multicast listener done',
  137: 'redirect',
};

function summarizeArp(d: Dissection, origLen: number): string {
  const a = d.arp!;
  const linkLen = d.layers.find((l) => l.name === 'arp')!.offset;
  const length = origLen - linkLen;
  const rarp = d.arpEtherType === ETHERTYPE_RARP;
  const spa = ipv4ToString(a.senderProtocol);
  const tpa = ipv4ToString(a.targetProtocol);
  const sha = macToString(a.senderHardware);
  const tha = macToString(a.targetHardware);
  const name = rarp ? 'RARP' : 'ARP';
  switch (a.operation) {
    case ARP_OP_REQUEST: {
      const zero = a.targetHardware.every((b) => b === 0);
      return `${name}, Request who-has ${tpa}${zero ? '' : ` (${tha})`} tell ${spa}, length ${length}`;
    }
    case ARP_OP_REPLY:
      return `${name}, Reply ${spa} is-at ${sha}, length ${length}`;
    case ARP_OP_RARP_REQUEST:
      return `${name}, Reverse Request who-is ${tha} tell ${sha}, length ${length}`;
    case ARP_OP_RARP_REPLY:
      return `${name}, Reverse Reply ${tha} at ${tpa}, length ${length}`;
    default:
      return `${name}, unknown (${a.operation}), length ${length}`;
  }
}
