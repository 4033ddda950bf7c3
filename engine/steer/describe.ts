// steer: a filter in plain words, for the editor's hover ("TCP packets to port 9000 of host 198.18.0.2").

import type { Arith, Dir, Filter, Primitive } from './ast';
import { assertNever } from './ast';

function ipv4Text(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

function prefixLen(mask: number): number {
  let n = 0;
  while (n < 32 && mask & (0x80000000 >>> n)) n++;
  return n;
}

function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function macText(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

function dirWords(dir: Dir, from: string, to: string, either: string): string {
  switch (dir) {
    case 'src':
      return from;
    case 'dst':
      return to;
    case 'and':
      return `${from} and ${to}`;
    default:
      return either;
  }
}

const PROTO_WORDS: Readonly<Record<string, string>> = {
  ip: 'IPv4', ip6: 'IPv6', arp: 'ARP', rarp: 'RARP', tcp: 'TCP', udp: 'UDP', sctp: 'SCTP', icmp: 'ICMP', igmp: 'IGMP', icmp6: 'ICMPv6',
};

function arith(a: Arith): string {
  switch (a.kind) {
    case 'num':
      return String(a.value);
    case 'len':
      return 'the packet length';
    case 'load':
      return `${a.proto}[${arith(a.index)}${a.size === 1 ? '' : `:${a.size}`}]`;
    case 'binary':
      return `(${arith(a.left)} ${a.op} ${arith(a.right)})`;
    case 'neg':
      return `-${arith(a.operand)}`;
    default:
      return assertNever(a);
  }
}

function primitive(p: Primitive): string {
  switch (p.kind) {
    case 'proto-name':
      return `${PROTO_WORDS[p.proto]} packets`;
    case 'proto':
      if (p.qual === 'link') return `frames of Ethernet type 0x${p.value.toString(16).padStart(4, '0')}`;
      return `${p.qual === 'ip' ? 'IPv4' : p.qual === 'ip6' ? 'IPv6' : 'IP'} packets of protocol ${p.value}`;
    case 'host4': {
      const what = p.isNet && p.mask !== 0xffffffff ? `net ${ipv4Text(p.addr)}/${prefixLen(p.mask)}` : `host ${ipv4Text(p.addr)}`;
      const proto = p.proto === 'default' ? 'IPv4, ARP or RARP packets' : `${PROTO_WORDS[p.proto]} packets`;
      return `${proto} ${dirWords(p.dir, `from ${what}`, `to ${what}`, `from or to ${what}`)}`;
    }
    case 'host6': {
      const what = p.prefix === 128 ? `host ${ipv6Text(p.addr)}` : `net ${ipv6Text(p.addr)}/${p.prefix}`;
      return `IPv6 packets ${dirWords(p.dir, `from ${what}`, `to ${what}`, `from or to ${what}`)}`;
    }
    case 'ether-host':
      return `frames ${dirWords(p.dir, `from ${macText(p.mac)}`, `to ${macText(p.mac)}`, `from or to ${macText(p.mac)}`)}`;
    case 'port': {
      const proto = p.proto === 'any' ? 'TCP, UDP or SCTP' : PROTO_WORDS[p.proto];
      const ports = p.lo === p.hi ? `port ${p.lo}` : `ports ${p.lo}-${p.hi}`;
      return `${proto} packets ${dirWords(p.dir, `from ${ports}`, `to ${ports}`, `from or to ${ports}`)}`;
    }
    case 'broadcast':
      return 'Ethernet broadcast frames';
    case 'multicast':
      return p.qual === 'link' ? 'Ethernet multicast frames' : `${PROTO_WORDS[p.qual]} multicast packets`;
    case 'length':
      return p.op === 'less' ? `packets of at most ${p.value} bytes` : `packets of at least ${p.value} bytes`;
    case 'vlan':
      return p.id === undefined ? 'VLAN-tagged frames (later tests look inside the tag)' : `frames tagged VLAN ${p.id} (later tests look inside the tag)`;
    case 'relation':
      return `packets where ${arith(p.left)} ${p.op} ${arith(p.right)}`;
    default:
      return assertNever(p);
  }
}

/** Says in words what the filter matches. */
export function describeFilter(f: Filter): string {
  switch (f.kind) {
    case 'and':
      return `${describeFilter(f.left)}, that are also ${describeFilter(f.right)}`;
    case 'or':
      return `${describeFilter(f.left)}, or ${describeFilter(f.right)}`;
    case 'not':
      return `anything but (${describeFilter(f.operand)})`;
    default:
      return primitive(f);
  }
}
