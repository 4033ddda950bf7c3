// rules: the steering preview as a read-only document beside the rules — a table per rule of what it
// would steer and which packets would change path, and the totals.
import type { RuleSet } from '../../engine/steer/rules';
import type { PathChange, PreviewResult } from './preview';
import { byteSize, count, plural, ruleName } from './titles';

export interface PreviewContext {
  /** The rules file's name, for the heading. */
  readonly fileName: string;
  /** Whether the editor has unsaved changes. */
  readonly dirty: boolean;
  /** Whether the file is the one the capture runs. */
  readonly isCaptureRules: boolean;
  readonly captureRunning: boolean;
  /** The setting that bounds the preview, named when the limit cut it short. */
  readonly limitSetting: string;
}

const FILTER_WIDTH = 44;

function clip(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, width - 1)}…`;
}

function changes(cs: readonly PathChange[]): string {
  if (cs.length === 0) return '—';
  return cs.map((c) => `${count(c.packets)} ${c.from} → ${c.to}`).join(', ');
}

export function noCapturePreview(fileName: string): string {
  return [
    `Steering preview — ${fileName}`,
    '',
    'No capture has run yet, so there are no packets to preview.',
    'Start one (Bypass Scope: Start Capture…); this preview then shows, rule by rule, how its packets',
    'would be steered by the rules in this editor, saved or not, and which would change path.',
    '',
  ].join('\n');
}

export function renderPreview(result: PreviewResult, set: RuleSet, ctx: PreviewContext): string {
  const out: string[] = [];
  const state = ctx.dirty ? 'unsaved edits' : ctx.isCaptureRules ? 'the capture\'s rules, as saved' : 'saved; not the capture\'s rules';
  out.push(`Steering preview — ${ctx.fileName} (${state})`);
  out.push('');
  out.push(`How the ${ctx.captureRunning ? 'running' : 'last'} capture's ${plural(result.considered, 'packet')} would be steered by these rules, compared with the path each took.`);
  out.push('Flow pinning as live: the first packet of a flow decides; flows the bypass stack opened stay on bypass.');
  if (result.limited) {
    out.push(`Only the first ${count(result.considered)} of ${count(result.visited)} packets were previewed (setting ${ctx.limitSetting}).`);
  }
  const errors = set.diagnostics.filter((d) => d.severity === 'error').length;
  if (errors > 0) out.push(`The file has ${plural(errors, 'error')} (see the Problems view): the preview uses the ${plural(set.rules.length, 'rule')} that parse.`);
  out.push('');
  out.push(
    result.changedPackets === 0
      ? 'No packet would change path.'
      : `Would change path: ${plural(result.changedPackets, 'packet')} (${byteSize(result.changedBytes)}) in ${plural(result.changedFlows, 'flow')}.`,
  );
  out.push('');

  const rows: string[][] = [['line', 'rule', 'action', 'filter', 'packets', 'flows', 'would change path']];
  for (const r of set.rules) {
    const p = result.perRule[r.index];
    rows.push([String(r.range.line), String(r.index), r.action, clip(r.filterText, FILTER_WIDTH), count(p.packets), count(p.flows), changes(p.changes)]);
  }
  const d = result.perRule[set.rules.length];
  rows.push([set.default ? String(set.default.range.line) : '—', 'default', set.defaultAction, set.default ? '' : '(no default line: kernel)', count(d.packets), count(d.flows), changes(d.changes)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const right = new Set([0, 1, 4, 5]);
  for (const row of rows) {
    out.push(row.map((cell, c) => (c === row.length - 1 ? cell : right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
  }
  out.push('');
  out.push(
    `Steered: ${plural(result.steered, 'received packet')}. Not steered: ${plural(result.transmitted, 'sent packet')}, ` +
      `${plural(result.notSteered, 'ARP reply', 'ARP replies')} (both stacks), ${plural(result.localPinned, 'packet')} of flows the bypass stack opened.`,
  );
  if (result.changedFrom.length > 0) {
    out.push(`The packets that would change were decided in the capture by ${result.changedFrom.slice(0, 6).map((c) => `${ruleName(c.rule)} (${count(c.packets)})`).join(', ')}${result.changedFrom.length > 6 ? ', …' : ''}.`);
    out.push('(Rule numbers there are the capture\'s loaded rules, as in the trace.)');
  }
  out.push('');
  return out.join('\n');
}
