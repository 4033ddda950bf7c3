// steer: the in-process matcher — cBPF turned into JavaScript, and a classifier for a whole rule file.
//
// A rule's cBPF program is translated instruction for instruction into a JS function (forward jumps
// become `break` out of nested labelled blocks), so the matcher means exactly what the program
// means, out-of-bounds rejects included, without an interpreter loop or any allocation per packet.
// The classifier indexes rules by a field they cannot match without — destination or source port,
// IPv4 address, IP protocol, Ethernet type — so a packet runs only the rules that could match it,
// in rule order; rules with no such field are always run.

import type { Arith, Filter } from './ast';
import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JA, BPF_JEQ, BPF_JGE,
  BPF_JGT, BPF_JMP, BPF_JSET, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MISC, BPF_MOD, BPF_MSH, BPF_MUL,
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
 * with other statements for accept and reject, to inline the program into a bigger function.
 */
export function bpfToJsSource(program: readonly BpfInsn[], accept = 'return true;', reject = 'return false;', constants?: string): string {
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
        const b = ins.code & BPF_X ? 'X' : constants ? `${constants}[${nextConstant++}]` : String(k);
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
interface Atom {
  readonly field: Field;
  readonly value: number;
}
const FIELD_RANK: Readonly<Record<Field, number>> = { sport: 0, dport: 0, src4: 1, dst4: 1, l4: 2, etype: 3 };
const MAX_ATOMS = 64;

function score(atoms: readonly Atom[]): number {
  let worst = 0;
  for (const a of atoms) worst = Math.max(worst, FIELD_RANK[a.field]);
  return worst * 1000 + atoms.length;
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
      return score(a) <= score(b) ? a : b;
    }
    case 'or': {
      const a = indexAtoms(f.left);
      const b = indexAtoms(f.right);
      if (!a || !b || a.length + b.length > MAX_ATOMS) return null;
      return [...a, ...b];
    }
    case 'port': {
      if (f.shift !== 0 || f.hi - f.lo >= 16) return null;
      const out: Atom[] = [];
      for (let v = f.lo; v <= f.hi; v++) {
        if (f.dir === 'src') out.push({ field: 'sport', value: v });
        else if (f.dir === 'dst' || f.dir === 'and') out.push({ field: 'dport', value: v });
        else out.push({ field: 'sport', value: v }, { field: 'dport', value: v });
      }
      return out;
    }
    case 'host4': {
      if (f.shift !== 0 || f.mask !== 0xffffffff) return null;
      const v = f.addr | 0;
      if (f.dir === 'src') return [{ field: 'src4', value: v }];
      if (f.dir === 'dst' || f.dir === 'and') return [{ field: 'dst4', value: v }];
      return [{ field: 'src4', value: v }, { field: 'dst4', value: v }];
    }
    case 'proto-name': {
      if (f.shift !== 0) return null;
      const l4: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, igmp: 2, icmp6: 58 };
      const et: Record<string, number> = { ip: 0x0800, ip6: 0x86dd, arp: 0x0806, rarp: 0x8035 };
      if (f.proto in l4) return [{ field: 'l4', value: l4[f.proto] }];
      return [{ field: 'etype', value: et[f.proto] }];
    }
    case 'proto': {
      if (f.shift !== 0) return null;
      if (f.qual === 'link') return f.value > 1500 && f.value <= 0xffff ? [{ field: 'etype', value: f.value }] : null;
      return f.value !== 44 && f.value <= 255 ? [{ field: 'l4', value: f.value }] : null;
    }
    case 'relation': {
      // The protocol checks libpcap puts before a `proto[…]` load (of the left operand of arithmetic).
      const load = checkedLoad(f.left) ?? checkedLoad(f.right);
      if (!load || load.shift !== 0) return null;
      const l4: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, igmp: 2, icmp6: 58 };
      const et: Record<string, number> = { ip: 0x0800, ip6: 0x86dd, arp: 0x0806, rarp: 0x8035 };
      if (load.proto in l4) return [{ field: 'l4', value: l4[load.proto] }];
      if (load.proto in et) return [{ field: 'etype', value: et[load.proto] }];
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

export interface Classifier {
  /** Index of the first rule whose filter matches, or -1 when none does (the default applies). */
  classify(frame: Uint8Array, wireLen: number): number;
  /** Rules indexed by a field, rules tried for every packet, and compiled functions (one per program shape). */
  readonly stats: { readonly indexed: number; readonly scanned: number; readonly functions: number };
}

const EMPTY = new Int32Array(0);

function toLists<K>(m: Map<K, number[]>): Map<K, Int32Array> {
  const out = new Map<K, Int32Array>();
  for (const [k, v] of m) out.set(k, Int32Array.from(new Set(v)).sort());
  return out;
}

/** Builds a classifier over rules given in order, each as its filter and compiled program. */
export function createClassifier(rules: ReadonlyArray<{ readonly filter: Filter; readonly program: readonly BpfInsn[] }>): Classifier {
  type ShapeFn = (p: Uint8Array, len: number, K: Float64Array) => boolean;
  const shapeFns: ShapeFn[] = [];
  const shapeIndex = new Map<string, number>();
  const ruleShape = new Int32Array(rules.length);
  const ruleConstants: Float64Array[] = [];
  rules.forEach((r, i) => {
    const { key, constants } = programShape(r.program);
    let fn = shapeIndex.get(key);
    if (fn === undefined) {
      fn = shapeFns.length;
      shapeIndex.set(key, fn);
      shapeFns.push(new Function('p', 'len', 'K', bpfToJsSource(r.program, 'return true;', 'return false;', 'K')) as ShapeFn);
    }
    ruleShape[i] = fn;
    ruleConstants.push(Float64Array.from(constants));
  });
  const generic: number[] = [];
  const maps: Record<Field, Map<number, number[]>> = {
    sport: new Map(), dport: new Map(), src4: new Map(), dst4: new Map(), l4: new Map(), etype: new Map(),
  };
  rules.forEach((r, i) => {
    const atoms = indexAtoms(r.filter);
    if (!atoms) {
      generic.push(i);
      return;
    }
    for (const a of atoms) {
      const m = maps[a.field];
      const list = m.get(a.value);
      if (list) list.push(i);
      else m.set(a.value, [i]);
    }
  });
  const table = (m: Map<number, number[]>, size: number): Int32Array[] => {
    const t = new Array<Int32Array>(size).fill(EMPTY);
    for (const [k, v] of toLists(m)) t[k] = v;
    return t;
  };
  const G = Int32Array.from(generic);
  const SP = table(maps.sport, 65536);
  const DP = table(maps.dport, 65536);
  const L4 = table(maps.l4, 256);
  const ET = table(maps.etype, 65536);
  const S4 = toLists(maps.src4);
  const D4 = toLists(maps.dst4);
  const hasS4 = S4.size > 0;
  const hasD4 = D4.size > 0;
  const NONE = 0x7fffffff;

  function classify(p: Uint8Array, wireLen: number): number {
    const n = p.length;
    let et = -1, sport = -1, dport = -1, l4 = -1;
    let s4: Int32Array = EMPTY, d4: Int32Array = EMPTY;
    if (n >= 14) {
      et = (p[12] << 8) | p[13];
      if (et === 0x0800) {
        if (n >= 24) l4 = p[23];
        if (hasS4 && n >= 30) s4 = S4.get((p[26] << 24) | (p[27] << 16) | (p[28] << 8) | p[29]) ?? EMPTY;
        if (hasD4 && n >= 34) d4 = D4.get((p[30] << 24) | (p[31] << 16) | (p[32] << 8) | p[33]) ?? EMPTY;
        if (n > 14) {
          const t = 14 + ((p[14] & 15) << 2);
          if (t + 2 <= n) sport = (p[t] << 8) | p[t + 1];
          if (t + 4 <= n) dport = (p[t + 2] << 8) | p[t + 3];
        }
      } else if (et === 0x86dd) {
        if (n >= 21) {
          l4 = p[20];
          if (l4 === 44) l4 = n >= 55 ? p[54] : -1;
        }
        if (n >= 56) sport = (p[54] << 8) | p[55];
        if (n >= 58) dport = (p[56] << 8) | p[57];
      } else if (et === 0x0806 || et === 0x8035) {
        if (hasS4 && n >= 32) s4 = S4.get((p[28] << 24) | (p[29] << 16) | (p[30] << 8) | p[31]) ?? EMPTY;
        if (hasD4 && n >= 42) d4 = D4.get((p[38] << 24) | (p[39] << 16) | (p[40] << 8) | p[41]) ?? EMPTY;
      }
    }
    const a = sport >= 0 ? SP[sport] : EMPTY;
    const b = dport >= 0 ? DP[dport] : EMPTY;
    const c = l4 >= 0 ? L4[l4] : EMPTY;
    const d = et >= 0 ? ET[et] : EMPTY;
    // Candidates in rule order: rules without an index field, and those the packet's fields select.
    let ig = 0, ia = 0, ib = 0, ic = 0, id = 0, is = 0, iD = 0;
    for (;;) {
      let best = NONE;
      if (ig < G.length && G[ig] < best) best = G[ig];
      if (ia < a.length && a[ia] < best) best = a[ia];
      if (ib < b.length && b[ib] < best) best = b[ib];
      if (ic < c.length && c[ic] < best) best = c[ic];
      if (id < d.length && d[id] < best) best = d[id];
      if (is < s4.length && s4[is] < best) best = s4[is];
      if (iD < d4.length && d4[iD] < best) best = d4[iD];
      if (best === NONE) return -1;
      if (ig < G.length && G[ig] === best) ig++;
      if (ia < a.length && a[ia] === best) ia++;
      if (ib < b.length && b[ib] === best) ib++;
      if (ic < c.length && c[ic] === best) ic++;
      if (id < d.length && d[id] === best) id++;
      if (is < s4.length && s4[is] === best) is++;
      if (iD < d4.length && d4[iD] === best) iD++;
      if (shapeFns[ruleShape[best]](p, wireLen, ruleConstants[best])) return best;
    }
  }

  return { classify, stats: { indexed: rules.length - generic.length, scanned: generic.length, functions: shapeFns.length } };
}
