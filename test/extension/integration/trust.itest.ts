// test/extension/integration: workspace trust — the backends that touch this machine's devices and
// namespaces (lab, tap, afpacket) start only in a trusted workspace; sim and pcap replay run anywhere.
// test/run.mjs runs this file twice: in the ordinary (trusted) run, and in a window whose folder is
// not trusted (BYPASS_SCOPE_VSCODE_TRUST=0 for the launcher).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, noLiveCapture, until } from './helpers';

describe(`workspace trust (${vscode.workspace.isTrusted ? 'trusted' : 'restricted'} window)`, () => {
  for (const backend of ['lab', 'tap', 'afpacket'] as const) {
    it(`${backend} ${vscode.workspace.isTrusted ? 'is not refused for trust' : 'is refused with a message saying it needs a trusted workspace'}`, async () => {
      const a = await api();
      await noLiveCapture(a);
      const before = a.controller.captures.length;
      const err = await a.controller.start({ backend, device: 'tap0', address: '198.18.0.9/24', rulesUri: undefined }).then(() => undefined, (e: Error) => e);
      if (vscode.workspace.isTrusted) {
        // Not a trust refusal: whatever the engine says about the backend itself.
        assert.notEqual(err?.name, 'TrustError', `got ${err?.name}: ${err?.message}`);
        assert.equal(a.controller.captures.length, before + 1);
      } else {
        assert.equal(err?.name, 'TrustError');
        assert.match(err!.message, new RegExp(`the ${backend} backend works on this machine's devices and namespaces, so it runs only in a trusted workspace`));
        assert.equal(a.controller.captures.length, before, 'nothing was started');
      }
      await noLiveCapture(a);
    });
  }

  it('runs sim captures either way', async () => {
    const a = await api();
    await noLiveCapture(a);
    const c = await a.controller.start({ backend: 'sim', scenario: 'ping', rulesUri: undefined, speed: 'max' });
    await until('ping packets', () => c.store.totalPackets >= 10);
    await noLiveCapture(a);
  });
});
