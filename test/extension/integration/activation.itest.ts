// test/extension/integration: the extension activates in the real extension host, registers every
// command it contributes, and its manifest's keybindings, walkthrough and views point at real things.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { api, extensionPath } from './helpers';

describe('activation', () => {
  it('the extension activates and registers every command it contributes, each in the Bypass Scope category', async () => {
    const ext = vscode.extensions.getExtension('bypass-scope.bypass-scope');
    assert.ok(ext, 'extension bypass-scope.bypass-scope is not loaded');
    await ext.activate();
    const contributed = ext.packageJSON.contributes.commands as { command: string; category?: string }[];
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map((c) => c.command).filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
    assert.deepEqual(contributed.filter((c) => c.category !== 'Bypass Scope').map((c) => c.command), []);
  });

  it('binds the stepping keys only while the visualizer has focus, the context key the panel sets', async () => {
    const ext = vscode.extensions.getExtension('bypass-scope.bypass-scope')!;
    const keys = ext.packageJSON.contributes.keybindings as { command: string; key: string; when: string }[];
    assert.deepEqual(keys.map((k) => `${k.key} ${k.command}`).sort(), ['f10 bypassScope.stepPacket', 'f11 bypassScope.stepTransition', 'f8 bypassScope.pauseResume', 'shift+f11 bypassScope.stepBack']);
    assert.ok(keys.every((k) => k.when === 'bypassScope.visualizerFocused'));
  });

  it('has a walkthrough whose pages and view icons are built', async () => {
    const ext = vscode.extensions.getExtension('bypass-scope.bypass-scope')!;
    const steps = (ext.packageJSON.contributes.walkthroughs as { steps: { media: { markdown: string } }[] }[])[0].steps;
    assert.equal(steps.length, 3);
    for (const s of steps) assert.ok(existsSync(extensionPath(s.media.markdown)), `missing ${s.media.markdown}`);
    assert.ok(existsSync(extensionPath(ext.packageJSON.contributes.viewsContainers.activitybar[0].icon)));
  });

  it('shuts the engine down cleanly when asked (as on deactivate): it exits with code 0 and nothing is reported as a crash', async () => {
    const a = await api();
    if (a.controller.live !== undefined) await a.controller.stop();
    const client = await a.engine.ensure();
    const crashes = a.crashMessages.length;
    await a.engine.shutdown();
    const exit = await client.exited;
    assert.deepEqual([exit.code, exit.signal], [0, null]);
    assert.equal(a.engine.state, 'stopped');
    assert.equal(a.crashMessages.length, crashes);
    await a.engine.ensure();
  });
});
