// rules: the editor's language features for `.bypass` — completion, hover, quick fixes, formatting, the
// outline, and links from the preview to the rules — as thin adapters around the pure completeAt,
// hoverAt, quickFixes and formatRules.
import * as vscode from 'vscode';
import { completeAt, type CompletionKind } from './completion';
import { editorDiagnostics } from './diagnostics';
import { formatRules } from './format';
import { hoverAt } from './hover';
import { LANGUAGE_ID, type RulesModel } from './model';
import { PREVIEW_SCHEME, type PreviewService } from './preview-service';
import { quickFixes } from './quickfixes';

const SEEN_HOSTS = 50;

const KIND: Readonly<Record<CompletionKind, vscode.CompletionItemKind>> = {
  action: vscode.CompletionItemKind.Keyword,
  keyword: vscode.CompletionItemKind.Keyword,
  protocol: vscode.CompletionItemKind.Module,
  qualifier: vscode.CompletionItemKind.Keyword,
  operator: vscode.CompletionItemKind.Operator,
  service: vscode.CompletionItemKind.Constant,
  host: vscode.CompletionItemKind.Value,
  network: vscode.CompletionItemKind.Value,
  offset: vscode.CompletionItemKind.Field,
  value: vscode.CompletionItemKind.EnumMember,
  size: vscode.CompletionItemKind.Unit,
  snippet: vscode.CompletionItemKind.Snippet,
};

export function registerLanguageProviders(model: RulesModel, preview: PreviewService): vscode.Disposable {
  const selector: vscode.DocumentSelector = { language: LANGUAGE_ID };
  const completion: vscode.CompletionItemProvider = {
    provideCompletionItems(doc, position, _token, context) {
      const set = model.parse(doc);
      const line = doc.lineAt(position.line).text;
      const hasDefault = set.default !== undefined && set.default.range.line !== position.line + 1;
      const result = completeAt({
        line,
        column: position.character,
        hasDefault,
        seenHosts: model.sources.seenHosts(SEEN_HOSTS),
        triggerCharacter: context.triggerKind === vscode.CompletionTriggerKind.TriggerCharacter ? context.triggerCharacter : undefined,
      });
      const range = new vscode.Range(position.line, result.replaceStart, position.line, position.character);
      // `\tcp` after `proto`: match what was typed, with or without its backslash.
      const typedEscape = line.slice(result.replaceStart, position.character).startsWith('\\');
      return result.items.map((i) => {
        // The detail (a service's port, an offset's number) shows on every row, not only the focused one.
        const item = new vscode.CompletionItem(i.detail ? { label: i.label, description: i.detail } : i.label, KIND[i.kind]);
        item.range = range;
        item.sortText = i.sortText;
        item.filterText = typedEscape ? i.label : i.label.replace(/^\\/, '');
        if (i.detail) item.detail = i.detail;
        if (i.documentation) item.documentation = new vscode.MarkdownString(i.documentation);
        if (i.insertText !== undefined) item.insertText = i.snippet ? new vscode.SnippetString(i.insertText) : i.insertText;
        if (i.retrigger) item.command = { command: 'editor.action.triggerSuggest', title: 'more' };
        return item;
      });
    },
  };
  const hover: vscode.HoverProvider = {
    provideHover(doc, position) {
      const set = model.parse(doc);
      const live = model.liveHits(doc);
      const result = preview.current(doc);
      const h = hoverAt({
        line: doc.lineAt(position.line).text,
        lineNumber: position.line + 1,
        column: position.character,
        rules: set,
        hits: live?.hits,
        defaultHits: live?.view.defaultHits,
        preview: result?.perRule,
      });
      if (!h) return undefined;
      return new vscode.Hover(new vscode.MarkdownString(h.markdown), new vscode.Range(position.line, h.start, position.line, h.end));
    },
  };
  const symbols: vscode.DocumentSymbolProvider = {
    provideDocumentSymbols(doc) {
      const set = model.parse(doc);
      const range = (offset: number, length: number) => new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + length));
      const out: vscode.DocumentSymbol[] = [];
      if (set.default) {
        const r = range(set.default.range.offset, set.default.range.length);
        out.push(new vscode.DocumentSymbol(`default ${set.default.action}`, 'what no rule matches', vscode.SymbolKind.Constant, r, r));
      }
      for (const rule of set.rules) {
        const r = range(rule.range.offset, rule.range.length);
        const sel = range(rule.filterRange.offset, rule.filterRange.length);
        out.push(new vscode.DocumentSymbol(`${rule.action} ${rule.filterText}`, `rule ${rule.index}`, vscode.SymbolKind.Event, r, sel));
      }
      return out.sort((a, b) => a.range.start.compareTo(b.range.start));
    },
  };
  const actions: vscode.CodeActionProvider = {
    provideCodeActions(doc, range, context) {
      const text = doc.getText();
      const ours = new Set(context.diagnostics.filter((d) => d.source === 'bypass').map((d) => `${d.code}@${doc.offsetAt(d.range.start)}`));
      const out: vscode.CodeAction[] = [];
      for (const d of editorDiagnostics(model.parse(doc))) {
        if (!ours.has(`${d.code}@${d.start}`)) continue;
        const diag = context.diagnostics.find((x) => x.code === d.code && doc.offsetAt(x.range.start) === d.start);
        for (const fix of quickFixes(text, d)) {
          const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
          action.edit = new vscode.WorkspaceEdit();
          for (const e of fix.edits) action.edit.replace(doc.uri, new vscode.Range(doc.positionAt(e.start), doc.positionAt(e.end)), e.newText);
          action.isPreferred = fix.preferred;
          if (diag) action.diagnostics = [diag];
          out.push(action);
        }
      }
      return out;
    },
  };
  const formatter: vscode.DocumentFormattingEditProvider = {
    provideDocumentFormattingEdits(doc) {
      return formatRules(doc.getText()).map((e) => vscode.TextEdit.replace(doc.lineAt(e.line).range, e.newText));
    },
  };
  // In the preview document, each row's line number opens that line of the rules.
  const previewLinks: vscode.DocumentLinkProvider = {
    provideDocumentLinks(doc) {
      const source = vscode.Uri.parse(doc.uri.query);
      const out: vscode.DocumentLink[] = [];
      for (let i = 0; i < doc.lineCount; i++) {
        const m = /^(\s*)(\d+)(\s+(?:\d+|default)\s+(?:bypass|kernel|drop)\b)/.exec(doc.lineAt(i).text);
        if (!m) continue;
        const link = new vscode.DocumentLink(new vscode.Range(i, m[1].length, i, m[1].length + m[2].length), source.with({ fragment: `L${m[2]}` }));
        link.tooltip = `Go to line ${m[2]} of the rules`;
        out.push(link);
      }
      return out;
    },
  };
  return vscode.Disposable.from(
    vscode.languages.registerDocumentFormattingEditProvider(selector, formatter),
    vscode.languages.registerDocumentLinkProvider({ scheme: PREVIEW_SCHEME }, previewLinks),
    vscode.languages.registerCodeActionsProvider(selector, actions, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    vscode.languages.registerCompletionItemProvider(selector, completion, ' ', '[', ':', '\\'),
    vscode.languages.registerHoverProvider(selector, hover),
    vscode.languages.registerDocumentSymbolProvider(selector, symbols, { label: 'Routing rules' }),
  );
}
