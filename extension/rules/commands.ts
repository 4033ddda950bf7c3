// rules: the rules commands — New Routing Rules File, Reload Rules, Show Steering Preview — and the
// reload that saving the running capture's rules file does. A refused reload keeps the capture's rules
// and says why (the first error; the rest are in the Problems view); an applied one says how many
// rules now steer new flows and how many flows stay pinned to the old rules.
import * as vscode from 'vscode';
import { sameUri } from './hit-map';
import { isRulesDocument, LANGUAGE_ID, type RulesModel } from './model';
import type { PreviewService } from './preview-service';
import type { ReloadResult } from './sources';
import { RULES_TEMPLATE, freeRulesFileName } from './template';
import { reloadMessage } from './titles';

export const RELOAD_ON_SAVE_SETTING = 'bypassScope.rules.reloadOnSave';

function fileName(uri: vscode.Uri): string {
  return uri.path.split('/').pop() || uri.toString();
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

export class RulesCommands {
  /** Why each document was last saved: auto saves report quietly (in the status bar), not in notifications. */
  private readonly saveReasons = new Map<string, vscode.TextDocumentSaveReason>();

  constructor(
    private readonly model: RulesModel,
    private readonly preview: PreviewService,
    private readonly log: vscode.LogOutputChannel,
    private readonly afterReload: () => void,
  ) {}

  register(): vscode.Disposable {
    return vscode.Disposable.from(
      vscode.commands.registerCommand('bypassScope.newRulesFile', () => this.newRulesFile()),
      vscode.commands.registerCommand('bypassScope.reloadRules', (uri?: vscode.Uri) => this.reloadCommand(uri)),
      vscode.commands.registerCommand('bypassScope.showRulesPreview', (uri?: vscode.Uri) => this.showPreview(uri)),
      vscode.workspace.onWillSaveTextDocument((e) => {
        if (isRulesDocument(e.document)) this.saveReasons.set(e.document.uri.toString(), e.reason);
      }),
      vscode.workspace.onDidSaveTextDocument((doc) => this.saved(doc)),
    );
  }

  /** A new `routing.bypass` (untitled, to be saved in the first workspace folder) with the commented template. */
  async newRulesFile(): Promise<vscode.Uri> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    let doc: vscode.TextDocument;
    if (folder) {
      const taken = new Set<string>();
      for (let i = 1; i <= 50; i++) {
        const name = i === 1 ? 'routing.bypass' : `routing-${i}.bypass`;
        const onDisk = await exists(vscode.Uri.joinPath(folder.uri, name));
        const open = vscode.workspace.textDocuments.some((d) => d.uri.scheme === 'untitled' && d.uri.path.endsWith(`/${name}`));
        if (onDisk || open) taken.add(name);
        else break;
      }
      const name = freeRulesFileName((n) => taken.has(n));
      doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, name).with({ scheme: 'untitled' }));
      if (doc.languageId !== LANGUAGE_ID) doc = await vscode.languages.setTextDocumentLanguage(doc, LANGUAGE_ID);
      const editor = await vscode.window.showTextDocument(doc);
      await editor.edit((e) => e.insert(new vscode.Position(0, 0), RULES_TEMPLATE));
    } else {
      doc = await vscode.workspace.openTextDocument({ language: LANGUAGE_ID, content: RULES_TEMPLATE });
      await vscode.window.showTextDocument(doc);
    }
    this.log.info(`new routing rules file ${doc.uri.toString()}`);
    return doc.uri;
  }

  /**
   * Reload Rules: loads a rules document into the running capture — the one given, else the active
   * `.bypass` editor (as shown, unsaved edits included), else the capture's own rules file.
   */
  async reloadCommand(uri?: vscode.Uri): Promise<ReloadResult | undefined> {
    const sources = this.model.sources;
    if (!sources.isRunning()) {
      void vscode.window.showWarningMessage('Bypass Scope: no capture is running, so there are no rules to reload. Start one with Bypass Scope: Start Capture…');
      return undefined;
    }
    let doc: vscode.TextDocument | undefined;
    if (uri) doc = await vscode.workspace.openTextDocument(uri);
    else {
      const active = vscode.window.activeTextEditor?.document;
      if (active && isRulesDocument(active)) doc = active;
      else {
        const rulesUri = sources.capture()?.rulesUri;
        if (rulesUri === undefined) {
          void vscode.window.showWarningMessage('Bypass Scope: the capture runs its built-in rules. Open a .bypass file and run Reload Rules to load it.');
          return undefined;
        }
        doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(rulesUri));
      }
    }
    return this.reload(doc);
  }

  /** Sends the document's text to the capture and reports what the engine said (`quiet`: in the status bar). */
  async reload(doc: vscode.TextDocument, quiet = false): Promise<ReloadResult | undefined> {
    const uri = doc.uri.toString();
    const text = doc.getText();
    const name = fileName(doc.uri);
    let result: ReloadResult;
    try {
      result = await this.model.sources.reloadRules(uri, text);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.log.warn(`reload of ${uri} failed: ${why}`);
      void vscode.window.showWarningMessage(`Bypass Scope: ${name} could not be loaded into the capture: ${why}`);
      return undefined;
    }
    const msg = reloadMessage(name, result);
    if (result.applied) {
      this.model.markApplied(uri, text);
      this.log.info(`reloaded ${uri}: ${result.ruleCount} rules, ${result.pinnedToOldRules} flows pinned to the old rules`);
      if (quiet) vscode.window.setStatusBarMessage(`$(check) ${msg.text}`, 8000);
      else void vscode.window.showInformationMessage(msg.text);
    } else {
      this.log.warn(`reload of ${uri} refused: ${result.diagnostics.map((d) => `${d.line}:${d.column}: ${d.severity}: ${d.message}`).join('; ')}`);
      if (quiet) vscode.window.setStatusBarMessage(`$(warning) ${msg.text}`, 8000);
      else {
        void vscode.window.showWarningMessage(msg.text, 'Show Problems').then((choice) => {
          if (choice) void vscode.commands.executeCommand('workbench.actions.view.problems');
        });
      }
    }
    this.afterReload();
    return result;
  }

  /** Saving the running capture's rules file reloads it. */
  private saved(doc: vscode.TextDocument): void {
    if (!isRulesDocument(doc) || !vscode.workspace.getConfiguration().get<boolean>(RELOAD_ON_SAVE_SETTING, true)) return;
    const sources = this.model.sources;
    if (!sources.isRunning() || !sameUri(sources.capture()?.rulesUri, doc.uri.toString())) return;
    const reason = this.saveReasons.get(doc.uri.toString());
    this.saveReasons.delete(doc.uri.toString());
    // An auto save (files.autoSave) happens while typing: say the result quietly; a saved refusal is in Problems anyway.
    void this.reload(doc, reason !== undefined && reason !== vscode.TextDocumentSaveReason.Manual);
  }

  async showPreview(uri?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
    if (!doc || !isRulesDocument(doc)) {
      void vscode.window.showWarningMessage('Bypass Scope: open a .bypass rules file to preview how the capture would be steered by it.');
      return undefined;
    }
    return this.preview.show(doc);
  }
}
