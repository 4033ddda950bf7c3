// rules: the Problems view for `.bypass` documents — the engine parser's diagnostics as you type
// (debounced per document), right away on open, and cleared when the document closes (VS Code also
// closes and reopens a document whose language changes, so that is covered too).
import * as vscode from 'vscode';
import { editorDiagnostics } from './diagnostics';
import { isRulesDocument, type RulesModel } from './model';
import { Debouncer } from './schedule';

const TYPING_DELAY_MS = 250;

export function toVscodeDiagnostics(doc: vscode.TextDocument, model: RulesModel): vscode.Diagnostic[] {
  return editorDiagnostics(model.parse(doc)).map((d) => {
    const range = new vscode.Range(doc.positionAt(d.start), doc.positionAt(d.end));
    const out = new vscode.Diagnostic(range, d.message, d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
    out.source = 'bypass';
    out.code = d.code;
    if (d.related) {
      out.relatedInformation = [
        new vscode.DiagnosticRelatedInformation(new vscode.Location(doc.uri, new vscode.Range(doc.positionAt(d.related.start), doc.positionAt(d.related.end))), d.related.message),
      ];
    }
    if (d.unnecessary) out.tags = [vscode.DiagnosticTag.Unnecessary];
    return out;
  });
}

export function registerDiagnostics(model: RulesModel): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('bypass');
  const refresh = (doc: vscode.TextDocument) => {
    if (doc.isClosed) return;
    collection.set(doc.uri, toVscodeDiagnostics(doc, model));
  };
  const byUri = new Map<string, vscode.TextDocument>();
  const debounce = new Debouncer<string>(TYPING_DELAY_MS, (key) => {
    const doc = byUri.get(key);
    if (doc) refresh(doc);
  });
  const open = (doc: vscode.TextDocument) => {
    // Not the old side of a diff: its problems are not the file's.
    if (!isRulesDocument(doc) || doc.uri.scheme === 'git') return;
    byUri.set(doc.uri.toString(), doc);
    refresh(doc);
  };
  for (const doc of vscode.workspace.textDocuments) open(doc);
  return vscode.Disposable.from(
    collection,
    debounce,
    vscode.workspace.onDidOpenTextDocument(open),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (!isRulesDocument(e.document) || e.document.uri.scheme === 'git' || e.contentChanges.length === 0) return;
      byUri.set(e.document.uri.toString(), e.document);
      debounce.schedule(e.document.uri.toString());
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      const key = doc.uri.toString();
      debounce.cancel(key);
      byUri.delete(key);
      collection.delete(doc.uri);
    }),
  );
}
