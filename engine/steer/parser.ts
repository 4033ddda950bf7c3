// steer: the pcap-filter parser — a recursive-descent reading of libpcap 1.10's grammar.y.
//
// What libpcap's LALR grammar decides with one token of look-ahead is decided here the same way or
// by trying one reading and falling back to the other (`port 80 or (443)` is an id list,
// `port 80 or (tcp)` an expression). The implied qualifiers of pcap-filter(7) follow the grammar's
// `$<blk>0` rule: a bare id after `and`/`or`/`not` takes the qualifiers of the term before it, a
// parenthesised expression passes on the qualifiers in force before the parenthesis, and a term
// that is not `qualifiers id` (`tcp`, `ip[0] = 1`, `vlan`…) leaves none, so an id after it is a
// syntax error. Semantic checks follow gencode.c's gen_scode/gen_ncode/gen_mcode and keep its
// messages where it has one.

import type { Arith, ArithOp, Dir, Filter, LoadProto, PortProtocol, Primitive, ProtoName, RelOp } from './ast';
import { spanUnion } from './ast';
import { ipv6FromString } from '../wire/address';
import { isUnsupportedKeyword, lex, macFromString, type Span, type Token } from './lexer';
import { lookupEtherProtocol, lookupIpProtocol, lookupService, type PortProto } from './services';

export interface FilterError {
  readonly message: string;
  readonly span: Span;
}

export type ParseFilterResult =
  | { readonly ok: true; readonly filter: Filter; readonly warnings: readonly FilterError[] }
  | { readonly ok: false; readonly error: FilterError };

/** Protocol qualifier as the grammar's `pqual` gives it. */
type PQual = 'default' | 'link' | ProtoName;

/** Other link-layer keywords libpcap treats as `link`. */
const LINK_ALIASES: readonly string[] = ['ppp', 'slip', 'fddi', 'tr', 'wlan'];
type AQual = 'default' | 'host' | 'net' | 'port' | 'portrange' | 'proto';

/** The qualifiers a term leaves for a following bare id; `null` is libpcap's `qerr`. */
interface Qual {
  readonly proto: PQual;
  readonly dir: Dir;
  readonly addr: AQual;
}
type Q = Qual | null;

class ParseFailure {
  constructor(
    readonly message: string,
    readonly span: Span,
    /** Syntax errors let the parser try another reading; semantic ones are final. */
    readonly syntax: boolean,
  ) {}
}

const PNAMES: ReadonlyMap<string, PQual> = new Map<string, PQual>([
  ['link', 'link'], ['ether', 'link'], ['ip', 'ip'], ['ip6', 'ip6'], ['arp', 'arp'], ['rarp', 'rarp'],
  ['tcp', 'tcp'], ['udp', 'udp'], ['sctp', 'sctp'], ['icmp', 'icmp'], ['icmp6', 'icmp6'], ['igmp', 'igmp'],
]);

const ARITH_OPS: ReadonlySet<string> = new Set(['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>']);
const REL_OPS: ReadonlyMap<string, RelOp> = new Map<string, RelOp>([
  ['=', '='], ['==', '='], ['!=', '!='], ['<', '<'], ['<=', '<='], ['>', '>'], ['>=', '>='],
]);
/** Binary arithmetic precedence, loosest first, as grammar.y's %left lines order them. */
const ARITH_LEVELS: ReadonlyArray<readonly string[]> = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

/** Parses one pcap-filter expression. Spans are offsets into `source`. */
export function parseFilter(source: string): ParseFilterResult {
  const p = new Parser(source);
  try {
    const filter = p.parseProgram();
    return { ok: true, filter, warnings: p.warnings };
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, error: { message: e.message, span: e.span } };
    throw e;
  }
}

class Parser {
  private readonly toks: Token[];
  private pos = 0;
  /** Bytes the `vlan` primitives met so far add to link-payload offsets. */
  private shift = 0;
  readonly warnings: FilterError[] = [];

  constructor(private readonly source: string) {
    this.toks = lex(source);
  }

  parseProgram(): Filter {
    const bad = this.toks.find((t) => t.kind === 'error');
    if (bad) throw new ParseFailure(lexErrorMessage(bad), bad.span, false);
    if (this.peek().kind === 'eof') throw new ParseFailure('empty filter expression', { offset: 0, length: this.source.length }, false);
    const { node } = this.parseExpr(null);
    const t = this.peek();
    if (t.kind !== 'eof') throw this.syntax(t, t.text === ')' ? "unbalanced ')'" : undefined);
    return node;
  }

  // ---- tokens

  private peek(k = 0): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  private isKw(t: Token, ...words: string[]): boolean {
    return t.kind === 'keyword' && words.includes(t.text);
  }
  private isOp(t: Token, ...ops: string[]): boolean {
    return t.kind === 'op' && ops.includes(t.text);
  }
  private isAnd(t: Token): boolean {
    return this.isKw(t, 'and') || this.isOp(t, '&&');
  }
  private isOr(t: Token): boolean {
    return this.isKw(t, 'or') || this.isOp(t, '||');
  }
  private isNot(t: Token): boolean {
    return this.isKw(t, 'not') || this.isOp(t, '!');
  }
  private expectOp(op: string): Token {
    const t = this.peek();
    if (!this.isOp(t, op)) throw this.syntax(t, `expected '${op}'`);
    return this.next();
  }
  private syntax(t: Token, detail?: string): ParseFailure {
    if (t.kind === 'keyword' && isUnsupportedKeyword(t.text)) {
      // libpcap reads these link-layer names as 'ether' on an Ethernet capture; say so rather than guess.
      const hint = LINK_ALIASES.includes(t.text) ? ` (on Ethernet libpcap reads it as 'ether')` : '';
      return new ParseFailure(`'${t.text}' is not supported in routing rules${hint}`, t.span, false);
    }
    const what = t.kind === 'eof' ? 'end of expression' : `'${t.text}'`;
    return new ParseFailure(`syntax error at ${what}${detail ? ` (${detail})` : ''}`, t.kind === 'eof' ? { offset: t.span.offset, length: 0 } : t.span, true);
  }
  private fail(message: string, span: Span): ParseFailure {
    return new ParseFailure(message, span, false);
  }
  private spanFrom(start: Token): Span {
    const last = this.toks[Math.max(this.pos - 1, 0)];
    return spanUnion(start.span, last.span);
  }

  /** Tries a reading; on a syntax error puts the parser back and returns the failure. */
  private attempt<T>(fn: () => T): T | ParseFailure {
    const pos = this.pos;
    const shift = this.shift;
    const warnings = this.warnings.length;
    try {
      return fn();
    } catch (e) {
      if (e instanceof ParseFailure && e.syntax) {
        this.pos = pos;
        this.shift = shift;
        this.warnings.length = warnings;
        return e;
      }
      throw e;
    }
  }

  // ---- expressions: `expr: term | expr and term | expr and id | expr or term | expr or id`
  //      (and/or share one precedence level and associate to the left)

  private parseExpr(prevQ: Q): { node: Filter; q: Q } {
    let { node, q } = this.parseTerm(prevQ);
    for (;;) {
      const t = this.peek();
      const op = this.isAnd(t) ? 'and' : this.isOr(t) ? 'or' : undefined;
      if (!op) return { node, q };
      this.next();
      const right = this.parseTermOrId(q);
      node = { kind: op, left: node, right: right.node, span: spanUnion(node.span, right.node.span) };
      q = right.q;
    }
  }

  /** After and/or: an id with the running qualifiers (`port 80 or 443`) or a new term. */
  private parseTermOrId(q: Q): { node: Filter; q: Q } {
    if (this.startsIdNotTerm()) {
      const asId = this.attempt(() => this.parseId(q));
      if (!(asId instanceof ParseFailure)) return { node: asId, q };
      const asTerm = this.attempt(() => this.parseTerm(q));
      if (!(asTerm instanceof ParseFailure)) return asTerm;
      throw asId.span.offset >= asTerm.span.offset ? asId : asTerm;
    }
    return this.parseTerm(q);
  }

  /** Whether the next tokens could be an id rather than a term. */
  private startsIdNotTerm(): boolean {
    const t = this.peek();
    if (t.kind === 'id' || t.kind === 'hid' || t.kind === 'hid6' || t.kind === 'eid') return true;
    if (t.kind === 'num') {
      const after = this.peek(1);
      return !(after.kind === 'op' && (ARITH_OPS.has(after.text) || REL_OPS.has(after.text)));
    }
    return this.isOp(t, '(') || this.isNot(t);
  }

  // ---- `term: rterm | not term`

  private parseTerm(prevQ: Q): { node: Filter; q: Q } {
    const t = this.peek();
    if (this.isNot(t)) {
      this.next();
      const inner = this.parseTerm(prevQ);
      return { node: { kind: 'not', operand: inner.node, span: spanUnion(t.span, inner.node.span) }, q: inner.q };
    }
    if (this.isOp(t, '(')) {
      const asExpr = this.attempt(() => {
        this.next();
        const inner = this.parseExpr(prevQ);
        const close = this.expectOp(')');
        const after = this.peek();
        if (after.kind === 'op' && (ARITH_OPS.has(after.text) || REL_OPS.has(after.text))) throw this.syntax(after);
        return { node: inner.node, q: prevQ, close };
      });
      if (!(asExpr instanceof ParseFailure)) return { node: asExpr.node, q: asExpr.q };
      const asRel = this.attempt(() => this.parseRelation());
      if (!(asRel instanceof ParseFailure)) return { node: asRel, q: null };
      throw asExpr.span.offset >= asRel.span.offset ? asExpr : asRel;
    }
    if (t.kind === 'keyword') {
      const pq = PNAMES.get(t.text);
      if (pq !== undefined) {
        const after = this.peek(1);
        if (this.isOp(after, '[')) return { node: this.parseRelation(), q: null };
        if (this.isKw(after, 'src', 'dst', 'host', 'net', 'port', 'portrange', 'proto')) return this.parseHeadId();
        if (this.isKw(after, 'broadcast', 'multicast')) return { node: this.parseOther(), q: null };
        this.next();
        if (pq === 'link') throw this.fail('link layer applied in wrong context', t.span);
        return { node: { kind: 'proto-name', proto: pq as ProtoName, shift: this.shift, span: t.span }, q: null };
      }
      if (this.isKw(t, 'src', 'dst', 'host', 'net', 'port', 'portrange', 'proto')) return this.parseHeadId();
      if (this.isKw(t, 'broadcast', 'multicast', 'less', 'greater', 'vlan')) return { node: this.parseOther(), q: null };
      if (this.isKw(t, 'len')) return { node: this.parseRelation(), q: null };
      throw this.syntax(t);
    }
    if (t.kind === 'num' || this.isOp(t, '-')) return { node: this.parseRelation(), q: null };
    throw this.syntax(t);
  }

  // ---- `head id`: pqual dqual aqual | pqual dqual | pqual aqual | pqual PROTO

  private parseHeadId(): { node: Filter; q: Q } {
    const start = this.peek();
    let proto: PQual = 'default';
    const pq = PNAMES.get(start.text);
    if (start.kind === 'keyword' && pq !== undefined) {
      proto = pq;
      this.next();
    }
    let dir: Dir = 'default';
    let hasDir = false;
    const d = this.peek();
    if (this.isKw(d, 'src', 'dst')) {
      this.next();
      hasDir = true;
      dir = d.text === 'src' ? 'src' : 'dst';
      const conj = this.peek();
      const other = this.peek(1);
      if ((this.isAnd(conj) || this.isOr(conj)) && this.isKw(other, d.text === 'src' ? 'dst' : 'src')) {
        this.next();
        this.next();
        dir = this.isAnd(conj) ? 'and' : 'or';
      }
    }
    let addr: AQual = 'default';
    const a = this.peek();
    if (this.isKw(a, 'host', 'net', 'port', 'portrange')) {
      this.next();
      addr = a.text as AQual;
    } else if (this.isKw(a, 'proto')) {
      if (hasDir) throw this.syntax(a);
      this.next();
      addr = 'proto';
    } else if (!hasDir) {
      throw this.syntax(a);
    }
    const q: Qual = { proto, dir, addr };
    const node = this.parseId(q);
    return { node: withSpan(node, spanUnion(start.span, node.span)), q };
  }

  // ---- `id: nid | pnum | paren pid ')'` and `nid: ID | HID… | not id`

  private parseId(q: Q, inList = false): Filter {
    const t = this.peek();
    if (this.isNot(t)) {
      this.next();
      const inner = this.parseId(q);
      return { kind: 'not', operand: inner, span: spanUnion(t.span, inner.span) };
    }
    if (this.isOp(t, '(')) {
      // `paren pid ')'`; the first element of a pid may be a number in parentheses but not a list.
      if (inList && !(this.peek(1).kind === 'num' || this.isOp(this.peek(1), '('))) throw this.syntax(t);
      this.next();
      let node = this.parseId(q, true);
      for (;;) {
        const c = this.peek();
        const op = this.isAnd(c) ? 'and' : this.isOr(c) ? 'or' : undefined;
        if (!op) break;
        this.next();
        const right = this.parseId(q);
        node = { kind: op, left: node, right, span: spanUnion(node.span, right.span) };
      }
      const close = this.expectOp(')');
      return withSpan(node, spanUnion(t.span, close.span));
    }
    if (q === null) throw this.syntax(t);
    switch (t.kind) {
      case 'num':
        this.next();
        return this.genNcode(null, t.value, q, t.span);
      case 'id':
        this.next();
        return this.genScode(t, q);
      case 'hid': {
        this.next();
        const slash = this.peek();
        if (this.isOp(slash, '/')) {
          this.next();
          const n = this.peek();
          if (n.kind !== 'num') throw this.syntax(n, 'expected a mask length');
          this.next();
          return this.genMcode(t, null, n.value, q, this.spanFrom(t));
        }
        if (this.isKw(slash, 'mask')) {
          this.next();
          const m = this.peek();
          if (m.kind !== 'hid') throw this.syntax(m, 'expected a dotted mask');
          this.next();
          return this.genMcode(t, m, 0, q, this.spanFrom(t));
        }
        if (q.addr === 'port' || q.addr === 'portrange' || q.addr === 'proto') {
          throw this.fail(`'${q.addr}' modifier applied to ip host`, t.span);
        }
        return this.genNcode(t.text, 0, q, t.span);
      }
      case 'hid6': {
        this.next();
        let masklen = 128;
        if (this.isOp(this.peek(), '/')) {
          this.next();
          const n = this.peek();
          if (n.kind !== 'num') throw this.syntax(n, 'expected a prefix length');
          this.next();
          masklen = n.value;
        }
        return this.genMcode6(t, masklen, q, this.spanFrom(t));
      }
      case 'eid': {
        this.next();
        if ((q.addr === 'host' || q.addr === 'default') && q.proto === 'link') {
          const mac = macFromString(t.text);
          return { kind: 'ether-host', dir: q.dir, mac, span: t.span };
        }
        throw this.fail('ethernet address used in non-ether expression', t.span);
      }
      default:
        throw this.syntax(t);
    }
  }

  // ---- gencode's gen_scode: a name with qualifiers

  private genScode(t: Token, q: Qual): Filter {
    const name = t.text;
    const span = t.span;
    switch (q.addr) {
      case 'net':
        throw this.fail(`network names are not supported; write the network as an address ('${name}')`, span);
      case 'default':
      case 'host':
        if (q.proto === 'link') throw this.fail(`Ethernet host names are not supported; write the address ('${name}')`, span);
        throw this.fail(`host names are not supported; write an IP address ('${name}')`, span);
      case 'port': {
        const proto = this.portQualifier(q, 'port', span);
        const svc = lookupService(name);
        if (!svc) throw this.fail(`unknown port '${name}'`, span);
        const real = this.portProtocol(proto, svc.proto, `port '${name}'`, span);
        return this.portNode(real, q.dir, svc.port, svc.port, false, span);
      }
      case 'portrange': {
        const proto = this.portQualifier(q, 'portrange', span);
        const range = parsePortRange(name);
        if (range === 'mixed') throw this.fail(`port ranges mixing a number and a name are not supported ('${name}')`, span);
        if (!range) throw this.fail(`unknown port in range '${name}'`, span);
        const real = this.portProtocol(proto, range.proto, `port in range '${name}'`, span);
        for (const p of [range.lo, range.hi]) if (p > 65535) throw this.fail(`illegal port number ${p} > 65535`, span);
        const lo = Math.min(range.lo, range.hi);
        const hi = Math.max(range.lo, range.hi);
        return this.portNode(real, q.dir, lo, hi, true, span);
      }
      case 'proto': {
        let v: number | undefined;
        if (q.proto === 'default' || q.proto === 'ip' || q.proto === 'ip6') {
          v = lookupIpProtocol(name);
          if (v === undefined) throw this.fail(`unknown ip proto '${name}'`, span);
        } else if (q.proto === 'link') {
          v = lookupEtherProtocol(name);
          if (v === undefined) throw this.fail(`unknown or unsupported ether proto '${name}'`, span);
        } else {
          throw this.fail(`'${q.proto} proto' is not supported`, span);
        }
        return this.genProto(v, q, span);
      }
      default:
        throw this.syntax(t);
    }
  }

  private portQualifier(q: Qual, what: string, span: Span): PortProtocol {
    switch (q.proto) {
      case 'default':
        return 'any';
      case 'tcp':
      case 'udp':
      case 'sctp':
        return q.proto;
      default:
        throw this.fail(`illegal qualifier of '${what}'`, span);
    }
  }

  /** The protocol a named port ends up on, as gen_scode decides it. */
  private portProtocol(qual: PortProtocol, looked: PortProto, what: string, span: Span): PortProtocol {
    if (qual === 'any') return looked;
    if (looked !== 'any' && looked !== qual) throw this.fail(`${what} is ${looked}`, span);
    return qual;
  }

  private portNode(proto: PortProtocol, dir: Dir, lo: number, hi: number, isRange: boolean, span: Span): Primitive {
    return { kind: 'port', proto, dir, lo, hi, isRange, shift: this.shift, span };
  }

  // ---- gen_ncode: a number or a dotted IPv4 address with qualifiers

  private genNcode(text: string | null, num: number, q: Qual, span: Span): Filter {
    let v = num;
    let vlen = 32;
    if (text !== null) {
      const parsed = atoin(text);
      if (!parsed) throw this.fail(`invalid IPv4 address '${text}'`, span);
      v = parsed.addr;
      vlen = parsed.bits;
    }
    switch (q.addr) {
      case 'default':
      case 'host':
      case 'net': {
        if (q.proto === 'link') throw this.fail('illegal link layer address', span);
        let mask = 0xffffffff;
        if (text === null && q.addr === 'net') {
          // A bare number after `net` is a short network number: `net 10` is 10.0.0.0/8.
          while (v !== 0 && (v & 0xff000000) === 0) {
            v = (v << 8) >>> 0;
            mask = (mask << 8) >>> 0;
          }
        } else {
          v = vlen === 32 ? v : (v << (32 - vlen)) >>> 0;
          mask = vlen === 32 ? mask : (mask << (32 - vlen)) >>> 0;
        }
        return this.genHost(v >>> 0, mask >>> 0, q, q.addr === 'net', span);
      }
      case 'port':
      case 'portrange': {
        const proto = this.portQualifier(q, q.addr, span);
        if (v > 65535) throw this.fail(`illegal port number ${v} > 65535`, span);
        return this.portNode(proto, q.dir, v, v, q.addr === 'portrange', span);
      }
      case 'proto':
        return this.genProto(v, q, span);
      default:
        throw this.fail('syntax error', span);
    }
  }

  private genHost(addr: number, mask: number, q: Qual, isNet: boolean, span: Span): Filter {
    const what = isNet ? 'net' : 'host';
    switch (q.proto) {
      case 'default':
      case 'ip':
      case 'arp':
      case 'rarp':
        return { kind: 'host4', proto: q.proto, dir: q.dir, addr, mask, isNet, shift: this.shift, span };
      case 'link':
        throw this.fail(`link-layer modifier applied to ${what}`, span);
      case 'ip6':
        throw this.fail(`'ip6' modifier applied to ip ${what}`, span);
      default:
        throw this.fail(`'${q.proto}' modifier applied to ${what}`, span);
    }
  }

  private genMcode(addrTok: Token, maskTok: Token | null, masklen: number, q: Qual, span: Span): Filter {
    const a = atoin(addrTok.text);
    if (!a) throw this.fail(`invalid IPv4 address '${addrTok.text}'`, addrTok.span);
    const n = a.bits === 32 ? a.addr : (a.addr << (32 - a.bits)) >>> 0;
    let m: number;
    if (maskTok) {
      const mm = atoin(maskTok.text);
      if (!mm) throw this.fail(`invalid IPv4 address '${maskTok.text}'`, maskTok.span);
      m = mm.bits === 32 ? mm.addr : (mm.addr << (32 - mm.bits)) >>> 0;
      if ((n & ~m) >>> 0 !== 0) throw this.fail(`non-network bits set in "${addrTok.text} mask ${maskTok.text}"`, span);
    } else {
      if (masklen > 32) throw this.fail('mask length must be <= 32', span);
      m = masklen === 0 ? 0 : (0xffffffff << (32 - masklen)) >>> 0;
      if ((n & ~m) >>> 0 !== 0) throw this.fail(`non-network bits set in "${addrTok.text}/${masklen}"`, span);
    }
    if (q.addr !== 'net') throw this.fail('Mask syntax for networks only', span);
    return this.genHost(n >>> 0, m >>> 0, q, true, span);
  }

  private genMcode6(t: Token, masklen: number, q: Qual, span: Span): Filter {
    const addr = ipv6FromString(t.text);
    if (!addr) throw this.fail(`invalid IPv6 address '${t.text}'`, t.span);
    if (masklen > 128) throw this.fail('mask length must be <= 128', span);
    const mask = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      const bits = Math.max(0, Math.min(8, masklen - 8 * i));
      mask[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    }
    for (let i = 0; i < 16; i++) {
      if ((addr[i] & ~mask[i]) !== 0) throw this.fail(`non-network bits set in "${t.text}/${masklen}"`, span);
    }
    if (q.addr === 'default' || q.addr === 'host') {
      if (masklen !== 128) throw this.fail('Mask syntax for networks only', span);
    } else if (q.addr !== 'net') {
      throw this.fail('invalid qualifier against IPv6 address', span);
    }
    const isNet = q.addr === 'net';
    switch (q.proto) {
      case 'default':
      case 'ip6':
        return { kind: 'host6', dir: q.dir, addr, mask, prefix: masklen, isNet, shift: this.shift, span };
      case 'link':
        throw this.fail(`link-layer modifier applied to ip6 ${isNet ? 'net' : 'host'}`, span);
      default:
        throw this.fail(`'${q.proto}' modifier applied to ip6 ${isNet ? 'net' : 'host'}`, span);
    }
  }

  // ---- gen_proto

  private genProto(v: number, q: Qual, span: Span): Filter {
    switch (q.proto) {
      case 'default':
      case 'ip':
      case 'ip6':
        if (v > 255) this.warnings.push({ message: `protocol ${v} is larger than 255 and never matches`, span });
        return { kind: 'proto', qual: q.proto, value: v, shift: this.shift, span };
      case 'link':
        if (v === 0xe0) {
          throw this.fail(`'ether proto ${v}' (IPX, matched in four encapsulations by libpcap) is not supported`, span);
        }
        if (v === 0x809b || v === 0x80f3) throw this.fail(`'ether proto ${v}' (AppleTalk) is not supported`, span);
        return { kind: 'proto', qual: 'link', value: v, shift: this.shift, span };
      case 'arp':
      case 'rarp':
        throw this.fail(`${q.proto} does not encapsulate another protocol`, span);
      default:
        throw this.fail(`'${q.proto} proto' is not supported`, span);
    }
  }

  // ---- `other`: broadcast, multicast, less, greater, vlan

  private parseOther(): Filter {
    const start = this.peek();
    let qual: PQual = 'default';
    const pq = PNAMES.get(start.text);
    if (start.kind === 'keyword' && pq !== undefined) {
      qual = pq;
      this.next();
    }
    const t = this.next();
    switch (t.text) {
      case 'broadcast':
        if (qual === 'default' || qual === 'link') return { kind: 'broadcast', span: this.spanFrom(start) };
        if (qual === 'ip') throw this.fail("'ip broadcast' needs the capture's netmask and is not supported", this.spanFrom(start));
        throw this.fail(`only link-layer/IP broadcast filters supported`, this.spanFrom(start));
      case 'multicast':
        if (qual === 'default' || qual === 'link') return { kind: 'multicast', qual: 'link', shift: this.shift, span: this.spanFrom(start) };
        if (qual === 'ip' || qual === 'ip6') return { kind: 'multicast', qual, shift: this.shift, span: this.spanFrom(start) };
        throw this.fail('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel', this.spanFrom(start));
      case 'less':
      case 'greater': {
        const n = this.peek();
        if (n.kind !== 'num') throw this.syntax(n, `expected a length after '${t.text}'`);
        this.next();
        return { kind: 'length', op: t.text, value: n.value, span: this.spanFrom(start) };
      }
      case 'vlan': {
        let id: number | undefined;
        const n = this.peek();
        if (n.kind === 'num' || (this.isOp(n, '(') && this.peekPnum())) {
          id = this.parsePnum();
          if (id > 0x0fff) throw this.fail(`VLAN tag ${id} greater than maximum 4095`, this.spanFrom(start));
        }
        const node: Primitive = { kind: 'vlan', id, shift: this.shift, span: this.spanFrom(start) };
        this.shift += 4;
        return node;
      }
      default:
        throw this.syntax(t);
    }
  }

  private peekPnum(): boolean {
    let k = 0;
    while (this.isOp(this.peek(k), '(')) k++;
    return this.peek(k).kind === 'num';
  }

  /** `pnum: NUM | paren pnum ')'`. */
  private parsePnum(): number {
    const t = this.peek();
    if (t.kind === 'num') {
      this.next();
      return t.value;
    }
    this.expectOp('(');
    const v = this.parsePnum();
    this.expectOp(')');
    return v;
  }

  // ---- relations: `arth relop arth`

  private parseRelation(): Filter {
    const left = this.parseArith(0);
    const opTok = this.peek();
    const op = opTok.kind === 'op' ? REL_OPS.get(opTok.text) : undefined;
    if (!op) throw this.syntax(opTok, 'expected a comparison');
    this.next();
    const right = this.parseArith(0);
    return { kind: 'relation', op, left, right, span: spanUnion(left.span, right.span) };
  }

  private parseArith(level: number): Arith {
    if (level === ARITH_LEVELS.length) return this.parseUnary();
    let left = this.parseArith(level + 1);
    for (;;) {
      const t = this.peek();
      if (!(t.kind === 'op' && ARITH_LEVELS[level].includes(t.text))) return left;
      this.next();
      const right = this.parseArith(level + 1);
      left = { kind: 'binary', op: t.text as ArithOp, left, right, span: spanUnion(left.span, right.span) };
    }
  }

  private parseUnary(): Arith {
    const t = this.peek();
    if (this.isOp(t, '-')) {
      this.next();
      const operand = this.parseUnary();
      return { kind: 'neg', operand, span: spanUnion(t.span, operand.span) };
    }
    if (t.kind === 'num') {
      this.next();
      return { kind: 'num', value: t.value, span: t.span };
    }
    if (this.isKw(t, 'len')) {
      this.next();
      return { kind: 'len', span: t.span };
    }
    if (this.isOp(t, '(')) {
      this.next();
      const inner = this.parseArith(0);
      const close = this.expectOp(')');
      return { ...inner, span: spanUnion(t.span, close.span) } as Arith;
    }
    if (t.kind === 'keyword' && PNAMES.has(t.text)) {
      this.next();
      const proto = loadProto(t.text);
      if (!proto) throw this.fail(`'${t.text}[…]' is not supported`, t.span);
      this.expectOp('[');
      const index = this.parseArith(0);
      let size: 1 | 2 | 4 = 1;
      if (this.isOp(this.peek(), ':')) {
        this.next();
        const n = this.peek();
        if (n.kind !== 'num') throw this.syntax(n, 'expected a size');
        this.next();
        if (n.value !== 1 && n.value !== 2 && n.value !== 4) throw this.fail('data size must be 1, 2, or 4', n.span);
        size = n.value;
      }
      const close = this.expectOp(']');
      return { kind: 'load', proto, index, size, shift: this.shift, span: spanUnion(t.span, close.span) };
    }
    throw this.syntax(t, 'expected a number, len, or proto[offset]');
  }
}

function loadProto(word: string): LoadProto | undefined {
  switch (word) {
    case 'ether':
    case 'link':
      return 'ether';
    case 'ip':
    case 'ip6':
    case 'arp':
    case 'rarp':
    case 'tcp':
    case 'udp':
    case 'sctp':
    case 'icmp':
    case 'igmp':
    case 'icmp6':
      return word;
    default:
      return undefined;
  }
}

function withSpan(f: Filter, span: Span): Filter {
  return { ...f, span } as Filter;
}

function lexErrorMessage(t: Token): string {
  if (/^[0-9]/.test(t.text)) return `number '${t.text}' is not valid (a leading 0 makes it octal; at most 32 bits)`;
  if (t.text === '\\') return "'\\' must be followed by a name";
  return `illegal character '${t.text}'`;
}

/** libpcap's __pcap_atoin: a dotted decimal address with 1 to 4 parts, and how many bits it gave. */
function atoin(text: string): { addr: number; bits: number } | undefined {
  const parts = text.split('.');
  let addr = 0;
  for (const p of parts) {
    if (!/^[0-9]+$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    addr = ((addr << 8) | n) >>> 0;
  }
  return { addr, bits: 8 * parts.length };
}

/** pcap_nametoportrange: "A-B" with two numbers, or two service names split at the first '-'. */
function parsePortRange(text: string): { lo: number; hi: number; proto: PortProto } | 'mixed' | undefined {
  const m = /^([0-9]+)-([0-9]+)$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]), proto: 'any' };
  const dash = text.indexOf('-');
  if (dash < 0) return undefined;
  const a = text.slice(0, dash);
  const b = text.slice(dash + 1);
  if (/^[0-9]/.test(a) || /^[0-9]/.test(b)) return 'mixed';
  const sa = lookupService(a);
  const sb = lookupService(b);
  if (!sa || !sb) return undefined;
  return { lo: sa.port, hi: sb.port, proto: sa.proto === sb.proto ? sa.proto : 'any' };
}
