// rules: the engine's diagnostics of a rules file as the editor shows them — offsets for ranges,
// severities, the related place (the rule that shadows, the first default), and which are "unnecessary".
import { parseRules, type Diagnostic, type RuleSet } from '../../engine/steer/rules';

export interface EditorDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: Diagnostic['code'];
  readonly message: string;
  /** Offsets into the text. */
  readonly start: number;
  readonly end: number;
  readonly related?: { readonly message: string; readonly start: number; readonly end: number };
  /** The text never takes effect (a shadowed rule): editors fade it. */
  readonly unnecessary: boolean;
}

export function editorDiagnostics(set: RuleSet): EditorDiagnostic[] {
  return set.diagnostics.map((d) => ({
    severity: d.severity,
    code: d.code,
    message: d.message,
    start: d.range.offset,
    end: d.range.offset + d.range.length,
    related: d.related && { message: d.related.message, start: d.related.range.offset, end: d.related.range.offset + d.related.range.length },
    unnecessary: d.code === 'shadowed',
  }));
}

/** Parses rules text, keeping the last few results so hover, lenses and diagnostics share one parse per version. */
export class RulesCache {
  private readonly entries = new Map<string, { version: number; text: string; set: RuleSet }>();
  constructor(private readonly capacity = 16) {}

  get(key: string, version: number, text: () => string): RuleSet {
    const e = this.entries.get(key);
    if (e && e.version === version) return e.set;
    const t = text();
    if (e && e.text === t) {
      e.version = version;
      return e.set;
    }
    const set = parseRules(t);
    this.entries.delete(key);
    this.entries.set(key, { version, text: t, set });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return set;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
