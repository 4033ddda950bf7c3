// extension/views: the Connections view — the TCP connections of the capture shown, with the stack
// that owns each, how it was opened, its RFC 9293 state (live) and its packets; selecting one opens
// the visualizer on it.
import * as vscode from 'vscode';
import type { CaptureController } from '../capture-controller';
import type { ConnectionSummary } from '../capture-store';
import { Disposable } from '../dispose';
import { bytes, count } from './format';

export interface ConnectionNode {
  readonly captureSerial: number;
  readonly connId: number;
}

function stateIcon(state: string | undefined): vscode.ThemeIcon {
  switch (state) {
    case 'ESTABLISHED':
      return new vscode.ThemeIcon('arrow-swap', new vscode.ThemeColor('charts.green'));
    case 'SYN-SENT':
    case 'SYN-RECEIVED':
    case 'LISTEN':
      return new vscode.ThemeIcon('debug-start', new vscode.ThemeColor('charts.blue'));
    case 'TIME-WAIT':
      return new vscode.ThemeIcon('watch', new vscode.ThemeColor('charts.yellow'));
    case 'CLOSED':
    case undefined:
      return new vscode.ThemeIcon('circle-slash');
    default:
      // FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK: closing.
      return new vscode.ThemeIcon('debug-step-out', new vscode.ThemeColor('charts.orange'));
  }
}

export function connectionLabel(c: ConnectionSummary): string {
  const i = c.info;
  if (i === undefined) return `#${c.connId}`;
  return `${i.localAddress}:${i.localPort} ⇄ ${i.remoteAddress}:${i.remotePort}`;
}

export class ConnectionsView extends Disposable implements vscode.TreeDataProvider<ConnectionNode> {
  private readonly changed = this.register(new vscode.EventEmitter<ConnectionNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly controller: CaptureController) {
    super();
    this.register(controller.onDidChange(() => this.changed.fire(undefined)));
  }

  getChildren(node?: ConnectionNode): ConnectionNode[] {
    const c = this.controller.viewed;
    if (node !== undefined || c === undefined) return [];
    return c.store.connections().map((x) => ({ captureSerial: c.serial, connId: x.connId }));
  }

  getTreeItem(node: ConnectionNode): vscode.TreeItem {
    const capture = this.controller.captures.find((x) => x.serial === node.captureSerial);
    const c = capture?.store.connectionInfo(node.connId);
    const item = new vscode.TreeItem(c === undefined ? `#${node.connId}` : connectionLabel(c), vscode.TreeItemCollapsibleState.None);
    item.id = `conn-${node.captureSerial}-${node.connId}`;
    if (c === undefined || capture === undefined) return item;
    const open = c.info?.open === 'active' ? 'opened by us' : c.info?.open === 'passive' ? 'accepted' : '';
    item.description = [c.stack, c.state ?? '—', `${count(c.packets)} pkts`].filter(Boolean).join(' · ');
    item.iconPath = stateIcon(c.state);
    item.contextValue = 'connection';
    item.command = { command: 'bypassScope.openConnection', title: 'Open in Visualizer', arguments: [node.connId] };
    const steps = capture.store.transitionsOf(node.connId).map((t, i) => `${i + 1}. ${t.from} → **${t.to}** on “${t.event}”${t.packetId ? ` (packet ${t.packetId})` : ''}`);
    item.tooltip = new vscode.MarkdownString(
      `**#${c.connId} ${c.stack ?? ''} ${connectionLabel(c)}** ${open}\n\n${count(c.packets)} packets, ${bytes(c.bytes)}\n\n${steps.join('\n\n') || 'no transitions yet'}`,
    );
    item.accessibilityInformation = { label: `connection ${c.connId}, ${c.stack ?? ''}, ${connectionLabel(c)}, state ${c.state ?? 'unknown'}` };
    return item;
  }
}
