// steer: the in-process matcher — cBPF turned into JavaScript, and a classifier for a whole rule file.
//
// A rule's cBPF program is translated instruction for instruction into a JS function (forward jumps
// become `break` out of nested labelled blocks), so the matcher means exactly what the program
// means, out-of-bounds rejects included, without an interpreter loop or any allocation per packet.
// The classifier indexes rules by something they cannot match without — a destination or source
// port or port range, an IPv4 address or network, an IP protocol, an Ethernet type, or a test of
// their program that must hold (evaluated once per packet for every rule that needs it) — so a
// packet runs only the rules that could match it, in rule order; rules with none are always run.
// Its per-packet function is generated for the rule set (tables, masks and offsets as literals);
// rules that differ only in their constants share one compiled program.

import type { Arith, Filter } from './ast';
import {
  filterToCond, type Cond,
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JA, BPF_JEQ, BPF_JGE,
  BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MISC, BPF_MOD, BPF_MSH, BPF_MUL,
  BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST, BPF_STX, BPF_SUB, BPF_TXA, BPF_W, BPF_X, BPF_XOR, type BpfInsn,
} from './bpf';

/** Whether a frame (captured bytes) with this length on the wire matches. */
export type PacketMatcher = (frame: Uint8Array, wireLen: number) => boolean;

function loadExpr(size: number, at: string): { need: number; expr: string } {
  if (size === BPF_W) return { need: 4, expr: `((p[${at}] << 24) | (p[${at} + 1] << 16) | (p[${at} + 2] << 8) | p[${at} + 3]) >>> 0` };
  if (size === BPF_H) return { need: 2, expr: `(p[${at}] << 8) | p[${at} + 1]` };
  return { need: 1, expr: `p[${at}]` };
}

const ALU_JS: Readonly<Record<number, (b: string) => string>> = {
  [BPF_ADD]: (b) => `A = (A + ${b}) >>> 0;`,
  [BPF_SUB]: (b) => `A = (A - ${b}) >>> 0;`,
  [BPF_MUL]: (b) => `A = Math.imul(A, ${b}) >>> 0;`,
  [BPF_DIV]: (b) => `A = (A / ${b}) >>> 0;`,
  [BPF_MOD]: (b) => `A = (A % ${b}) >>> 0;`,
  [BPF_AND]: (b) => `A = (A & ${b}) >>> 0;`,
  [BPF_OR]: (b) => `A = (A | ${b}) >>> 0;`,
  [BPF_XOR]: (b) => `A = (A ^ ${b}) >>> 0;`,
  [BPF_LSH]: (b) => `A = ${b} < 32 ? (A << ${b}) >>> 0 : 0;`,
  [BPF_RSH]: (b) => `A = ${b} < 32 ? A >>> ${b} : 0;`,
};

/**
 * The body of `function (p, len)` equivalent to the program (true where it returns non-zero), or
 * with other statements for accept and reject, to inline the program into a bigger function; with
 * `constants`, comparisons read their constants from that array (from index `constantsAt` on, as
 * unsigned 32-bit values, so an Int32Array can hold them).
 */
export function bpfToJsSource(program: readonly BpfInsn[], accept = 'return true;', reject = 'return false;', constants?: string, constantsAt?: string): string {
  let nextConstant = 0;
  const targets = new Set<number>();
  program.forEach((ins, i) => {
    if ((ins.code & 0x07) !== BPF_JMP) return;
    if ((ins.code & 0xf0) === BPF_JA) targets.add(i + 1 + ins.k);
    else {
      targets.add(i + 1 + ins.jt);
      targets.add(i + 1 + ins.jf);
    }
  });
  targets.delete(0);
  const sorted = [...targets].sort((a, b) => b - a);
  const lines: string[] = ['let A = 0, X = 0, t = 0;', 'const n = p.length;'];
  const mems = new Set<number>();
  for (const ins of program) {
    const cls = ins.code & 0x07;
    if (cls === BPF_ST || cls === BPF_STX || ((cls === BPF_LD || cls === BPF_LDX) && (ins.code & 0xe0) === BPF_MEM)) mems.add(ins.k);
  }
  if (mems.size) lines.push(`let ${[...mems].map((m) => `m${m} = 0`).join(', ')};`);
  for (const t of sorted) lines.push(`L${t}: {`);
  const jump = (from: number, to: number) => (to === from + 1 ? '' : `break L${to};`);
  program.forEach((ins, i) => {
    if (targets.has(i)) lines.push(`} // L${i}`);
    const cls = ins.code & 0x07;
    const k = ins.k >>> 0;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const reg = cls === BPF_LD ? 'A' : 'X';
        const mode = ins.code & 0xe0;
        if (mode === BPF_IMM) lines.push(`${reg} = ${k};`);
        else if (mode === BPF_LEN) lines.push(`${reg} = len >>> 0;`);
        else if (mode === BPF_MEM) lines.push(`${reg} = m${k};`);
        else if (mode === BPF_MSH) lines.push(`if (${k} >= n) ${reject}`, `X = (p[${k}] & 15) << 2;`);
        else if (mode === BPF_ABS) {
          const l = loadExpr(ins.code & 0x18, String(k));
          lines.push(`if (${k + l.need} > n) ${reject}`, `${reg} = ${l.expr};`);
        } else if (mode === BPF_IND) {
          const l = loadExpr(ins.code & 0x18, 't');
          lines.push(`t = X + ${k};`, `if (t + ${l.need} > n) ${reject}`, `${reg} = ${l.expr};`);
        }
        break;
      }
      case BPF_ST:
        lines.push(`m${k} = A;`);
        break;
      case BPF_STX:
        lines.push(`m${k} = X;`);
        break;
      case BPF_ALU: {
        const op = ins.code & 0xf0;
        if (op === BPF_NEG) {
          lines.push('A = -A >>> 0;');
          break;
        }
        const b = ins.code & BPF_X ? 'X' : String(k);
        if ((op === BPF_DIV || op === BPF_MOD) && b === 'X') lines.push(`if (X === 0) ${reject}`);
        if ((op === BPF_DIV || op === BPF_MOD) && k === 0 && b !== 'X') {
          lines.push(reject);
          break;
        }
        const f = ALU_JS[op];
        lines.push(f ? f(b) : reject);
        break;
      }
      case BPF_JMP: {
        const op = ins.code & 0xf0;
        if (op === BPF_JA) {
          lines.push(jump(i, i + 1 + k));
          break;
        }
        const b = ins.code & BPF_X ? 'X' : constants ? `(${constants}[${constantsAt ? `${constantsAt} + ` : ''}${nextConstant++}] >>> 0)` : String(k);
        const cond =
          op === BPF_JEQ ? `A === ${b}` : op === BPF_JGT ? `A > ${b}` : op === BPF_JGE ? `A >= ${b}` : op === BPF_JSET ? `(A & ${b}) !== 0` : 'false';
        const jt = jump(i, i + 1 + ins.jt);
        const jf = jump(i, i + 1 + ins.jf);
        if (jt && jf) lines.push(`if (${cond}) ${jt} else ${jf}`);
        else if (jt) lines.push(`if (${cond}) ${jt}`);
        else if (jf) lines.push(`if (!(${cond})) ${jf}`);
        break;
      }
      case BPF_RET:
        lines.push(ins.code & BPF_A ? `if (A !== 0) ${accept} else ${reject}` : k !== 0 ? accept : reject);
        break;
      case BPF_MISC:
        lines.push(ins.code & BPF_TXA ? 'A = X;' : 'X = A;');
        break;
    }
  });
  lines.push(reject);
  return lines.join('\n');
}

/** Compiles a cBPF program into a JavaScript matcher. */
export function bpfToMatcher(program: readonly BpfInsn[]): PacketMatcher {
  return new Function('p', 'len', bpfToJsSource(program)) as PacketMatcher;
}

// ---- the classifier

/**
 * A program's shape: the program with the constants of its comparisons taken out. Rules that differ
 * only in the ports or addresses they compare share one compiled function, which then gets hot and
 * optimised after a few packets whatever the number of rules.
 */
export function programShape(program: readonly BpfInsn[]): { key: string; constants: number[] } {
  const constants: number[] = [];
  const parts = program.map((ins) => {
    const isCmp = (ins.code & 0x07) === BPF_JMP && (ins.code & 0xf0) !== BPF_JA && (ins.code & BPF_X) === 0;
    if (isCmp) constants.push(ins.k >>> 0);
    return `${ins.code},${ins.jt},${ins.jf},${isCmp ? '?' : ins.k}`;
  });
  return { key: parts.join(';'), constants };
}

type Field = 'sport' | 'dport' | 'src4' | 'dst4' | 'l4' | 'etype';
/**
 * A field value (or range of values) a packet must have. Ports take ranges `lo..hi`; IPv4 addresses
 * are prefixes (`lo` the network, `bits` its length); the others one value (`lo === hi`).
 */
interface Atom {
  readonly field: Field;
  readonly lo: number;
  readonly hi: number;
  readonly bits: number;
}
const MAX_ATOMS = 64;
/** Port ranges wider than this are not indexed by port (each port of the range holds the rule). */
const MAX_PORT_SPAN = 1024;

/**
 * Rough share of packets that have the atom's value: what the classifier uses to pick, for each
 * rule, the index key it is least often a candidate under. Ports and addresses are near-unique,
 * protocols and Ethernet types are not.
 */
function atomShare(a: Atom): number {
  switch (a.field) {
    case 'sport':
    case 'dport':
      return (a.hi - a.lo + 1) / 8192;
    case 'src4':
    case 'dst4':
      return Math.pow(2, -a.bits / 2);
    case 'l4':
      return a.lo === 6 ? 0.6 : a.lo === 17 ? 0.3 : 0.05;
    case 'etype':
      return a.lo === 0x0800 ? 0.8 : a.lo === 0x86dd ? 0.15 : 0.05;
    default:
      return assertNeverField(a.field);
  }
}

function assertNeverField(x: never): never {
  throw new Error(`unexpected field ${String(x)}`);
}

function atomsShare(atoms: readonly Atom[]): number {
  let s = 0;
  for (const a of atoms) s += atomShare(a);
  return s;
}

const L4_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, igmp: 2, icmp6: 58 };
const ETHER_TYPES: Readonly<Record<string, number>> = { ip: 0x0800, ip6: 0x86dd, arp: 0x0806, rarp: 0x8035 };

function prefixBits(mask: number): number {
  const m = mask >>> 0;
  let bits = 0;
  while (bits < 32 && (m & (0x80000000 >>> bits)) !== 0) bits++;
  return ((bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits)) >>> 0) === m ? bits : -1;
}

/**
 * Field values a packet must have for the filter to match it (any one of them), or null when no
 * such set is known. Sound by construction: each atom names the very bytes the filter compares.
 */
export function indexAtoms(f: Filter): Atom[] | null {
  switch (f.kind) {
    case 'and': {
      const a = indexAtoms(f.left);
      const b = indexAtoms(f.right);
      if (!a) return b;
      if (!b) return a;
      return atomsShare(a) <= atomsShare(b) ? a : b;
    }
    case 'or': {
      const a = indexAtoms(f.left);
      const b = indexAtoms(f.right);
      if (!a || !b || a.length + b.length > MAX_ATOMS) return null;
      return [...a, ...b];
    }
    case 'port': {
      if (f.shift !== 0 || f.hi - f.lo >= MAX_PORT_SPAN) return null;
      const at = (field: Field): Atom => ({ field, lo: f.lo, hi: f.hi, bits: 16 });
      if (f.dir === 'src') return [at('sport')];
      if (f.dir === 'dst' || f.dir === 'and') return [at('dport')];
      return [at('sport'), at('dport')];
    }
    case 'host4': {
      const bits = prefixBits(f.mask);
      if (f.shift !== 0 || bits <= 0) return null;
      const at = (field: Field): Atom => ({ field, lo: (f.addr & f.mask) >>> 0, hi: (f.addr & f.mask) >>> 0, bits });
      if (f.dir === 'src') return [at('src4')];
      if (f.dir === 'dst' || f.dir === 'and') return [at('dst4')];
      return [at('src4'), at('dst4')];
    }
    case 'proto-name': {
      if (f.shift !== 0) return null;
      if (f.proto in L4_NUMBERS) return [{ field: 'l4', lo: L4_NUMBERS[f.proto], hi: L4_NUMBERS[f.proto], bits: 8 }];
      return [{ field: 'etype', lo: ETHER_TYPES[f.proto], hi: ETHER_TYPES[f.proto], bits: 16 }];
    }
    case 'proto': {
      if (f.shift !== 0) return null;
      if (f.qual === 'link') return f.value > 1500 && f.value <= 0xffff ? [{ field: 'etype', lo: f.value, hi: f.value, bits: 16 }] : null;
      return f.value !== 44 && f.value <= 255 ? [{ field: 'l4', lo: f.value, hi: f.value, bits: 8 }] : null;
    }
    case 'relation': {
      // The protocol checks libpcap puts before a `proto[…]` load (of the left operand of arithmetic).
      const load = checkedLoad(f.left) ?? checkedLoad(f.right);
      if (!load || load.shift !== 0) return null;
      if (load.proto in L4_NUMBERS) return [{ field: 'l4', lo: L4_NUMBERS[load.proto], hi: L4_NUMBERS[load.proto], bits: 8 }];
      if (load.proto in ETHER_TYPES) return [{ field: 'etype', lo: ETHER_TYPES[load.proto], hi: ETHER_TYPES[load.proto], bits: 16 }];
      return null;
    }
    default:
      return null;
  }
}

function checkedLoad(a: Arith): (Arith & { kind: 'load' }) | null {
  switch (a.kind) {
    case 'load':
      return a;
    case 'binary':
      return checkedLoad(a.left);
    case 'neg':
      return checkedLoad(a.operand);
    default:
      return null;
  }
}

// ---- necessary tests

type TestCond = Cond & { kind: 'test' };

/** A test of the filter's test tree that must come out `want` (and load in bounds) for the filter to match. */
export interface NecessaryTest {
  readonly test: TestCond;
  readonly want: boolean;
}

/**
 * The tests on every accepting path of the program: the tests of the top-level conjunction (through
 * `not` of a disjunction too). Each runs on the way to any accept, or libpcap's optimizer skipped
 * it because an earlier test with the same loads already decided it; a test whose two branches met
 * was removed only where both lead to reject. So a packet the filter matches makes every one of
 * them come out as wanted, and one that does not come out so rules the filter out.
 */
export function necessaryTests(c: Cond, want = true, out: NecessaryTest[] = []): NecessaryTest[] {
  switch (c.kind) {
    case 'test':
      out.push({ test: c, want });
      break;
    case 'not':
      necessaryTests(c.a, !want, out);
      break;
    case 'and':
      if (want) {
        necessaryTests(c.a, true, out);
        necessaryTests(c.b, true, out);
      }
      break;
    case 'or':
      if (!want) {
        necessaryTests(c.a, false, out);
        necessaryTests(c.b, false, out);
      }
      break;
    case 'const':
      break;
  }
  return out;
}

/** Rough share of packets for which the test comes out as wanted (smaller tests first, as keys and filters). */
function testShare(t: NecessaryTest): number {
  const s = t.test.stmts;
  const j = t.test.jcode & 0xf0;
  let p: number;
  if (s.length === 1 && s[0].code === (BPF_LD | BPF_H | BPF_ABS) && s[0].k === 12 && j === BPF_JEQ) {
    p = t.test.k === 0x0800 ? 0.8 : t.test.k === 0x86dd ? 0.15 : 0.05;
  } else if (s.some((x) => (x.code & 0xe0) === BPF_LEN && (x.code & 0x07) <= BPF_LDX)) p = 0.5;
  else if (j === BPF_JEQ) p = s.some((x) => x.code === (BPF_ALU | BPF_AND | BPF_K)) ? 0.5 : 0.1;
  else if (j === BPF_JSET) p = 0.3;
  else p = 0.5;
  return t.want ? p : 1 - p;
}

function testProgram(t: NecessaryTest): BpfInsn[] {
  return [
    ...t.test.stmts.map((x) => ({ code: x.code, jt: 0, jf: 0, k: x.k })),
    { code: t.test.jcode, jt: t.want ? 0 : 1, jf: t.want ? 1 : 0, k: t.test.k },
    { code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 1 },
    { code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 0 },
  ];
}

// Local copies: imported bindings may be property reads through getters once bundled.
const JEQ = 0x10;
const JGT = 0x20;
const JGE = 0x30;
const SIMPLE_NONE = 0;
const SIMPLE_ABS = 1;
const SIMPLE_IP_PAYLOAD = 2;
const SIMPLE_LEN = 3;

/** How to evaluate a test without its program: one load, an optional `and #mask`, one comparison with a constant. */
function simpleTest(t: NecessaryTest): { kind: number; off: number; size: number; mask: number; jop: number } | null {
  const s = t.test.stmts;
  if ((t.test.jcode & 0x0f) !== (BPF_JMP | BPF_K)) return null;
  const jop = t.test.jcode & 0xf0;
  let i = 0;
  let kind = SIMPLE_ABS;
  let off = 0;
  let size = 4;
  if (s.length > 0 && s[0].code === (BPF_LD | BPF_W | BPF_LEN)) {
    kind = SIMPLE_LEN;
    i = 1;
  } else {
    if (s.length > 0 && s[0].code === (BPF_LDX | BPF_B | BPF_MSH) && s[0].k === 14) {
      kind = SIMPLE_IP_PAYLOAD;
      i = 1;
    }
    const ld = s[i];
    if (!ld || (ld.code & 0xe7) !== (BPF_LD | (kind === SIMPLE_ABS ? BPF_ABS : BPF_IND)) || ld.k > 0xffff) return null;
    size = (ld.code & 0x18) === BPF_W ? 4 : (ld.code & 0x18) === BPF_H ? 2 : 1;
    off = ld.k;
    i++;
  }
  let mask = 0xffffffff;
  if (i < s.length && s[i].code === (BPF_ALU | BPF_AND | BPF_K)) {
    mask = s[i].k >>> 0;
    i++;
  }
  return i === s.length ? { kind, off, size, mask, jop } : null;
}

// ---- integer hash for address prefixes

/**
 * Open addressing from a 32-bit key to a small non-negative value; -1 when absent. Keys and values
 * sit side by side (one cache line a probe) and the slot is the top bits of the key times 2^32/φ,
 * which spreads network addresses whose low bits are all zero.
 */
class IntMap {
  private readonly slots: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  constructor(entries: ReadonlyArray<readonly [number, number]>) {
    let bits = 3;
    while (1 << bits < entries.length * 2) bits++;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.slots = new Int32Array(2 << bits);
    for (let i = 1; i < this.slots.length; i += 2) this.slots[i] = -1;
    for (const [k, v] of entries) {
      let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
      while (this.slots[2 * i + 1] >= 0) i = (i + 1) & this.mask;
      this.slots[2 * i] = k;
      this.slots[2 * i + 1] = v;
    }
  }
  get(k: number): number {
    const s = this.slots;
    const m = this.mask;
    for (let i = Math.imul(k, 0x9e3779b1) >>> this.shift; ; i = (i + 1) & m) {
      const v = s[2 * i + 1];
      if (v < 0 || s[2 * i] === k) return v;
    }
  }
}

export interface Classifier {
  /** Index of the first rule whose filter matches, or -1 when none does (the default applies). */
  classify(frame: Uint8Array, wireLen: number): number;
  /**
   * Rules reached through an index (a port, address, protocol or Ethernet type table, or a test
   * evaluated once per packet for all the rules that need it), rules tried for every packet, and
   * compiled functions (one per program shape, plus one per shared test).
   */
  readonly stats: { readonly indexed: number; readonly scanned: number; readonly functions: number };
}

/** Necessary tests checked before a rule's program runs, at most; and where a list entry holds what. */
const PRE_MAX = 4;
const E_RULE = 1;
const E_SHAPE = 2;
const E_TESTS = 3;
const E_CONSTANTS = E_TESTS + PRE_MAX;

/** Up to this many rules, the classifier tries each rule's program in turn. */
const FEW_RULES = 3;
const NONE = 0x7fffffff;

function sortedList(v: readonly number[]): Int32Array {
  return Int32Array.from(new Set(v)).sort();
}

type Key =
  | { readonly kind: 'atoms'; readonly atoms: readonly Atom[] }
  | { readonly kind: 'test'; readonly test: number }
  | { readonly kind: 'field'; readonly field: number; readonly value: number }
  | { readonly kind: 'none' };

/** A test that compares packet bytes at a fixed offset (under a mask) with a constant: `ld [off]; and #m; jeq #k`. */
function fieldOf(t: NecessaryTest): { size: number; off: number; mask: number; value: number } | null {
  const s = t.test.stmts;
  if (!t.want || t.test.jcode !== (BPF_JMP | BPF_JEQ | BPF_K) || s.length < 1 || s.length > 2) return null;
  const ld = s[0];
  if ((ld.code & 0xe7) !== (BPF_LD | BPF_ABS) || ld.k > 0xffff) return null;
  const size = ld.code & 0x18;
  let mask = size === BPF_W ? 0xffffffff : size === BPF_H ? 0xffff : 0xff;
  if (s.length === 2) {
    if (s[1].code !== (BPF_ALU | BPF_AND | BPF_K)) return null;
    mask = (mask & s[1].k) >>> 0;
  }
  return { size, off: ld.k, mask, value: t.test.k >>> 0 };
}

/** What the per-packet dispatch looks at, in the order it looks. */
interface DispatchPlan {
  readonly hasDP: boolean;
  readonly hasSP: boolean;
  readonly hasL4: boolean;
  readonly hasET: boolean;
  readonly D4: { readonly masks: Int32Array; readonly maps: IntMap[]; readonly top: Int32Array };
  readonly S4: { readonly masks: Int32Array; readonly maps: IntMap[]; readonly top: Int32Array };
  readonly fields: ReadonlyArray<{ readonly off: number; readonly size: number; readonly mask: number; readonly et: number; readonly map: IntMap }>;
  readonly testKeys: ReadonlyArray<{ readonly test: number; readonly list: number; readonly et: number }>;
  readonly generic: number;
  /** Per necessary test, how to evaluate it without its program, or null. */
  readonly tests: ReadonlyArray<TestPlan | null>;
}

/** The tables and functions the dispatch reads. */
interface DispatchData {
  readonly DP: Int32Array;
  readonly DPB: Int32Array;
  readonly SP: Int32Array;
  readonly SPB: Int32Array;
  readonly L4: Int32Array;
  readonly ET: Int32Array;
  readonly POOL: Int32Array;
  readonly MEMO: Int32Array;
  readonly testFns: ReadonlyArray<(p: Uint8Array, len: number) => boolean>;
  readonly shapeFns: ReadonlyArray<(p: Uint8Array, len: number, K: Int32Array, at: number) => boolean>;
}

/**
 * The classifier's per-packet function, generated for one rule set: it reads only the fields some
 * table is keyed by, looks up each table with its sizes, masks and list offsets written in as
 * literals (no loop over table descriptions), and tries each list it selects at once. Everything it
 * reads is a `var` of the generated scope, which a closure reads without the temporal-dead-zone
 * check a captured `const` costs.
 */
function generateDispatch(plan: DispatchPlan, data: DispatchData): (p: Uint8Array, wireLen: number) => number {
  const maps: IntMap[] = [];
  const mapVar = (m: IntMap): string => {
    maps.push(m);
    return `M${maps.length - 1}`;
  };
  const needS4 = plan.S4.masks.length > 0;
  const needD4 = plan.D4.masks.length > 0;
  const body: string[] = [];
  const lookups: string[] = [];
  const tryList = (list: string, test = '-1') => `best = run(${list}, ${test}, best, p, wireLen);`;
  if (plan.hasDP) lookups.push(`if (dp >= 0 && (DPB[dp >>> 5] & (1 << (dp & 31))) !== 0) ${tryList('DP[dp]')}`);
  if (plan.hasSP) lookups.push(`if (sp >= 0 && (SPB[sp >>> 5] & (1 << (sp & 31))) !== 0) ${tryList('SP[sp]')}`);
  const prefixes = (name: string, t: DispatchPlan['D4']) => {
    if (t.masks.length === 0) return;
    const lines = [`if (has${name}) {`, `  const lens = ${name}TOP[${name.toLowerCase()} >>> 16];`, '  if (lens !== 0) {'];
    t.masks.forEach((mask, i) => {
      const bit = i < 31 ? `(lens & ${1 << i}) !== 0 && ` : '';
      lines.push(`    if (${bit}(x = ${mapVar(t.maps[i])}.get(${name.toLowerCase()} & ${mask})) >= 0) ${tryList('x')}`);
    });
    lines.push('  }', '}');
    lookups.push(lines.join('\n'));
  };
  prefixes('D4', plan.D4);
  prefixes('S4', plan.S4);
  for (const f of plan.fields) {
    const at = (k: number) => `p[${f.off + k}]`;
    const value = f.size === 4 ? `((${at(0)} << 24) | (${at(1)} << 16) | (${at(2)} << 8) | ${at(3)})` : f.size === 2 ? `((${at(0)} << 8) | ${at(1)})` : at(0);
    const et = f.et >= 0 ? `et === ${f.et} && ` : '';
    lookups.push(`if (${et}n >= ${f.off + f.size} && (x = ${mapVar(f.map)}.get(${value} & ${f.mask})) >= 0) ${tryList('x')}`);
  }
  for (const k of plan.testKeys) lookups.push(`${k.et >= 0 ? `if (et === ${k.et}) ` : ''}${tryList(String(k.list), String(k.test))}`);
  if (plan.hasL4) lookups.push(`if (proto >= 0 && (x = L4[proto]) >= 0) ${tryList('x')}`);
  if (plan.hasET) lookups.push(`if (et >= 0 && (x = ET[et]) >= 0) ${tryList('x')}`);
  if (plan.generic >= 0) lookups.push(tryList(String(plan.generic)));
  body.push(
    '"use strict";',
    `var DP = data.DP, DPB = data.DPB, SP = data.SP, SPB = data.SPB, L4 = data.L4, ET = data.ET, POOL = data.POOL, MEMO = data.MEMO;`,
    'var testFns = data.testFns, shapeFns = data.shapeFns;',
    `var D4TOP = plan.D4.top, S4TOP = plan.S4.top;`,
    maps.length ? `var ${maps.map((_, i) => `M${i} = maps[${i}]`).join(', ')};` : '',
    // Bumped per packet, kept below 2^30 so that `stamp << 1` stays a small integer.
    'var stamp = 0;',
    testHoldsJs(plan.tests),
    RUN_LIST_JS,
    'return function classify(p, wireLen) {',
    '  stamp = (stamp + 1) | 0;',
    '  if (stamp === 1073741824) { MEMO.fill(0); stamp = 1; }',
    '  var n = p.length;',
    `  var et = -1, sp = -1, dp = -1, proto = -1, s4 = 0, d4 = 0, hasS4 = false, hasD4 = false, x = 0;`,
    fieldReadJs(needS4, needD4),
    `  var best = ${NONE};`,
    ...lookups.map((l) => l.replace(/^/gm, '  ')),
    `  return best === ${NONE} ? -1 : best;`,
    '};',
  );
  const factory = new Function('plan', 'data', 'maps', body.join('\n')) as (plan: DispatchPlan, data: DispatchData, maps: IntMap[]) => (p: Uint8Array, wireLen: number) => number;
  return factory(plan, data, maps);
}

/**
 * The fields as the index atoms read them: ports at the IHL offset (IPv4) or right after the fixed
 * header (IPv6), the protocol behind an IPv6 fragment header, ARP addresses as IPv4 ones.
 */
function fieldReadJs(needS4: boolean, needD4: boolean): string {
  const s4 = (a: number) => (needS4 ? `if (n >= ${a + 4}) { s4 = (p[${a}] << 24) | (p[${a + 1}] << 16) | (p[${a + 2}] << 8) | p[${a + 3}]; hasS4 = true; }` : '');
  const d4 = (a: number) => (needD4 ? `if (n >= ${a + 4}) { d4 = (p[${a}] << 24) | (p[${a + 1}] << 16) | (p[${a + 2}] << 8) | p[${a + 3}]; hasD4 = true; }` : '');
  return `
  if (n >= 14) {
    et = (p[12] << 8) | p[13];
    if (et === 0x0800) {
      if (n >= 24) proto = p[23];
      ${s4(26)}
      ${d4(30)}
      if (n > 14) {
        var t = 14 + ((p[14] & 15) << 2);
        if (t + 2 <= n) sp = (p[t] << 8) | p[t + 1];
        if (t + 4 <= n) dp = (p[t + 2] << 8) | p[t + 3];
      }
    } else if (et === 0x86dd) {
      if (n >= 21) {
        proto = p[20];
        if (proto === 44) proto = n >= 55 ? p[54] : -1;
      }
      if (n >= 56) sp = (p[54] << 8) | p[55];
      if (n >= 58) dp = (p[56] << 8) | p[57];
    } else if (et === 0x0806 || et === 0x8035) {
      ${s4(28)}
      ${d4(38)}
    }
  }`;
}

/** How to evaluate a test without its program (see `simpleTest`), as the classifier keeps it. */
export interface TestPlan {
  readonly kind: number;
  readonly off: number;
  readonly size: number;
  readonly mask: number;
  readonly jop: number;
  readonly k: number;
  readonly want: boolean;
}

/**
 * `testHolds(id, p, wireLen)`: whether necessary test `id` comes out as wanted on the packet, at
 * most one evaluation a packet (its memo in MEMO: (packet stamp << 1) | outcome).
 * Most tests are one load (at a fixed offset, after the IPv4 header, or the length), a mask and a
 * comparison: each of those is its own case, with its numbers written in; the rest run their
 * compiled program.
 */
function testHoldsJs(plans: ReadonlyArray<TestPlan | null>): string {
  const cases = plans.map((t, id) => {
    if (!t) return `    case ${id}: out = testFns[${id}](p, wireLen); break;`;
    const k = t.k >>> 0;
    const load = (at: string): string =>
      t.size === 1 ? `p[${at}]` : t.size === 2 ? `((p[${at}] << 8) | p[${at} + 1])` : `((p[${at}] << 24) | (p[${at} + 1] << 16) | (p[${at} + 2] << 8) | p[${at} + 3])`;
    const masked = (v: string): string => (t.mask >>> 0 === 0xffffffff ? `(${v} >>> 0)` : `((${v} & ${t.mask | 0}) >>> 0)`);
    // Unsigned comparisons, as cBPF's.
    const cmp = (x: string): string =>
      t.jop === JEQ ? `${x} === ${k}` : t.jop === JGT ? `${x} > ${k}` : t.jop === JGE ? `${x} >= ${k}` : `(${x} & ${k | 0}) !== 0`;
    const holds = (x: string): string => (t.want ? `(${cmp(x)})` : `!(${cmp(x)})`);
    if (t.kind === SIMPLE_LEN) return `    case ${id}: out = ${holds(masked('wireLen'))}; break;`;
    if (t.kind === SIMPLE_IP_PAYLOAD)
      return `    case ${id}: o = ${t.off} + ((p[14] & 15) << 2); out = n > 14 && o + ${t.size} <= n && ${holds(masked(load('o')))}; break;`;
    return `    case ${id}: out = n >= ${t.off + t.size} && ${holds(masked(load(String(t.off))))}; break;`;
  });
  return `
function testHolds(id, p, wireLen) {
  var memo = MEMO[id];
  if (memo >> 1 === stamp) return (memo & 1) === 1;
  var out = false, n = p.length, o = 0;
  switch (id) {
${cases.join('\n')}
  }
  MEMO[id] = (stamp << 1) | (out ? 1 : 0);
  return out;
}`;
}

/**
 * Tries the rules of the list at POOL[at] in rule order, below `best`, after the list's test
 * (`key`, or -1): the first whose necessary tests hold and whose program accepts is the list's
 * answer. Returns the better of it and `best`.
 */
const RUN_LIST_JS = `
function run(at, key, best, p, wireLen) {
  if (POOL[at + ${1 + E_RULE}] >= best) return best;
  if (key >= 0 && !testHolds(key, p, wireLen)) return best;
  for (var e = at + 1, left = POOL[at]; left > 0; left--, e += POOL[e]) {
    var r = POOL[e + ${E_RULE}];
    if (r >= best) return best;
    var ok = true;
    for (var q = e + ${E_TESTS}; q < e + ${E_CONSTANTS}; q++) {
      var t = POOL[q];
      if (t < 0) break;
      if (!testHolds(t, p, wireLen)) { ok = false; break; }
    }
    if (ok && shapeFns[POOL[e + ${E_SHAPE}]](p, wireLen, POOL, e + ${E_CONSTANTS})) return r;
  }
  return best;
}`;

/**
 * Builds a classifier over rules given in order, each as its filter and compiled program.
 *
 * Each rule is filed under one key it cannot match without — the field values `indexAtoms` finds
 * (looked up in per-port tables, per-prefix-length address tables, protocol and Ethernet type
 * tables), a necessary test comparing bytes at a fixed offset with a constant (a hash on those
 * bytes: IPv6 address words, say), or else another necessary test (evaluated once per packet for
 * all the rules filed under it) — chosen as the one fewest packets are expected to have; rules
 * with none are tried for every packet. A packet's fields are read once, each table
 * gives the rules it selects in rule order, and each list is tried only up to the best rule found
 * so far. Before a rule's program runs, its necessary tests are checked; each test is evaluated at
 * most once per packet however many rules share it. The rule's program decides in the end, so the
 * classifier means exactly what trying every rule in order means.
 */
export function createClassifier(rules: ReadonlyArray<{ readonly filter: Filter; readonly program: readonly BpfInsn[] }>): Classifier {
  type ShapeFn = (p: Uint8Array, len: number, K: Int32Array, at: number) => boolean;
  type TestFn = (p: Uint8Array, len: number) => boolean;
  const shapeFns: ShapeFn[] = [];
  const shapeIndex = new Map<string, number>();
  const ruleShape = new Int32Array(rules.length);
  const ruleConstants: number[][] = [];
  rules.forEach((r, i) => {
    const { key, constants } = programShape(r.program);
    let fn = shapeIndex.get(key);
    if (fn === undefined) {
      fn = shapeFns.length;
      shapeIndex.set(key, fn);
      shapeFns.push(new Function('p', 'len', 'K', 'at', bpfToJsSource(r.program, 'return true;', 'return false;', 'K', 'at')) as ShapeFn);
    }
    ruleShape[i] = fn;
    ruleConstants.push(constants);
  });

  if (rules.length <= FEW_RULES) {
    // So few rules that trying each is cheaper than reading the packet's fields first.
    const fns = rules.map((r) => bpfToMatcher(r.program));
    const f0 = fns[0], f1 = fns[1], f2 = fns[2];
    const n = rules.length;
    const classify = (p: Uint8Array, wireLen: number): number =>
      n > 0 && f0(p, wireLen) ? 0 : n > 1 && f1(p, wireLen) ? 1 : n > 2 && f2(p, wireLen) ? 2 : -1;
    return { classify, stats: { indexed: 0, scanned: n, functions: n } };
  }

  // Necessary tests, shared between rules by their text.
  const testFns: TestFn[] = [];
  const testShares: number[] = [];
  const testIndex = new Map<string, number>();
  const testDefs: NecessaryTest[] = [];
  // Fixed-offset comparisons, as fields the packet is looked up by.
  const fieldIndex = new Map<string, number>();
  const fieldDefs: Array<{ size: number; off: number; mask: number }> = [];
  const ruleFields: Array<Array<{ field: number; value: number; share: number }>> = rules.map(() => []);
  const ruleTests: number[][] = rules.map((r, ri) => {
    const ids: number[] = [];
    for (const t of necessaryTests(filterToCond(r.filter))) {
      const f = fieldOf(t);
      if (f) {
        const fk = `${f.size}:${f.off}:${f.mask}`;
        let fid = fieldIndex.get(fk);
        if (fid === undefined) {
          fid = fieldDefs.length;
          fieldIndex.set(fk, fid);
          fieldDefs.push(f);
        }
        ruleFields[ri].push({ field: fid, value: f.value, share: testShare(t) });
      }
      const key = `${t.test.key}|${t.test.jcode}|${t.test.k}|${t.want}`;
      let id = testIndex.get(key);
      if (id === undefined) {
        id = testFns.length;
        testIndex.set(key, id);
        testFns.push(new Function('p', 'len', bpfToJsSource(testProgram(t))) as TestFn);
        testShares.push(testShare(t));
        testDefs.push(t);
      }
      if (!ids.includes(id)) ids.push(id);
    }
    // The likeliest to fail first.
    return ids.sort((a, b) => testShares[a] - testShares[b]).slice(0, PRE_MAX);
  });

  // Each rule's key: the candidate seen by the fewest packets, counting how many rules share it.
  const atomsOf = rules.map((r) => indexAtoms(r.filter));
  const crowd = new Map<string, number>();
  const atomKey = (a: Atom) => `${a.field}:${a.lo}:${a.hi}:${a.bits}`;
  atomsOf.forEach((atoms) => atoms?.forEach((a) => crowd.set(atomKey(a), (crowd.get(atomKey(a)) ?? 0) + 1)));
  const testCrowd = new Map<number, number>();
  ruleTests.forEach((ids) => ids.forEach((id) => testCrowd.set(id, (testCrowd.get(id) ?? 0) + 1)));
  const fieldCrowd = new Map<string, number>();
  ruleFields.forEach((fs) => fs.forEach((f) => fieldCrowd.set(`${f.field}:${f.value}`, (fieldCrowd.get(`${f.field}:${f.value}`) ?? 0) + 1)));
  const keys: Key[] = rules.map((_, i) => {
    let best: Key = { kind: 'none' };
    let bestCost = 1;
    const atoms = atomsOf[i];
    if (atoms) {
      // A crowded value costs more only when many rules share it; a rule alone costs its share.
      let cost = 0;
      for (const a of atoms) cost += atomShare(a) * Math.max(1, Math.sqrt(crowd.get(atomKey(a)) ?? 1));
      if (cost < bestCost) {
        best = { kind: 'atoms', atoms };
        bestCost = cost;
      }
    }
    for (const f of ruleFields[i]) {
      const cost = f.share * Math.max(1, Math.sqrt(fieldCrowd.get(`${f.field}:${f.value}`) ?? 1));
      if (cost < bestCost) {
        best = { kind: 'field', field: f.field, value: f.value };
        bestCost = cost;
      }
    }
    for (const id of ruleTests[i]) {
      // Evaluating a test once for many rules is cheaper than once per rule.
      const cost = testShares[id] * 1.5;
      if (cost < bestCost) {
        best = { kind: 'test', test: id };
        bestCost = cost;
      }
    }
    return best;
  });

  // The tables.
  const generic: number[] = [];
  const sport = new Map<number, number[]>();
  const dport = new Map<number, number[]>();
  const l4 = new Map<number, number[]>();
  const etype = new Map<number, number[]>();
  const addr = { src4: new Map<number, Map<number, number[]>>(), dst4: new Map<number, Map<number, number[]>>() };
  const byTest = new Map<number, number[]>();
  const byField = new Map<number, Map<number, number[]>>();
  const push = <K>(m: Map<K, number[]>, k: K, i: number) => {
    const l = m.get(k);
    if (l) l.push(i);
    else m.set(k, [i]);
  };
  keys.forEach((key, i) => {
    if (key.kind === 'none') generic.push(i);
    else if (key.kind === 'test') push(byTest, key.test, i);
    else if (key.kind === 'field') {
      let m = byField.get(key.field);
      if (!m) byField.set(key.field, (m = new Map()));
      push(m, key.value | 0, i);
    }
    else {
      for (const a of key.atoms) {
        if (a.field === 'sport' || a.field === 'dport') for (let v = a.lo; v <= a.hi; v++) push(a.field === 'sport' ? sport : dport, v, i);
        else if (a.field === 'l4') push(l4, a.lo, i);
        else if (a.field === 'etype') push(etype, a.lo, i);
        else {
          const byLen = addr[a.field];
          let m = byLen.get(a.bits);
          if (!m) byLen.set(a.bits, (m = new Map()));
          push(m, a.lo | 0, i);
        }
      }
    }
  });
  // Every list, one after another in one array; tables hold list numbers (-1 for none).
  // Every list, one after another in one array, each entry carrying all that trying its rule needs
  // (so that a candidate costs a cache line or two, not one per lookup table):
  //   list:  count, then `count` entries in rule order;
  //   entry: its length, the rule, its program shape, PRE_MAX necessary tests (-1 pads), then the
  //          constants its program compares with.
  // Tables hold the offset of a list (-1 for none).
  const pool: number[] = [];
  const addList = (v: readonly number[]): number => {
    const at = pool.length;
    const rs = sortedList(v);
    pool.push(rs.length);
    for (const r of rs) {
      const tests = ruleTests[r];
      const constants = ruleConstants[r];
      pool.push(E_CONSTANTS + constants.length, r, ruleShape[r]);
      for (let q = 0; q < PRE_MAX; q++) pool.push(q < tests.length ? tests[q] : -1);
      for (const k of constants) pool.push(k | 0);
    }
    return at;
  };
  const table = (m: Map<number, number[]>, size: number): Int32Array => {
    const t = new Int32Array(size).fill(-1);
    for (const [k, v] of m) t[k] = addList(v);
    return t;
  };
  const SP = table(sport, 65536);
  const DP = table(dport, 65536);
  // Which ports have a list, a bit each: 8 KiB that stay in cache, where the 256 KiB tables do not,
  // so that a packet to a port no rule names costs no miss.
  const portBits = (t: Int32Array): Int32Array => {
    const bits = new Int32Array(2048);
    t.forEach((l, port) => {
      if (l >= 0) bits[port >>> 5] |= 1 << (port & 31);
    });
    return bits;
  };
  const SPB = portBits(SP);
  const DPB = portBits(DP);
  const L4 = table(l4, 256);
  const ET = table(etype, 65536);
  const hasSP = sport.size > 0;
  const hasDP = dport.size > 0;
  const hasL4 = l4.size > 0;
  const hasET = etype.size > 0;
  // Per address table: for each prefix length, a hash from network to list; and for each value of
  // an address's top 16 bits, which prefix lengths hold a network there (bit i for the i-th length,
  // all bits past the 31st), so that most addresses need no hashing at all.
  const prefixTables = (byLen: Map<number, Map<number, number[]>>): { masks: Int32Array; maps: IntMap[]; top: Int32Array } => {
    const lens = [...byLen.keys()].sort((a, b) => b - a);
    const top = new Int32Array(65536);
    lens.forEach((b, i) => {
      const bit = i < 31 ? 1 << i : 1 << 31;
      for (const net of byLen.get(b)!.keys()) {
        const hi = net >>> 16;
        const span = b >= 16 ? 1 : 1 << (16 - b);
        for (let t = hi; t < hi + span; t++) top[t] |= bit;
      }
    });
    return {
      masks: Int32Array.from(lens, (b) => (b === 32 ? -1 : ~(0xffffffff >>> b))),
      maps: lens.map((b) => new IntMap([...byLen.get(b)!].map(([k, v]) => [k, addList(v)] as const))),
      top,
    };
  };
  const S4 = prefixTables(addr.src4);
  const D4 = prefixTables(addr.dst4);
  const usedFields = [...byField.keys()];
  const FIELD_OFF = Int32Array.from(usedFields, (f) => fieldDefs[f].off);
  const FIELD_SIZE = Int32Array.from(usedFields, (f) => (fieldDefs[f].size === BPF_W ? 4 : fieldDefs[f].size === BPF_H ? 2 : 1));
  const FIELD_MASK = Int32Array.from(usedFields, (f) => fieldDefs[f].mask | 0);
  const FIELD_MAP = usedFields.map((f) => new IntMap([...byField.get(f)!].map(([k, v]) => [k, addList(v)] as const)));
  // The Ethernet type every rule of a list needs (a necessary `ldh [12]` test), or -1: the list is
  // not even looked at for a packet of another type.
  const etOfTest = (id: number): number => {
    const t = testDefs[id];
    const st = t.test.stmts;
    return t.want && t.test.jcode === (BPF_JMP | BPF_JEQ | BPF_K) && st.length === 1 && st[0].code === (BPF_LD | BPF_H | BPF_ABS) && st[0].k === 12 ? t.test.k : -1;
  };
  const commonEt = (rs: readonly number[]): number => {
    let et = -2;
    for (const r of rs) {
      let mine = -1;
      for (const id of ruleTests[r]) if (etOfTest(id) >= 0) mine = etOfTest(id);
      if (mine < 0 || (et !== -2 && et !== mine)) return -1;
      et = mine;
    }
    return et < 0 ? -1 : et;
  };
  const FIELD_ET = Int32Array.from(usedFields, (f) => commonEt([...byField.get(f)!.values()].flat()));
  const testKeyIds = Int32Array.from([...byTest.keys()].sort((a, b) => byTest.get(a)![0] - byTest.get(b)![0]));
  const testKeyLists = Int32Array.from(testKeyIds, (id) => addList(byTest.get(id)!));
  const TESTKEY_ET = Int32Array.from(testKeyIds, (id) => commonEt(byTest.get(id)!));
  const G = generic.length > 0 ? addList(generic) : -1;
  const POOL = Int32Array.from(pool);

  // Per test, its memo: (packet stamp << 1) | outcome.
  const MEMO = new Int32Array(testFns.length);
  const classify = generateDispatch({
    hasDP, hasSP, hasL4, hasET, D4, S4,
    fields: usedFields.map((f, i) => ({ off: FIELD_OFF[i], size: FIELD_SIZE[i], mask: FIELD_MASK[i], et: FIELD_ET[i], map: FIELD_MAP[i] })),
    testKeys: Array.from(testKeyIds, (id, i) => ({ test: id, list: testKeyLists[i], et: TESTKEY_ET[i] })),
    generic: G,
    tests: testDefs.map((t) => {
      const plan = simpleTest(t);
      return plan ? { ...plan, k: t.test.k, want: t.want } : null;
    }),
  }, { DP, DPB, SP, SPB, L4, ET, POOL, MEMO, testFns, shapeFns });
  return {
    classify,
    stats: { indexed: rules.length - generic.length, scanned: generic.length, functions: shapeFns.length + testFns.length },
  };
}
