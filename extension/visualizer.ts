// extension: the visualizer panel host — one webview panel (createOrShow, and revive through its
// serializer after a reload), its HTML with a strict CSP and a nonce, resources from out/webview only,
// and every message of webview/protocol.ts: the capture's state, its trace batches live (as
// ArrayBuffers), the answers to the webview's range and detail queries from the capture store, and
// selection and stepping from the host's commands. Sets the context key the stepping keys use.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import {
  isPacketDetail,
  isPacketRange,
  isReady,
  isSelectionChanged,
  isStepChanged,
  WEBVIEW_HOLD_PACKETS,
  type CaptureStateName,
  type HostMessage,
  type WebviewMessage,
} from '../webview/protocol';
import type { Capture, CaptureController } from './capture-controller';
import { toWireBatch } from './capture-store';
import { Disposable } from './dispose';

export const VIEW_TYPE = 'bypassScope.visualizer';
/** True while the visualizer panel is the active editor: the stepping keybindings' `when`. */
export const FOCUS_CONTEXT = 'bypassScope.visualizerFocused';

/** What the extension is doing with a capture, in the webview's vocabulary. */
function stateName(c: Capture | undefined): CaptureStateName {
  if (c === undefined) return 'idle';
  if (c.state === 'running' || c.state === 'paused') return c.state;
  if (c.state === 'starting') return 'running';
  return 'stopped';
}

/** Where the visualizer's connection view stands: a connection of capture `serial` after `step` of its `steps` transitions. */
export interface StepPlace {
  readonly serial: number | undefined;
  readonly connId: number | undefined;
  readonly step: number;
  readonly steps: number;
}

export class VisualizerPanel extends Disposable {
  static current: VisualizerPanel | undefined;

  /** The capture whose packets the webview holds. */
  private shown: Capture | undefined;
  /** Live batches go out only once the webview has been sent everything before them. */
  private live = false;
  /** The packet the webview has selected (it says so), and the connection stepping applies to. */
  selectedPacketId: number | undefined;
  focusedConnId: number | undefined;
  /** Where the webview's connection view is for focusedConnId: 0 before its first transition, k after the k-th. */
  connStep = 0;
  /** The last selection the host asked for (the webview echoes it back). */
  private selectPosted: number | undefined;
  /** Numbers the host's step and open messages; the webview's reports say the last one it applied. */
  private stepSeq = 0;
  /**
   * The host's last step or open, until the webview reports it applied (a report with its seq): a
   * webview hidden or still loading when it was posted never got it (hidden webviews are torn down
   * here), so a (re)loaded one is sent it again.
   */
  private lastPlace: (HostMessage & { type: 'scope/step' | 'scope/openConnection' }) | undefined;
  /** The seq of the last step or open posted to the webview loaded now (a reloaded one starts from 0). */
  private stepFloor = 0;
  private readonly stepEmitter = this.register(new vscode.EventEmitter<StepPlace>());
  /** The connection view moved (the user stepped in the webview, or a host step was applied). */
  readonly onDidChangeStep = this.stepEmitter.event;
  /** Every open panel's step changes, for views that outlive a panel (the Connections view). */
  static readonly stepChanges = new vscode.EventEmitter<StepPlace>();
  /** Messages posted and received, newest last (bounded): what the integration tests look at. */
  readonly posted: HostMessage[] = [];
  readonly received: WebviewMessage[] = [];
  readyCount = 0;

  static createOrShow(extensionUri: vscode.Uri, controller: CaptureController, log: vscode.LogOutputChannel, preserveFocus = false): VisualizerPanel {
    const existing = VisualizerPanel.current;
    if (existing !== undefined) {
      existing.panel.reveal(existing.panel.viewColumn, preserveFocus);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'Bypass Scope', { viewColumn: vscode.ViewColumn.Active, preserveFocus }, VisualizerPanel.options(extensionUri));
    return new VisualizerPanel(panel, extensionUri, controller, log);
  }

  /** A panel VS Code restored after a reload (the webview's own state comes back with it). */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, controller: CaptureController, log: vscode.LogOutputChannel): VisualizerPanel {
    VisualizerPanel.current?.dispose();
    panel.webview.options = VisualizerPanel.options(extensionUri);
    return new VisualizerPanel(panel, extensionUri, controller, log);
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'out', 'webview')] };
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly controller: CaptureController,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    VisualizerPanel.current = this;
    this.shown = controller.viewed;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'out', 'media', 'bypass-scope.svg');
    this.updateTitle();
    panel.webview.html = this.html();
    this.register(panel.onDidDispose(() => this.dispose()));
    this.register(panel.onDidChangeViewState((e) => {
      void vscode.commands.executeCommand('setContext', FOCUS_CONTEXT, e.webviewPanel.active);
      // A hidden webview is torn down (no retained context): when shown again it loads afresh, says
      // ready and asks for the range; nothing may go to it live before that.
      if (!e.webviewPanel.visible) this.live = false;
    }));
    void vscode.commands.executeCommand('setContext', FOCUS_CONTEXT, panel.active);
    this.register(panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)));
    this.register(controller.onTrace(({ capture, batch }) => {
      if (capture === this.shown && this.live) this.post({ type: 'scope/traceBatch', batch: toWireBatch(batch) });
    }));
    this.register(controller.onConnection(({ capture, connection }) => {
      if (capture === this.shown && this.live) this.post({ type: 'scope/connection', connection });
    }));
    this.register(controller.onStats(({ capture, stats }) => {
      if (capture === this.shown && this.live) this.post({ type: 'scope/stats', stats });
    }));
    this.register(controller.onDidChangeCaptureState((c) => {
      if (c === this.shown) {
        this.postState();
        this.updateTitle();
      }
    }));
    this.register(controller.onDidChangeViewed((c) => this.show(c)));
    // What the store holds, at most four times a second while it changes: the webview's list spans it.
    this.register(controller.onDidChange(() => this.postExtent()));
  }

  private lastExtent = '';

  private postExtent(): void {
    const c = this.shown;
    if (c === undefined || !this.live) return;
    const extent = c.store.extent();
    const key = `${extent.firstId}/${extent.lastId}/${extent.held}`;
    if (key === this.lastExtent) return;
    this.lastExtent = key;
    this.post({ type: 'scope/extent', extent });
  }

  override dispose(): void {
    if (VisualizerPanel.current === this) VisualizerPanel.current = undefined;
    void vscode.commands.executeCommand('setContext', FOCUS_CONTEXT, false);
    super.dispose();
    this.panel.dispose();
  }

  get capture(): Capture | undefined {
    return this.shown;
  }

  /** Shows another capture: the webview forgets what it holds and is sent the new one's packets. */
  show(c: Capture | undefined): void {
    if (c === this.shown) return;
    this.shown = c;
    this.lastPlace = undefined;
    this.selectedPacketId = undefined;
    this.focusedConnId = undefined;
    this.connStep = 0;
    this.fireStep();
    this.updateTitle();
    this.live = false;
    // Not loaded yet, or hidden: the webview asks for everything once it is (re)loaded.
    if (this.readyCount === 0 || !this.panel.visible) return;
    this.stepFloor = ++this.stepSeq;
    this.post({ type: 'scope/reset', seq: this.stepSeq });
    this.postState();
    this.sendAll();
  }

  /** Selects a packet in the webview's list. */
  select(packetId: number): void {
    this.selectedPacketId = packetId;
    this.selectPosted = packetId;
    this.post({ type: 'scope/select', packetId });
  }

  private transitionCount(connId: number): number {
    return this.shown?.store.transitionsOf(connId).length ?? 0;
  }

  /**
   * Steps the webview's connection view one transition on `connId` (from its first state when it is
   * another connection than the one open); returns where the view is now.
   */
  step(direction: 'back' | 'forward', connId?: number): number {
    const id = connId ?? this.focusedConnId;
    if (id === undefined) return 0;
    const from = id === this.focusedConnId ? this.connStep : 0;
    this.showTransition(id, from + (direction === 'forward' ? 1 : -1));
    return this.connStep;
  }

  /** Shows connection `connId` after its `n`-th transition (0: its first state), as one absolute message. */
  showTransition(connId: number, n: number): void {
    const step = Math.max(0, Math.min(n, this.transitionCount(connId)));
    this.focusedConnId = connId;
    this.connStep = step;
    this.stepFloor = ++this.stepSeq;
    this.place({ type: 'scope/step', connId, step, seq: this.stepSeq });
    this.fireStep();
  }

  /** Opens a connection in the webview on its TCP tab at its first state, and selects its first packet. */
  openConnection(connId: number): void {
    this.focusedConnId = connId;
    this.connStep = 0;
    this.stepFloor = ++this.stepSeq;
    this.place({ type: 'scope/openConnection', connId, seq: this.stepSeq });
    this.fireStep();
    const first = this.shown?.store.connectionInfo(connId)?.firstPacketId;
    if (first !== undefined) this.select(first);
  }

  private place(m: HostMessage & { type: 'scope/step' | 'scope/openConnection' }): void {
    this.lastPlace = m;
    this.post(m);
  }

  private fireStep(): void {
    const e: StepPlace = { serial: this.shown?.serial, connId: this.focusedConnId, step: this.connStep, steps: this.focusedConnId === undefined ? 0 : this.transitionCount(this.focusedConnId) };
    this.stepEmitter.fire(e);
    VisualizerPanel.stepChanges.fire(e);
  }

  private post(m: HostMessage): void {
    this.posted.push(m);
    if (this.posted.length > 4000) this.posted.splice(0, 2000);
    void this.panel.webview.postMessage(m);
  }

  private postState(): void {
    const c = this.shown;
    this.post({
      type: 'scope/captureState',
      state: stateName(c),
      backend: c?.request.backend ?? '',
      scenario: c === undefined ? 'no capture' : c.source.split(' · ')[1] ?? '',
      rules: c?.rules.labels ?? [],
    });
  }

  /** Everything the store holds, as batches, with the connections and the latest stats; then live. */
  private sendAll(): void {
    const c = this.shown;
    if (c === undefined) return;
    // The newest packets the webview holds at most, with every transition; it asks for older ones as it scrolls.
    const r = c.store.range(1, 0xffffffff, WEBVIEW_HOLD_PACKETS);
    for (const conn of r.connections) this.post({ type: 'scope/connection', connection: conn });
    this.post({ type: 'scope/extent', extent: r.extent });
    for (const b of r.batches) this.post({ type: 'scope/traceBatch', batch: b });
    if (c.store.lastStats !== undefined) this.post({ type: 'scope/stats', stats: c.store.lastStats });
    this.live = true;
  }

  private receive(m: unknown): void {
    if (typeof m === 'object' && m !== null) {
      this.received.push(m as WebviewMessage);
      if (this.received.length > 4000) this.received.splice(0, 2000);
    }
    if (isReady(m)) {
      // A (re)loaded webview holds nothing: it asks for the range next; nothing live until then.
      this.readyCount++;
      this.live = false;
      this.stepFloor = 0;
      this.postState();
      if (this.lastPlace !== undefined) {
        this.stepFloor = this.lastPlace.seq;
        this.post(this.lastPlace);
      }
      return;
    }
    if (isSelectionChanged(m)) {
      this.selectedPacketId = m.packetId;
      const p = m.packetId === undefined ? undefined : this.shown?.store.packet(m.packetId);
      const echo = m.packetId === this.selectPosted;
      this.selectPosted = undefined;
      // A packet of another connection picked in the list: stepping applies to its connection next.
      // (Selections of this connection's packets come from stepping it, and leave the cursor alone.)
      if (p !== undefined && p.connId !== 0 && !echo && p.connId !== this.focusedConnId) {
        this.focusedConnId = p.connId;
        this.connStep = 0;
      }
      return;
    }
    if (isStepChanged(m)) {
      // A report from before the webview applied the host's latest step is stale: that step overrides it.
      if (m.hostSeq < this.stepFloor) return;
      if (this.lastPlace !== undefined && m.hostSeq >= this.lastPlace.seq) this.lastPlace = undefined;
      this.focusedConnId = m.connId;
      this.connStep = m.step;
      this.fireStep();
      return;
    }
    if (isPacketRange(m)) {
      const store = this.shown?.store;
      const result = store === undefined ? { batches: [], connections: [] } : store.range(m.fromId, m.toId, m.newest);
      this.post({ type: 'scope/response', id: m.id, ok: true, result });
      if (store?.lastStats !== undefined) this.post({ type: 'scope/stats', stats: store.lastStats });
      this.live = true;
      return;
    }
    if (isPacketDetail(m)) {
      const batch = this.shown?.store.detail(m.packetId);
      if (batch === undefined) this.post({ type: 'scope/response', id: m.id, ok: false, error: `packet ${m.packetId} is no longer held (the capture buffer keeps the newest ${this.shown?.store.capacity ?? 0} packets)` });
      else this.post({ type: 'scope/response', id: m.id, ok: true, result: { batch } });
      return;
    }
    this.log.warn(`visualizer: unknown message ${JSON.stringify(m)?.slice(0, 200)}`);
  }

  private updateTitle(): void {
    const c = this.shown;
    this.panel.title = c === undefined ? 'Bypass Scope' : `Bypass Scope — ${c.source}`;
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const base = vscode.Uri.joinPath(this.extensionUri, 'out', 'webview');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(base, 'main.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(base, 'main.css'));
    const src = webview.cspSource;
    const csp = [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src ${src} 'nonce-${nonce}'`,
      `img-src ${src} data:`,
      `font-src ${src}`,
    ].join('; ');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}">
<title>Bypass Scope</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" type="module" src="${script}"></script>
</body>
</html>`;
  }
}
