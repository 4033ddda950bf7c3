// webview/fields: the inspector's field tree — every header field of a dissected frame with its
// value and its exact byte range, so that selecting a field lights its bytes in the hex dump.
// Offsets follow the header figures: Ethernet (IEEE 802.3), ARP (RFC 826), IPv4 (RFC 791 §3.1),
// IPv6 (RFC 8200 §3), TCP (RFC 9293 §3.1), UDP (RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443 §2.1).
import { ipv4ToString, ipv6ToString, macToString } from '../engine/wire/address';
import { PARTIAL_CHECKSUM_TEXT } from '../engine/wire/checksum';
import type { Dissection, LayerSpan } from '../engine/wire/dissect';

export interface Field {
  readonly key: string;
  readonly label: string;
  readonly value: string;
  /** Absolute byte range in the frame. */
  readonly offset: number;
  readonly length: number;
  readonly problem?: string;
}

export interface FieldLayer {
  readonly key: string;
  readonly title: string;
  readonly offset: number;
  readonly length: number;
  readonly fields: readonly Field[];
}

const hex = (n: number, w: number) => '0x' + n.toString(16).padStart(w, '0');

function u8(b: Uint8Array, o: number): number {
  return b[o] ?? 0;
}
function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}
function u32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

const PARTIAL = ` [${PARTIAL_CHECKSUM_TEXT}]`;

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'AE'];

/**
 * A TCP or UDP checksum that holds exactly the pseudo-header sum is the partial one a device
 * completes (checksum offload: the dissector's `checksumPartial`), shown as such and not as an
 * error, whether or not the record is flagged OFFLOAD (a tcpdump capture of a host with offloads has
 * them too); any other checksum that does not add up is incorrect, flag or not.
 */
export function fieldTree(d: Dissection, b: Uint8Array): FieldLayer[] {
  const out: FieldLayer[] = [];
  const problemAt = (layer: string, offset: number) => d.problems.find((p) => p.layer === layer && p.offset === offset)?.message;
  for (const span of d.layers) {
    const o = span.offset;
    const f = (key: string, label: string, value: string, off: number, len: number, problem?: string): Field =>
      ({ key: `${span.name}.${key}`, label, value, offset: o + off, length: len, ...(problem ? { problem } : {}) });
    switch (span.name) {
      case 'eth':
        out.push(layer(span, `Ethernet II, ${macToString(b, o + 6)} → ${macToString(b, o)}`, [
          f('dst', 'Destination', macToString(b, o), 0, 6),
          f('src', 'Source', macToString(b, o + 6), 6, 6),
          f('type', 'Type', etherTypeName(u16(b, o + 12)), 12, 2),
        ]));
        break;
      case 'arp':
        out.push(layer(span, `ARP ${u16(b, o + 6) === 1 ? 'request' : 'reply'}`, [
          f('htype', 'Hardware type', String(u16(b, o)), 0, 2),
          f('ptype', 'Protocol type', hex(u16(b, o + 2), 4), 2, 2),
          f('op', 'Operation', u16(b, o + 6) === 1 ? 'request (1)' : `reply (${u16(b, o + 6)})`, 6, 2),
          f('sha', 'Sender MAC', macToString(b, o + 8), 8, 6),
          f('spa', 'Sender IP', ipv4ToString(u32(b, o + 14)), 14, 4),
          f('tha', 'Target MAC', macToString(b, o + 18), 18, 6),
          f('tpa', 'Target IP', ipv4ToString(u32(b, o + 24)), 24, 4),
        ]));
        break;
      case 'ipv4': {
        const ihl = (u8(b, o) & 0x0f) * 4;
        const fl = u16(b, o + 6);
        const fields = [
          f('version', 'Version', String(u8(b, o) >> 4), 0, 1),
          f('ihl', 'Header length', `${ihl} bytes (${ihl / 4})`, 0, 1),
          f('dscp', 'DSCP / ECN', `${u8(b, o + 1) >> 2} / ${u8(b, o + 1) & 3}`, 1, 1),
          f('len', 'Total length', String(u16(b, o + 2)), 2, 2),
          f('id', 'Identification', `${hex(u16(b, o + 4), 4)} (${u16(b, o + 4)})`, 4, 2),
          f('flags', 'Flags', [fl & 0x4000 ? 'DF' : '', fl & 0x2000 ? 'MF' : ''].filter(Boolean).join(', ') || 'none', 6, 1),
          f('frag', 'Fragment offset', String((fl & 0x1fff) * 8), 6, 2),
          f('ttl', 'Time to live', String(u8(b, o + 8)), 8, 1),
          f('proto', 'Protocol', protoName(u8(b, o + 9)), 9, 1),
          f('csum', 'Header checksum', hex(u16(b, o + 10), 4) + (d.ipv4?.checksumValid === false ? ' [incorrect]' : ' [correct]'), 10, 2,
            d.ipv4?.checksumValid === false ? 'bad checksum' : undefined),
          f('src', 'Source', ipv4ToString(u32(b, o + 12)), 12, 4),
          f('dst', 'Destination', ipv4ToString(u32(b, o + 16)), 16, 4),
        ];
        if (ihl > 20) fields.push(f('options', 'Options', `${ihl - 20} bytes`, 20, ihl - 20));
        out.push(layer({ ...span, length: Math.min(span.length, ihl) }, `Internet Protocol v4, ${ipv4ToString(u32(b, o + 12))} → ${ipv4ToString(u32(b, o + 16))}`, fields));
        break;
      }
      case 'tcp': {
        const hl = (u8(b, o + 12) >> 4) * 4;
        const flags = u16(b, o + 12) & 0x1ff;
        const names = TCP_FLAG_NAMES.filter((_, i) => flags & (1 << i));
        const partial = d.tcp?.checksumPartial === true;
        const csumProblem = partial ? undefined : (problemAt('tcp', o + 16) ?? (d.tcp?.checksumValid === false ? 'bad checksum' : undefined));
        const fields = [
          f('srcport', 'Source port', String(u16(b, o)), 0, 2),
          f('dstport', 'Destination port', String(u16(b, o + 2)), 2, 2),
          f('seq', 'Sequence number', String(u32(b, o + 4)), 4, 4),
          f('ack', 'Acknowledgment number', String(u32(b, o + 8)), 8, 4),
          f('hlen', 'Header length', `${hl} bytes (${hl / 4})`, 12, 1),
          f('flags', 'Flags', `${hex(flags, 3)} ${names.join(', ') || 'none'}`, 12, 2),
          f('window', 'Window', String(u16(b, o + 14)), 14, 2),
          f('csum', 'Checksum', hex(u16(b, o + 16), 4) + (partial ? PARTIAL : csumProblem ? ' [incorrect]' : d.tcp?.checksumValid ? ' [correct]' : ''), 16, 2, csumProblem),
          f('urg', 'Urgent pointer', String(u16(b, o + 18)), 18, 2),
        ];
        if (hl > 20) {
          fields.push(f('options', 'Options', `${hl - 20} bytes: ${optionsText(d)}`, 20, hl - 20));
          fields.push(...tcpOptionFields(b, o + 20, o + hl).map((x, i) => f(`opt${i}`, `Option ${x.name}`, x.value, x.at - o, x.len)));
        }
        const tcpTitle = `Transmission Control Protocol, ${u16(b, o)} → ${u16(b, o + 2)} [${names.join(', ')}]`;
        out.push(layer({ ...span, length: Math.min(span.length, hl) }, tcpTitle, fields));
        pushPayload(out, b, o + hl, span.offset + span.length);
        break;
      }
      case 'udp': {
        const partial = d.udp?.checksumPartial === true;
        const bad = d.udp?.checksumValid === false && !partial;
        out.push(layer({ ...span, length: 8 }, `User Datagram Protocol, ${u16(b, o)} → ${u16(b, o + 2)}`, [
          f('srcport', 'Source port', String(u16(b, o)), 0, 2),
          f('dstport', 'Destination port', String(u16(b, o + 2)), 2, 2),
          f('len', 'Length', String(u16(b, o + 4)), 4, 2),
          f('csum', 'Checksum', hex(u16(b, o + 6), 4) + (partial ? PARTIAL : bad ? ' [incorrect]' : ''), 6, 2, bad ? 'bad checksum' : undefined),
        ]));
        pushPayload(out, b, o + 8, span.offset + span.length);
        break;
      }
      case 'ipv6': {
        // RFC 8200 §3: the fixed 40-byte header (extension headers, when present, follow in the span).
        const w = u32(b, o);
        out.push(layer(span, `Internet Protocol v6, ${ipv6ToString(b, o + 8)} → ${ipv6ToString(b, o + 24)}`, [
          f('version', 'Version', String(w >>> 28), 0, 1),
          f('tclass', 'Traffic class', `${hex((w >>> 20) & 0xff, 2)} (DSCP ${(w >>> 22) & 0x3f}, ECN ${(w >>> 20) & 3})`, 0, 2),
          f('flow', 'Flow label', hex(w & 0xfffff, 5), 1, 3),
          f('plen', 'Payload length', String(u16(b, o + 4)), 4, 2),
          f('nxt', 'Next header', protoName(u8(b, o + 6)), 6, 1),
          f('hlim', 'Hop limit', String(u8(b, o + 7)), 7, 1),
          f('src', 'Source', ipv6ToString(b, o + 8), 8, 16),
          f('dst', 'Destination', ipv6ToString(b, o + 24), 24, 16),
        ]));
        break;
      }
      case 'icmpv6':
        out.push(layer({ ...span, length: Math.min(span.length, 4) }, `Internet Control Message Protocol v6, type ${u8(b, o)} code ${u8(b, o + 1)}`, [
          f('type', 'Type', icmpv6TypeName(u8(b, o)), 0, 1),
          f('code', 'Code', String(u8(b, o + 1)), 1, 1),
          f('csum', 'Checksum', hex(u16(b, o + 2), 4), 2, 2),
        ]));
        pushPayload(out, b, o + 4, span.offset + span.length);
        break;
      case 'icmp':
        out.push(layer({ ...span, length: Math.min(span.length, 8) }, `Internet Control Message Protocol, type ${u8(b, o)} code ${u8(b, o + 1)}`, [
          f('type', 'Type', icmpTypeName(u8(b, o)), 0, 1),
          f('code', 'Code', String(u8(b, o + 1)), 1, 1),
          f('csum', 'Checksum', hex(u16(b, o + 2), 4), 2, 2),
          f('rest', 'Rest of header', hex(u32(b, o + 4), 8), 4, 4),
        ]));
        pushPayload(out, b, o + 8, span.offset + span.length);
        break;
      case 'data':
        pushPayload(out, b, o, o + span.length);
        break;
      default:
        out.push(layer(span, span.name, []));
    }
  }
  return out;
}

function layer(span: LayerSpan, title: string, fields: Field[]): FieldLayer {
  return { key: span.name, title, offset: span.offset, length: span.length, fields };
}

function pushPayload(out: FieldLayer[], b: Uint8Array, from: number, to: number): void {
  const end = Math.min(to, b.length);
  if (end <= from || out.some((l) => l.key === 'data')) return;
  const n = end - from;
  let text = '';
  for (let i = from; i < Math.min(end, from + 48); i++) {
    const c = b[i];
    text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  out.push({
    key: 'data',
    title: `Data (${n} byte${n === 1 ? '' : 's'})`,
    offset: from,
    length: n,
    fields: [{ key: 'data.bytes', label: 'Bytes', value: text + (n > 48 ? '…' : ''), offset: from, length: n }],
  });
}

function optionsText(d: Dissection): string {
  const opts = d.tcp?.options ?? [];
  return opts
    .map((o) => {
      switch (o.kind) {
        case 'mss': return `MSS ${o.value}`;
        case 'wscale': return `WS ${o.shift}`;
        case 'sackPermitted': return 'SACK-perm';
        case 'sack': return `SACK ${o.blocks.length}`;
        case 'timestamps': return `TS ${o.tsVal}/${o.tsEcr}`;
        case 'nop': return 'NOP';
        case 'eol': return 'EOL';
        default: return `opt ${o.type}`;
      }
    })
    .join(', ');
}

/** Each TCP option with its byte range (RFC 9293 §3.2: kind, then length for all but EOL and NOP). */
function tcpOptionFields(b: Uint8Array, from: number, to: number): { name: string; value: string; at: number; len: number }[] {
  const out: { name: string; value: string; at: number; len: number }[] = [];
  const end = Math.min(to, b.length);
  for (let at = from; at < end;) {
    const kind = b[at];
    if (kind === 0) {
      out.push({ name: 'EOL', value: 'end of option list', at, len: end - at });
      break;
    }
    if (kind === 1) {
      out.push({ name: 'NOP', value: 'no-operation', at, len: 1 });
      at++;
      continue;
    }
    const len = b[at + 1] ?? 0;
    if (len < 2 || at + len > end) {
      out.push({ name: `kind ${kind}`, value: `bad length ${len}`, at, len: end - at });
      break;
    }
    const u16 = (i: number) => ((b[i] << 8) | b[i + 1]) >>> 0;
    const u32 = (i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
    let name = `kind ${kind}`;
    let value = `${len} bytes`;
    if (kind === 2 && len === 4) [name, value] = ['MSS', `${u16(at + 2)} bytes`];
    else if (kind === 3 && len === 3) [name, value] = ['Window scale', `shift ${b[at + 2]} (×${2 ** b[at + 2]})`];
    else if (kind === 4 && len === 2) [name, value] = ['SACK permitted', 'yes'];
    else if (kind === 5) {
      name = 'SACK';
      const blocks: string[] = [];
      for (let i = at + 2; i + 8 <= at + len; i += 8) blocks.push(`${u32(i)}-${u32(i + 4)}`);
      value = blocks.join(' ');
    } else if (kind === 8 && len === 10) [name, value] = ['Timestamps', `TSval ${u32(at + 2)}, TSecr ${u32(at + 6)}`];
    out.push({ name, value, at, len });
    at += len;
  }
  return out;
}

function etherTypeName(t: number): string {
  const n = t === 0x0800 ? 'IPv4' : t === 0x0806 ? 'ARP' : t === 0x86dd ? 'IPv6' : '';
  return `${n} (${hex(t, 4)})`.trim();
}

function protoName(p: number): string {
  const n = p === 6 ? 'TCP' : p === 17 ? 'UDP' : p === 1 ? 'ICMP' : p === 58 ? 'ICMPv6' : p === 0 ? 'Hop-by-hop options' : p === 44 ? 'Fragment' : '';
  return n ? `${n} (${p})` : String(p);
}

function icmpv6TypeName(t: number): string {
  const names: Record<number, string> = { 1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 128: 'echo request', 129: 'echo reply',
    133: 'router solicitation', 134: 'router advertisement', 135: 'neighbor solicitation', 136: 'neighbor advertisement' };
  return names[t] ? `${names[t]} (${t})` : String(t);
}

function icmpTypeName(t: number): string {
  const names: Record<number, string> = { 0: 'echo reply', 3: 'destination unreachable', 8: 'echo request', 11: 'time exceeded' };
  return names[t] ? `${names[t]} (${t})` : String(t);
}
