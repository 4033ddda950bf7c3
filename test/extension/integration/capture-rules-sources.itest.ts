// test/extension/integration: the RulesSources the rules language is given — the capture's rules and
// hits, hosts seen, the packets for the steering preview, reloading rules into the running capture
// (good and bad files), and saving the running capture's rules file reloading it.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { RULE_DEFAULT } from '../../../engine/trace/schema';
import { api, extensionPath, finishedMixedCapture, noLiveCapture, scratchFile, startCapture, until } from './helpers';

describe('RulesSources', () => {
  it('gives the capture\'s hits per rule and for the default, the hosts seen and every held packet', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const s = a.rulesSources;
    const view = s.capture()!;
    assert.equal(view.rulesUri, undefined, 'the built-in rules have no file of the user\'s');
    assert.equal(view.perRule.length, 5);
    assert.deepEqual(view.perRule[0], { packets: 500, bytes: c.store.ruleHits(0, 5).bytes, flows: 1 });
    assert.deepEqual(view.defaultHits, c.store.ruleHits(RULE_DEFAULT, 5));
    assert.deepEqual([...s.seenHosts(2)].sort(), ['198.18.0.1', '198.18.0.2']);
    let rx = 0;
    const n = s.forEachPacket((p) => {
      if (p.direction === 'rx') rx++;
      assert.ok(p.frame.length > 0 && p.frame.length <= p.wireLen);
    });
    assert.equal(n, c.store.size);
    assert.ok(rx > 0);
    assert.equal(s.isRunning(), false);
    await assert.rejects(s.reloadRules('file:///x.bypass', 'default kernel\n'), /no capture is running/);
  });

  it('reloads rules into the running capture, and keeps the old rules when the new ones have errors', async () => {
    const a = await api();
    await noLiveCapture(a);
    const original = readFileSync(extensionPath('examples', 'routing.bypass'), 'utf8');
    const file = scratchFile('reload.bypass', original);
    const c = await startCapture(a, { speed: 0.05, rulesUri: file.toString() });
    assert.equal(a.rulesSources.isRunning(), true);
    assert.equal(a.rulesSources.capture()!.rulesUri, file.toString());
    const edited = original.replace(/^bypass  tcp port 8080 /m, 'kernel  tcp port 8080 ');
    assert.notEqual(edited, original);
    const ok = await a.rulesSources.reloadRules(file.toString(), edited);
    assert.equal(ok.applied, true);
    assert.equal(ok.ruleCount, 5);
    assert.equal(c.rules.text, edited);
    assert.equal(c.rules.labels[2].action, 'kernel');
    const bad = await a.rulesSources.reloadRules(file.toString(), edited.replace('tcp port 22', 'tcp port 99999'));
    assert.equal(bad.applied, false);
    const err = bad.diagnostics.find((d) => d.severity === 'error');
    assert.ok(err, 'an error diagnostic');
    assert.equal(err.line, 8);
    assert.equal(c.rules.text, edited, 'the capture keeps the rules it had');
    await noLiveCapture(a);
  });

  it('saving the running capture\'s rules file reloads it', async () => {
    const a = await api();
    await noLiveCapture(a);
    const original = readFileSync(extensionPath('examples', 'routing.bypass'), 'utf8');
    const file = scratchFile('save.bypass', original);
    const c = await startCapture(a, { speed: 0.05, rulesUri: file.toString() });
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const line = doc.getText().split('\n').findIndex((l) => l.startsWith('bypass  tcp port 8080'));
    const edit = new vscode.WorkspaceEdit();
    edit.replace(file, new vscode.Range(line, 0, line, 'bypass'.length), 'kernel');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(await doc.save());
    await until('the capture to take the saved rules', () => c.rules.labels[2]?.action === 'kernel');
    assert.equal(c.rules.uri, file.toString());
    await noLiveCapture(a);
  });
});
