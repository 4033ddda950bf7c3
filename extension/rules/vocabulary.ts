// rules: the words of the `.bypass` language and what each means — actions, pcap-filter keywords,
// named offsets and values, services — for completion, hover and the grammar's coverage test.
// The keyword tables themselves are the engine's lexer's (engine/steer/lexer.ts); this module only
// explains them, so a keyword the engine learns and nobody documents fails the coverage test.
import { NAMED_NUMBERS, SUPPORTED_KEYWORDS, UNSUPPORTED_KEYWORDS } from '../../engine/steer/lexer';
import { lookupService, serviceNames } from '../../engine/steer/services';

export type ActionWord = 'bypass' | 'kernel' | 'drop';
export const ACTION_WORDS: readonly ActionWord[] = ['bypass', 'kernel', 'drop'];

export const ACTION_DOCS: Readonly<Record<ActionWord | 'default', string>> = {
  bypass: 'Steer matching flows to the **bypass** path: the userspace TCP/IP stack, as a kernel-bypass NIC filter would.',
  kernel: 'Steer matching flows to the **kernel** path: the operating system\'s own TCP/IP stack.',
  drop: 'Drop matching flows at the NIC: neither stack sees them.',
  default: 'What happens to packets no rule matches: `default bypass`, `default kernel` or `default drop`. One per file; without it, `kernel`.',
};

/** Words a filter may start a primitive with, grouped the way completion offers them. */
export const PROTOCOL_WORDS = ['ether', 'link', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'sctp', 'icmp', 'icmp6', 'igmp'] as const;
export const DIRECTION_WORDS = ['src', 'dst'] as const;
export const TYPE_WORDS = ['host', 'net', 'port', 'portrange', 'proto'] as const;
export const PRIMITIVE_WORDS = ['less', 'greater', 'len', 'vlan', 'broadcast', 'multicast', 'mask'] as const;
export const LOGICAL_WORDS = ['and', 'or', 'not'] as const;

/** The named offsets (`tcp[tcpflags]`) among the engine's named numbers. */
export const NAMED_OFFSETS = ['tcpflags', 'icmptype', 'icmpcode', 'icmp6type', 'icmp6code'] as const;
export type NamedOffset = (typeof NAMED_OFFSETS)[number];

/** Which byte-access protocol each named offset belongs to. */
export const OFFSET_PROTO: Readonly<Record<NamedOffset, string>> = {
  tcpflags: 'tcp', icmptype: 'icmp', icmpcode: 'icmp', icmp6type: 'icmp6', icmp6code: 'icmp6',
};

/** The named values (`tcp-syn`, `icmp-echo`…): every named number that is not an offset. */
export function namedValues(): string[] {
  return [...NAMED_NUMBERS.keys()].filter((n) => !(NAMED_OFFSETS as readonly string[]).includes(n));
}

/** The values that go with a named offset: `tcpflags` → tcp-*, `icmptype` → icmp-*, `icmp6type` → icmp6-*. */
export function valuesForOffset(offset: string): string[] {
  const prefix = offset === 'tcpflags' ? 'tcp-' : offset === 'icmptype' ? 'icmp-' : offset === 'icmp6type' ? 'icmp6-' : undefined;
  if (prefix === undefined) return [];
  return namedValues().filter((v) => v.startsWith(prefix));
}

const KEYWORD_DOCS: Readonly<Record<(typeof SUPPORTED_KEYWORDS)[number], string>> = {
  dst: '`dst` — the destination: `dst host A`, `dst net N`, `dst port P`. `src or dst` and `src and dst` combine both.',
  src: '`src` — the source: `src host A`, `src net N`, `src port P`.',
  host: '`host A` — packets whose IPv4 or IPv6 source or destination is A. Without a protocol it also covers ARP and RARP sender and target addresses, as tcpdump does.',
  net: '`net N/len` or `net N mask M` — packets whose source or destination address lies in network N. Host bits set in N are an error.',
  mask: '`net N mask M` — the network mask written as a dotted quad (`net 198.18.0.0 mask 255.254.0.0`).',
  port: '`port P` — TCP, UDP or SCTP packets from or to port P (a number or a service name). Matches only the first fragment of a fragmented datagram, as tcpdump does.',
  portrange: '`portrange A-B` — TCP, UDP or SCTP packets from or to a port between A and B, inclusive.',
  proto: '`proto N` — IPv4 or IPv6 packets of IP protocol N (`ip proto N`, `ip6 proto N`); `ether proto T` tests the Ethernet type. Protocol names that are also keywords need a backslash: `ip proto \\tcp`.',
  less: '`less N` — packets of at most N bytes (`len <= N`).',
  greater: '`greater N` — packets of at least N bytes (`len >= N`).',
  broadcast: '`ether broadcast` — Ethernet broadcast frames (destination ff:ff:ff:ff:ff:ff).',
  multicast: '`ether multicast`, `ip multicast`, `ip6 multicast` — multicast frames or packets.',
  and: '`and` (also `&&`) — both sides must match. `and` and `or` have the same precedence and group from the left: use parentheses.',
  or: '`or` (also `||`) — either side matches. `port 80 or 443` repeats the qualifiers before it.',
  not: '`not` (also `!`) — negation; binds tighter than `and`/`or`.',
  len: '`len` — the packet\'s length on the wire, for relations such as `len > 1000`.',
  vlan: '`vlan [ID]` — 802.1Q-tagged frames (with that VLAN ID). Tests after it in the expression look inside the tag: their offsets shift by 4 bytes, as in tcpdump.',
  link: '`link` — the link layer; the same as `ether`.',
  ether: '`ether` — the Ethernet layer: `ether host M`, `ether src M`, `ether proto T`, `ether broadcast`, `ether[off:size]`.',
  arp: '`arp` — ARP packets; `arp host A` tests sender and target protocol addresses.',
  rarp: '`rarp` — RARP packets.',
  ip: '`ip` — IPv4 packets; also the qualifier of `ip host`, `ip proto`, `ip multicast`, `ip[off:size]`.',
  sctp: '`sctp` — SCTP packets (IPv4 or IPv6).',
  tcp: '`tcp` — TCP packets (IPv4 or IPv6); also `tcp port P`, `tcp[off:size]`.',
  udp: '`udp` — UDP packets (IPv4 or IPv6); also `udp port P`, `udp[off:size]`.',
  icmp: '`icmp` — ICMPv4 packets; `icmp[icmptype] = icmp-echo` tests the type.',
  igmp: '`igmp` — IGMP packets.',
  ip6: '`ip6` — IPv6 packets; also `ip6 host`, `ip6 proto`, `ip6 multicast`, `ip6[off:size]`.',
  icmp6: '`icmp6` — ICMPv6 packets; `icmp6[icmp6type] = icmp6-echo` tests the type.',
};

const OFFSET_DOCS: Readonly<Record<NamedOffset, string>> = {
  tcpflags: '`tcpflags` — offset 13 of the TCP header, the flags byte: `tcp[tcpflags] & tcp-syn != 0`.',
  icmptype: '`icmptype` — offset 0 of the ICMP header, the type: `icmp[icmptype] = icmp-echo`.',
  icmpcode: '`icmpcode` — offset 1 of the ICMP header, the code.',
  icmp6type: '`icmp6type` — offset 0 of the ICMPv6 header, the type: `icmp6[icmp6type] = icmp6-echo`.',
  icmp6code: '`icmp6code` — offset 1 of the ICMPv6 header, the code.',
};

const OPERATOR_DOCS: Readonly<Record<string, string>> = {
  '&&': '`&&` — the same as `and`.',
  '||': '`||` — the same as `or`.',
  '!': '`!` — the same as `not`.',
  '[': '`proto[offset:size]` — the byte, half-word or word (size 1, 2 or 4; default 1) at that offset of the protocol header, big-endian.',
};

function hex(n: number, width: number): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

/** What a named value stands for, in words. */
function namedValueDoc(name: string, value: number): string {
  if (name.startsWith('tcp-')) {
    return `\`${name}\` — ${hex(value, 2)}, the ${name.slice(4).toUpperCase()} bit of \`tcp[tcpflags]\`: \`tcp[tcpflags] & ${name} != 0\`.`;
  }
  if (name.startsWith('icmp6-')) return `\`${name}\` — ICMPv6 type ${value}: \`icmp6[icmp6type] = ${name}\`.`;
  return `\`${name}\` — ICMP type ${value}: \`icmp[icmptype] = ${name}\`.`;
}

/** The port of a service and the protocols it is known for, e.g. `22/tcp`, `53/tcp+udp`. */
export function serviceDetail(name: string): string | undefined {
  const s = lookupService(name);
  if (!s) return undefined;
  return `${s.port}/${s.proto === 'any' ? 'tcp+udp' : s.proto}`;
}

export function allServiceNames(): string[] {
  return serviceNames();
}

/** Markdown that explains a word of a rule (an action, keyword, named offset or value, service, operator), or undefined. */
export function explainWord(word: string, opts: { atLineStart?: boolean; afterPort?: boolean } = {}): string | undefined {
  if (opts.atLineStart && (word === 'default' || (ACTION_WORDS as readonly string[]).includes(word))) {
    return ACTION_DOCS[word as ActionWord | 'default'];
  }
  if (word in KEYWORD_DOCS) return KEYWORD_DOCS[word as keyof typeof KEYWORD_DOCS];
  if ((NAMED_OFFSETS as readonly string[]).includes(word)) return OFFSET_DOCS[word as NamedOffset];
  const named = NAMED_NUMBERS.get(word);
  if (named !== undefined) return namedValueDoc(word, named);
  if ((UNSUPPORTED_KEYWORDS as readonly string[]).includes(word)) {
    return `\`${word}\` is a pcap-filter keyword that routing rules do not support: a rule using it is refused (it would not mean what tcpdump means).`;
  }
  if (word in OPERATOR_DOCS) return OPERATOR_DOCS[word];
  const svc = serviceDetail(word);
  if (svc !== undefined && opts.afterPort !== false) return `\`${word}\` — service port ${svc} (netbase's /etc/services, shipped with the engine so a rule means the same everywhere).`;
  return undefined;
}

/** Every keyword the engine's lexer knows, supported or not (for the grammar coverage test). */
export function engineKeywords(): { supported: readonly string[]; unsupported: readonly string[]; named: readonly string[] } {
  return { supported: SUPPORTED_KEYWORDS, unsupported: UNSUPPORTED_KEYWORDS, named: [...NAMED_NUMBERS.keys()] };
}
