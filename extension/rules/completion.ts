// rules: completion for `.bypass` lines — what may come next at the cursor, read from the engine's
// own tokens of the text before it: actions at the start of a line, then primitives, qualifiers,
// protocols, service names (with their ports), hosts seen in the capture, named offsets inside a byte
// access and named values after its operator, and `and`/`or` after a complete primitive.
import { NAMED_NUMBERS, SUPPORTED_KEYWORDS, UNSUPPORTED_KEYWORDS, lex, type Token } from '../../engine/steer/lexer';
import { lookupEtherProtocol, lookupIpProtocol, lookupService } from '../../engine/steer/services';
import { splitLine } from './line';
import {
  ACTION_DOCS, ACTION_WORDS, NAMED_OFFSETS, OFFSET_PROTO, allServiceNames, explainWord, namedValues, serviceDetail, valuesForOffset,
} from './vocabulary';

export type CompletionKind = 'action' | 'keyword' | 'protocol' | 'qualifier' | 'operator' | 'service' | 'host' | 'network' | 'offset' | 'value' | 'size' | 'snippet';

export interface RuleCompletion {
  readonly label: string;
  readonly kind: CompletionKind;
  readonly detail?: string;
  /** Markdown. */
  readonly documentation?: string;
  /** Text to insert (a snippet when `snippet`); the label when absent. */
  readonly insertText?: string;
  readonly snippet?: boolean;
  readonly sortText: string;
  /** Open completion again after inserting (an action wants its filter). */
  readonly retrigger?: boolean;
}

export interface CompletionRequest {
  readonly line: string;
  /** 0-based column of the cursor. */
  readonly column: number;
  /** Whether the document has a `default` line other than this one. */
  readonly hasDefault: boolean;
  /** Hosts seen in the capture, most frequent first. */
  readonly seenHosts: readonly string[];
  /** The character that triggered completion, if one did. */
  readonly triggerCharacter?: string;
}

export interface CompletionResult {
  /** Column where the word being completed starts (it is replaced). */
  readonly replaceStart: number;
  readonly items: readonly RuleCompletion[];
}

/** IP protocol names of netbase's /etc/protocols that `proto` accepts (checked against the engine's table). */
export const IP_PROTOCOL_NAMES = [
  'icmp', 'igmp', 'tcp', 'udp', 'sctp', 'ipv6-icmp', 'gre', 'esp', 'ah', 'ipencap', 'egp', 'dccp', 'ipv6',
  'ipv6-route', 'ipv6-frag', 'ipv6-nonxt', 'ipv6-opts', 'rsvp', 'ospf', 'pim', 'vrrp', 'l2tp', 'udplite', 'hopopt',
] as const;
export const ETHER_PROTOCOL_NAMES = ['ip', 'ip6', 'arp', 'rarp', 'loopback'] as const;

const KEYWORDS: ReadonlySet<string> = new Set<string>([...SUPPORTED_KEYWORDS, ...UNSUPPORTED_KEYWORDS]);

const PROTO_DETAIL: Readonly<Record<string, string>> = {
  ether: 'Ethernet', link: 'link layer', ip: 'IPv4', ip6: 'IPv6', arp: 'ARP', rarp: 'RARP', tcp: 'TCP', udp: 'UDP',
  sctp: 'SCTP', icmp: 'ICMPv4', icmp6: 'ICMPv6', igmp: 'IGMP',
};

/** What may follow each protocol word as a qualifier. */
const AFTER_PROTO: Readonly<Record<string, readonly string[]>> = {
  ether: ['host', 'src', 'dst', 'proto', 'broadcast', 'multicast'],
  link: ['host', 'src', 'dst', 'proto', 'broadcast', 'multicast'],
  ip: ['host', 'net', 'src', 'dst', 'proto', 'multicast'],
  ip6: ['host', 'net', 'src', 'dst', 'proto', 'multicast'],
  arp: ['host', 'net', 'src', 'dst'],
  rarp: ['host', 'net', 'src', 'dst'],
  tcp: ['port', 'portrange', 'src', 'dst'],
  udp: ['port', 'portrange', 'src', 'dst'],
  sctp: ['port', 'portrange', 'src', 'dst'],
  icmp: [],
  icmp6: [],
  igmp: [],
};

const LOADABLE = ['ether', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'sctp', 'icmp', 'icmp6', 'igmp'];
const REL_OR_ARITH = new Set(['=', '==', '!=', '<', '<=', '>', '>=', '&', '|', '^', '+', '-', '*', '/', '%', '<<', '>>']);
const TCP_FLAG_VALUES = valuesForOffset('tcpflags');
const ICMP_TYPE_VALUES = valuesForOffset('icmptype');

function item(label: string, kind: CompletionKind, rank: number, extra: Partial<RuleCompletion> = {}): RuleCompletion {
  return { label, kind, sortText: `${String(rank).padStart(2, '0')}${label}`, documentation: explainWord(label), ...extra };
}

/** The snippets offered where a primitive may start. */
function primitiveSnippets(rank: number): RuleCompletion[] {
  return [
    item('portrange A-B', 'snippet', rank, {
      insertText: 'portrange ${1:20000}-${2:20999}', snippet: true, detail: 'ports A to B, inclusive', documentation: explainWord('portrange'),
    }),
    item('net A/len', 'snippet', rank, {
      insertText: 'net ${1:198.18.0.0}/${2:15}', snippet: true, detail: 'a network', documentation: explainWord('net'),
    }),
    item('tcp[tcpflags] & flag != 0', 'snippet', rank, {
      insertText: `tcp[tcpflags] & \${1|${TCP_FLAG_VALUES.join(',')}|} != 0`, snippet: true, detail: 'TCP segments with a flag set', documentation: explainWord('tcpflags'),
    }),
    item('icmp[icmptype] = type', 'snippet', rank, {
      insertText: `icmp[icmptype] = \${1|${ICMP_TYPE_VALUES.join(',')}|}`, snippet: true, detail: 'ICMP messages of a type', documentation: explainWord('icmptype'),
    }),
  ];
}

/** Where a primitive may start: protocols, qualifiers, other primitives, `not`, snippets. */
function primitiveStart(): RuleCompletion[] {
  const out: RuleCompletion[] = [];
  for (const p of ['tcp', 'udp', 'icmp', 'ip', 'ip6', 'icmp6', 'arp', 'ether', 'sctp', 'igmp', 'rarp', 'link']) {
    out.push(item(p, 'protocol', 10, { detail: PROTO_DETAIL[p] }));
  }
  for (const q of ['host', 'net', 'port', 'portrange', 'src', 'dst', 'proto']) out.push(item(q, 'qualifier', 11, { retrigger: true, insertText: `${q} ` }));
  for (const w of ['not', 'vlan', 'less', 'greater', 'len']) out.push(item(w, 'keyword', 12));
  out.push(...primitiveSnippets(13));
  return out;
}

function operators(rank: number): RuleCompletion[] {
  return [
    item('and', 'operator', rank, { insertText: 'and ', retrigger: true }),
    item('or', 'operator', rank, { insertText: 'or ', retrigger: true }),
    item('and not', 'operator', rank + 1, { insertText: 'and not ', retrigger: true, documentation: explainWord('not') }),
  ];
}

function services(proto: 'tcp' | 'udp' | 'sctp' | undefined, rank: number): RuleCompletion[] {
  const out: RuleCompletion[] = [];
  for (const name of allServiceNames()) {
    const s = lookupService(name);
    if (!s) continue;
    // `udp port ssh` is an error (ssh is TCP only): offer only what the protocol qualifier allows.
    if ((proto === 'tcp' || proto === 'udp') && s.proto !== 'any' && s.proto !== proto) continue;
    out.push(item(name, 'service', rank, { detail: serviceDetail(name), sortText: `${String(rank).padStart(2, '0')}${String(s.port).padStart(5, '0')}${name}` }));
  }
  return out;
}

function isV6(h: string): boolean {
  return h.includes(':');
}

function hosts(seen: readonly string[], only: 'v4' | 'v6' | undefined, rank: number): RuleCompletion[] {
  return seen
    .filter((h) => only === undefined || (only === 'v6') === isV6(h))
    .map((h, i) => item(h, 'host', rank, { detail: 'seen in the capture', sortText: `${String(rank).padStart(2, '0')}${String(i).padStart(6, '0')}` }));
}

/** Networks around the seen hosts: IPv4 /24 and /16, IPv6 /64. */
function networks(seen: readonly string[], only: 'v4' | 'v6' | undefined, rank: number): RuleCompletion[] {
  const nets: string[] = [];
  for (const h of seen) {
    if (isV6(h)) {
      if (only === 'v4') continue;
      const groups = expandV6(h);
      if (groups) nets.push(`${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`);
    } else {
      if (only === 'v6') continue;
      const p = h.split('.');
      if (p.length !== 4) continue;
      nets.push(`${p[0]}.${p[1]}.${p[2]}.0/24`, `${p[0]}.${p[1]}.0.0/16`);
    }
  }
  return [...new Set(nets)].map((n, i) => item(n, 'network', rank, { detail: 'around hosts seen in the capture', sortText: `${String(rank).padStart(2, '0')}${String(i).padStart(6, '0')}` }));
}

function expandV6(text: string): number[] | undefined {
  const [l, r] = text.split('::');
  const lg = l ? l.split(':') : [];
  const rg = r !== undefined && r !== '' ? r.split(':') : [];
  if (rg.some((g) => g.includes('.')) || lg.some((g) => g.includes('.'))) return undefined;
  const fill = text.includes('::') ? 8 - lg.length - rg.length : 0;
  const groups = [...lg, ...new Array(Math.max(0, fill)).fill('0'), ...rg].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The protocol a `[` belongs to (the word before it), for the named offsets it has. */
function offsetsFor(proto: string | undefined, rank: number): RuleCompletion[] {
  return NAMED_OFFSETS.map((o) => item(o, 'offset', OFFSET_PROTO[o] === proto ? rank : rank + 1, { detail: `offset ${NAMED_NUMBERS.get(o)} of ${OFFSET_PROTO[o]}` }));
}

function valuesFor(names: readonly string[], rank: number): RuleCompletion[] {
  return names.map((v) => item(v, 'value', rank, { detail: `= ${NAMED_NUMBERS.get(v)}` }));
}

function isIdLike(t: Token | undefined): boolean {
  return t !== undefined && (t.kind === 'id' || t.kind === 'num' || t.kind === 'hid' || t.kind === 'hid6' || t.kind === 'eid');
}
function isKw(t: Token | undefined, ...words: string[]): boolean {
  return t !== undefined && t.kind === 'keyword' && words.includes(t.text);
}
function isAndOr(t: Token | undefined): boolean {
  return isKw(t, 'and', 'or') || (t?.kind === 'op' && (t.text === '&&' || t.text === '||'));
}
function isNot(t: Token | undefined): boolean {
  return isKw(t, 'not') || (t?.kind === 'op' && t.text === '!');
}

/** The protocol qualifier right before a type qualifier (`tcp dst port` → tcp), if any. */
function protoBefore(tokens: readonly Token[], i: number): string | undefined {
  let j = i - 1;
  for (;;) {
    const t = tokens[j];
    if (isKw(t, 'src', 'dst')) j--;
    else if (isAndOr(t) && isKw(tokens[j - 1], 'src', 'dst') && isKw(tokens[j + 1], 'src', 'dst')) j--;
    else break;
  }
  const t = tokens[j];
  return t?.kind === 'keyword' && t.text in AFTER_PROTO ? t.text : undefined;
}

/** Completions for what follows a qualifier keyword at index `i` (the last token). */
function afterKeyword(tokens: readonly Token[], i: number, req: CompletionRequest): RuleCompletion[] {
  const t = tokens[i];
  const proto = protoBefore(tokens, i);
  const family = proto === 'ip6' ? 'v6' : proto === 'ip' || proto === 'arp' || proto === 'rarp' ? 'v4' : undefined;
  switch (t.text) {
    case 'port':
      return services(proto === 'tcp' || proto === 'udp' || proto === 'sctp' ? proto : undefined, 0);
    case 'portrange':
      return [item('A-B', 'snippet', 0, { insertText: '${1:20000}-${2:20999}', snippet: true, detail: 'ports A to B, inclusive', documentation: explainWord('portrange') })];
    case 'host':
      return proto === 'ether' || proto === 'link' ? [] : hosts(req.seenHosts, family, 0);
    case 'net':
      return [
        ...networks(req.seenHosts, family, 0),
        item('A/len', 'snippet', 1, { insertText: '${1:198.18.0.0}/${2:15}', snippet: true, detail: 'a network and its prefix length', documentation: explainWord('net') }),
      ];
    case 'proto':
      if (proto === 'ether' || proto === 'link') {
        return ETHER_PROTOCOL_NAMES.map((n) => item(`\\${n}`, 'protocol', 0, {
          detail: `Ethernet type 0x${(lookupEtherProtocol(n) ?? 0).toString(16).padStart(4, '0')}`,
          documentation: 'Ethernet type names are keywords or need a backslash in pcap-filter: `ether proto \\arp`.',
        }));
      }
      return IP_PROTOCOL_NAMES.map((n) => {
        const label = KEYWORDS.has(n) ? `\\${n}` : n;
        return item(label, 'protocol', KEYWORDS.has(n) ? 0 : 1, {
          detail: `IP protocol ${lookupIpProtocol(n)}`,
          documentation: KEYWORDS.has(n) ? `\`${n}\` is a pcap-filter keyword, so as a protocol name it takes a backslash: \`proto \\${n}\`.` : undefined,
        });
      });
    case 'src':
    case 'dst':
      return [
        ...['host', 'net', 'port', 'portrange'].map((q) => item(q, 'qualifier', 0, { insertText: `${q} `, retrigger: true })),
        ...hosts(req.seenHosts, family, 1),
      ];
    case 'and':
    case 'or':
    case 'not':
      return afterConnective(tokens, i, req);
    case 'vlan':
      return operators(0);
    case 'less':
    case 'greater':
    case 'mask':
    case 'len':
      return [];
    default:
      if (t.text in AFTER_PROTO) {
        const quals = AFTER_PROTO[t.text].map((q) => item(q, 'qualifier', 0, { insertText: `${q} `, retrigger: true }));
        return [...quals, ...operators(1)];
      }
      return operators(0);
  }
}

/**
 * After `and`/`or`: a new primitive, or — with tcpdump's implied qualifiers — a bare value of the
 * same kind as the one before (`port 80 or 443`, `host A or B`).
 */
function afterConnective(tokens: readonly Token[], i: number, req: CompletionRequest): RuleCompletion[] {
  const out = primitiveStart();
  if (isNot(tokens[i])) return out;
  let j = i - 1;
  while (isIdLike(tokens[j]) && isAndOr(tokens[j - 1]) && isIdLike(tokens[j - 2])) j -= 2;
  const q = isIdLike(tokens[j]) ? tokens[j - 1] : undefined;
  if (isKw(q, 'port')) return [...services(undefined, 0), ...out];
  if (isKw(q, 'host', 'src', 'dst')) return [...hosts(req.seenHosts, undefined, 0), ...out];
  return out;
}

/** Inside `proto[…` : named offsets, or sizes after ':'. */
function inByteAccess(tokens: readonly Token[]): RuleCompletion[] {
  const last = tokens[tokens.length - 1];
  if (last?.kind === 'op' && last.text === ':') {
    return [
      item('1', 'size', 0, { detail: 'one byte (the default)' }),
      item('2', 'size', 0, { detail: 'two bytes, big-endian' }),
      item('4', 'size', 0, { detail: 'four bytes, big-endian' }),
    ];
  }
  let depth = 0;
  let proto: string | undefined;
  for (let k = tokens.length - 1; k >= 0; k--) {
    const t = tokens[k];
    if (t.kind === 'op' && t.text === ']') depth++;
    if (t.kind === 'op' && t.text === '[') {
      if (depth === 0) {
        proto = tokens[k - 1]?.text;
        break;
      }
      depth--;
    }
  }
  return [...offsetsFor(proto, 0), item('len', 'keyword', 2)];
}

/** After a relational or arithmetic operator: the named values that fit the offset tested. */
function afterOperator(tokens: readonly Token[]): RuleCompletion[] {
  let offset: string | undefined;
  let proto: string | undefined;
  for (let k = tokens.length - 1; k >= 0; k--) {
    const t = tokens[k];
    if (isAndOr(t) || isNot(t)) break;
    if (offset === undefined && (NAMED_OFFSETS as readonly string[]).includes(t.text)) offset = t.text;
    if (t.kind === 'keyword' && LOADABLE.includes(t.text) && tokens[k + 1]?.text === '[') proto = t.text;
  }
  const fitting = offset !== undefined && valuesForOffset(offset).length > 0 ? valuesForOffset(offset)
    : proto === 'tcp' ? valuesForOffset('tcpflags')
    : proto === 'icmp' ? valuesForOffset('icmptype')
    : proto === 'icmp6' ? valuesForOffset('icmp6type')
    : namedValues();
  return valuesFor(fitting, 0);
}

function bracketDepth(tokens: readonly Token[]): number {
  let d = 0;
  for (const t of tokens) {
    if (t.kind === 'op' && t.text === '[') d++;
    else if (t.kind === 'op' && t.text === ']') d = Math.max(0, d - 1);
  }
  return d;
}

function actions(req: CompletionRequest): RuleCompletion[] {
  const out = ACTION_WORDS.map((a) => item(a, 'action', 0, { insertText: `${a} `, retrigger: true, documentation: ACTION_DOCS[a], detail: 'action' }));
  if (!req.hasDefault) {
    out.push(item('default', 'action', 1, {
      insertText: 'default ${1|kernel,bypass,drop|}', snippet: true, documentation: ACTION_DOCS.default, detail: 'what no rule matches',
    }));
  }
  return out;
}

/** What to offer at the cursor of a `.bypass` line. */
export function completeAt(req: CompletionRequest): CompletionResult {
  const { line, column } = req;
  const parts = splitLine(line);
  if (column > parts.contentEnd) return { replaceStart: column, items: [] };
  const before = line.slice(0, column);
  // The word being completed; inside a byte access ':' separates offset and size, elsewhere it is part of an address.
  const inBracket = (() => {
    const open = before.lastIndexOf('[');
    return open >= 0 && before.lastIndexOf(']') < open;
  })();
  const word = (inBracket ? /[A-Za-z0-9_\-]*$/ : /[A-Za-z0-9_.\\\-:/]*$/).exec(before)![0];
  const replaceStart = column - word.length;
  const first = parts.first;
  // Still on the first word: an action (or `default`).
  if (first === undefined || replaceStart <= first.start) {
    if (req.triggerCharacter === ' ') return { replaceStart, items: [] };
    return { replaceStart, items: actions(req) };
  }
  if (first.text === 'default') {
    const second = /\S+/.exec(line.slice(first.end, replaceStart));
    if (second) return { replaceStart, items: [] };
    return { replaceStart, items: ACTION_WORDS.map((a) => item(a, 'action', 0, { documentation: ACTION_DOCS[a] })) };
  }
  if (!(ACTION_WORDS as readonly string[]).includes(first.text)) return { replaceStart, items: [] };
  const filterPrefix = line.slice(first.end, replaceStart);
  const tokens = lex(filterPrefix).filter((t) => t.kind !== 'eof' && t.kind !== 'error');
  const last = tokens[tokens.length - 1];
  let items: RuleCompletion[];
  if (bracketDepth(tokens) > 0) items = inByteAccess(tokens);
  else if (last === undefined || (last.kind === 'op' && last.text === '(')) items = primitiveStart();
  else if (last.kind === 'op' && last.text === '!') items = primitiveStart();
  else if (last.kind === 'op' && (last.text === '&&' || last.text === '||')) items = afterConnective(tokens, tokens.length - 1, req);
  else if (last.kind === 'op' && REL_OR_ARITH.has(last.text)) items = afterOperator(tokens);
  else if (last.kind === 'keyword') items = afterKeyword(tokens, tokens.length - 1, req);
  else items = operators(0);
  // A space after a complete primitive should not pop up and/or on every word typed.
  if (req.triggerCharacter === ' ' && items.every((i) => i.kind === 'operator')) items = [];
  return { replaceStart, items };
}
