// test/extension/integration: the extension activates in the real extension host and contributes its commands.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

describe('activation', () => {
  it('the extension activates and registers every command it contributes', async () => {
    const ext = vscode.extensions.getExtension('bypass-scope.bypass-scope');
    assert.ok(ext, 'extension bypass-scope.bypass-scope is not loaded');
    await ext.activate();
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });
});
