// rules: the words and numbers the editor shows — CodeLens titles for live hits and preview changes,
// rule names, and the messages of a reload. Pure functions, no `vscode`.
import type { PathChange, RulePreview } from './preview';
import type { ReloadResult, RuleHits } from './sources';

const INT = new Intl.NumberFormat('en-US');

export function count(n: number): string {
  return INT.format(n);
}

/** `n thing` / `n things`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** Bytes in SI units, as tcpdump's and Wireshark's statistics print them (1 kB = 1000 B). */
export function byteSize(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/** A rule as the trace numbers it (the `rule` field): `rule 2`, `the default`, … */
export function ruleName(rule: number): string {
  switch (rule) {
    case -1:
      return 'the default';
    case -2:
      return 'a local pin';
    case -3:
      return 'not steered';
    case -4:
      return 'earlier rules';
    default:
      return `rule ${rule}`;
  }
}

/** The live-hits lens: "$(pulse) 1,204 packets · 12 flows · 1.40 MB". */
export function hitsTitle(h: RuleHits): string {
  if (h.packets === 0 && h.flows === 0) return '$(pulse) no packets yet';
  return `$(pulse) ${plural(h.packets, 'packet')} · ${plural(h.flows, 'flow')} · ${byteSize(h.bytes)}`;
}

/** The lens of a rule the capture has not loaded: why, and what would load it. */
export function notLoadedLens(s: { running: boolean; fileOk: boolean; dirty: boolean }): { title: string; command: 'none' | 'problems' | 'reload' } {
  if (!s.running) return { title: '$(circle-outline) not in the capture\'s rules', command: 'none' };
  if (!s.fileOk) return { title: '$(circle-outline) not applied: the file has errors (see Problems)', command: 'problems' };
  if (s.dirty) return { title: '$(circle-outline) not applied yet: save to apply to new flows', command: 'none' };
  return { title: '$(circle-outline) not applied yet: Reload Rules applies it to new flows', command: 'reload' };
}

/** The default line's live lens. */
export function defaultHitsTitle(h: RuleHits, pinnedToOldRules: number): string {
  const base = h.packets === 0 && h.flows === 0 ? '$(pulse) default: no packets yet' : `$(pulse) default: ${plural(h.packets, 'packet')} · ${plural(h.flows, 'flow')} · ${byteSize(h.bytes)}`;
  return pinnedToOldRules > 0 ? `${base} · ${plural(pinnedToOldRules, 'flow')} pinned to earlier rules` : base;
}

function changeText(c: PathChange): string {
  return `${plural(c.packets, 'packet')} ${c.from} → ${c.to}`;
}

/** The preview lens of one rule: "$(git-compare) preview: 120 packets kernel → bypass", or undefined when nothing would change. */
export function previewTitle(p: RulePreview): string | undefined {
  if (p.changes.length === 0) return undefined;
  const shown = p.changes.slice(0, 2).map(changeText);
  const more = p.changes.length > 2 ? ` (+${p.changes.length - 2} more)` : '';
  return `$(git-compare) preview: ${shown.join(', ')}${more}`;
}

/** The message after a save reloaded the capture's rules (or was refused). */
export function reloadMessage(fileName: string, r: ReloadResult): { level: 'info' | 'warning'; text: string } {
  if (r.applied) {
    return {
      level: 'info',
      text: `Bypass Scope: ${plural(r.ruleCount, 'rule')} applied to new flows; ${plural(r.pinnedToOldRules, 'flow stays', 'flows stay')} pinned to the old rules.`,
    };
  }
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  const first = errors[0];
  const why = first ? ` Line ${first.line}: ${first.message}.` : '';
  const more = errors.length > 1 ? ` (${plural(errors.length, 'error')} in all; see the Problems view)` : ' (see the Problems view)';
  return { level: 'warning', text: `Bypass Scope: ${fileName} was not applied; the capture keeps its current rules.${why}${more}` };
}
