// extension: saving the running capture's rules file reloads it into the capture (new flows take the
// new rules; the log and a message say how many flows stay pinned to the old ones); a file with errors
// keeps the old rules and says why. The rules language (extension/rules/) may take this job over with
// its diagnostics; until then it lives here, through the same RulesSources.reloadRules.
import * as vscode from 'vscode';
import type { CaptureController } from './capture-controller';
import type { CaptureRulesSources } from './rules-sources-impl';

export function registerReloadOnSave(controller: CaptureController, sources: CaptureRulesSources, log: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.workspace.onDidSaveTextDocument(async (doc) => {
    const live = controller.live;
    if (live === undefined || live.rules.builtIn || doc.uri.toString() !== live.rules.uri) return;
    try {
      const r = await sources.reloadRules(doc.uri.toString(), doc.getText());
      if (r.applied) {
        void vscode.window.setStatusBarMessage(`$(check) Bypass Scope: ${r.ruleCount} rules reloaded; ${r.pinnedToOldRules} flows stay on the old rules`, 5000);
      } else {
        const first = r.diagnostics.find((d) => d.severity === 'error');
        void vscode.window.showWarningMessage(
          `Bypass Scope: ${live.rules.name} has errors, the capture keeps its rules${first ? ` — line ${first.line}:${first.column}: ${first.message}` : ''}`,
        );
      }
    } catch (e) {
      log.warn(`reload on save: ${(e as Error).message}`);
    }
  });
}
