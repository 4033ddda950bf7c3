// test/extension/integration: stepping between the host and the real webview — the host follows the
// webview's `scope/stepChanged`, the step commands post absolute places (no drift when a report from
// the webview crosses them), the Connections view marks and follows the stepped connection, and
// selecting a connection there opens it on the webview's TCP tab.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { StepChangedNotification, WebviewMessage } from '../../../webview/protocol';
import type { VisualizerPanel } from '../../../extension/visualizer';
import { api, finishedMixedCapture, until } from './helpers';

const label = (i: vscode.TreeItem) => (typeof i.label === 'string' ? i.label : (i.label?.label ?? ''));

/** The webview's newest report that applied host step `seq` (or a later one). */
function reportAfter(p: VisualizerPanel, seq: number): StepChangedNotification | undefined {
  const r = [...p.received].reverse().find((m: WebviewMessage): m is StepChangedNotification => m.type === 'scope/stepChanged');
  return r !== undefined && r.hostSeq >= seq ? r : undefined;
}

function lastSeq(p: VisualizerPanel): number {
  const m = [...p.posted].reverse().find((x) => x.type === 'scope/step' || x.type === 'scope/openConnection' || x.type === 'scope/reset');
  return m !== undefined && 'seq' in m ? m.seq : 0;
}

/** What the webview (its own object, over postMessage) would send: for reports the real webview cannot be made to send from here. */
function fromWebview(p: VisualizerPanel, m: WebviewMessage): void {
  (p as unknown as { receive(m: unknown): void }).receive(m);
}

describe('stepping between the host and the visualizer', () => {
  it('selecting a connection in the Connections view opens it on the visualizer\'s TCP tab, which reports its first state back', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const v = a.views.connections;
    const rrNode = v.getChildren().find((n) => c.store.connectionInfo(n.connId)?.info?.remotePort === 9000)!;
    const item = v.getTreeItem(rrNode);
    await vscode.commands.executeCommand(item.command!.command, ...item.command!.arguments!);
    const p = a.visualizer()!;
    const open = [...p.posted].reverse().find((m) => m.type === 'scope/openConnection');
    assert.deepEqual(open && { type: open.type, connId: open.connId }, { type: 'scope/openConnection', connId: rrNode.connId });
    const seq = lastSeq(p);
    const total = c.store.transitionsOf(rrNode.connId).length;
    const r = await until('the webview to report the opened connection with all its transitions', () => reportAfter(p, seq)?.steps === total && reportAfter(p, seq)).catch((e: Error) => {
      // Where it stood: the last reports, what the host posted since, and the panel's state.
      const reports = p.received.filter((m) => m.type === 'scope/stepChanged').slice(-3);
      const posted = p.posted.slice(-8).map((m) => m.type + ('seq' in m ? ` seq ${m.seq}` : ''));
      throw new Error(`${e.message}; want connId ${rrNode.connId} with ${total} transitions at host seq ${seq}; last reports ${JSON.stringify(reports)}; last posted ${posted.join(', ')}; visible ${p.panel.visible}, ready ${p.readyCount}`);
    });
    assert.deepEqual(r, { type: 'scope/stepChanged', connId: rrNode.connId, step: 0, steps: total, hostSeq: seq });
    const marked = v.getTreeItem(rrNode);
    assert.match(String(marked.description), new RegExp(`^▶ step 0/${total} CLOSED · bypass · CLOSED · \\d+ pkts$`));
    // The status bar says where the visualizer stands too.
    assert.match(a.statusBar.item.text, new RegExp(` · ▶ #${rrNode.connId} step 0/${total} CLOSED$`));
    assert.match(String((a.statusBar.item.tooltip as vscode.MarkdownString).value), new RegExp(`stepping connection #${rrNode.connId} step 0/${total} CLOSED`));
  });

  it('the host follows a step the user takes in the webview: the step commands go on from there, and the Connections view shows it', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const rr = c.store.connections().find((x) => x.info?.remotePort === 9000)!;
    await vscode.commands.executeCommand('bypassScope.openConnection', rr.connId);
    const p = a.visualizer()!;
    const seq = lastSeq(p);
    await until('the webview to apply the open', () => reportAfter(p, seq));
    const total = c.store.transitionsOf(rr.connId).length;
    // The user pressed → three times in the webview (its report names the host step it had applied).
    fromWebview(p, { type: 'scope/stepChanged', connId: rr.connId, step: 3, steps: total, hostSeq: seq });
    assert.equal(p.connStep, 3);
    const item = a.views.connections.getChildren().map((n) => a.views.connections.getTreeItem(n)).find((i) => String(i.description).startsWith('▶'));
    assert.match(String(item?.description), new RegExp(`^▶ step 3/${total} FIN-WAIT-1 · bypass`), `marked item: ${item && label(item)} ${item?.description}`);
    assert.match(a.statusBar.item.text, new RegExp(` · ▶ #${rr.connId} step 3/${total} FIN-WAIT-1$`));
    const next = (await vscode.commands.executeCommand('bypassScope.stepTransition')) as { connId: number; state: string };
    assert.deepEqual(next, { moved: 'view', connId: rr.connId, state: 'FIN-WAIT-2' });
    const step = [...p.posted].reverse().find((m) => m.type === 'scope/step');
    assert.deepEqual(step && { connId: step.connId, step: step.step }, { connId: rr.connId, step: 4 });
    assert.match(a.statusBar.item.text, new RegExp(` · ▶ #${rr.connId} step 4/${total} FIN-WAIT-2$`));
    // And the real webview gets there and says so.
    const r = await until('the webview to report step 4', () => reportAfter(p, lastSeq(p)));
    assert.equal(r.step, 4);
  });

  it('a report that crosses the host\'s steps is stale and ignored: three quick steps land exactly three on', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const rr = c.store.connections().find((x) => x.info?.remotePort === 9000)!;
    await vscode.commands.executeCommand('bypassScope.openConnection', rr.connId);
    const p = a.visualizer()!;
    const openSeq = lastSeq(p);
    await until('the webview to apply the open', () => reportAfter(p, openSeq));
    const states: string[] = [];
    for (let i = 0; i < 3; i++) states.push(((await vscode.commands.executeCommand('bypassScope.stepTransition')) as { state: string }).state);
    assert.deepEqual(states, ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1']);
    // The webview's report of its first step, sent before it had seen the other two, arrives now.
    fromWebview(p, { type: 'scope/stepChanged', connId: rr.connId, step: 1, steps: 6, hostSeq: openSeq + 1 });
    assert.equal(p.connStep, 3, 'a stale report must not move the host back');
    const told = p.posted.filter((m) => m.type === 'scope/step').slice(-3).map((m) => (m.type === 'scope/step' ? m.step : -1));
    assert.deepEqual(told, [1, 2, 3], 'absolute places, one per step');
    const back = (await vscode.commands.executeCommand('bypassScope.stepBack')) as { state: string };
    assert.equal(back.state, 'ESTABLISHED');
    const r = await until('the webview to land on step 2', () => reportAfter(p, lastSeq(p)));
    assert.deepEqual({ connId: r.connId, step: r.step }, { connId: rr.connId, step: 2 });
  });

  it('Step to Next Packet and Step Back walk the open connection\'s own packets', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const rr = c.store.connections().find((x) => x.info?.remotePort === 9000)!;
    const own = c.store.packetsOfConnection(rr.connId).map((x) => x.id).sort((x, y) => x - y);
    await vscode.commands.executeCommand('bypassScope.openConnection', rr.connId);
    assert.equal(a.visualizer()!.selectedPacketId, own[0]);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(((await vscode.commands.executeCommand('bypassScope.stepPacket')) as { packetId: number }).packetId);
    assert.deepEqual(got, own.slice(1, 4), `want the connection's packets ${own.slice(0, 5).join(', ')}…`);
    const back = (await vscode.commands.executeCommand('bypassScope.stepBack')) as { packetId: number; connId: number };
    assert.deepEqual(back, { moved: 'view', packetId: own[2], connId: rr.connId });
  });
  it('a connection opened while the visualizer is hidden is shown once the webview loads again', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const rr = c.store.connections().find((x) => x.info?.remotePort === 9000)!;
    await vscode.commands.executeCommand('bypassScope.openVisualizer');
    const p = a.visualizer()!;
    await until('the visualizer to be loaded', () => p.readyCount > 0 && p.panel.visible);
    // Another editor over it: the hidden webview is torn down, and what is posted to it is lost.
    const doc = await vscode.workspace.openTextDocument({ content: 'over the visualizer' });
    await vscode.window.showTextDocument(doc, { viewColumn: p.panel.viewColumn, preview: false });
    await until('the visualizer to be hidden', () => !p.panel.visible);
    const ready = p.readyCount;
    p.openConnection(rr.connId);
    const seq = lastSeq(p);
    p.panel.reveal(p.panel.viewColumn);
    await until('the webview to load again', () => p.readyCount > ready);
    const total = c.store.transitionsOf(rr.connId).length;
    const r = await until('the reloaded webview to report the connection opened while it was hidden', () => reportAfter(p, seq)?.steps === total && reportAfter(p, seq));
    assert.deepEqual({ connId: r.connId, step: r.step }, { connId: rr.connId, step: 0 });
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
