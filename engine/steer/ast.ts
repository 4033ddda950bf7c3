// steer: the syntax tree of a pcap-filter expression, with tcpdump's abbreviations already expanded.
//
// Every primitive carries the qualifiers pcap-filter(7) gives it after the implied-qualifier rules
// (`port 80 or 443` is two `port` primitives) and `shift`: the bytes that `vlan` primitives earlier
// in the text add to link-payload offsets. libpcap applies that shift in the order the parser meets
// the primitives, whatever the and/or structure, so `vlan or ip` tests the type field after the tag.

import type { Span } from './lexer';

export type { Span } from './lexer';

/** Direction qualifier: `src`, `dst`, `src or dst` (also the default), `src and dst`. */
export type Dir = 'default' | 'src' | 'dst' | 'or' | 'and';

/** Protocols a `proto[expr:size]` load may name. */
export type LoadProto = 'ether' | 'ip' | 'ip6' | 'arp' | 'rarp' | 'tcp' | 'udp' | 'sctp' | 'icmp' | 'igmp' | 'icmp6';

/** Protocol-name primitives (`tcp`, `ip6`…). */
export type ProtoName = 'ip' | 'ip6' | 'arp' | 'rarp' | 'tcp' | 'udp' | 'sctp' | 'icmp' | 'igmp' | 'icmp6';

/** Transport protocols a `port`/`portrange` tests: one, or TCP, UDP and SCTP together. */
export type PortProtocol = 'tcp' | 'udp' | 'sctp' | 'any';

export type RelOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type ArithOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '<<' | '>>';

export type Arith =
  | { readonly kind: 'num'; readonly value: number; readonly span: Span }
  | { readonly kind: 'len'; readonly span: Span }
  | {
      readonly kind: 'load';
      readonly proto: LoadProto;
      readonly index: Arith;
      readonly size: 1 | 2 | 4;
      readonly shift: number;
      readonly span: Span;
    }
  | { readonly kind: 'binary'; readonly op: ArithOp; readonly left: Arith; readonly right: Arith; readonly span: Span }
  | { readonly kind: 'neg'; readonly operand: Arith; readonly span: Span };

export type Primitive =
  /** `ip`, `tcp`… alone. */
  | { readonly kind: 'proto-name'; readonly proto: ProtoName; readonly shift: number; readonly span: Span }
  /** `proto N`, `ip proto N`, `ip6 proto N` (IP protocol) and `ether proto N` ('link'). */
  | { readonly kind: 'proto'; readonly qual: 'default' | 'ip' | 'ip6' | 'link'; readonly value: number; readonly shift: number; readonly span: Span }
  /** IPv4 host or network: `host`, `net`, `src net`… with `ip`, `arp`, `rarp` or no protocol. */
  | {
      readonly kind: 'host4';
      readonly proto: 'default' | 'ip' | 'arp' | 'rarp';
      readonly dir: Dir;
      readonly addr: number;
      readonly mask: number;
      readonly isNet: boolean;
      readonly shift: number;
      readonly span: Span;
    }
  /** IPv6 host or network; `mask` is 16 bytes. */
  | {
      readonly kind: 'host6';
      readonly dir: Dir;
      readonly addr: Uint8Array;
      readonly mask: Uint8Array;
      readonly prefix: number;
      readonly isNet: boolean;
      readonly shift: number;
      readonly span: Span;
    }
  | { readonly kind: 'ether-host'; readonly dir: Dir; readonly mac: Uint8Array; readonly span: Span }
  /** `port` and `portrange` (a port is the range lo..lo). */
  | {
      readonly kind: 'port';
      readonly proto: PortProtocol;
      readonly dir: Dir;
      readonly lo: number;
      readonly hi: number;
      readonly isRange: boolean;
      readonly shift: number;
      readonly span: Span;
    }
  | { readonly kind: 'broadcast'; readonly span: Span }
  | { readonly kind: 'multicast'; readonly qual: 'link' | 'ip' | 'ip6'; readonly shift: number; readonly span: Span }
  /** `less N` (len <= N) and `greater N` (len >= N). */
  | { readonly kind: 'length'; readonly op: 'less' | 'greater'; readonly value: number; readonly span: Span }
  /** `vlan` or `vlan ID`; `shift` is the offset before this tag. */
  | { readonly kind: 'vlan'; readonly id: number | undefined; readonly shift: number; readonly span: Span }
  | { readonly kind: 'relation'; readonly op: RelOp; readonly left: Arith; readonly right: Arith; readonly span: Span };

export type Filter =
  | Primitive
  | { readonly kind: 'and' | 'or'; readonly left: Filter; readonly right: Filter; readonly span: Span }
  | { readonly kind: 'not'; readonly operand: Filter; readonly span: Span };

export function spanUnion(a: Span, b: Span): Span {
  const start = Math.min(a.offset, b.offset);
  const end = Math.max(a.offset + a.length, b.offset + b.length);
  return { offset: start, length: end - start };
}

/** Whether any `vlan` primitive occurs in the filter (it changes offsets of what follows). */
export function containsVlan(f: Filter): boolean {
  switch (f.kind) {
    case 'and':
    case 'or':
      return containsVlan(f.left) || containsVlan(f.right);
    case 'not':
      return containsVlan(f.operand);
    default:
      return f.kind === 'vlan';
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
