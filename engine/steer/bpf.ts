// steer: compiling a filter to classic BPF for Ethernet (DLT_EN10MB), test for test as libpcap does.
//
// The tests come out in gencode.c's order, because with cBPF the order is part of the meaning: a
// load past the captured length ends the whole program with "reject", so `tcp[100] = 1 or arp`
// rejects a short TCP segment even though `arp` would not have matched it anyway, while
// `arp or tcp[100] = 1` behaves the same way only because arp is tested first. libpcap's optimizer
// also removes tests whose outcome cannot matter (and with them their loads), so this compiler does
// the same for the cases it can see: constant arithmetic (`x & 0`, `0 * x`), constant relations,
// tests whose outcome an earlier test on the same path decides, and tests whose two branches end in
// the same place.

import type { Arith, Filter, LoadProto, Primitive } from './ast';
import { assertNever } from './ast';
import type { Span } from './lexer';

// ---- opcodes (bpf.h)

export const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03, BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_RET = 0x06, BPF_MISC = 0x07;
export const BPF_W = 0x00, BPF_H = 0x08, BPF_B = 0x10;
export const BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_IND = 0x40, BPF_MEM = 0x60, BPF_LEN = 0x80, BPF_MSH = 0xa0;
export const BPF_ADD = 0x00, BPF_SUB = 0x10, BPF_MUL = 0x20, BPF_DIV = 0x30, BPF_OR = 0x40, BPF_AND = 0x50, BPF_LSH = 0x60, BPF_RSH = 0x70, BPF_NEG = 0x80, BPF_MOD = 0x90, BPF_XOR = 0xa0;
export const BPF_JA = 0x00, BPF_JEQ = 0x10, BPF_JGT = 0x20, BPF_JGE = 0x30, BPF_JSET = 0x40;
export const BPF_K = 0x00, BPF_X = 0x08, BPF_A = 0x10;
export const BPF_TAX = 0x00, BPF_TXA = 0x80;
export const BPF_MEMWORDS = 16;

/** One cBPF instruction, as `struct bpf_insn`. */
export interface BpfInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/** libpcap's default snapshot length; an accepting filter returns it. */
export const DEFAULT_SNAPLEN = 262144;

const ETHERTYPE_IP = 0x0800, ETHERTYPE_IPV6 = 0x86dd, ETHERTYPE_ARP = 0x0806, ETHERTYPE_REVARP = 0x8035;
const ETHERTYPE_8021Q = 0x8100, ETHERTYPE_8021AD = 0x88a8, ETHERTYPE_8021QINQ = 0x9100;
const ETHERMTU = 1500;
const IPPROTO_FRAGMENT = 44;
/** Link-layer payload offset of an untagged Ethernet frame; `vlan` adds 4 per tag. */
const OFF_LINKPL = 14;
const OFF_LINKTYPE = 12;

export class CompileError extends Error {
  constructor(message: string, readonly span: Span) {
    super(message);
  }
}

// ---- intermediate form: tests (statements computing A, then one conditional jump) and connectives

interface Stmt {
  readonly code: number;
  readonly k: number;
}

export type Cond =
  | { readonly kind: 'test'; readonly stmts: readonly Stmt[]; readonly jcode: number; readonly k: number; readonly key: string }
  | { readonly kind: 'and' | 'or'; readonly a: Cond; readonly b: Cond }
  | { readonly kind: 'not'; readonly a: Cond }
  | { readonly kind: 'const'; readonly value: boolean };

const TRUE: Cond = { kind: 'const', value: true };
const FALSE: Cond = { kind: 'const', value: false };

function test(stmts: Stmt[], jcode: number, k: number): Cond {
  const key = stmts.map((s) => `${s.code}:${s.k >>> 0}`).join(',');
  return { kind: 'test', stmts, jcode, k: k >>> 0, key };
}
function and(a: Cond, b: Cond): Cond {
  if (a.kind === 'const') return a.value ? b : FALSE;
  if (b.kind === 'const') return b.value ? a : FALSE;
  return { kind: 'and', a, b };
}
function or(a: Cond, b: Cond): Cond {
  if (a.kind === 'const') return a.value ? TRUE : b;
  if (b.kind === 'const') return b.value ? TRUE : a;
  return { kind: 'or', a, b };
}
function not(a: Cond): Cond {
  if (a.kind === 'const') return a.value ? FALSE : TRUE;
  return { kind: 'not', a };
}
const st = (code: number, k = 0): Stmt => ({ code, k: k >>> 0 });

/** `ld [off]` compared with `v` (after `and #mask` when the mask is not all ones); a zero mask always holds. */
function cmp(size: number, off: number, jop: number, v: number, mask = 0xffffffff): Cond {
  if ((mask >>> 0) === 0 && jop === BPF_JEQ && (v >>> 0) === 0) return TRUE;
  const stmts = [st(BPF_LD | size | BPF_ABS, off)];
  if ((mask >>> 0) !== 0xffffffff) stmts.push(st(BPF_ALU | BPF_AND | BPF_K, mask));
  return test(stmts, BPF_JMP | jop | BPF_K, v);
}

function linktype(shift: number, type: number): Cond {
  return cmp(BPF_H, OFF_LINKTYPE + shift, BPF_JEQ, type);
}

/** gen_ipfrag: not a fragment other than the first (IPv4 fragment offset 0). */
function ipfrag(shift: number): Cond {
  return not(cmp(BPF_H, OFF_LINKPL + shift + 6, BPF_JSET, 0x1fff));
}

/** gen_proto. */
function ipProto(v: number, qual: 'default' | 'ip' | 'ip6' | 'link', shift: number): Cond {
  const pl = OFF_LINKPL + shift;
  switch (qual) {
    case 'default':
      return or(ipProto(v, 'ip', shift), ipProto(v, 'ip6', shift));
    case 'ip':
      return and(linktype(shift, ETHERTYPE_IP), cmp(BPF_B, pl + 9, BPF_JEQ, v));
    case 'ip6':
      // libpcap also accepts the protocol behind a fragment header, and looks no further.
      return and(
        linktype(shift, ETHERTYPE_IPV6),
        or(cmp(BPF_B, pl + 6, BPF_JEQ, v), and(cmp(BPF_B, pl + 6, BPF_JEQ, IPPROTO_FRAGMENT), cmp(BPF_B, pl + 40, BPF_JEQ, v))),
      );
    case 'link':
      return etherProto(v, shift);
    default:
      return assertNever(qual);
  }
}

/** gen_ether_linktype. */
function etherProto(v: number, shift: number): Cond {
  if (v > ETHERMTU) return linktype(shift, v);
  const isLlcFrame = not(cmp(BPF_H, OFF_LINKTYPE + shift, BPF_JGT, ETHERMTU));
  if (v === 0x06 || v === 0xf0 || v === 0xfe) {
    // IP, NetBEUI and OSI SAPs: DSAP and SSAP both.
    return and(isLlcFrame, cmp(BPF_H, OFF_LINKPL + shift, BPF_JEQ, (v << 8) | v));
  }
  return and(isLlcFrame, cmp(BPF_B, OFF_LINKPL + shift, BPF_JEQ, v));
}

function protoName(p: Primitive & { kind: 'proto-name' }): Cond {
  switch (p.proto) {
    case 'ip':
      return linktype(p.shift, ETHERTYPE_IP);
    case 'ip6':
      return linktype(p.shift, ETHERTYPE_IPV6);
    case 'arp':
      return linktype(p.shift, ETHERTYPE_ARP);
    case 'rarp':
      return linktype(p.shift, ETHERTYPE_REVARP);
    case 'tcp':
      return ipProto(6, 'default', p.shift);
    case 'udp':
      return ipProto(17, 'default', p.shift);
    case 'sctp':
      return ipProto(132, 'default', p.shift);
    case 'icmp':
      return ipProto(1, 'ip', p.shift);
    case 'igmp':
      return ipProto(2, 'ip', p.shift);
    case 'icmp6':
      return ipProto(58, 'ip6', p.shift);
    default:
      return assertNever(p.proto);
  }
}

type DirName = 'default' | 'src' | 'dst' | 'or' | 'and';

function byDir(dir: DirName, src: () => Cond, dst: () => Cond): Cond {
  switch (dir) {
    case 'src':
      return src();
    case 'dst':
      return dst();
    case 'and':
      return and(src(), dst());
    case 'default':
    case 'or':
      return or(src(), dst());
    default:
      return assertNever(dir);
  }
}

/** gen_hostop for one protocol: the address word at srcOff/dstOff of the link payload. */
function hostop(p: Primitive & { kind: 'host4' }, type: number, srcOff: number, dstOff: number): Cond {
  const one = (off: number) => and(linktype(p.shift, type), cmp(BPF_W, OFF_LINKPL + p.shift + off, BPF_JEQ, p.addr, p.mask));
  return byDir(p.dir, () => one(srcOff), () => one(dstOff));
}

function host4(p: Primitive & { kind: 'host4' }): Cond {
  switch (p.proto) {
    case 'ip':
      return hostop(p, ETHERTYPE_IP, 12, 16);
    case 'arp':
      return hostop(p, ETHERTYPE_ARP, 14, 24);
    case 'rarp':
      return hostop(p, ETHERTYPE_REVARP, 14, 24);
    case 'default':
      return or(or(hostop(p, ETHERTYPE_IP, 12, 16), hostop(p, ETHERTYPE_ARP, 14, 24)), hostop(p, ETHERTYPE_REVARP, 14, 24));
    default:
      return assertNever(p.proto);
  }
}

function word(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function host6(p: Primitive & { kind: 'host6' }): Cond {
  const one = (off: number) => {
    let c: Cond = TRUE;
    for (let w = 0; w < 4; w++) {
      c = and(c, cmp(BPF_W, OFF_LINKPL + p.shift + off + 4 * w, BPF_JEQ, word(p.addr, 4 * w), word(p.mask, 4 * w)));
    }
    return and(linktype(p.shift, ETHERTYPE_IPV6), c);
  };
  return byDir(p.dir, () => one(8), () => one(24));
}

/** gen_bcmp: compares `bytes` at `off` — the last four bytes as a word first, then the first two. */
function bcmp6(off: number, bytes: Uint8Array): Cond {
  return and(cmp(BPF_W, off + 2, BPF_JEQ, word(bytes, 2)), cmp(BPF_H, off, BPF_JEQ, (bytes[0] << 8) | bytes[1]));
}

/** gen_port/gen_portrange order: SCTP, then TCP or UDP. */
const PORT_PROTOS = { tcp: [6], udp: [17], sctp: [132], any: [132, 6, 17] } as const;

function port(p: Primitive & { kind: 'port' }): Cond {
  const protos = PORT_PROTOS[p.proto];
  const pl = OFF_LINKPL + p.shift;
  const range = (jeq: (op: number, v: number) => Cond): Cond =>
    p.lo === p.hi && !p.isRange ? jeq(BPF_JEQ, p.lo) : and(jeq(BPF_JGE, p.lo), not(jeq(BPF_JGT, p.hi)));
  // IPv6: ports right after the fixed header, no extension-header walk.
  const atom6 = (off: number) => range((op, v) => cmp(BPF_H, pl + 40 + off, op, v));
  // IPv4: ports after the header whose length IHL gives.
  const atom4 = (off: number) =>
    range((op, v) => test([st(BPF_LDX | BPF_B | BPF_MSH, pl), st(BPF_LD | BPF_H | BPF_IND, pl + off)], BPF_JMP | op | BPF_K, v));
  // One gen_portop per protocol, each with its own copy of the port tests, as libpcap builds them.
  const ops = (op: (proto: number) => Cond): Cond => {
    if (protos.length === 1) return op(protos[0]);
    return or(op(132), or(op(6), op(17)));
  };
  const v6 = and(linktype(p.shift, ETHERTYPE_IPV6), ops((proto) => and(cmp(BPF_B, pl + 6, BPF_JEQ, proto), byDir(p.dir, () => atom6(0), () => atom6(2)))));
  const v4 = and(
    linktype(p.shift, ETHERTYPE_IP),
    ops((proto) => and(and(cmp(BPF_B, pl + 9, BPF_JEQ, proto), ipfrag(p.shift)), byDir(p.dir, () => atom4(0), () => atom4(2)))),
  );
  return or(v6, v4);
}

function vlan(p: Primitive & { kind: 'vlan' }): Cond {
  const tpid = or(or(linktype(p.shift, ETHERTYPE_8021Q), linktype(p.shift, ETHERTYPE_8021AD)), linktype(p.shift, ETHERTYPE_8021QINQ));
  if (p.id === undefined) return tpid;
  return and(tpid, cmp(BPF_H, OFF_LINKPL + p.shift, BPF_JEQ, p.id, 0x0fff));
}

// ---- arithmetic

interface FoldedConst {
  readonly c: number;
}
interface FoldedExpr {
  readonly e: Arith;
}
type Folded = FoldedConst | FoldedExpr;

function isConst(f: Folded): f is FoldedConst {
  return 'c' in f;
}

/** Folds constants the way libpcap's code generator and optimizer do, refusing what they refuse. */
function fold(a: Arith): Folded {
  switch (a.kind) {
    case 'num':
      return { c: a.value >>> 0 };
    case 'len':
      return { e: a };
    case 'load': {
      const idx = fold(a.index);
      return { e: { ...a, index: isConst(idx) ? { kind: 'num', value: idx.c, span: a.index.span } : idx.e } };
    }
    case 'neg': {
      const o = fold(a.operand);
      return isConst(o) ? { c: -o.c >>> 0 } : { e: { ...a, operand: o.e } };
    }
    case 'binary': {
      const l = fold(a.left);
      const r = fold(a.right);
      if (isConst(r)) {
        if ((a.op === '/' || a.op === '%') && r.c === 0) throw new CompileError(a.op === '/' ? 'division by zero' : 'modulus by zero', a.span);
        if ((a.op === '<<' || a.op === '>>') && r.c > 31) throw new CompileError('shift by more than 31 bits', a.span);
      }
      if (isConst(l) && isConst(r)) return { c: alu(a.op, l.c, r.c) };
      if (isConst(r) && r.c === 0) {
        if (a.op === '*' || a.op === '&') return { c: 0 };
        return l;
      }
      if (isConst(l) && l.c === 0 && a.op !== '-') {
        if (a.op === '+' || a.op === '|' || a.op === '^') return r;
        return { c: 0 };
      }
      const left: Arith = isConst(l) ? { kind: 'num', value: l.c, span: a.left.span } : l.e;
      const right: Arith = isConst(r) ? { kind: 'num', value: r.c, span: a.right.span } : r.e;
      return { e: { ...a, left, right } };
    }
    default:
      return assertNever(a);
  }
}

export function alu(op: string, a: number, b: number): number {
  switch (op) {
    case '+': return (a + b) >>> 0;
    case '-': return (a - b) >>> 0;
    case '*': return Math.imul(a, b) >>> 0;
    case '/': return b === 0 ? 0 : Math.floor(a / b) >>> 0;
    case '%': return b === 0 ? 0 : (a % b) >>> 0;
    case '&': return (a & b) >>> 0;
    case '|': return (a | b) >>> 0;
    case '^': return (a ^ b) >>> 0;
    case '<<': return b > 31 ? 0 : (a << b) >>> 0;
    case '>>': return b > 31 ? 0 : a >>> b;
    default: throw new Error(`unknown operator ${op}`);
  }
}

const ALU_CODES: Readonly<Record<string, number>> = {
  '+': BPF_ADD, '-': BPF_SUB, '*': BPF_MUL, '/': BPF_DIV, '%': BPF_MOD,
  '&': BPF_AND, '|': BPF_OR, '^': BPF_XOR, '<<': BPF_LSH, '>>': BPF_RSH,
};

/** The protocol tests that guard a `proto[…]` load (gen_load), in libpcap's order. */
function loadChecks(a: Arith): Cond {
  switch (a.kind) {
    case 'num':
    case 'len':
      return TRUE;
    case 'neg':
      return loadChecks(a.operand);
    case 'binary':
      // gen_arth keeps only the left operand's checks: `0 & ip[0]` tests nothing.
      return loadChecks(a.left);
    case 'load': {
      const inner = loadChecks(a.index);
      const s = a.shift;
      switch (a.proto) {
        case 'ether':
          return inner;
        case 'ip':
          return and(inner, linktype(s, ETHERTYPE_IP));
        case 'ip6':
          return and(inner, linktype(s, ETHERTYPE_IPV6));
        case 'arp':
          return and(inner, linktype(s, ETHERTYPE_ARP));
        case 'rarp':
          return and(inner, linktype(s, ETHERTYPE_REVARP));
        case 'icmp6':
          return and(and(inner, linktype(s, ETHERTYPE_IPV6)), cmp(BPF_B, OFF_LINKPL + s + 6, BPF_JEQ, 58));
        case 'tcp':
        case 'udp':
        case 'sctp':
        case 'icmp':
        case 'igmp': {
          const abbrev = protoName({ kind: 'proto-name', proto: a.proto, shift: s, span: a.span });
          return and(linktype(s, ETHERTYPE_IP), and(inner, and(abbrev, ipfrag(s))));
        }
        default:
          return assertNever(a.proto);
      }
    }
    default:
      return assertNever(a);
  }
}

const TRANSPORT: ReadonlySet<LoadProto> = new Set<LoadProto>(['tcp', 'udp', 'sctp', 'icmp', 'igmp']);

/** Statements leaving the value of `a` in A, using scratch memory from `depth` up. */
function genArith(a: Arith, out: Stmt[], depth: number): void {
  switch (a.kind) {
    case 'num':
      out.push(st(BPF_LD | BPF_IMM, a.value));
      return;
    case 'len':
      out.push(st(BPF_LD | BPF_W | BPF_LEN));
      return;
    case 'neg':
      genArith(a.operand, out, depth);
      out.push(st(BPF_ALU | BPF_NEG));
      return;
    case 'binary': {
      genArith(a.left, out, depth);
      if (a.right.kind === 'num') {
        out.push(st(BPF_ALU | ALU_CODES[a.op] | BPF_K, a.right.value));
        return;
      }
      if (depth >= BPF_MEMWORDS) throw new CompileError('expression too complex', a.span);
      out.push(st(BPF_ST, depth));
      genArith(a.right, out, depth + 1);
      out.push(st(BPF_MISC | BPF_TAX), st(BPF_LD | BPF_MEM, depth), st(BPF_ALU | ALU_CODES[a.op] | BPF_X));
      return;
    }
    case 'load': {
      const size = a.size === 1 ? BPF_B : a.size === 2 ? BPF_H : BPF_W;
      const pl = OFF_LINKPL + a.shift;
      const base = a.proto === 'ether' ? 0 : a.proto === 'icmp6' ? pl + 40 : pl;
      if (TRANSPORT.has(a.proto) && a.index.kind === 'num') {
        out.push(st(BPF_LDX | BPF_B | BPF_MSH, pl), st(BPF_LD | size | BPF_IND, (pl + a.index.value) >>> 0));
      } else if (TRANSPORT.has(a.proto)) {
        genArith(a.index, out, depth);
        out.push(st(BPF_LDX | BPF_B | BPF_MSH, pl), st(BPF_ALU | BPF_ADD | BPF_X), st(BPF_MISC | BPF_TAX), st(BPF_LD | size | BPF_IND, pl));
      } else if (a.index.kind === 'num') {
        // libpcap's optimizer turns an indexed load with a known X into an absolute one, wrapping at 2^32.
        out.push(st(BPF_LD | size | BPF_ABS, (base + a.index.value) >>> 0));
      } else {
        genArith(a.index, out, depth);
        out.push(st(BPF_MISC | BPF_TAX), st(BPF_LD | size | BPF_IND, base));
      }
      return;
    }
    default:
      assertNever(a);
  }
}

function relation(p: Primitive & { kind: 'relation' }): Cond {
  const checks = and(loadChecks(p.left), loadChecks(p.right));
  const l = fold(p.left);
  const r = fold(p.right);
  const [jop, negate] = ({ '=': [BPF_JEQ, false], '!=': [BPF_JEQ, true], '>': [BPF_JGT, false], '>=': [BPF_JGE, false], '<': [BPF_JGE, true], '<=': [BPF_JGT, true] } as const)[p.op];
  let c: Cond;
  if (isConst(l) && isConst(r)) {
    const a = l.c, b = r.c;
    const v = jop === BPF_JEQ ? a === b : jop === BPF_JGT ? a > b : a >= b;
    c = v !== negate ? TRUE : FALSE;
  } else {
    const stmts: Stmt[] = [];
    const left: Arith = isConst(l) ? { kind: 'num', value: l.c, span: p.left.span } : l.e;
    genArith(left, stmts, 0);
    if (isConst(r)) {
      c = test(stmts, BPF_JMP | jop | BPF_K, r.c);
    } else {
      stmts.length = 0;
      genArith(left, stmts, 0);
      stmts.push(st(BPF_ST, 0));
      genArith(r.e, stmts, 1);
      stmts.push(st(BPF_MISC | BPF_TAX), st(BPF_LD | BPF_MEM, 0));
      c = test(stmts, BPF_JMP | jop | BPF_X, 0);
    }
    if (negate) c = not(c);
  }
  return and(checks, c);
}

/** The test tree of a filter, in libpcap's evaluation order. */
export function filterToCond(f: Filter): Cond {
  switch (f.kind) {
    case 'and':
      return and(filterToCond(f.left), filterToCond(f.right));
    case 'or':
      return or(filterToCond(f.left), filterToCond(f.right));
    case 'not':
      return not(filterToCond(f.operand));
    case 'proto-name':
      return protoName(f);
    case 'proto':
      return ipProto(f.value, f.qual, f.shift);
    case 'host4':
      return host4(f);
    case 'host6':
      return host6(f);
    case 'ether-host':
      return byDir(f.dir, () => bcmp6(6, f.mac), () => bcmp6(0, f.mac));
    case 'port':
      return port(f);
    case 'broadcast':
      return bcmp6(0, new Uint8Array([255, 255, 255, 255, 255, 255]));
    case 'multicast':
      if (f.qual === 'link') return test([st(BPF_LD | BPF_B | BPF_ABS, 0)], BPF_JMP | BPF_JSET | BPF_K, 1);
      if (f.qual === 'ip') return and(linktype(f.shift, ETHERTYPE_IP), cmp(BPF_B, OFF_LINKPL + f.shift + 16, BPF_JGE, 224));
      return and(linktype(f.shift, ETHERTYPE_IPV6), cmp(BPF_B, OFF_LINKPL + f.shift + 24, BPF_JEQ, 255));
    case 'length': {
      const t = test([st(BPF_LD | BPF_W | BPF_LEN)], BPF_JMP | (f.op === 'less' ? BPF_JGT : BPF_JGE) | BPF_K, f.value);
      return f.op === 'less' ? not(t) : t;
    }
    case 'vlan':
      return vlan(f);
    case 'relation':
      return relation(f);
    default:
      return assertNever(f);
  }
}

// ---- linearising, with libpcap's cheap optimisations

type TestCond = Cond & { kind: 'test' };
type Fact = { readonly t: TestCond; readonly outcome: boolean };

type Unit =
  | { kind: 'label'; id: number }
  | { kind: 'test'; t: TestCond; jt: number; jf: number }
  | { kind: 'ja'; to: number }
  | { kind: 'ret'; k: number }
  | { kind: 'stmts'; stmts: readonly Stmt[] };

function evalJump(jcode: number, a: number, k: number): boolean {
  switch (jcode & 0xf0) {
    case BPF_JEQ: return a === k;
    case BPF_JGT: return a > k;
    case BPF_JGE: return a >= k;
    case BPF_JSET: return (a & k) !== 0;
    default: return false;
  }
}

/**
 * What the tests already taken on this path say about `t` (optimize.c fold_edge): the same test
 * has the same outcome, and after `A == k` was true, `A == k2` for another constant is false.
 */
function known(facts: readonly Fact[], t: TestCond): boolean | undefined {
  for (const f of facts) {
    if (f.t.key !== t.key || f.t.jcode !== t.jcode) continue;
    if (f.t.k === t.k) return f.outcome;
    if (f.outcome && t.jcode === (BPF_JMP | BPF_JEQ | BPF_K)) return false;
  }
  return undefined;
}

interface Chain {
  readonly fact: Fact | null;
  readonly parent: Chain | null;
  readonly depth: number;
}
const ROOT_CHAIN: Chain = { fact: null, parent: null, depth: 0 };

function extend(c: Chain, fact: Fact): Chain {
  return { fact, parent: c, depth: c.depth + 1 };
}

function commonPart(a: Chain, b: Chain): Chain {
  while (a.depth > b.depth) a = a.parent!;
  while (b.depth > a.depth) b = b.parent!;
  while (a !== b) {
    a = a.parent!;
    b = b.parent!;
  }
  return a;
}

function knownOnChain(c: Chain, t: TestCond): boolean | undefined {
  for (let x: Chain | null = c; x && x.fact; x = x.parent) {
    const r = known([x.fact], t);
    if (r !== undefined) return r;
  }
  return undefined;
}

function factsIf(c: Cond, outcome: boolean): Fact[] {
  switch (c.kind) {
    case 'test':
      return [{ t: c, outcome }];
    case 'not':
      return factsIf(c.a, !outcome);
    case 'and':
      return outcome ? [...factsIf(c.a, true), ...factsIf(c.b, true)] : [];
    case 'or':
      return outcome ? [] : [...factsIf(c.a, false), ...factsIf(c.b, false)];
    case 'const':
      return [];
    default:
      return assertNever(c);
  }
}

class Emitter {
  readonly units: Unit[] = [];
  private nextLabel = 0;
  newLabel(): number {
    return this.nextLabel++;
  }
  place(id: number): void {
    this.units.push({ kind: 'label', id });
  }
  emit(c: Cond, t: number, f: number, facts: Chain): void {
    switch (c.kind) {
      case 'const':
        this.units.push({ kind: 'ja', to: c.value ? t : f });
        return;
      case 'test': {
        const k = knownOnChain(facts, c);
        if (k !== undefined) this.units.push({ kind: 'ja', to: k ? t : f });
        else this.units.push({ kind: 'test', t: c, jt: t, jf: f });
        return;
      }
      case 'not':
        this.emit(c.a, f, t, facts);
        return;
      case 'and': {
        const mid = this.newLabel();
        this.emit(c.a, mid, f, facts);
        this.place(mid);
        this.emit(c.b, t, f, factsIf(c.a, true).reduce(extend, facts));
        return;
      }
      case 'or': {
        const mid = this.newLabel();
        this.emit(c.a, t, mid, facts);
        this.place(mid);
        this.emit(c.b, t, f, factsIf(c.a, false).reduce(extend, facts));
        return;
      }
      default:
        assertNever(c);
    }
  }
}

/**
 * The parts of libpcap's optimizer that change which loads run (optimize.c): a test whose outcome
 * the tests dominating an edge already decide is jumped over on that edge (opt_j), a test whose two
 * branches lead to the same place is skipped, and at the root such tests' loads still run
 * (opt_root) unless the whole program folds to a single return.
 */
function simplify(input: Unit[]): Unit[] {
  let units = input;
  const rootStmts: Stmt[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    const labelAt = new Map<number, number>();
    const canonical = new Map<number, number>();
    let runHead = -1;
    units.forEach((u, i) => {
      if (u.kind === 'label') {
        labelAt.set(u.id, i);
        if (runHead < 0) runHead = u.id;
        canonical.set(u.id, runHead);
      } else runHead = -1;
    });
    const unitAt = (id: number): number => {
      let i = labelAt.get(id)!;
      while (units[i].kind === 'label') i++;
      return i;
    };
    // Where a label really leads: past unconditional jumps, to the first label of its run.
    const resolve = (id: number): number => {
      const u = units[unitAt(id)];
      return u.kind === 'ja' ? resolve(u.to) : canonical.get(id)!;
    };
    units = units.map((u) => (u.kind === 'test' ? { ...u, jt: resolve(u.jt), jf: resolve(u.jf) } : u.kind === 'ja' ? { kind: 'ja', to: resolve(u.to) } : u));

    // Edge dominators: the tests (with their outcomes) on every path to each unit. They form a chain,
    // so each unit keeps the deepest one and merging two paths keeps their common part.
    const domIn = new Map<number, Chain>();
    const first = units.findIndex((u) => u.kind !== 'label');
    domIn.set(first, ROOT_CHAIN);
    units.forEach((u, i) => {
      const d = domIn.get(i);
      if (!d || u.kind === 'label' || u.kind === 'ret' || u.kind === 'stmts') return;
      const edges: Array<[number, Chain]> =
        u.kind === 'test' ? [[u.jt, extend(d, { t: u.t, outcome: true })], [u.jf, extend(d, { t: u.t, outcome: false })]] : [[u.to, d]];
      for (const [label, chain] of edges) {
        const j = unitAt(label);
        const prev = domIn.get(j);
        domIn.set(j, prev ? commonPart(prev, chain) : chain);
      }
    });

    // Jump threading.
    units.forEach((u, i) => {
      const d = domIn.get(i);
      if (!d || u.kind !== 'test') return;
      const thread = (start: number, outcome: boolean): number => {
        const facts = extend(d, { t: u.t, outcome });
        let label = start;
        for (let guard = 0; guard < 10000; guard++) {
          const v = units[unitAt(label)];
          if (v.kind !== 'test') break;
          const r = knownOnChain(facts, v.t);
          if (r === undefined) break;
          label = r ? v.jt : v.jf;
        }
        return label;
      };
      const jt = thread(u.jt, true);
      const jf = thread(u.jf, false);
      if (jt !== u.jt || jf !== u.jf) {
        units[i] = { ...u, jt, jf };
        changed = true;
      }
    });

    // Tests whose branches meet; at the root their statements stay.
    let root = first;
    for (let u = units[root]; u.kind === 'ja'; u = units[root]) root = unitAt(u.to);
    units.forEach((u, i) => {
      if (u.kind !== 'test') return;
      if (resolve(u.jt) !== resolve(u.jf)) return;
      if (i === root) rootStmts.push(...u.t.stmts);
      units[i] = { kind: 'ja', to: u.jt };
      changed = true;
    });

    // Reachability from the entry.
    const reach = new Array<boolean>(units.length).fill(false);
    const work = [0];
    while (work.length) {
      const i = work.pop()!;
      if (i >= units.length || reach[i]) continue;
      reach[i] = true;
      const u = units[i];
      if (u.kind === 'label') work.push(i + 1);
      else if (u.kind === 'test') work.push(labelAt.get(u.jt)!, labelAt.get(u.jf)!);
      else if (u.kind === 'ja') work.push(labelAt.get(u.to)!);
    }
    const kept = units.filter((u, i) => reach[i] || u.kind === 'label');
    // A jump to the label right after it is no jump at all.
    const out: Unit[] = [];
    for (let i = 0; i < kept.length; i++) {
      const u = kept[i];
      if (u.kind === 'ja') {
        let j = i + 1;
        let falls = false;
        while (j < kept.length && kept[j].kind === 'label') {
          if ((kept[j] as { id: number }).id === u.to) falls = true;
          j++;
        }
        if (falls) continue;
      }
      out.push(u);
    }
    if (out.length !== units.length) changed = true;
    units = out;
  }
  const entry = units.find((u) => u.kind !== 'label');
  if (rootStmts.length && entry && entry.kind !== 'ret') return [{ kind: 'stmts', stmts: rootStmts }, ...units];
  return units;
}

/** Lays units out as instructions, inserting `ja` where a conditional jump is longer than 255. */
function layout(units: Unit[]): BpfInsn[] {
  type Slot = { kind: 'test'; t: TestCond; jt: number; jf: number } | { kind: 'ja'; to: number } | { kind: 'ret'; k: number } | { kind: 'stmt'; s: Stmt };
  let slots: Array<Slot | { kind: 'label'; id: number }> = [];
  for (const u of units) {
    if (u.kind === 'test') {
      for (const s of u.t.stmts) slots.push({ kind: 'stmt', s });
      slots.push(u);
    } else if (u.kind === 'stmts') {
      for (const s of u.stmts) slots.push({ kind: 'stmt', s });
    } else slots.push(u);
  }
  let nextTramp = 1_000_000;
  for (;;) {
    const pos = new Map<number, number>();
    let n = 0;
    for (const s of slots) {
      if (s.kind === 'label') pos.set(s.id, n);
      else n++;
    }
    let fixed = false;
    const out: typeof slots = [];
    let idx = 0;
    for (const s of slots) {
      if (s.kind !== 'label') idx++;
      if (s.kind === 'test') {
        const dt = pos.get(s.jt)! - idx;
        const df = pos.get(s.jf)! - idx;
        if (dt > 255 || df > 255) {
          fixed = true;
          const lt = dt > 255 ? nextTramp++ : s.jt;
          const lf = df > 255 ? nextTramp++ : s.jf;
          out.push({ ...s, jt: lt, jf: lf });
          if (dt > 255) out.push({ kind: 'label', id: lt }, { kind: 'ja', to: s.jt });
          if (df > 255) out.push({ kind: 'label', id: lf }, { kind: 'ja', to: s.jf });
          continue;
        }
      }
      out.push(s);
    }
    slots = out;
    if (fixed) continue;
    const insns: BpfInsn[] = [];
    let i = 0;
    for (const s of slots) {
      if (s.kind === 'label') continue;
      i++;
      switch (s.kind) {
        case 'stmt':
          insns.push({ code: s.s.code, jt: 0, jf: 0, k: s.s.k });
          break;
        case 'test':
          insns.push({ code: s.t.jcode, jt: pos.get(s.jt)! - i, jf: pos.get(s.jf)! - i, k: s.t.k });
          break;
        case 'ja':
          insns.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: pos.get(s.to)! - i });
          break;
        case 'ret':
          insns.push({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: s.k });
          break;
      }
    }
    return insns;
  }
}

/** Compiles a test tree to a cBPF program that returns `snaplen` on accept and 0 on reject. */
export function condToBpf(c: Cond, snaplen = DEFAULT_SNAPLEN): BpfInsn[] {
  const e = new Emitter();
  const accept = e.newLabel();
  const reject = e.newLabel();
  e.emit(c, accept, reject, ROOT_CHAIN);
  e.place(accept);
  e.units.push({ kind: 'ret', k: snaplen });
  e.place(reject);
  e.units.push({ kind: 'ret', k: 0 });
  return layout(simplify(e.units));
}

export type CompileResult = { readonly ok: true; readonly program: BpfInsn[] } | { readonly ok: false; readonly error: CompileError };

/** Compiles a parsed filter to cBPF; refuses, as tcpdump does, a filter that can match nothing. */
export function compileBpf(f: Filter, snaplen = DEFAULT_SNAPLEN): CompileResult {
  try {
    const program = condToBpf(filterToCond(f), snaplen);
    if (program.length === 1 && program[0].code === (BPF_RET | BPF_K) && program[0].k === 0) return { ok: false, error: new CompileError('expression rejects all packets', f.span) };
    return { ok: true, program };
  } catch (e) {
    if (e instanceof CompileError) return { ok: false, error: e };
    throw e;
  }
}

const SIZE_NAMES: Readonly<Record<number, string>> = { [BPF_W]: '', [BPF_H]: 'h', [BPF_B]: 'b' };
const ALU_NAMES: Readonly<Record<number, string>> = {
  [BPF_ADD]: 'add', [BPF_SUB]: 'sub', [BPF_MUL]: 'mul', [BPF_DIV]: 'div', [BPF_OR]: 'or', [BPF_AND]: 'and',
  [BPF_LSH]: 'lsh', [BPF_RSH]: 'rsh', [BPF_NEG]: 'neg', [BPF_MOD]: 'mod', [BPF_XOR]: 'xor',
};
const JMP_NAMES: Readonly<Record<number, string>> = { [BPF_JA]: 'ja', [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset' };

/** The program in `tcpdump -d` notation. */
export function formatBpf(program: readonly BpfInsn[]): string {
  const hex = (k: number) => `#0x${(k >>> 0).toString(16)}`;
  return program
    .map((ins, i) => {
      const cls = ins.code & 0x07;
      const n = `(${String(i).padStart(3, '0')}) `;
      let text: string;
      switch (cls) {
        case BPF_LD:
        case BPF_LDX: {
          const x = cls === BPF_LDX ? 'x' : '';
          const mode = ins.code & 0xe0;
          const sz = SIZE_NAMES[ins.code & 0x18] ?? '';
          if (mode === BPF_IMM) text = `ld${x} ${hex(ins.k)}`;
          else if (mode === BPF_ABS) text = `ld${sz} [${ins.k}]`;
          else if (mode === BPF_IND) text = `ld${sz} [x + ${ins.k}]`;
          else if (mode === BPF_MEM) text = `ld${x} M[${ins.k}]`;
          else if (mode === BPF_LEN) text = `ld${x} #pktlen`;
          else text = `ldxb 4*([${ins.k}]&0xf)`;
          break;
        }
        case BPF_ST:
          text = `st M[${ins.k}]`;
          break;
        case BPF_STX:
          text = `stx M[${ins.k}]`;
          break;
        case BPF_ALU:
          text = `${ALU_NAMES[ins.code & 0xf0]} ${(ins.code & 0xf0) === BPF_NEG ? '' : ins.code & BPF_X ? 'x' : hex(ins.k)}`;
          break;
        case BPF_JMP: {
          const op = JMP_NAMES[ins.code & 0xf0];
          if ((ins.code & 0xf0) === BPF_JA) text = `ja ${i + 1 + ins.k}`;
          else text = `${op} ${ins.code & BPF_X ? 'x' : hex(ins.k)} jt ${i + 1 + ins.jt} jf ${i + 1 + ins.jf}`;
          break;
        }
        case BPF_RET:
          text = ins.code & BPF_A ? 'ret a' : `ret #${ins.k}`;
          break;
        default:
          text = ins.code & BPF_TXA ? 'txa' : 'tax';
      }
      return n + text;
    })
    .join('\n');
}
