// rules: quick fixes for the engine's diagnostics — add the missing default, remove a duplicate default
// or a rule that never applies, correct a misspelt action or service name, clear a network's host bits.
import { lookupService } from '../../engine/steer/services';
import type { EditorDiagnostic } from './diagnostics';
import { allServiceNames } from './vocabulary';

export interface TextEdit {
  /** Offsets into the text. */
  readonly start: number;
  readonly end: number;
  readonly newText: string;
}

export interface QuickFix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
  /** The fix to apply with one keystroke when there is a single obvious one. */
  readonly preferred: boolean;
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** The closest words to `word` (at most two edits away, or a prefix of it), nearest first. */
export function closest(word: string, candidates: readonly string[], max = 3): string[] {
  const scored = candidates
    .map((c) => ({ c, d: c.startsWith(word) && word.length >= 2 ? 0.5 : editDistance(word, c) }))
    .filter((x) => x.d <= Math.min(2, Math.max(1, Math.floor(word.length / 3))) || x.d === 0.5)
    .sort((a, b) => a.d - b.d || commonPrefix(word, b.c) - commonPrefix(word, a.c) || a.c.localeCompare(b.c));
  return scored.slice(0, max).map((x) => x.c);
}

/** The whole line around an offset, with its newline. */
function lineSpan(text: string, offset: number): { start: number; end: number } {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const nl = text.indexOf('\n', offset);
  return { start, end: nl < 0 ? text.length : nl + 1 };
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length < 1 || parts.length > 4 || parts.some((p) => !/^[0-9]+$/.test(p) || Number(p) > 255)) return undefined;
  let a = 0;
  for (const p of parts) a = ((a << 8) | Number(p)) >>> 0;
  return (a << (8 * (4 - parts.length))) >>> 0;
}

function ipv4Text(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

/** Quick fixes for one diagnostic of `text`. */
export function quickFixes(text: string, d: EditorDiagnostic): QuickFix[] {
  const word = text.slice(d.start, d.end);
  switch (d.code) {
    case 'missing-default': {
      // Before the first line that is not blank or a comment, so the default reads first.
      const m = /^(?![ \t]*(#|$))/m.exec(text);
      const at = m ? m.index : text.length;
      return ['kernel', 'bypass', 'drop'].map((a, i) => ({ title: `Add 'default ${a}'`, edits: [{ start: at, end: at, newText: `default ${a}\n` }], preferred: i === 0 }));
    }
    case 'duplicate-default': {
      const span = lineSpan(text, d.start);
      return [{ title: 'Remove this second default line', edits: [{ ...span, newText: '' }], preferred: true }];
    }
    case 'shadowed': {
      const span = lineSpan(text, d.start);
      return [{ title: 'Remove this rule (it never applies)', edits: [{ ...span, newText: '' }], preferred: false }];
    }
    case 'unknown-action': {
      const m = /unknown action '([^']+)'/.exec(d.message);
      if (!m) return [];
      const options = d.message.includes('expected default') ? ['bypass', 'kernel', 'drop', 'default'] : ['bypass', 'kernel', 'drop'];
      const near = closest(m[1], options);
      return near.map((c, i) => ({ title: `Change to '${c}'`, edits: [{ start: d.start, end: d.end, newText: c }], preferred: i === 0 && near.length === 1 }));
    }
    case 'unknown-name': {
      const m = /^unknown port '([^']+)'/.exec(d.message);
      if (!m) return [];
      const near = closest(m[1], allServiceNames());
      return near.map((c, i) => ({
        title: `Change to '${c}' (port ${lookupService(c)?.port})`,
        edits: [{ start: d.start, end: d.end, newText: c }],
        preferred: i === 0 && near.length === 1,
      }));
    }
    case 'bad-network': {
      const m = /^([0-9.]+)\/([0-9]+)$/.exec(word);
      if (!m) return [];
      const a = ipv4(m[1]);
      const len = Number(m[2]);
      if (a === undefined || len > 32) return [];
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      const net = `${ipv4Text((a & mask) >>> 0)}/${len}`;
      return [
        { title: `Change to the network ${net}`, edits: [{ start: d.start, end: d.end, newText: net }], preferred: true },
        { title: `Change to the host ${m[1]} (drop the prefix)`, edits: [{ start: d.start, end: d.end, newText: m[1] }], preferred: false },
      ];
    }
    default:
      return [];
  }
}
