// rules: the editor's shared model of open `.bypass` documents — one parse per version, the text each
// document last had on disk and last loaded into the capture, and its live hits mapped onto its rules.
import * as vscode from 'vscode';
import type { RuleSet } from '../../engine/steer/rules';
import { parseRules } from '../../engine/steer/rules';
import { RulesCache } from './diagnostics';
import { mapHits, sameUri, type MappedHits } from './hit-map';
import type { CaptureRulesView, RulesSources } from './sources';

export const LANGUAGE_ID = 'bypass';

export function isRulesDocument(doc: vscode.TextDocument): boolean {
  return doc.languageId === LANGUAGE_ID;
}

export interface LiveHits {
  readonly view: CaptureRulesView;
  /** Per rule of the document; undefined when the capture's counters do not fit the rules it loaded. */
  readonly hits: readonly MappedHits[] | undefined;
}

export class RulesModel implements vscode.Disposable {
  private readonly cache = new RulesCache(32);
  /** The text as last saved (or as opened, when opened clean). */
  private readonly saved = new Map<string, string>();
  /**
   * The text the capture loaded from this document: the saved text when the capture started, then each
   * text a reload applied. A save the capture refused (or did not reload) leaves it as it was.
   */
  private readonly applied = new Map<string, string>();
  private wasRunning = false;
  /** The parse of the loaded text, kept while that text stays the same. */
  private readonly loaded = new Map<string, { text: string; set: RuleSet }>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(readonly sources: RulesSources) {
    for (const doc of vscode.workspace.textDocuments) this.opened(doc);
    this.captureChanged();
    this.subscriptions.push(
      vscode.workspace.onDidOpenTextDocument((doc) => this.opened(doc)),
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (isRulesDocument(doc)) this.saved.set(doc.uri.toString(), doc.getText());
      }),
      sources.onDidChangeCapture(() => this.captureChanged()),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        const key = doc.uri.toString();
        this.cache.delete(key);
        this.saved.delete(key);
        this.loaded.delete(key);
      }),
    );
  }

  /** A capture that starts loads its rules file as saved: that is what its hits count by. */
  private captureChanged(): void {
    const running = this.sources.isRunning();
    if (running && !this.wasRunning) {
      const uri = this.sources.capture()?.rulesUri;
      const key = uri === undefined ? undefined : [...this.saved.keys()].find((k) => sameUri(k, uri));
      if (key !== undefined) this.applied.set(key, this.saved.get(key)!);
    }
    this.wasRunning = running;
  }

  private opened(doc: vscode.TextDocument): void {
    if (!isRulesDocument(doc)) return;
    const key = doc.uri.toString();
    if (!doc.isDirty) {
      this.saved.set(key, doc.getText());
      // Opened while a capture runs it: the text on disk is what it loaded (unless a reload said otherwise).
      if (this.sources.isRunning() && this.isCaptureRules(doc) && !this.applied.has(key)) this.applied.set(key, doc.getText());
      return;
    }
    // Restored with unsaved changes: the saved text is on disk.
    if (doc.uri.scheme === 'file') {
      void vscode.workspace.fs.readFile(doc.uri).then(
        (bytes) => this.saved.set(key, new TextDecoder().decode(bytes)),
        () => undefined,
      );
    }
  }

  parse(doc: vscode.TextDocument): RuleSet {
    return this.cache.get(doc.uri.toString(), doc.version, () => doc.getText());
  }

  /** Whether this document is the rules file of the running (or last) capture. */
  isCaptureRules(doc: vscode.TextDocument): boolean {
    return sameUri(this.sources.capture()?.rulesUri, doc.uri.toString());
  }

  markApplied(uri: string, text: string): void {
    this.applied.set(uri, text);
  }

  /** The rules the capture loaded from this document, as far as the editor knows them. */
  loadedRules(doc: vscode.TextDocument): RuleSet | undefined {
    const key = doc.uri.toString();
    const text = this.applied.get(key) ?? this.saved.get(key);
    if (text === undefined) return undefined;
    const memo = this.loaded.get(key);
    if (memo?.text === text) return memo.set;
    const set = parseRules(text);
    this.loaded.set(key, { text, set });
    return set;
  }

  /** Live hits for the document's rules, when it is the capture's rules file. */
  liveHits(doc: vscode.TextDocument): LiveHits | undefined {
    const view = this.sources.capture();
    if (!view || !sameUri(view.rulesUri, doc.uri.toString())) return undefined;
    const loaded = this.loadedRules(doc);
    const edited = this.parse(doc);
    return { view, hits: loaded ? mapHits(loaded, edited, view) : undefined };
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
