// steer: the pcap-filter lexer — splits a filter into tokens the way libpcap's scanner does.
//
// libpcap's scanner is a flex scanner: at every position the longest match wins, and on a tie the
// rule listed first wins (keywords, then numbers and addresses, then names). That matters for
// pcap-filter because names may contain '-' and '.': `10-20` is one name (a port range), `len-1`
// is one name (not `len - 1`), `tcp-syn` is a keyword. This lexer reproduces those choices.

import { ipv6FromString } from '../wire/address';

/** A source span inside the text that was lexed. `offset` and `length` count UTF-16 code units. */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

export type TokenKind =
  | 'keyword' // a pcap-filter keyword (text is the keyword)
  | 'num' // a number; value holds it
  | 'hid' // a dotted IPv4 address, 2 to 4 parts
  | 'hid6' // an IPv6 address
  | 'eid' // an Ethernet address
  | 'id' // a name (host, service, protocol, port range…)
  | 'op' // punctuation and operators
  | 'eof'
  | 'error'; // a character or spelling the scanner refuses; text says why

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** For 'num': the number. */
  readonly value: number;
  readonly span: Span;
}

/**
 * Keywords of libpcap 1.10's scanner. Those this project compiles are listed first; the others are
 * still keywords (so they are not mistaken for names) and the parser refuses them by name.
 */
export const SUPPORTED_KEYWORDS = [
  'dst', 'src', 'host', 'net', 'mask', 'port', 'portrange', 'proto',
  'less', 'greater', 'broadcast', 'multicast', 'and', 'or', 'not', 'len', 'vlan',
  'link', 'ether', 'arp', 'rarp', 'ip', 'sctp', 'tcp', 'udp', 'icmp', 'igmp', 'ip6', 'icmp6',
] as const;

export const UNSUPPORTED_KEYWORDS = [
  'protochain', 'gateway', 'type', 'subtype', 'direction', 'dir', 'address1', 'addr1', 'address2',
  'addr2', 'address3', 'addr3', 'address4', 'addr4', 'ra', 'ta', 'byte', 'inbound', 'outbound',
  'ifindex', 'mpls', 'pppoed', 'pppoes', 'geneve', 'lane', 'llc', 'metac', 'bcc', 'oam', 'oamf4',
  'oamf5', 'sc', 'ilmi', 'vpi', 'vci', 'connectmsg', 'metaconnect', 'on', 'ifname', 'rulenum',
  'reason', 'rset', 'srnr', 'action', 'ppp', 'slip', 'fddi', 'tr', 'wlan', 'igrp', 'pim', 'vrrp',
  'carp', 'radio', 'ah', 'esp', 'atalk', 'aarp', 'decnet', 'lat', 'sca', 'moprc', 'mopdl', 'iso',
  'esis', 'es-is', 'isis', 'is-is', 'l1', 'l2', 'iih', 'lsp', 'snp', 'csnp', 'psnp', 'clnp', 'stp',
  'ipx', 'netbeui', 'fisu', 'lssu', 'msu', 'hfisu', 'hlssu', 'hmsu', 'sio', 'opc', 'dpc', 'sls',
  'hsio', 'hopc', 'hdpc', 'hsls',
] as const;

/** Names the scanner turns into numbers (pcap-filter(7), "expr relop expr"). */
export const NAMED_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['icmptype', 0], ['icmpcode', 1],
  ['icmp-echoreply', 0], ['icmp-unreach', 3], ['icmp-sourcequench', 4], ['icmp-redirect', 5],
  ['icmp-echo', 8], ['icmp-routeradvert', 9], ['icmp-routersolicit', 10], ['icmp-timxceed', 11],
  ['icmp-paramprob', 12], ['icmp-tstamp', 13], ['icmp-tstampreply', 14], ['icmp-ireq', 15],
  ['icmp-ireqreply', 16], ['icmp-maskreq', 17], ['icmp-maskreply', 18],
  ['icmp6type', 0], ['icmp6code', 1],
  ['icmp6-destinationunreach', 1], ['icmp6-packettoobig', 2], ['icmp6-timeexceeded', 3],
  ['icmp6-parameterproblem', 4], ['icmp6-echo', 128], ['icmp6-echoreply', 129],
  ['icmp6-multicastlistenerquery', 130], ['icmp6-multicastlistenerreportv1', 131],
  ['icmp6-multicastlistenerdone', 132], ['icmp6-routersolicit', 133], ['icmp6-routeradvert', 134],
  ['icmp6-neighborsolicit', 135], ['icmp6-neighboradvert', 136], ['icmp6-redirect', 137],
  ['icmp6-routerrenum', 138], ['icmp6-nodeinformationquery', 139],
  ['icmp6-nodeinformationresponse', 140], ['icmp6-ineighbordiscoverysolicit', 141],
  ['icmp6-ineighbordiscoveryadvert', 142], ['icmp6-multicastlistenerreportv2', 143],
  ['icmp6-homeagentdiscoveryrequest', 144], ['icmp6-homeagentdiscoveryreply', 145],
  ['icmp6-mobileprefixsolicit', 146], ['icmp6-mobileprefixadvert', 147],
  ['icmp6-certpathsolicit', 148], ['icmp6-certpathadvert', 149],
  ['icmp6-multicastrouteradvert', 151], ['icmp6-multicastroutersolicit', 152],
  ['icmp6-multicastrouterterm', 153],
  ['tcpflags', 13], ['tcp-fin', 0x01], ['tcp-syn', 0x02], ['tcp-rst', 0x04], ['tcp-push', 0x08],
  ['tcp-ack', 0x10], ['tcp-urg', 0x20], ['tcp-ece', 0x40], ['tcp-cwr', 0x80],
]);

const KEYWORDS: ReadonlySet<string> = new Set<string>([...SUPPORTED_KEYWORDS, ...UNSUPPORTED_KEYWORDS]);
const UNSUPPORTED: ReadonlySet<string> = new Set<string>(UNSUPPORTED_KEYWORDS);

export function isUnsupportedKeyword(word: string): boolean {
  return UNSUPPORTED.has(word);
}

const TWO_CHAR_OPS = ['>=', '<=', '!=', '==', '<<', '>>', '&&', '||'];
const ONE_CHAR_OPS = '+-*/%:[]!<>()&|^=';

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isHex(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
function isAlnum(c: string): boolean {
  return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/** Length of the longest match of `[A-Za-z0-9]([-_.A-Za-z0-9]*[.A-Za-z0-9])?` at `i`. */
function matchName(s: string, i: number): number {
  if (i >= s.length || !isAlnum(s[i])) return 0;
  let best = 1;
  let j = i + 1;
  while (j < s.length && (isAlnum(s[j]) || s[j] === '-' || s[j] === '_' || s[j] === '.')) {
    j++;
    if (isAlnum(s[j - 1]) || s[j - 1] === '.') best = j - i;
  }
  return best;
}

/** `[0-9]+` or `0x[0-9a-f]+`. */
function matchNum(s: string, i: number): number {
  if (!isDigit(s[i] ?? '')) return 0;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && isHex(s[i + 2] ?? '')) {
    let j = i + 2;
    while (j < s.length && isHex(s[j])) j++;
    return j - i;
  }
  let j = i;
  while (j < s.length && isDigit(s[j])) j++;
  return j - i;
}

/** A dotted quad with 2 to 4 parts, each a number as matchNum reads it. */
function matchHid(s: string, i: number): number {
  let j = i;
  let parts = 0;
  let best = 0;
  for (;;) {
    const n = matchNum(s, j);
    if (n === 0) break;
    j += n;
    parts++;
    if (parts >= 2) best = j - i;
    if (parts === 4 || s[j] !== '.') break;
    j++;
  }
  return best;
}

/** An Ethernet address: six groups of one or two hex digits separated by ':' or '-'. */
function matchEid(s: string, i: number): number {
  // Six groups of one or two hex digits joined by ':', '-' or '.'.
  let best = 0;
  for (const sep of [':', '-', '.']) {
    let j = i;
    let groups = 0;
    for (;;) {
      let n = 0;
      while (n < 2 && isHex(s[j + n] ?? '')) n++;
      if (n === 0) break;
      j += n;
      groups++;
      if (groups === 6 || s[j] !== sep) break;
      j++;
    }
    if (groups === 6) best = Math.max(best, j - i);
  }
  // Three groups of four joined by '.' (0011.2233.4455), or twelve hex digits in a row.
  const hexRun = (at: number): number => {
    let n = 0;
    while (isHex(s[at + n] ?? '')) n++;
    return n;
  };
  if (hexRun(i) === 4 && s[i + 4] === '.' && hexRun(i + 5) === 4 && s[i + 9] === '.' && hexRun(i + 10) >= 4) best = Math.max(best, 14);
  if (hexRun(i) >= 12) best = Math.max(best, 12);
  return best;
}

/** The six bytes of an Ethernet address in any of the forms `matchEid` takes. */
export function macFromString(text: string): Uint8Array {
  const groups = text.split(/[:.-]/);
  if (groups.length === 6) return Uint8Array.from(groups, (g) => parseInt(g, 16));
  const hex = groups.join('');
  return Uint8Array.from({ length: 6 }, (_, k) => parseInt(hex.slice(2 * k, 2 * k + 2), 16));
}

/** A run that could be an IPv6 address (hex digits, ':' and a trailing dotted quad); validated later. */
function matchHid6(s: string, i: number): number {
  let j = i;
  let colons = 0;
  while (j < s.length && (isHex(s[j]) || s[j] === ':' || s[j] === '.')) {
    if (s[j] === ':') colons++;
    j++;
  }
  // The scanner's IPv6 patterns need either "::" or eight groups.
  const text = s.slice(i, j);
  if (colons < 2 || (!text.includes('::') && colons < 7)) return 0;
  return ipv6FromString(text) ? j - i : 0;
}


/** Reads a number the way libpcap's scanner does: 0x… hex, a leading 0 octal, else decimal. */
export function readNumber(text: string): number | undefined {
  if (/^0[xX][0-9A-Fa-f]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^0[0-7]*$/.test(text)) return parseInt(text, 8);
  if (/^[1-9][0-9]*$/.test(text)) return parseInt(text, 10);
  return undefined;
}

function tok(kind: TokenKind, text: string, offset: number, value = 0): Token {
  return { kind, text, value, span: { offset, length: text.length } };
}

/** Splits a filter expression into tokens; the last is always 'eof'. Refused input becomes 'error' tokens. */
export function lex(source: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    if (c === '\\') {
      // "\\"[^ !()\n\t]+ is a name with the backslash dropped: `ether proto \ip`.
      let j = i + 1;
      while (j < source.length && !' !()\n\t\r'.includes(source[j])) j++;
      if (j === i + 1) {
        out.push(tok('error', '\\', i));
        i++;
        continue;
      }
      out.push({ kind: 'id', text: source.slice(i + 1, j), value: 0, span: { offset: i, length: j - i } });
      i = j;
      continue;
    }
    const name = matchName(source, i);
    const num = matchNum(source, i);
    const hid = matchHid(source, i);
    const eid = matchEid(source, i);
    const hid6 = matchHid6(source, i);
    const best = Math.max(name, num, hid, eid, hid6);
    if (best > 0) {
      const text = source.slice(i, i + best);
      // Ties go to the rule the scanner lists first: keywords, Ethernet addresses, numbers, IPv4
      // addresses, then names (so twelve digits in a row are an Ethernet address, as in libpcap).
      if (name === best && KEYWORDS.has(text)) out.push(tok('keyword', text, i));
      else if (name === best && NAMED_NUMBERS.has(text)) out.push(tok('num', text, i, NAMED_NUMBERS.get(text)));
      else if (eid === best) out.push(tok('eid', text, i));
      else if (num === best) {
        const v = readNumber(text);
        if (v === undefined || v > 0xffffffff) out.push(tok('error', text, i));
        else out.push(tok('num', text, i, v));
      } else if (hid === best) out.push(tok('hid', text, i));
      else if (hid6 === best) out.push(tok('hid6', text, i));
      else out.push(tok('id', text, i));
      i += best;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (TWO_CHAR_OPS.includes(two)) {
      out.push(tok('op', two, i));
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.includes(c)) {
      out.push(tok('op', c, i));
      i++;
      continue;
    }
    out.push(tok('error', c, i));
    i++;
  }
  out.push(tok('eof', '', source.length));
  return out;
}
