// steer: `.bypass` rule files — parsing, checking and compiling a whole file.
//
//   default kernel
//   bypass  udp and dst portrange 20000-20999      # market data
//   kernel  tcp port 22
//
// One rule a line, first match wins, `#` starts a comment, exactly one `default ACTION` line (a
// missing one is a warning and means `default kernel`). Every line is checked on its own, so one bad
// rule does not hide the diagnostics of the others; a file with errors still yields its good rules,
// and `ok` says whether it may be loaded.

import type { Filter } from './ast';
import { compileBpf, type BpfInsn } from './bpf';
import { createClassifier, type Classifier } from './matcher';
import { parseFilter } from './parser';
import { implies } from './semantics';

export type Action = 'bypass' | 'kernel' | 'drop';
export const ACTIONS: readonly Action[] = ['bypass', 'kernel', 'drop'];

/** Linux's limit on a classic BPF program (BPF_MAXINSNS). */
const BPF_MAXINSNS = 4096;

/** A place in the rule file: 1-based line and column, 0-based offset, length in UTF-16 units. */
export interface SourceRange {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;
}

export type Severity = 'error' | 'warning';

export type DiagnosticCode =
  | 'syntax' // the filter does not parse
  | 'unknown-name' // unknown service, protocol or ether type name
  | 'port-range' // a port number above 65535
  | 'bad-network' // host bits set in a network, mask length too long
  | 'unsupported' // valid pcap-filter outside what rules support
  | 'invalid-filter' // any other filter error tcpdump also reports
  | 'never-matches' // the filter can match no packet
  | 'unknown-action'
  | 'missing-filter'
  | 'duplicate-default'
  | 'missing-default'
  | 'shadowed'
  | 'too-long'; // more cBPF instructions than the kernel accepts

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly range: SourceRange;
  /** Another place the message refers to (the first `default`, the rule that shadows this one). */
  readonly related?: { readonly message: string; readonly range: SourceRange };
}

export interface Rule {
  /** Position among the file's valid rules; what the classifier returns. */
  readonly index: number;
  readonly action: Action;
  readonly filterText: string;
  readonly filter: Filter;
  /** Classic BPF for the filter (accept returns 262144, reject 0). */
  readonly program: readonly BpfInsn[];
  readonly range: SourceRange;
  readonly actionRange: SourceRange;
  readonly filterRange: SourceRange;
}

export interface RuleSet {
  readonly rules: readonly Rule[];
  /** The `default` line, if there is one. */
  readonly default: { readonly action: Action; readonly range: SourceRange } | undefined;
  /** What applies when no rule matches: the default line's action, or `kernel`. */
  readonly defaultAction: Action;
  readonly diagnostics: readonly Diagnostic[];
  /** No errors (warnings allowed). */
  readonly ok: boolean;
}

/** Maps offsets in a text to lines and columns. */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }
  range(offset: number, length: number): SourceRange {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo] + 1, offset, length };
  }
}

function codeFor(message: string): DiagnosticCode {
  if (message.startsWith('syntax error') || message.startsWith('empty filter') || message.startsWith('illegal character')) return 'syntax';
  if (/^unknown (port|ip proto|or unsupported ether proto)/.test(message)) return 'unknown-name';
  if (/illegal port number/.test(message)) return 'port-range';
  if (/non-network bits|mask length/.test(message)) return 'bad-network';
  if (/not supported/.test(message)) return 'unsupported';
  if (/rejects all packets/.test(message)) return 'never-matches';
  return 'invalid-filter';
}

const WORD = /\S+/g;

/** Parses and checks a rule file. */
export function parseRules(text: string): RuleSet {
  const lines = new LineIndex(text);
  const diagnostics: Diagnostic[] = [];
  const rules: Rule[] = [];
  let def: RuleSet['default'];
  let lineStart = 0;
  for (const rawLine of text.split('\n')) {
    const start = lineStart;
    lineStart += rawLine.length + 1;
    const hash = rawLine.indexOf('#');
    const content = (hash >= 0 ? rawLine.slice(0, hash) : rawLine).replace(/\s+$/, '');
    WORD.lastIndex = 0;
    const first = WORD.exec(content);
    if (!first) continue;
    const word = first[0];
    const wordRange = lines.range(start + first.index, word.length);
    const lineRange = lines.range(start + first.index, content.length - first.index);
    const second = WORD.exec(content);
    if (word === 'default') {
      const action = second?.[0];
      const extra = WORD.exec(content);
      if (!action || !ACTIONS.includes(action as Action)) {
        diagnostics.push({
          severity: 'error',
          code: 'unknown-action',
          message: action ? `unknown action '${action}' (expected bypass, kernel or drop)` : "'default' needs an action: bypass, kernel or drop",
          range: action ? lines.range(start + second!.index, action.length) : wordRange,
        });
        continue;
      }
      if (extra) {
        diagnostics.push({
          severity: 'error',
          code: 'syntax',
          message: "the default line takes an action only, no filter",
          range: lines.range(start + extra.index, content.length - extra.index),
        });
        continue;
      }
      if (def) {
        diagnostics.push({
          severity: 'error',
          code: 'duplicate-default',
          message: `duplicate default (the first is on line ${def.range.line})`,
          range: lineRange,
          related: { message: 'first default', range: def.range },
        });
        continue;
      }
      def = { action: action as Action, range: lineRange };
      continue;
    }
    if (!ACTIONS.includes(word as Action)) {
      diagnostics.push({
        severity: 'error',
        code: 'unknown-action',
        message: `unknown action '${word}' (expected default, bypass, kernel or drop)`,
        range: wordRange,
      });
      continue;
    }
    if (!second) {
      diagnostics.push({ severity: 'error', code: 'missing-filter', message: `'${word}' needs a filter, e.g. '${word} tcp port 80'`, range: wordRange });
      continue;
    }
    const filterOffset = start + second.index;
    const filterText = content.slice(second.index);
    const filterRange = lines.range(filterOffset, filterText.length);
    const at = (span: { offset: number; length: number }) => lines.range(filterOffset + span.offset, Math.max(span.length, 1));
    const parsed = parseFilter(filterText);
    if (!parsed.ok) {
      diagnostics.push({ severity: 'error', code: codeFor(parsed.error.message), message: parsed.error.message, range: at(parsed.error.span) });
      continue;
    }
    for (const w of parsed.warnings) diagnostics.push({ severity: 'warning', code: 'never-matches', message: w.message, range: at(w.span) });
    const compiled = compileBpf(parsed.filter);
    if (!compiled.ok) {
      diagnostics.push({ severity: 'error', code: codeFor(compiled.error.message), message: compiled.error.message, range: at(compiled.error.span) });
      continue;
    }
    if (compiled.program.length > BPF_MAXINSNS) {
      diagnostics.push({
        severity: 'warning',
        code: 'too-long',
        message: `the filter compiles to ${compiled.program.length} cBPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}: it steers in process but cannot be attached to a socket`,
        range: filterRange,
      });
    }
    rules.push({
      index: rules.length,
      action: word as Action,
      filterText,
      filter: parsed.filter,
      program: compiled.program,
      range: lineRange,
      actionRange: wordRange,
      filterRange,
    });
  }
  if (!def) {
    diagnostics.push({
      severity: 'warning',
      code: 'missing-default',
      message: "no 'default' line: packets no rule matches go to the kernel",
      range: lines.range(0, 0),
    });
  }
  diagnostics.push(...shadowDiagnostics(rules));
  diagnostics.sort((a, b) => a.range.offset - b.range.offset);
  return {
    rules,
    default: def,
    defaultAction: def?.action ?? 'kernel',
    diagnostics,
    ok: !diagnostics.some((d) => d.severity === 'error'),
  };
}

function conjunctList(f: Filter, out: Filter[] = []): Filter[] {
  if (f.kind === 'and') {
    conjunctList(f.left, out);
    conjunctList(f.right, out);
  } else out.push(f);
  return out;
}

/**
 * A primitive conjunct of `b` that `implies(a, b)` can only see implied by a conjunct of `a` of the
 * same kind (a port inside its range, an address inside its network), to rule pairs out cheaply.
 */
function shadowNeed(f: Filter): Filter | undefined {
  if (f.kind === 'or') return undefined;
  const cs = conjunctList(f);
  return cs.find((c) => c.kind === 'port') ?? cs.find((c) => c.kind === 'host4') ?? cs.find((c) => c.kind === 'host6') ?? cs.find((c) => c.kind === 'relation');
}

function mayImply(have: readonly Filter[], need: Filter): boolean {
  for (const h of have) {
    if (h.kind !== need.kind) continue;
    if (h.kind === 'port' && need.kind === 'port') {
      if (h.lo >= need.lo && h.hi <= need.hi) return true;
    } else if (h.kind === 'host4' && need.kind === 'host4') {
      if (((h.mask & need.mask) >>> 0) === need.mask >>> 0 && ((h.addr & need.mask) >>> 0) === need.addr >>> 0) return true;
    } else return true;
  }
  return false;
}

/** Port needs spanning more ports than this are not indexed port by port. */
const WIDE_PORT_SPAN = 1024;

/**
 * Earlier rules filed by what `mayImply` asks of a later rule, so that a later rule meets only the
 * earlier rules that could contain it: those with no need, those whose need is a port range
 * holding one of its ports, an IPv4 network holding one of its addresses, or of a kind it has.
 */
class ShadowIndex {
  private readonly always: number[] = [];
  private readonly byKind = new Map<string, number[]>();
  private readonly byPort = new Map<number, number[]>();
  private readonly widePorts: number[] = [];
  /** Need mask → need network → rules. */
  private readonly byNet = new Map<number, Map<number, number[]>>();

  constructor(private readonly needs: ReadonlyArray<Filter | undefined>) {}

  add(i: number): void {
    const need = this.needs[i];
    const push = <K>(m: Map<K, number[]>, k: K) => {
      const l = m.get(k);
      if (l) l.push(i);
      else m.set(k, [i]);
    };
    if (!need) this.always.push(i);
    else if (need.kind === 'port') {
      if (need.hi - need.lo > WIDE_PORT_SPAN) this.widePorts.push(i);
      else for (let port = need.lo; port <= need.hi; port++) push(this.byPort, port);
    } else if (need.kind === 'host4') {
      let m = this.byNet.get(need.mask >>> 0);
      if (!m) this.byNet.set(need.mask >>> 0, (m = new Map()));
      push(m, need.addr >>> 0);
    } else push(this.byKind, need.kind);
  }

  /** Earlier rules that may contain a rule with these conjuncts (every earlier rule for a disjunction), in rule order. */
  candidates(have: readonly Filter[] | undefined, all: number): number[] {
    if (!have) return Array.from({ length: all }, (_, i) => i);
    const out = new Set<number>(this.always);
    const kinds = new Set<string>();
    for (const h of have) {
      kinds.add(h.kind);
      if (h.kind === 'port') {
        for (const r of this.byPort.get(h.lo) ?? []) out.add(r);
      } else if (h.kind === 'host4') {
        for (const [mask, nets] of this.byNet) {
          if (((h.mask & mask) >>> 0) !== mask) continue;
          for (const r of nets.get((h.addr & mask) >>> 0) ?? []) out.add(r);
        }
      }
    }
    if (kinds.has('port')) for (const r of this.widePorts) out.add(r);
    for (const k of kinds) for (const r of this.byKind.get(k) ?? []) out.add(r);
    return [...out].sort((a, b) => a - b);
  }
}

/** Warnings for rules an earlier rule always matches first. */
export function shadowDiagnostics(rules: readonly Rule[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // `implies` needs each conjunct of the earlier rule implied by a conjunct of the later one: only
  // earlier rules whose port, address or relation could be are looked at (10,000 rules are 50M pairs).
  const needs = rules.map((r) => shadowNeed(r.filter));
  const index = new ShadowIndex(needs);
  for (const later of rules) {
    const have = later.filter.kind === 'or' ? undefined : conjunctList(later.filter);
    let earlier: Rule | undefined;
    for (const i of index.candidates(have, later.index)) {
      const need = needs[i];
      if (have && need && !mayImply(have, need)) continue;
      if (implies(later.filter, rules[i].filter)) {
        earlier = rules[i];
        break;
      }
    }
    index.add(later.index);
    if (!earlier) continue;
    out.push({
      severity: 'warning',
      code: 'shadowed',
      message: `this rule never applies: every packet it matches is matched first by the rule on line ${earlier.range.line}`,
      range: later.filterRange,
      related: { message: 'the earlier rule', range: earlier.filterRange },
    });
  }
  return out;
}

/** A classifier for the rule set: `classify` gives the index of the first matching rule, or -1. */
export function classifierFor(set: RuleSet): Classifier {
  return createClassifier(set.rules);
}

/** The action for a classification result. */
export function actionFor(set: RuleSet, ruleIndex: number): Action {
  return ruleIndex < 0 ? set.defaultAction : set.rules[ruleIndex].action;
}
