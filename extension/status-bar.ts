// extension: the status-bar item — the newest capture's state, packets per second and the share of
// packets on the bypass path, and where the visualizer is stepping a connection of it; clicking it
// opens the visualizer (or starts a capture when there is none).
import * as vscode from 'vscode';
import type { Capture, CaptureController } from './capture-controller';
import { Disposable } from './dispose';
import { VisualizerPanel, type StepPlace } from './visualizer';
import { count, percent, rate, stateAtStep } from './views/format';

export class CaptureStatusBar extends Disposable {
  readonly item = this.register(vscode.window.createStatusBarItem('bypassScope.status', vscode.StatusBarAlignment.Left, 50));

  /** Where the visualizer's connection view stands (any capture's). */
  private stepping: StepPlace | undefined;

  constructor(private readonly controller: CaptureController) {
    super();
    this.item.name = 'Bypass Scope capture';
    this.register(controller.onDidChange(() => this.update()));
    this.register(controller.onDidChangeCaptureState(() => this.update()));
    this.register(VisualizerPanel.stepChanges.event((place) => {
      this.stepping = place;
      this.update();
    }));
    this.update();
    this.item.show();
  }

  update(): void {
    const c = this.controller.current;
    const item = this.item;
    item.backgroundColor = undefined;
    if (c === undefined) {
      item.text = '$(pulse) Bypass Scope';
      item.tooltip = 'No capture yet: click to start one';
      item.command = 'bypassScope.startCapture';
      return;
    }
    item.command = 'bypassScope.openVisualizer';
    const share = `${percent(c.shareBypassed())} bypassed`;
    switch (c.state) {
      case 'starting':
        item.text = `$(loading~spin) ${c.source} · starting`;
        break;
      case 'running':
        item.text = `$(record) ${c.source} · ${rate(c.packetsPerSecond)} pkt/s · ${share}`;
        break;
      case 'paused':
        item.text = `$(debug-pause) ${c.source} · paused · ${count(c.store.totalPackets)} pkts · ${share}`;
        break;
      case 'stopped':
        item.text = `$(debug-stop) ${c.source} · stopped · ${count(c.store.totalPackets)} pkts · ${share}`;
        break;
      case 'crashed':
        item.text = `$(error) ${c.source} · engine crashed · ${count(c.store.totalPackets)} pkts kept`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
      case 'failed':
        item.text = `$(warning) ${c.source} · did not start`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
    }
    const stepped = this.steppedText(c);
    if (stepped !== undefined) item.text += ` · ▶ ${stepped}`;
    item.tooltip = new vscode.MarkdownString(
      `**${c.title}** — ${c.state}\n\n${count(c.store.totalPackets)} packets (${share})` +
        (c.state === 'running' ? `, ${rate(c.packetsPerSecond)} packets/s` : '') +
        `\n\nrules: ${c.rules.name}` +
        (stepped !== undefined ? `\n\nThe visualizer is stepping connection ${stepped}.` : '') +
        (c.error ? `\n\n${c.error}` : '') +
        '\n\nClick to open the visualizer.',
    );
  }

  /** `#ID step K/N STATE` while the visualizer steps a connection of capture `c`, as the Connections view marks it. */
  private steppedText(c: Capture): string | undefined {
    const p = this.stepping;
    if (p === undefined || p.connId === undefined || p.serial !== c.serial) return undefined;
    const state = stateAtStep(c.store.transitionsOf(p.connId), p.step);
    return state === undefined ? undefined : `#${p.connId} step ${p.step}/${p.steps} ${state}`;
  }
}
