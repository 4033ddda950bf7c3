// test/extension/integration: the activity-bar views and the status bar over a real capture — what
// each item says, what selecting it does, and that they follow a live capture.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, finishedMixedCapture, noLiveCapture, startCapture, until } from './helpers';

const label = (i: vscode.TreeItem) => (typeof i.label === 'string' ? i.label : (i.label?.label ?? ''));

describe('views', () => {
  it('Captures lists the capture with its state, counts and rules', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const v = a.views.captures;
    const top = v.getChildren();
    assert.equal(top[0].capture, c, 'the newest capture comes first');
    const item = v.getTreeItem(top[0]);
    assert.equal(label(item), `Capture ${c.serial} (sim · mixed)`);
    assert.match(String(item.description), new RegExp(`^stopped \\(idle\\) · ${c.store.totalPackets.toLocaleString('en-US')} packets`));
    const details = Object.fromEntries(v.getChildren(top[0]).map((n) => { const i = v.getTreeItem(n); return [label(i), String(i.description)]; }));
    assert.match(details['Rules'], /^routing\.bypass \(built in\) · 5 rules, default kernel$/);
    assert.match(details['Packets'], /bypass [\d,]+ · kernel [\d,]+ · drop \d+ · \d+% bypassed$/);
    assert.equal(details['TCP connections'], '4 · 2 bypass, 2 kernel');
  });

  it('Connections lists each TCP connection with its stack and state; selecting one opens it in the visualizer', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const v = a.views.connections;
    const items = v.getChildren().map((n) => v.getTreeItem(n));
    const text = items.map((i) => `${label(i)} | ${i.description}`);
    assert.equal(items.length, 4, text.join('\n'));
    const rr = items.find((i) => /198\.18\.0\.2:\d+ ⇄ 198\.18\.0\.1:9000/.test(label(i)));
    assert.ok(rr, `no connection to port 9000 in:\n${text.join('\n')}`);
    assert.match(String(rr.description), /^bypass · CLOSED · \d+ pkts$/);
    assert.ok(text.some((t) => /198\.18\.0\.2:5001 ⇄ 198\.18\.0\.1:\d+ \| kernel · CLOSED/.test(t)), text.join('\n'));
    assert.equal(rr.command?.command, 'bypassScope.openConnection');
    const connId = rr.command!.arguments![0] as number;
    await vscode.commands.executeCommand(rr.command!.command, ...rr.command!.arguments!);
    const p = a.visualizer()!;
    assert.equal(p.focusedConnId, connId);
    const recent = p.posted.slice(-2);
    assert.deepEqual({ ...recent[0], seq: 0 }, { type: 'scope/openConnection', connId, seq: 0 });
    assert.deepEqual(recent[1], { type: 'scope/select', packetId: c.store.connectionInfo(connId)!.firstPacketId });
  });

  it('Connections follows a live capture: the state changes as the connection does', async () => {
    const a = await api();
    await noLiveCapture(a);
    const seen = new Set<string>();
    const sub = a.views.connections.onDidChangeTreeData(() => {
      for (const n of a.views.connections.getChildren()) {
        const i = a.views.connections.getTreeItem(n);
        // `[▶ step N/M STATE ·] STACK · STATE · N pkts`: the state now is the one before the count.
        const parts = String(i.description).split(' · ');
        if (/:9000$/.test(label(i))) seen.add(parts[parts.length - 2]);
      }
    });
    try {
      // At a tenth of real time the mixed scenario's traffic takes about 5 s; the view updates four times a second.
      await startCapture(a, { speed: 0.1 });
      await until(`the rr connection to reach TIME-WAIT (seen ${[...seen].join(', ')})`, () => seen.has('TIME-WAIT'), 30_000);
      assert.ok(seen.has('ESTABLISHED'), `states seen live: ${[...seen].join(', ')}`);
    } finally {
      sub.dispose();
      await noLiveCapture(a);
    }
  });

  it('Rules lists each rule with its live hits; selecting one reveals its line', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const v = a.views.rules;
    const items = v.getChildren().map((n) => v.getTreeItem(n));
    const text = items.map((i) => `${label(i)} | ${i.description}`);
    // The mixed scenario's market-data feed: 500 datagrams in one flow, steered by the rule on line 5.
    assert.equal(text[0], 'bypass udp and dst portrange 20000-20999 | line 5 · 500 pkts · 1 flow', text.join('\n'));
    assert.equal(text.length, 7, text.join('\n'));
    assert.match(text[5], /^default kernel \| line 3 · [\d,]+ pkts · 4 flows$/);
    const local = c.store.ruleHits(-2, 5);
    assert.ok(local.packets > 50, 'the rr connection, opened by the bypass stack, is pinned to it');
    assert.equal(text[6], `opened by the bypass stack | ${local.packets} pkts · ${local.flows} flows`);
    const httpHits = c.store.ruleHits(2, 5);
    assert.equal(text[2], `bypass tcp port 8080 | line 7 · ${httpHits.packets} pkts · 1 flow`);
    const ed = (await vscode.commands.executeCommand(items[2].command!.command, ...items[2].command!.arguments!)) as vscode.TextEditor;
    assert.ok(ed.document.uri.path.endsWith('/examples/routing.bypass'));
    assert.equal(ed.selection.start.line, 6);
    assert.match(ed.document.lineAt(ed.selection.start.line).text, /^bypass\s+tcp port 8080/);
  });

  it('the status bar shows the capture\'s state and share bypassed, live packets per second, and opens the visualizer', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const item = a.statusBar.item;
    const share = Math.round(c.shareBypassed()! * 100);
    assert.equal(item.text, `$(debug-stop) sim · mixed · stopped · ${c.store.totalPackets.toLocaleString('en-US')} pkts · ${share}% bypassed`);
    assert.equal(item.command, 'bypassScope.openVisualizer');
    const live = await startCapture(a, { speed: 0.2 });
    await until(`a packet rate in the status bar (${item.text})`, () => live.packetsPerSecond > 0 && /^\$\(record\) sim · mixed · \d[\d.k]* pkt\/s · \d+% bypassed$/.test(item.text));
    await noLiveCapture(a);
  });
});
