// extension/views: the Rules view — the rules the capture shown steers by, each with its live hits
// (packets, bytes, flows), then the default and the flows the bypass stack opened itself; selecting
// a rule reveals its line in the rules file.
import * as vscode from 'vscode';
import type { CaptureController } from '../capture-controller';
import { RULE_DEFAULT, RULE_EARLIER_RULES, RULE_LOCAL_PIN } from '../../engine/trace/schema';
import { Disposable } from '../dispose';
import { bytes, count } from './format';

export interface RuleNode {
  readonly captureSerial: number;
  /** Rule index, or RULE_DEFAULT, RULE_LOCAL_PIN, RULE_EARLIER_RULES. */
  readonly rule: number;
}

const ACTION_ICON: Record<string, [string, string]> = {
  bypass: ['zap', 'charts.purple'],
  kernel: ['server-process', 'charts.blue'],
  drop: ['circle-slash', 'charts.red'],
};

export class RulesView extends Disposable implements vscode.TreeDataProvider<RuleNode> {
  private readonly changed = this.register(new vscode.EventEmitter<RuleNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly controller: CaptureController) {
    super();
    this.register(controller.onDidChange(() => this.changed.fire(undefined)));
  }

  getChildren(node?: RuleNode): RuleNode[] {
    const c = this.controller.viewed;
    if (node !== undefined || c === undefined) return [];
    const nodes: RuleNode[] = c.rules.labels.map((l) => ({ captureSerial: c.serial, rule: l.index }));
    nodes.push({ captureSerial: c.serial, rule: RULE_DEFAULT });
    for (const extra of [RULE_LOCAL_PIN, RULE_EARLIER_RULES]) if (c.store.ruleHits(extra, c.rules.labels.length).packets > 0) nodes.push({ captureSerial: c.serial, rule: extra });
    return nodes;
  }

  getTreeItem(node: RuleNode): vscode.TreeItem {
    const c = this.controller.captures.find((x) => x.serial === node.captureSerial);
    const item = new vscode.TreeItem('', vscode.TreeItemCollapsibleState.None);
    item.id = `rule-${node.captureSerial}-${node.rule}`;
    if (c === undefined) return item;
    const hits = c.store.ruleHits(node.rule, c.rules.labels.length);
    const hitText = `${count(hits.packets)} pkts · ${count(hits.flows)} flow${hits.flows === 1 ? '' : 's'}`;
    const uri = vscode.Uri.parse(c.rules.uri);
    if (node.rule >= 0) {
      const l = c.rules.labels.find((x) => x.index === node.rule)!;
      item.label = `${l.action} ${l.filter}`;
      item.description = `line ${l.line} · ${hitText}`;
      const [icon, color] = ACTION_ICON[l.action];
      item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
      item.command = { command: 'bypassScope.revealRule', title: 'Reveal Rule', arguments: [uri.toString(), l.line] };
      item.tooltip = `${c.rules.name}:${l.line}  ${l.action} ${l.filter}\n${count(hits.packets)} packets, ${bytes(hits.bytes)}, ${count(hits.flows)} flows steered by this rule`;
      item.contextValue = 'rule';
    } else if (node.rule === RULE_DEFAULT) {
      const d = c.rules.set.default;
      item.label = `default ${c.rules.set.defaultAction}`;
      item.description = `${d ? `line ${d.range.line} · ` : ''}${hitText}`;
      const [icon, color] = ACTION_ICON[c.rules.set.defaultAction];
      item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
      if (d) item.command = { command: 'bypassScope.revealRule', title: 'Reveal Rule', arguments: [uri.toString(), d.range.line] };
      item.tooltip = `Packets no rule matched: ${count(hits.packets)} packets, ${bytes(hits.bytes)}, ${count(hits.flows)} flows`;
      item.contextValue = 'rule';
    } else if (node.rule === RULE_LOCAL_PIN) {
      item.label = 'opened by the bypass stack';
      item.description = hitText;
      item.iconPath = new vscode.ThemeIcon('pinned');
      item.tooltip = 'Flows the userspace stack opened itself are pinned to the bypass path, whatever the rules say.';
    } else {
      item.label = 'pinned to earlier rules';
      item.description = `${hitText} · ${count(c.pinnedToOldRules)} flows pinned now`;
      item.iconPath = new vscode.ThemeIcon('history');
      item.tooltip = 'Flows classified before the rules were reloaded keep the path they were given.';
    }
    return item;
  }
}
