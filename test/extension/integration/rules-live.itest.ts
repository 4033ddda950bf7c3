// test/extension/integration: the `.bypass` editor against a running sim capture in the real extension
// host — live-hit CodeLenses per rule and on the default line, hover with live hits, hosts seen in the
// capture offered after `host`, the steering preview of unsaved edits (lenses and document), saving a
// valid file reloading it into the capture, and an invalid one keeping the old rules.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';

const EXT_ID = 'bypass-scope.bypass-scope';

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function lenses(doc: vscode.TextDocument): Promise<{ line: number; title: string; command: string }[]> {
  const got = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100)) ?? [];
  return got.filter((l) => l.command).map((l) => ({ line: l.range.start.line, title: l.command!.title, command: l.command!.command }));
}

function lineOf(doc: vscode.TextDocument, needle: string): number {
  const i = doc.getText().indexOf(needle);
  assert.ok(i >= 0, `'${needle}' in the rules`);
  return doc.positionAt(i).line;
}

/** Edits the rules in their editor (shown first: the capture may have opened the visualizer over it). */
async function replaceInDoc(doc: vscode.TextDocument, from: string, to: string): Promise<void> {
  await vscode.window.showTextDocument(doc);
  const i = doc.getText().indexOf(from);
  assert.ok(i >= 0, `'${from}' in the rules`);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(doc.positionAt(i), doc.positionAt(i + from.length)), to);
  assert.ok(await vscode.workspace.applyEdit(edit));
}

const HITS = /^\$\(pulse\) [0-9,]+ packets? · [0-9,]+ flows? · [0-9.]+ [kMG]?B$/;

describe('the .bypass editor with a running capture', function () {
  this.timeout(120_000);
  let doc: vscode.TextDocument;
  let autoSave: unknown;

  before(async () => {
    // The tests look at unsaved edits and save on purpose: no auto save under them.
    autoSave = vscode.workspace.getConfiguration('files').inspect('autoSave')?.globalValue;
    await vscode.workspace.getConfiguration('files').update('autoSave', 'off', vscode.ConfigurationTarget.Global);
    const ext = vscode.extensions.getExtension(EXT_ID);
    assert.ok(ext, `extension ${EXT_ID}`);
    await ext.activate();
    const dir = mkdtempSync(join(tmpdir(), 'bypass-rules-live-'));
    const path = join(dir, 'routing.bypass');
    writeFileSync(path, readFileSync(join(ext.extensionPath, 'examples', 'routing.bypass'), 'utf8'));
    doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
    await vscode.window.showTextDocument(doc);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('bypassScope.startCapture'), 'the extension registers bypassScope.startCapture');
    await vscode.commands.executeCommand('bypassScope.startCapture', { backend: 'sim', scenario: 'mixed', rulesUri: doc.uri.toString(), impairment: 'none' });
  });

  after(async () => {
    await vscode.workspace.getConfiguration('files').update('autoSave', autoSave, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('bypassScope.stopCapture');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('shows each rule\'s live packets and flows in a CodeLens, and the default\'s on its line', async () => {
    const udpLine = lineOf(doc, 'bypass  udp');
    const got = await waitFor('live hits on the market-data rule', async () => {
      const ls = await lenses(doc);
      return ls.some((l) => l.line === udpLine && HITS.test(l.title)) ? ls : undefined;
    });
    const defaultLine = lineOf(doc, 'default kernel');
    assert.ok(got.some((l) => l.line === defaultLine && l.title.startsWith('$(pulse) default: ')), `default lens: got ${JSON.stringify(got)}`);
    for (const needle of ['bypass  tcp port 9000', 'bypass  tcp port 8080', 'kernel  tcp port 22', 'drop    icmp']) {
      const line = lineOf(doc, needle);
      const t = got.find((l) => l.line === line && l.title.startsWith('$(pulse)'));
      assert.ok(t && (HITS.test(t.title) || t.title === '$(pulse) no packets yet'), `live lens on '${needle}': got ${JSON.stringify(got.filter((l) => l.line === line))}`);
    }
  });

  it('hovers a rule with its live hits', async () => {
    const pos = new vscode.Position(lineOf(doc, 'bypass  udp'), 2);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos);
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
    assert.match(text, /\*\*Live:\*\* [0-9,]+ packets? · [0-9,]+ flows?/);
  });

  it('offers hosts seen in the capture after host', async () => {
    await replaceInDoc(doc, 'drop    icmp and src net 198.19.0.0/16', 'drop    icmp and src host ');
    const line = lineOf(doc, 'src host ');
    const pos = new vscode.Position(line, doc.lineAt(line).text.indexOf('src host ') + 'src host '.length);
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, pos);
    const hosts = list.items.filter((i) => i.detail === 'seen in the capture').map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    assert.ok(hosts.includes('198.18.0.1') || hosts.includes('198.18.0.2'), `seen hosts: got ${hosts.join(' ')}`);
    await replaceInDoc(doc, 'drop    icmp and src host ', 'drop    icmp and src net 198.19.0.0/16');
  });

  it('previews unsaved edits: the rule that would move packets says how many and which way, and so does the preview document', async () => {
    await replaceInDoc(doc, 'bypass  tcp port 8080', 'kernel  tcp port 8080');
    const line = lineOf(doc, 'kernel  tcp port 8080');
    const lens = await waitFor('a preview lens on the edited rule', async () =>
      (await lenses(doc)).find((l) => l.line === line && l.title.startsWith('$(git-compare) preview:')),
    );
    assert.match(lens.title, /^\$\(git-compare\) preview: [0-9,]+ packets? bypass → kernel/);
    assert.equal(lens.command, 'bypassScope.showRulesPreview');
    const onLine = (await lenses(doc)).filter((l) => l.line === line).map((l) => l.title);
    assert.ok(onLine.includes('$(circle-outline) not applied yet: save to apply to new flows'), `lenses on the edited rule: got ${JSON.stringify(onLine)}`);
    const uri = await vscode.commands.executeCommand<vscode.Uri>('bypassScope.showRulesPreview', doc.uri);
    const text = (await vscode.workspace.openTextDocument(uri)).getText();
    assert.match(text, /^Steering preview — routing\.bypass \(unsaved edits\)$/m);
    assert.match(text, /kernel\s+tcp port 8080\s+[0-9,]+\s+[0-9,]+\s+[0-9,]+ bypass → kernel$/m);
    assert.match(text, /Would change path: [0-9,]+ packets?/);
    const links = await vscode.commands.executeCommand<vscode.DocumentLink[]>('vscode.executeLinkProvider', uri);
    assert.ok(links.some((l) => l.target?.fragment === `L${line + 1}` && l.target.path === doc.uri.path), `a link to line ${line + 1}: got ${JSON.stringify(links.map((l) => l.target?.toString()))}`);
    await replaceInDoc(doc, 'kernel  tcp port 8080', 'bypass  tcp port 8080');
  });

  it('saving a valid edit reloads it into the capture: the new rule gets live hits', async () => {
    await replaceInDoc(doc, 'kernel  tcp port 22', 'kernel  tcp port 22\nbypass  udp port 5353');
    const line = lineOf(doc, 'bypass  udp port 5353');
    const before = await waitFor('the not-applied lens', async () => (await lenses(doc)).find((l) => l.line === line && l.title.includes('not applied yet')));
    assert.match(before.title, /save to apply to new flows/);
    await doc.save();
    await waitFor('a live lens on the saved rule', async () => ((await lenses(doc)).some((l) => l.line === line && (HITS.test(l.title) || l.title === '$(pulse) no packets yet')) ? true : undefined));
  });

  it('saving an invalid file keeps the capture\'s rules; Reload Rules reports the refusal and the engine\'s diagnostics', async () => {
    await replaceInDoc(doc, 'bypass  udp port 5353', 'bypass  udp port nosuch');
    await doc.save();
    const errors = await waitFor('the error in Problems', () => {
      const ds = vscode.languages.getDiagnostics(doc.uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
      return ds.length > 0 ? ds : undefined;
    });
    assert.equal(errors[0].message, "unknown port 'nosuch'");
    // The rules the capture runs are still the last good ones: every rule that parses keeps its live lens.
    for (const needle of ['bypass  udp and', 'bypass  tcp port 9000', 'kernel  tcp port 22']) {
      const line = lineOf(doc, needle);
      const live = (await lenses(doc)).filter((l) => l.line === line && l.title.startsWith('$(pulse)'));
      assert.ok(live.length === 1 && (HITS.test(live[0].title) || live[0].title === '$(pulse) no packets yet'), `live lens on '${needle}': got ${JSON.stringify(live)}`);
    }
    const result = await vscode.commands.executeCommand<{ applied: boolean; diagnostics: { message: string; line: number }[] }>('bypassScope.reloadRules', doc.uri);
    assert.equal(result.applied, false);
    assert.ok(result.diagnostics.some((d) => d.message === "unknown port 'nosuch'" && d.line === lineOf(doc, 'nosuch') + 1), `engine diagnostics: ${JSON.stringify(result.diagnostics)}`);
    await replaceInDoc(doc, 'udp port nosuch', 'udp port 5353');
    await doc.save();
    const ok = await vscode.commands.executeCommand<{ applied: boolean; ruleCount: number; pinnedToOldRules: number }>('bypassScope.reloadRules', doc.uri);
    assert.equal(ok.applied, true);
    assert.equal(ok.ruleCount, 6);
    assert.ok(ok.pinnedToOldRules >= 0);
  });
});
