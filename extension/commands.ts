// extension: the commands (category "Bypass Scope") — starting, stopping, pausing and stepping
// captures, the visualizer, replay and pcapng export, the engine's restart and log, and the views'
// item actions. Each returns what it did, so that tests and other commands can use it.
import * as vscode from 'vscode';
import type { BackendName } from '../engine/protocol';
import { TrustError, type Capture, type CaptureController, type CaptureRequest } from './capture-controller';
import type { EngineHost } from './engine-host';
import { exportPcapng } from './pcapng-export';
import { askCaptureRequest } from './start-capture';
import { VisualizerPanel } from './visualizer';
import type { CaptureNode } from './views/captures';
import type { ConnectionNode } from './views/connections';
import { count } from './views/format';

export interface StepOutcome {
  /** What moved: the engine (a live capture ran to its next packet or transition) or only the view. */
  readonly moved: 'engine' | 'view' | 'nothing';
  readonly packetId?: number;
  readonly connId?: number;
  readonly advanced?: boolean;
  /** The connection's state after the step (RFC 9293 name). */
  readonly state?: string;
}

export interface ExportOutcome {
  readonly uri: vscode.Uri;
  readonly written: number;
  readonly skipped: number;
}

export class Commands {
  /** The kind of the last forward step, which Step Back undoes. */
  private lastStep: 'packet' | 'transition' = 'transition';

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly controller: CaptureController,
    private readonly host: EngineHost,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    const r = (id: string, f: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, f as (...args: unknown[]) => unknown);
    return [
      r('bypassScope.startCapture', (given?: Partial<CaptureRequest>) => this.startCapture(given)),
      r('bypassScope.stopCapture', () => this.stopCapture()),
      r('bypassScope.pauseResume', () => this.pauseResume()),
      r('bypassScope.stepPacket', () => this.stepPacket()),
      r('bypassScope.stepTransition', () => this.stepTransition()),
      r('bypassScope.stepBack', () => this.stepBack()),
      r('bypassScope.openVisualizer', () => this.openVisualizer()),
      r('bypassScope.replayCapture', (file?: vscode.Uri | string, options?: { rulesUri?: string }) => this.replay(file, options)),
      r('bypassScope.exportPcapng', (target?: vscode.Uri | CaptureNode, serial?: number) => this.exportCapture(target, serial)),
      r('bypassScope.restartEngine', () => this.restartEngine()),
      r('bypassScope.showLog', () => this.log.show()),
      r('bypassScope.viewCapture', (which?: number | CaptureNode) => this.viewCapture(which)),
      r('bypassScope.openConnection', (which?: number | ConnectionNode) => this.openConnection(which)),
      r('bypassScope.revealRule', (uri?: string, line?: number) => this.revealRule(uri, line)),
    ];
  }

  private panel(preserveFocus = false): VisualizerPanel {
    return VisualizerPanel.createOrShow(this.context.extensionUri, this.controller, this.log, preserveFocus);
  }

  /** Start Capture…: asks what is not given, starts it and opens the visualizer. */
  async startCapture(given: Partial<CaptureRequest> = {}): Promise<Capture | undefined> {
    const request = await askCaptureRequest(given, this.host.current?.hello.backends);
    if (request === undefined) return undefined;
    return this.run(request);
  }

  private async run(request: CaptureRequest): Promise<Capture | undefined> {
    try {
      const c = await this.controller.start(request);
      this.panel(true);
      return c;
    } catch (e) {
      // The messages are not awaited: the command is done whether or not the user answers them.
      if (e instanceof TrustError) {
        void vscode.window.showErrorMessage(`Bypass Scope: ${e.message}. sim and pcap replay work everywhere.`, 'Manage Workspace Trust').then((choice) => {
          if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
        });
        return undefined;
      }
      void showError(`could not start the ${request.backend} capture: ${(e as Error).message}`, 'Show Log').then((choice) => {
        if (choice === 'Show Log') this.log.show();
      });
      return undefined;
    }
  }

  async stopCapture(): Promise<boolean> {
    const live = this.controller.live;
    if (live === undefined) {
      void vscode.window.showInformationMessage('Bypass Scope: no capture is running.');
      return false;
    }
    try {
      const s = await this.controller.stop();
      void vscode.window.setStatusBarMessage(`Bypass Scope: ${live.title} stopped, ${count(s?.packets ?? live.store.totalPackets)} packets`, 5000);
      return true;
    } catch (e) {
      void showError(`could not stop the capture: ${(e as Error).message}`);
      return false;
    }
  }

  async pauseResume(): Promise<string | undefined> {
    if (this.controller.live === undefined) {
      void vscode.window.showInformationMessage('Bypass Scope: no capture is running.');
      return undefined;
    }
    try {
      return await this.controller.togglePause();
    } catch (e) {
      void showError((e as Error).message);
      return undefined;
    }
  }

  /**
   * Step to Next Packet: a paused capture runs until exactly its next packet and the visualizer
   * selects it; otherwise (running or ended) the visualizer's selection moves to the next packet held.
   */
  async stepPacket(): Promise<StepOutcome> {
    this.lastStep = 'packet';
    const panel = this.panel(true);
    const live = this.controller.live;
    if (live !== undefined && live.state === 'paused') {
      const r = await this.controller.step('packet').catch((e: Error) => void showError(`step: ${e.message}`));
      if (r === undefined) return { moved: 'nothing' };
      const newest = newestPacket(live);
      if (newest !== undefined) panel.select(newest);
      return { moved: 'engine', advanced: r.advanced, packetId: newest };
    }
    return this.stepHeldPacket(panel, +1);
  }

  /**
   * The visualizer's selection moves to the next (or previous) held packet: of the connection the
   * visualizer shows, when the selection is one of its packets (or there is none); else of the capture.
   */
  private stepHeldPacket(panel: VisualizerPanel, dir: 1 | -1): StepOutcome {
    const c = panel.capture;
    if (c === undefined) return { moved: 'nothing' };
    const connId = panel.focusedConnId;
    const selected = panel.selectedPacketId === undefined ? undefined : c.store.packet(panel.selectedPacketId);
    const inConnection = connId !== undefined && (selected === undefined || selected.connId === connId);
    const pool = inConnection ? c.store.packetsOfConnection(connId) : c.store.packets();
    const next = neighbourPacket(pool, panel.selectedPacketId, dir);
    if (next === undefined) return { moved: 'nothing' };
    panel.select(next);
    return inConnection ? { moved: 'view', packetId: next, connId } : { moved: 'view', packetId: next };
  }

  /**
   * Step to Next TCP Transition: a paused capture runs until exactly its next state change and the
   * visualizer shows that connection at it; otherwise the visualizer's connection steps forward
   * through the transitions captured.
   */
  async stepTransition(): Promise<StepOutcome> {
    this.lastStep = 'transition';
    const panel = this.panel(true);
    const live = this.controller.live;
    if (live !== undefined && live.state === 'paused') {
      const before = live.store.totalTransitions;
      const r = await this.controller.step('transition').catch((e: Error) => void showError(`step: ${e.message}`));
      if (r === undefined) return { moved: 'nothing' };
      const t = lastTransition(live);
      if (t === undefined || live.store.totalTransitions === before) return { moved: 'engine', advanced: r.advanced };
      panel.showTransition(t.connId, live.store.transitionsOf(t.connId).length);
      return { moved: 'engine', advanced: r.advanced, connId: t.connId, packetId: t.packetId || undefined, state: t.to };
    }
    const c = panel.capture;
    if (c === undefined) return { moved: 'nothing' };
    const connId = panel.focusedConnId ?? c.store.connections()[0]?.connId;
    if (connId === undefined) {
      void vscode.window.showInformationMessage('Bypass Scope: this capture has no TCP connection to step through.');
      return { moved: 'nothing' };
    }
    const step = panel.step('forward', connId);
    return { moved: 'view', connId, state: stateAt(c, connId, step) };
  }

  /** Step Back: the visualizer goes back one step of the kind last taken (a packet, or a transition). */
  async stepBack(): Promise<StepOutcome> {
    const panel = this.panel(true);
    const c = panel.capture;
    if (c === undefined) return { moved: 'nothing' };
    if (this.lastStep === 'packet') return this.stepHeldPacket(panel, -1);
    const connId = panel.focusedConnId ?? c.store.connections()[0]?.connId;
    if (connId === undefined) return { moved: 'nothing' };
    const step = panel.step('back', connId);
    return { moved: 'view', connId, state: stateAt(c, connId, step) };
  }

  openVisualizer(): VisualizerPanel {
    return this.panel(false);
  }

  /** Replay Capture File…: a pcap/pcapng through the rules (`options.rulesUri` answers the rules question, undefined meaning the built-in rules). */
  async replay(file?: vscode.Uri | string, options?: { rulesUri?: string }): Promise<Capture | undefined> {
    const given: { -readonly [K in keyof CaptureRequest]?: CaptureRequest[K] } = { backend: 'pcap' as BackendName };
    if (file !== undefined) given.file = typeof file === 'string' ? file : file.fsPath;
    if (options !== undefined && 'rulesUri' in options) given.rulesUri = options.rulesUri;
    return this.startCapture(given);
  }

  /** Export Capture as pcapng…: the capture shown (or the one given) into a pcapng file. */
  async exportCapture(target?: vscode.Uri | CaptureNode, serial?: number): Promise<ExportOutcome | undefined> {
    let uri = target instanceof vscode.Uri ? target : undefined;
    const node = target !== undefined && !(target instanceof vscode.Uri) ? target : undefined;
    const c = node?.capture ?? (serial !== undefined ? this.controller.captures.find((x) => x.serial === serial) : undefined) ?? this.controller.viewed ?? this.controller.current;
    if (c === undefined) {
      void vscode.window.showInformationMessage('Bypass Scope: there is no capture to export yet.');
      return undefined;
    }
    if (c.live) {
      const choice = await vscode.window.showWarningMessage(`Bypass Scope: ${c.title} is still ${c.state}. Stop it to export it?`, 'Stop and Export');
      if (choice !== 'Stop and Export') return undefined;
      await this.controller.stop();
    }
    if (uri === undefined) {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const name = `capture-${c.serial}-${c.request.backend}.pcapng`;
      uri = await vscode.window.showSaveDialog({ title: `Export ${c.title} as pcapng`, saveLabel: 'Export', defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters: { pcapng: ['pcapng'] } });
      if (uri === undefined) return undefined;
    }
    const res = exportPcapng(c.store, {
      ruleName: (i) => c.ruleName(i),
      interfaceName: `${c.request.backend}0`,
      interfaceDescription: `${c.source}, host side`,
    });
    try {
      await vscode.workspace.fs.writeFile(uri, res.bytes);
    } catch (e) {
      void showError(`could not write ${uri.fsPath}: ${(e as Error).message}`);
      return undefined;
    }
    const left = res.skipped ? ` (${count(res.skipped)} left out: lost on the wire, or no bytes kept at this trace level)` : '';
    const evicted = c.store.evicted ? `; the oldest ${count(c.store.evicted)} had already left the capture buffer` : '';
    this.log.info(`${c.title}: exported ${res.written} packets to ${uri.fsPath}${left}${evicted}`);
    void vscode.window.showInformationMessage(`Bypass Scope: saved ${count(res.written)} packets to ${vscode.workspace.asRelativePath(uri)}${left}${evicted}.`, 'Decode').then((choice) => {
      if (choice === 'Decode') void vscode.commands.executeCommand('bypassScope.decodeCapture', uri);
    });
    return { uri, written: res.written, skipped: res.skipped };
  }

  async restartEngine(): Promise<Capture | undefined> {
    try {
      const c = await this.controller.restartEngine();
      if (c !== undefined) this.panel(true);
      return c;
    } catch (e) {
      void showError(`could not restart the engine: ${(e as Error).message}`, 'Show Log').then((choice) => {
        if (choice === 'Show Log') this.log.show();
      });
      return undefined;
    }
  }

  viewCapture(which?: number | CaptureNode): Capture | undefined {
    const serial = typeof which === 'number' ? which : which?.capture.serial;
    const c = this.controller.captures.find((x) => x.serial === serial) ?? this.controller.current;
    if (c === undefined) return undefined;
    this.controller.setViewed(c);
    this.panel(false);
    return c;
  }

  openConnection(which?: number | ConnectionNode): number | undefined {
    const connId = typeof which === 'number' ? which : which?.connId;
    if (connId === undefined) return undefined;
    const panel = this.panel(false);
    panel.openConnection(connId);
    return connId;
  }

  async revealRule(uri?: string, line?: number): Promise<vscode.TextEditor | undefined> {
    if (uri === undefined || line === undefined) return undefined;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const l = Math.max(0, Math.min(doc.lineCount - 1, line - 1));
    const range = doc.lineAt(l).range;
    return vscode.window.showTextDocument(doc, { selection: new vscode.Selection(range.start, range.end), preview: true });
  }
}

function showError(message: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showErrorMessage(`Bypass Scope: ${message}`, ...items);
}

/** A connection's state after its `step`-th transition (0: before the first). */
function stateAt(c: Capture, connId: number, step: number): string | undefined {
  const ts = c.store.transitionsOf(connId);
  if (ts.length === 0) return undefined;
  return step === 0 ? ts[0].from : ts[Math.min(step, ts.length) - 1].to;
}

function newestPacket(c: Capture): number | undefined {
  let last: number | undefined;
  for (const p of c.store.packets()) last = p.id;
  return last;
}

function lastTransition(c: Capture) {
  let last;
  for (const t of c.store.transitions()) last = t.transition;
  return last;
}

/** The held packet next to `from` in id order (`dir` +1 after, -1 before); the first or last when `from` is unset. */
function neighbourPacket(packets: Iterable<{ readonly id: number }>, from: number | undefined, dir: 1 | -1): number | undefined {
  let best: number | undefined;
  for (const p of packets) {
    if (from === undefined) {
      if (best === undefined || (dir > 0 ? p.id < best : p.id > best)) best = p.id;
    } else if (dir > 0 ? p.id > from && (best === undefined || p.id < best) : p.id < from && (best === undefined || p.id > best)) {
      best = p.id;
    }
  }
  return best;
}
