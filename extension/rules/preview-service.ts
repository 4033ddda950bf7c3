// rules: the steering preview in the editor — recomputed for visible `.bypass` documents as they are
// edited (debounced) and as the capture grows (throttled), shown per rule in CodeLenses and hovers and
// in full in a read-only document beside the rules (`bypass-preview:` scheme).
import * as vscode from 'vscode';
import { computePreview, type PreviewResult } from './preview';
import { noCapturePreview, renderPreview } from './preview-text';
import { isRulesDocument, type RulesModel } from './model';
import { Debouncer, Throttle } from './schedule';

export const PREVIEW_SCHEME = 'bypass-preview';
export const PREVIEW_LIMIT_SETTING = 'bypassScope.rules.previewPacketLimit';
const EDIT_DELAY_MS = 300;
const CAPTURE_INTERVAL_MS = 2000;

interface Entry {
  readonly version: number;
  readonly captureStamp: number;
  readonly result: PreviewResult;
}

/** The preview document's URI for a rules document (its name says what it is; the query names the source). */
export function previewUriFor(source: vscode.Uri): vscode.Uri {
  const name = source.path.split('/').pop() || 'rules.bypass';
  return vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `/${name} — steering preview`, query: source.toString() });
}

export class PreviewService implements vscode.Disposable, vscode.TextDocumentContentProvider {
  private readonly entries = new Map<string, Entry>();
  /** Bumped when the capture changes: a cached preview of an older stamp is stale. */
  private captureStamp = 0;
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with a rules document's URI when its preview was recomputed. */
  readonly onDidChangePreview = this.changed.event;
  private readonly contentChanged = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.contentChanged.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly debounce = new Debouncer<string>(EDIT_DELAY_MS, (key) => this.refreshKey(key));
  private readonly captureThrottle = new Throttle(CAPTURE_INTERVAL_MS, () => this.refreshVisible());

  constructor(private readonly model: RulesModel, private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(
      this.changed,
      this.contentChanged,
      this.debounce,
      this.captureThrottle,
      vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, this),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (isRulesDocument(e.document) && e.contentChanges.length > 0) this.debounce.schedule(e.document.uri.toString());
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.entries.delete(doc.uri.toString());
        this.debounce.cancel(doc.uri.toString());
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshVisible(false)),
      model.sources.onDidChangeCapture(() => {
        this.captureStamp++;
        this.captureThrottle.run();
      }),
    );
    this.refreshVisible(false);
  }

  private limit(): number {
    return vscode.workspace.getConfiguration().get<number>(PREVIEW_LIMIT_SETTING, 200_000);
  }

  /** The rules documents whose preview someone can see: in an editor, or with the preview document open. */
  private watched(): vscode.TextDocument[] {
    const docs = new Set<vscode.TextDocument>();
    for (const e of vscode.window.visibleTextEditors) if (isRulesDocument(e.document)) docs.add(e.document);
    for (const d of vscode.workspace.textDocuments) {
      if (d.uri.scheme !== PREVIEW_SCHEME) continue;
      const src = this.sourceOf(d.uri);
      if (src) docs.add(src);
    }
    return [...docs];
  }

  private sourceOf(previewUri: vscode.Uri): vscode.TextDocument | undefined {
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === previewUri.query);
  }

  private refreshVisible(force = true): void {
    for (const doc of this.watched()) {
      const e = this.entries.get(doc.uri.toString());
      if (force || !e || e.version !== doc.version || e.captureStamp !== this.captureStamp) this.recompute(doc);
    }
  }

  private refreshKey(key: string): void {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
    if (!doc) return;
    const e = this.entries.get(key);
    // Edits of visible documents, and documents whose preview someone asked for and has none of this version.
    if (this.watched().includes(doc) || !e || e.version !== doc.version) this.recompute(doc);
  }

  private recompute(doc: vscode.TextDocument): PreviewResult | undefined {
    if (this.model.sources.capture() === undefined) return undefined;
    const started = Date.now();
    const set = this.model.parse(doc);
    let result: PreviewResult;
    try {
      result = computePreview(set, (visit) => this.model.sources.forEachPacket(visit), { limit: this.limit() });
    } catch (err) {
      this.log.error(`steering preview of ${doc.uri.toString()} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return undefined;
    }
    this.log.trace(`steering preview: ${result.considered} packets of ${doc.uri.path} re-steered in ${Date.now() - started} ms`);
    const key = doc.uri.toString();
    this.entries.set(key, { version: doc.version, captureStamp: this.captureStamp, result });
    this.changed.fire(key);
    this.contentChanged.fire(previewUriFor(doc.uri));
    return result;
  }

  /**
   * The document's preview if it is up to date with the text (a capture change may lag by the
   * throttle); otherwise undefined, and a recompute is scheduled (onDidChangePreview says when).
   */
  current(doc: vscode.TextDocument): PreviewResult | undefined {
    const key = doc.uri.toString();
    const e = this.entries.get(key);
    if (e && e.version === doc.version) return e.result;
    if (this.model.sources.capture() !== undefined) this.debounce.schedule(key);
    return undefined;
  }

  /** The preview now, computed if it is missing or stale. */
  fresh(doc: vscode.TextDocument): PreviewResult | undefined {
    const e = this.entries.get(doc.uri.toString());
    if (e && e.version === doc.version && e.captureStamp === this.captureStamp) return e.result;
    return this.recompute(doc);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const doc = this.sourceOf(uri);
    const name = uri.path.replace(/^\//, '').replace(/ — steering preview$/, '');
    if (!doc) return `Steering preview — ${name}\n\nThe rules document is closed: open it and run Bypass Scope: Show Steering Preview again.\n`;
    const result = this.fresh(doc);
    if (!result) return noCapturePreview(name);
    return renderPreview(result, this.model.parse(doc), {
      fileName: name,
      dirty: doc.isDirty,
      isCaptureRules: this.model.isCaptureRules(doc),
      captureRunning: this.model.sources.isRunning(),
      limitSetting: PREVIEW_LIMIT_SETTING,
    });
  }

  /** Opens the preview beside the rules document and returns its URI. */
  async show(doc: vscode.TextDocument): Promise<vscode.Uri> {
    const uri = previewUriFor(doc.uri);
    this.recompute(doc);
    const previewDoc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(previewDoc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
    return uri;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
