// rules: the routing-rules language in the editor — the single entry point the extension's activate()
// calls. Registers diagnostics, completion, hover, the outline, CodeLenses, the steering preview, the
// rules commands and reload on save, all disposed with the extension.
import * as vscode from 'vscode';
import { RulesCodeLensProvider } from './codelens-provider';
import { RulesCommands } from './commands';
import { registerDiagnostics } from './diagnostics-provider';
import { registerLanguageProviders } from './language-providers';
import { LANGUAGE_ID, RulesModel } from './model';
import { PreviewService } from './preview-service';
import type { RulesSources } from './sources';

export type { CaptureRulesView, PreviewPacket, ReloadResult, RuleHits, RulesSources } from './sources';

export function registerRulesLanguage(context: vscode.ExtensionContext, sources: RulesSources, log: vscode.LogOutputChannel): void {
  const model = new RulesModel(sources);
  const preview = new PreviewService(model, log);
  const lenses = new RulesCodeLensProvider(model, preview);
  const commands = new RulesCommands(model, preview, log, () => lenses.refresh());
  context.subscriptions.push(
    model,
    preview,
    lenses,
    registerDiagnostics(model),
    registerLanguageProviders(model, preview),
    vscode.languages.registerCodeLensProvider({ language: LANGUAGE_ID }, lenses),
    commands.register(),
  );
}
