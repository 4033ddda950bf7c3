// rules: CodeLenses on `.bypass` documents — each rule's and the default's live packets and flows when
// the document is the capture's rules (refreshed as hits change, at most once a second), the steering
// preview's path changes under the rule that makes them, and a summary lens that opens the preview.
import * as vscode from 'vscode';
import type { RuleSet, SourceRange } from '../../engine/steer/rules';
import { isRulesDocument, type RulesModel } from './model';
import type { PreviewService } from './preview-service';
import { Throttle } from './schedule';
import { defaultHitsTitle, hitsTitle, notLoadedLens, plural, previewTitle } from './titles';

export const CODELENS_SETTING = 'bypassScope.rules.codeLens';
const HITS_INTERVAL_MS = 1000;

function lineRange(doc: vscode.TextDocument, r: SourceRange): vscode.Range {
  return new vscode.Range(doc.positionAt(r.offset), doc.positionAt(r.offset + r.length));
}

function lens(range: vscode.Range, title: string, command = '', args?: unknown[], tooltip?: string): vscode.CodeLens {
  return new vscode.CodeLens(range, { title, command, arguments: args, tooltip });
}

/** Where the file's summary lens goes: the first line that is the default or a rule. */
function firstLine(set: RuleSet): SourceRange | undefined {
  const candidates = [set.default?.range, set.rules[0]?.range].filter((r): r is SourceRange => r !== undefined);
  return candidates.sort((a, b) => a.offset - b.offset)[0];
}

export class RulesCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly throttle = new Throttle(HITS_INTERVAL_MS, () => this.changed.fire());
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly model: RulesModel, private readonly preview: PreviewService) {
    this.subscriptions = [
      this.changed,
      this.throttle,
      model.sources.onDidChangeCapture(() => this.throttle.run()),
      preview.onDidChangePreview(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(CODELENS_SETTING)) this.changed.fire();
      }),
    ];
  }

  /** Asks the editor for new lenses (after a reload, say). */
  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!isRulesDocument(doc) || !vscode.workspace.getConfiguration().get<boolean>(CODELENS_SETTING, true)) return [];
    const set = this.model.parse(doc);
    const out: vscode.CodeLens[] = [];
    const sources = this.model.sources;
    const view = sources.capture();
    const running = sources.isRunning();
    const top = firstLine(set);
    const result = view ? this.preview.current(doc) : undefined;

    if (top && view) {
      const at = lineRange(doc, top);
      const summary = result === undefined
        ? '$(git-compare) steering preview'
        : result.changedPackets === 0
          ? `$(git-compare) preview: no captured packet would change path (${plural(result.steered, 'packet')} re-steered)`
          : `$(git-compare) preview: ${plural(result.changedPackets, 'packet')} in ${plural(result.changedFlows, 'flow')} would change path`;
      out.push(lens(at, summary, 'bypassScope.showRulesPreview', [doc.uri], 'Show how the capture would be steered by these rules'));
      if (running && !this.model.isCaptureRules(doc)) {
        out.push(lens(at, '$(debug-restart) apply to the running capture', 'bypassScope.reloadRules', [doc.uri], 'Load these rules into the running capture (new flows follow them)'));
      }
    }

    const live = this.model.liveHits(doc);
    for (const rule of set.rules) {
      const at = lineRange(doc, rule.range);
      if (live) {
        const h = live.hits?.[rule.index];
        if (live.hits === undefined) out.push(lens(at, '$(pulse) hits unknown: the capture runs other rules than this file had', ''));
        else if (h?.kind === 'hits') out.push(lens(at, hitsTitle(h.hits), '', undefined, `rule ${h.loadedIndex} of the capture's rules`));
        else {
          const n = notLoadedLens({ running, fileOk: set.ok, dirty: doc.isDirty });
          out.push(lens(at, n.title, n.command === 'problems' ? 'workbench.actions.view.problems' : n.command === 'reload' ? 'bypassScope.reloadRules' : '', n.command === 'reload' ? [doc.uri] : undefined));
        }
      }
      const p = result?.perRule[rule.index];
      const title = p && previewTitle(p);
      if (title) out.push(lens(at, title, 'bypassScope.showRulesPreview', [doc.uri]));
    }
    if (set.default) {
      const at = lineRange(doc, set.default.range);
      if (live) out.push(lens(at, defaultHitsTitle(live.view.defaultHits, live.view.pinnedToOldRules), ''));
      const p = result?.perRule[set.rules.length];
      const title = p && previewTitle(p);
      if (title) out.push(lens(at, title, 'bypassScope.showRulesPreview', [doc.uri]));
    }
    return out;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
