// extension/views: the Connections view — the TCP connections of the capture shown, with the stack
// that owns each, how it was opened, its RFC 9293 state (live) and its packets; selecting one opens
// the visualizer on it; the connection the visualizer is stepping is marked with its step, and revealed.
import * as vscode from 'vscode';
import type { CaptureController } from '../capture-controller';
import type { ConnectionSummary } from '../capture-store';
import { Disposable } from '../dispose';
import { VisualizerPanel } from '../visualizer';
import { bytes, count, stateAtStep } from './format';

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

  /** Where the visualizer's connection view is: the connection it shows and after which transition. */
  stepping: { readonly connId: number; readonly step: number } | undefined;
  private treeView: vscode.TreeView<ConnectionNode> | undefined;

  constructor(private readonly controller: CaptureController) {
    super();
    this.register(controller.onDidChange(() => this.changed.fire(undefined)));
    this.register(controller.onDidChangeViewed(() => {
      this.stepping = undefined;
    }));
    this.register(VisualizerPanel.stepChanges.event(({ connId, step }) => {
      const was = this.stepping;
      this.stepping = connId === undefined ? undefined : { connId, step };
      if (was?.connId === this.stepping?.connId && was?.step === this.stepping?.step) return;
      this.changed.fire(undefined);
      const c = this.controller.viewed;
      // Follow the visualizer: its connection comes into view, selected, without taking the focus.
      if (connId !== undefined && c !== undefined && this.treeView?.visible) {
        void this.treeView.reveal({ captureSerial: c.serial, connId }, { select: true, focus: false }).then(undefined, () => undefined);
      }
    }));
  }

  /** The tree view that shows this provider (for revealing the stepped connection). */
  attach(view: vscode.TreeView<ConnectionNode>): vscode.TreeView<ConnectionNode> {
    this.treeView = view;
    return view;
  }

  getParent(): undefined {
    return undefined;
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
    const transitions = capture.store.transitionsOf(node.connId);
    const at = this.stepping?.connId === node.connId && capture === this.controller.viewed ? this.stepping.step : undefined;
    // While stepped: the state at the visualizer's step first, then the connection's latest.
    const stepped = at === undefined || transitions.length === 0 ? undefined : `step ${at}/${transitions.length} ${stateAtStep(transitions, at)}`;
    item.description = [stepped === undefined ? undefined : `▶ ${stepped}`, c.stack, c.state ?? '—', `${count(c.packets)} pkts`].filter(Boolean).join(' · ');
    item.iconPath = stateIcon(c.state);
    item.contextValue = 'connection';
    item.command = { command: 'bypassScope.openConnection', title: 'Open in Visualizer', arguments: [node.connId] };
    const steps = transitions.map((t, i) => `${i + 1}. ${t.from} → **${t.to}** on “${t.event}”${t.packetId ? ` (packet ${t.packetId})` : ''}${i + 1 === at ? ' ◀ the visualizer is here' : ''}`);
    item.tooltip = new vscode.MarkdownString(
      `**#${c.connId} ${c.stack ?? ''} ${connectionLabel(c)}** ${open}\n\n${count(c.packets)} packets, ${bytes(c.bytes)}\n\n${steps.join('\n\n') || 'no transitions yet'}`,
    );
    item.accessibilityInformation = { label: `connection ${c.connId}, ${c.stack ?? ''}, ${connectionLabel(c)}, state ${c.state ?? 'unknown'}` };
    return item;
  }
}
