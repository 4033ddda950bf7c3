// extension: the status-bar item — the newest capture's state, packets per second and the share of
// packets on the bypass path; clicking it opens the visualizer (or starts a capture when there is none).
import * as vscode from 'vscode';
import type { CaptureController } from './capture-controller';
import { Disposable } from './dispose';
import { count, percent, rate } from './views/format';

export class CaptureStatusBar extends Disposable {
  readonly item = this.register(vscode.window.createStatusBarItem('bypassScope.status', vscode.StatusBarAlignment.Left, 50));

  constructor(private readonly controller: CaptureController) {
    super();
    this.item.name = 'Bypass Scope capture';
    this.register(controller.onDidChange(() => this.update()));
    this.register(controller.onDidChangeCaptureState(() => this.update()));
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
    item.tooltip = new vscode.MarkdownString(
      `**${c.title}** — ${c.state}\n\n${count(c.store.totalPackets)} packets (${share})` +
        (c.state === 'running' ? `, ${rate(c.packetsPerSecond)} packets/s` : '') +
        `\n\nrules: ${c.rules.name}` +
        (c.error ? `\n\n${c.error}` : '') +
        '\n\nClick to open the visualizer.',
    );
  }
}
