// rules: which rule of an edited file is which rule of the running capture — so that live hits stay
// on their rule while lines are inserted, moved or changed above it before the file is saved.
//
// The capture counts hits by the index of its loaded rules. A rule of the edited text gets the hits
// of the loaded rule with the same action and filter (whitespace aside), matched in order; a rule
// with no such twin is new and has no live hits yet.
import type { RuleSet } from '../../engine/steer/rules';
import type { CaptureRulesView, RuleHits } from './sources';

export function ruleKey(action: string, filterText: string): string {
  return `${action} ${filterText.trim().replace(/\s+/g, ' ')}`;
}

export type MappedHits =
  | { readonly kind: 'hits'; readonly hits: RuleHits; readonly loadedIndex: number }
  /** Not among the capture's loaded rules (new or changed since). */
  | { readonly kind: 'new' };

/**
 * For each rule of `edited`, its hits in the capture whose loaded rules are `loaded`; undefined when
 * the capture's counters do not fit the loaded rules (the capture runs other rules than we think).
 */
export function mapHits(loaded: RuleSet, edited: RuleSet, view: CaptureRulesView): MappedHits[] | undefined {
  if (view.perRule.length !== loaded.rules.length) return undefined;
  const byKey = new Map<string, number[]>();
  for (const r of loaded.rules) {
    const k = ruleKey(r.action, r.filterText);
    const list = byKey.get(k);
    if (list) list.push(r.index);
    else byKey.set(k, [r.index]);
  }
  return edited.rules.map((r) => {
    const list = byKey.get(ruleKey(r.action, r.filterText));
    const i = list?.shift();
    return i === undefined ? { kind: 'new' } : { kind: 'hits', hits: view.perRule[i], loadedIndex: i };
  });
}

/** Whether two URI strings name the same document (case of the scheme and percent-escapes aside). */
export function sameUri(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a === b) return true;
  const norm = (u: string) => {
    try {
      return decodeURIComponent(u).replace(/^([a-z][a-z0-9+.-]*):/i, (_, s: string) => `${s.toLowerCase()}:`);
    } catch {
      return u;
    }
  };
  return norm(a) === norm(b);
}
