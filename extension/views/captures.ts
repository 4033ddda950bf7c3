// extension/views: the Captures view — this window's captures, newest first, each with its state,
// counts, rules and (for a crash) what happened; selecting one shows it in the visualizer.
import * as vscode from 'vscode';
import type { Capture, CaptureController } from '../capture-controller';
import { Disposable } from '../dispose';
import { count, percent } from './format';

export type CaptureNode = { readonly kind: 'capture'; readonly capture: Capture } | { readonly kind: 'detail'; readonly capture: Capture; readonly key: string };

const STATE_ICON: Record<Capture['state'], [string, string | undefined]> = {
  starting: ['loading~spin', undefined],
  running: ['record', 'charts.red'],
  paused: ['debug-pause', 'charts.yellow'],
  stopped: ['pass', undefined],
  crashed: ['error', 'errorForeground'],
  failed: ['warning', 'list.warningForeground'],
};

export class CapturesView extends Disposable implements vscode.TreeDataProvider<CaptureNode> {
  private readonly changed = this.register(new vscode.EventEmitter<CaptureNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly controller: CaptureController) {
    super();
    this.register(controller.onDidChange(() => this.changed.fire(undefined)));
  }

  getChildren(node?: CaptureNode): CaptureNode[] {
    if (node === undefined) return [...this.controller.captures].reverse().map((capture) => ({ kind: 'capture', capture }));
    if (node.kind !== 'capture') return [];
    const c = node.capture;
    const keys = ['rules', 'packets', 'connections', 'time'];
    if (c.error !== undefined) keys.unshift('error');
    if (c.store.evicted > 0 || c.store.recordsDropped > 0) keys.push('kept');
    return keys.map((key) => ({ kind: 'detail', capture: c, key }));
  }

  getTreeItem(node: CaptureNode): vscode.TreeItem {
    const c = node.capture;
    if (node.kind === 'capture') {
      const item = new vscode.TreeItem(c.title, c === this.controller.current ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `capture-${c.serial}`;
      const reason = c.state === 'stopped' && c.summary ? ` (${c.summary.reason})` : '';
      const viewed = c === this.controller.viewed ? ' · shown' : '';
      item.description = `${c.state}${reason} · ${count(c.store.totalPackets)} packets${viewed}`;
      const [icon, color] = STATE_ICON[c.state];
      item.iconPath = new vscode.ThemeIcon(icon, color === undefined ? undefined : new vscode.ThemeColor(color));
      item.contextValue = c.live ? 'capture.live' : 'capture.ended';
      item.command = { command: 'bypassScope.viewCapture', title: 'Show in Visualizer', arguments: [c.serial] };
      item.tooltip = new vscode.MarkdownString(
        `**${c.title}**\n\n${c.state}${reason}, started ${new Date(c.startedAt).toLocaleTimeString()}\n\n` +
          `${count(c.store.totalPackets)} packets, ${count(c.store.totalTransitions)} TCP transitions; rules ${c.rules.name}` +
          (c.error ? `\n\n$(error) ${c.error}` : ''),
        true,
      );
      return item;
    }
    const item = new vscode.TreeItem('', vscode.TreeItemCollapsibleState.None);
    item.id = `capture-${c.serial}-${node.key}`;
    const s = c.store;
    switch (node.key) {
      case 'error':
        item.label = c.state === 'crashed' ? 'Engine crashed' : 'Failed';
        item.description = c.error;
        item.tooltip = `${c.error}\n\nThe packets captured before it are kept: export them, or restart.`;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        break;
      case 'rules':
        item.label = 'Rules';
        item.description = `${c.rules.name}${c.rules.builtIn ? ' (built in)' : ''} · ${c.rules.set.rules.length} rules, default ${c.rules.set.defaultAction}`;
        item.iconPath = new vscode.ThemeIcon('list-filter');
        item.command = { command: 'vscode.open', title: 'Open Rules', arguments: [vscode.Uri.parse(c.rules.uri)] };
        break;
      case 'packets': {
        const p = s.lastStats?.packets ?? s.pathTotals();
        item.label = 'Packets';
        item.description = `${count(s.totalPackets)} · bypass ${count(p.bypass)} · kernel ${count(p.kernel)} · drop ${count(p.drop)} · ${percent(c.shareBypassed())} bypassed`;
        item.iconPath = new vscode.ThemeIcon('pulse');
        break;
      }
      case 'connections': {
        const conns = s.connections();
        item.label = 'TCP connections';
        item.description = `${conns.length}` + (conns.length ? ` · ${conns.filter((x) => x.stack === 'bypass').length} bypass, ${conns.filter((x) => x.stack === 'kernel').length} kernel` : '');
        item.iconPath = new vscode.ThemeIcon('plug');
        break;
      }
      case 'time':
        item.label = 'Time';
        item.description = `${(c.timeNs / 1e9).toFixed(3)} s ${c.request.backend === 'sim' ? 'virtual' : ''} · started ${new Date(c.startedAt).toLocaleTimeString()}`;
        item.iconPath = new vscode.ThemeIcon('watch');
        break;
      case 'kept':
        item.label = 'Kept';
        item.description = `newest ${count(s.size)} of ${count(s.totalPackets)}` + (s.recordsDropped ? ` · ${count(s.recordsDropped)} trace records sampled away by the engine` : '');
        item.tooltip = `The capture buffer holds ${count(s.capacity)} packets (setting bypassScope.capture.bufferPackets).`;
        item.iconPath = new vscode.ThemeIcon('database');
        break;
    }
    return item;
  }
}
