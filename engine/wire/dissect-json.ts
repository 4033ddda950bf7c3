// wire: a Dissection as plain JSON — every layer's fields, addresses in their text forms, byte
// fields in hex, and bulk bytes (payloads, quotes) as their length only.
import { ipv4ToString, ipv6ToString, macToString } from './address';
import type { Dissection } from './dissect';
import { tcpFlagsToString } from './tcp';

type Json = null | boolean | number | string | Json[] | JsonObject;
type JsonObject = { [key: string]: Json };

/** Keys whose bytes are bulk data: shown as a length, not dumped. */
const BULK = new Set(['payload', 'data', 'quote', 'upperPayload', 'rest']);

export function dissectionToJson(d: Dissection): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (d.eth) {
    out.eth = {
      ...obj(d.eth),
      dst: macToString(d.eth.dst),
      src: macToString(d.eth.src),
      etherType: hex16(d.eth.etherType),
    };
  }
  if (d.linkProtocol !== undefined) out.link = { protocol: hex16(d.linkProtocol) };
  if (d.arp) {
    out[d.arpEtherType === 0x8035 ? 'rarp' : 'arp'] = {
      operation: d.arp.operation,
      senderHardware: macToString(d.arp.senderHardware),
      senderProtocol: ipv4ToString(d.arp.senderProtocol),
      targetHardware: macToString(d.arp.targetHardware),
      targetProtocol: ipv4ToString(d.arp.targetProtocol),
    };
  }
  if (d.ipv4) {
    const ip = d.ipv4;
    out.ipv4 = {
      ...obj(ip),
      src: ipv4ToString(ip.src),
      dst: ipv4ToString(ip.dst),
      checksum: hex16(ip.checksum),
      parsedOptions: ip.parsedOptions.map((o) => {
        const p = obj(o);
        if ('addresses' in o) p.addresses = o.addresses.map(ipv4ToString);
        if ('entries' in o) p.entries = o.entries.map((e) => ({ address: e.address === undefined ? null : ipv4ToString(e.address), timestamp: e.timestamp }));
        return p;
      }),
    };
  }
  if (d.ipv6) {
    out.ipv6 = { ...obj(d.ipv6), src: ipv6ToString(d.ipv6.src), dst: ipv6ToString(d.ipv6.dst) };
  }
  if (d.icmp) {
    const m = d.icmp;
    const icmp = { ...obj(m), checksum: hex16(m.checksum) } as { [key: string]: Json };
    if (m.kind === 'redirect') icmp.gateway = ipv4ToString(m.gateway);
    if (m.quoted) {
      icmp.quoted = {
        src: ipv4ToString(m.quoted.header.src),
        dst: ipv4ToString(m.quoted.header.dst),
        protocol: m.quoted.header.protocol,
        srcPort: m.quoted.srcPort ?? null,
        dstPort: m.quoted.dstPort ?? null,
      };
    }
    out.icmp = icmp;
  }
  if (d.icmpv6) {
    const m = d.icmpv6;
    const icmp = { ...obj(m), checksum: hex16(m.checksum) } as { [key: string]: Json };
    if ('target' in m) icmp.target = ipv6ToString(m.target);
    if ('options' in m) {
      icmp.options = m.options.map((o) => {
        const p = obj(o);
        if ('address' in o) p.address = macToString(o.address);
        if ('prefix' in o) p.prefix = ipv6ToString(o.prefix);
        return p;
      });
    }
    if (m.quoted) icmp.quoted = { src: ipv6ToString(m.quoted.src), dst: ipv6ToString(m.quoted.dst), nextHeader: m.quoted.upperProtocol };
    out.icmpv6 = icmp;
  }
  if (d.tcp) out.tcp = { ...obj(d.tcp), flagsText: tcpFlagsToString(d.tcp.flags), checksum: hex16(d.tcp.checksum), payloadLength: d.tcp.payload.length };
  if (d.udp) out.udp = { ...obj(d.udp), checksum: hex16(d.udp.checksum), payloadLength: d.udp.payload.length };
  if (d.data) out.data = { length: d.data.length };
  return out;
}

function obj(value: object): JsonObject {
  return plain(value) as JsonObject;
}

/** Own enumerable fields, recursively: Uint8Array to hex (bulk ones to a length), undefined dropped. */
function plain(value: unknown, key = ''): Json {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array) return BULK.has(key) ? { length: value.length } : hexBytes(value);
  if (Array.isArray(value)) return value.map((v) => plain(v));
  if (typeof value === 'object') {
    const o: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      o[BULK.has(k) && v instanceof Uint8Array ? `${k}Length` : k] = BULK.has(k) && v instanceof Uint8Array ? v.length : plain(v, k);
    }
    return o;
  }
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value);
}

function hex16(n: number): string {
  return '0x' + n.toString(16).padStart(4, '0');
}

function hexBytes(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
