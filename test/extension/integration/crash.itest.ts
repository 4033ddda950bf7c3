// test/extension/integration: an engine crash in the middle of a capture — the packets are kept, the
// error says so and offers Restart and Show Log, and Restart brings up a new engine and the capture
// again (the engine's test hooks make it crash: BYPASS_SCOPE_ENGINE_TEST_HOOKS=1 and `test:crash`).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Capture } from '../../../extension/capture-controller';
import { api, noLiveCapture, scratchFile, startCapture, until } from './helpers';

describe('engine crash', () => {
  before(async () => {
    const a = await api();
    await noLiveCapture(a);
    // The engine reads the variable when it starts: a new engine with its test commands.
    process.env.BYPASS_SCOPE_ENGINE_TEST_HOOKS = '1';
    await a.engine.restart();
  });

  after(async () => {
    const a = await api();
    await noLiveCapture(a);
    delete process.env.BYPASS_SCOPE_ENGINE_TEST_HOOKS;
    await a.engine.restart();
  });

  for (const how of ['exception', 'in-capture'] as const) {
    it(`keeps the captured packets when the engine dies (${how}), says so, and Restart runs the capture again on a new engine`, async () => {
      const a = await api();
      await noLiveCapture(a);
      if (a.engine.state !== 'running') await a.engine.ensure();
      const c = await startCapture(a, { speed: 0.05 });
      await until('packets before the crash', () => c.store.totalPackets > 50);
      const pid = a.engine.pid;
      const shown = a.crashMessages.length;
      await a.engine.current!.request({ type: 'test:crash', how }).catch(() => undefined);
      await until('the capture to be marked crashed', () => c.state === 'crashed');
      const kept = c.store.totalPackets;
      assert.ok(kept > 50, `got ${kept} packets after the crash, want those before it`);
      assert.match(c.error ?? '', how === 'exception' ? /uncaught exception: test crash/ : /capture failed: test crash inside the capture/);
      assert.equal(a.engine.state, 'crashed');
      assert.equal(a.crashMessages.length, shown + 1);
      assert.match(a.crashMessages[shown], new RegExp(`the engine crashed: .+ The ${kept.toLocaleString('en-US')} packets captured so far are kept\\.$`));
      assert.match(a.statusBar.item.text, /engine crashed/);

      const next = (await vscode.commands.executeCommand('bypassScope.restartEngine')) as Capture | undefined;
      assert.ok(next !== undefined, 'Restart should start the capture again');
      assert.notEqual(next, c);
      assert.notEqual(a.engine.pid, pid, 'a new engine process');
      assert.equal(a.engine.state, 'running');
      await until('packets in the restarted capture', () => next.store.totalPackets > 0);
      assert.equal(c.store.totalPackets, kept, 'the crashed capture keeps its packets');
      assert.ok(a.controller.captures.includes(c));

      // What the crashed capture holds can still be saved.
      const out = scratchFile(`crashed-${c.serial}.pcapng`);
      const r = (await vscode.commands.executeCommand('bypassScope.exportPcapng', out, c.serial)) as { written: number; skipped: number };
      assert.equal(r.written + r.skipped, kept);
      await noLiveCapture(a);
    });
  }
});
