// test/extension/integration: the `.bypass` editor in the real extension host, without a capture —
// the language, diagnostics appearing, related to the shadowing rule and clearing, completion lists,
// hover text, the outline, New Routing Rules File, and the steering preview document.
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';

const dir = mkdtempSync(join(tmpdir(), 'bypass-rules-itest-'));
let fileCount = 0;

async function openRules(text: string): Promise<vscode.TextDocument> {
  const path = join(dir, `rules-${++fileCount}.bypass`);
  writeFileSync(path, text);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
  await vscode.window.showTextDocument(doc);
  return doc;
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last !== undefined) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function at(doc: vscode.TextDocument, needle: string, delta = 0): vscode.Position {
  const i = doc.getText().indexOf(needle);
  assert.ok(i >= 0, `'${needle}' in the document`);
  return doc.positionAt(i + delta);
}

function textOf(doc: vscode.TextDocument, r: vscode.Range): string {
  return doc.getText(r);
}

async function completions(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.CompletionItem[]> {
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, pos);
  return list.items;
}

const label = (i: vscode.CompletionItem) => (typeof i.label === 'string' ? i.label : i.label.label);

describe('the .bypass editor', () => {
  let autoSave: unknown;
  before(async () => {
    await vscode.extensions.getExtension('bypass-scope.bypass-scope')?.activate();
    // The tests edit documents and look at them unsaved: no auto save under them.
    autoSave = vscode.workspace.getConfiguration('files').inspect('autoSave')?.globalValue;
    await vscode.workspace.getConfiguration('files').update('autoSave', 'off', vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.workspace.getConfiguration('files').update('autoSave', autoSave, vscode.ConfigurationTarget.Global);
  });

  it('opens *.bypass files in the bypass language', async () => {
    const doc = await openRules('default kernel\n');
    assert.equal(doc.languageId, 'bypass');
  });

  it('shows the engine parser\'s diagnostics with their exact ranges, and clears them when fixed', async () => {
    const doc = await openRules('default kernel\nkernel  tcp port nosuch\nbypass  udp port 99999\n');
    const ds = await waitFor('two diagnostics', () => {
      const got = vscode.languages.getDiagnostics(doc.uri);
      return got.length === 2 ? got : undefined;
    });
    assert.deepEqual(ds.map((d) => [d.severity, d.source, textOf(doc, d.range), d.message]), [
      [vscode.DiagnosticSeverity.Error, 'bypass', 'nosuch', "unknown port 'nosuch'"],
      [vscode.DiagnosticSeverity.Error, 'bypass', '99999', 'illegal port number 99999 > 65535'],
    ]);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, ds[0].range, 'ssh');
    edit.replace(doc.uri, ds[1].range, '9999');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await waitFor('no diagnostics after the fix', () => (vscode.languages.getDiagnostics(doc.uri).length === 0 ? true : undefined));
  });

  it('warns about a shadowed rule, points at the rule that shadows it and fades it', async () => {
    const doc = await openRules('default kernel\nbypass  tcp\nkernel  tcp port 22\n');
    const [d] = await waitFor('the shadow warning', () => {
      const got = vscode.languages.getDiagnostics(doc.uri);
      return got.length > 0 ? got : undefined;
    });
    assert.equal(d.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(d.message, 'this rule never applies: every packet it matches is matched first by the rule on line 2');
    assert.equal(textOf(doc, d.range), 'tcp port 22');
    assert.deepEqual(d.tags, [vscode.DiagnosticTag.Unnecessary]);
    const rel = d.relatedInformation?.[0];
    assert.ok(rel, 'related information');
    assert.equal(rel.location.uri.toString(), doc.uri.toString());
    assert.equal(textOf(doc, rel.location.range), 'tcp');
    assert.equal(rel.location.range.start.line, 1);
  });

  it('offers quick fixes: a misspelt service name corrected, the missing default added', async () => {
    const doc = await openRules('kernel  tcp port htp\n');
    const [d] = await waitFor('the unknown-port error', () => {
      const got = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.code === 'unknown-name');
      return got.length > 0 ? got : undefined;
    });
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, d.range);
    const fix = actions.find((a) => a.title === "Change to 'http' (port 80)");
    assert.ok(fix?.edit, `fixes: got ${actions.map((a) => a.title).join(', ')}`);
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    assert.equal(doc.lineAt(0).text, 'kernel  tcp port http');
    const top = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, new vscode.Range(0, 0, 0, 0));
    const add = top.find((a) => a.title === "Add 'default kernel'");
    assert.ok(add?.edit, `fixes at the top: got ${top.map((a) => a.title).join(', ')}`);
    assert.ok(await vscode.workspace.applyEdit(add.edit));
    await waitFor('no diagnostics after both fixes', () => (vscode.languages.getDiagnostics(doc.uri).length === 0 ? true : undefined));
  });

  it('clears a document\'s diagnostics when it closes as a rules document (its language changed)', async () => {
    const doc = await openRules('default kernel\nbypass tcp port nosuch\n');
    await waitFor('a diagnostic', () => (vscode.languages.getDiagnostics(doc.uri).length > 0 ? true : undefined));
    // VS Code closes and reopens a document whose language changes: the bypass document is closed.
    const plain = await vscode.languages.setTextDocumentLanguage(doc, 'plaintext');
    assert.equal(plain.languageId, 'plaintext');
    await waitFor('no diagnostics once closed', () => (vscode.languages.getDiagnostics(doc.uri).length === 0 ? true : undefined));
    const again = await vscode.languages.setTextDocumentLanguage(plain, 'bypass');
    await waitFor('the diagnostic back on reopening', () => (vscode.languages.getDiagnostics(again.uri).length > 0 ? true : undefined));
  });

  it('completes actions at the start of a line, service names with ports after port, named values in a byte access', async () => {
    const doc = await openRules('default kernel\n\nkernel  tcp port \nbypass  tcp[tcpflags] & \n');
    const start = (await completions(doc, new vscode.Position(1, 0))).map(label);
    for (const a of ['bypass', 'kernel', 'drop']) assert.ok(start.includes(a), `${a} at line start: got ${start.join(' ')}`);
    assert.ok(!start.includes('default'), 'no second default offered');
    const ports = await completions(doc, new vscode.Position(2, 'kernel  tcp port '.length));
    const ssh = ports.find((i) => label(i) === 'ssh');
    assert.equal(ssh?.detail, '22/tcp');
    assert.ok(!ports.some((i) => label(i) === 'ntp'), 'UDP-only services are not offered after tcp port');
    const flags = (await completions(doc, new vscode.Position(3, 'bypass  tcp[tcpflags] & '.length))).map(label);
    assert.ok(flags.includes('tcp-syn') && flags.includes('tcp-ack'), `named values: got ${flags.slice(0, 20).join(' ')}`);
    const inBracket = (await completions(doc, new vscode.Position(3, 'bypass  tcp['.length))).map(label);
    assert.ok(inBracket.includes('tcpflags'), `named offsets: got ${inBracket.slice(0, 20).join(' ')}`);
  });

  it('hovers a keyword with its pcap-filter meaning and the rule in plain words', async () => {
    const doc = await openRules('default kernel\nbypass  udp and dst portrange 20000-20999   # market data\n');
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(doc, 'portrange', 2));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
    assert.match(text, /`portrange A-B` — TCP, UDP or SCTP packets/);
    assert.match(text, /\*\*Rule 0\*\* \(line 2\): UDP packets, that are also TCP, UDP or SCTP packets to ports 20000-20999\./);
    assert.match(text, /go to the \*\*bypass\*\* path/);
  });

  it('formats a file: actions in a column, filters after them, comments lined up', async () => {
    const doc = await openRules('default   kernel\nbypass udp # feed\n  kernel tcp port 22 # ssh\n');
    const edits = await vscode.commands.executeCommand<vscode.TextEdit[]>('vscode.executeFormatDocumentProvider', doc.uri, { tabSize: 4, insertSpaces: true });
    const edit = new vscode.WorkspaceEdit();
    edit.set(doc.uri, edits);
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(doc.getText(), 'default kernel\nbypass  udp          # feed\nkernel  tcp port 22  # ssh\n');
  });

  it('lists the default and each rule in the outline', async () => {
    const doc = await openRules('default kernel\nbypass  udp\nkernel  tcp port 22\n');
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', doc.uri);
    assert.deepEqual(symbols.map((s) => s.name), ['default kernel', 'bypass udp', 'kernel tcp port 22']);
  });

  it('New Routing Rules File opens routing.bypass with the commented template, free of problems', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('bypassScope.newRulesFile');
    const doc = vscode.window.activeTextEditor?.document;
    assert.ok(doc, 'an active editor');
    assert.equal(doc.uri.toString(), uri.toString());
    assert.equal(doc.languageId, 'bypass');
    assert.match(uri.path, /\/routing(-\d+)?\.bypass$/);
    assert.match(doc.getText(), /^# Bypass Scope routing rules/);
    assert.match(doc.getText(), /^default kernel$/m);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(vscode.languages.getDiagnostics(doc.uri).map((d) => d.message), []);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('Show Steering Preview opens a read-only preview document beside the rules', async () => {
    const doc = await openRules('default kernel\nbypass  udp\n');
    const uri = await vscode.commands.executeCommand<vscode.Uri>('bypassScope.showRulesPreview', doc.uri);
    assert.equal(uri.scheme, 'bypass-preview');
    const preview = await vscode.workspace.openTextDocument(uri);
    assert.match(preview.getText(), new RegExp(`^Steering preview — ${doc.uri.path.split('/').pop()!.replace('.', '\\.')}`));
    assert.ok(vscode.window.visibleTextEditors.some((e) => e.document.uri.toString() === uri.toString()), 'the preview is visible');
  });
});
