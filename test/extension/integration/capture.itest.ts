// test/extension/integration: captures from the commands in the real extension host — start (with
// every answer given, and through the quick picks), the store filling from the engine, the visualizer
// loading the store's packets, pause/resume, stepping live and after the end, stop, replay, export.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import { StringTable, decodeBatch } from '../../../engine/trace/codec';
import type { PacketRangeResult, ResponseMessage, WebviewMessage, WireBatch } from '../../../webview/protocol';
import { api, extensionPath, finishedMixedCapture, noLiveCapture, scratchFile, sleep, startCapture, until } from './helpers';

function packetIdsOf(batches: readonly WireBatch[]): number[] {
  const strings = new StringTable();
  const ids: number[] = [];
  for (const w of batches) decodeBatch({ ...w, schema: 1, records: new Uint8Array(w.records) }, strings, (r) => r.type === 'packet' && ids.push(r.packetId));
  return ids;
}

describe('Start Capture', () => {
  it('runs a sim capture whose packets fill the capture store, and opens the visualizer', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    assert.equal(c.request.backend, 'sim');
    assert.ok(c.store.totalPackets > 1000, `got ${c.store.totalPackets} packets, want the mixed scenario's 1000+`);
    assert.equal(c.store.size, c.store.totalPackets);
    assert.ok(c.summary !== undefined, 'the engine\'s summary should be kept');
    assert.equal(c.summary.packets, c.store.totalPackets, 'the store holds every packet the engine recorded (lossless)');
    assert.ok(a.visualizer() !== undefined, 'the visualizer should be open');
  });

  it('asks backend, scenario, rules and impairments in quick picks, and starts what was picked', async () => {
    const a = await api();
    await noLiveCapture(a);
    const before = a.controller.captures.length;
    const started = vscode.commands.executeCommand('bypassScope.startCapture');
    // Four questions; the first item of each is the default: sim, mixed, a .bypass file, no impairment.
    for (let i = 0; i < 4; i++) {
      await sleep(700);
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    }
    const c = (await started) as { serial: number; request: { backend: string; scenario?: string; impairment?: string } } | undefined;
    assert.ok(c !== undefined, 'the quick picks should have started a capture');
    assert.equal(a.controller.captures.length, before + 1);
    assert.deepEqual([c.request.backend, c.request.scenario, c.request.impairment], ['sim', 'mixed', 'none']);
    await noLiveCapture(a);
  });
});

describe('settings', () => {
  it('bound the capture store by bypassScope.capture.bufferPackets and the trace by bypassScope.capture.traceLevel', async () => {
    const a = await api();
    const config = vscode.workspace.getConfiguration('bypassScope');
    await config.update('capture.bufferPackets', 1000, vscode.ConfigurationTarget.Global);
    await config.update('capture.traceLevel', 'summary', vscode.ConfigurationTarget.Global);
    try {
      const c = await finishedMixedCapture(a);
      assert.equal(c.store.capacity, 1000);
      assert.equal(c.store.size, 1000);
      assert.equal(c.store.evicted, c.store.totalPackets - 1000);
      assert.equal(c.result?.traceLevel, 'summary');
      assert.ok([...c.store.packets()].every((p) => p.frame.length === 0), 'a summary trace keeps no frame bytes');
    } finally {
      await config.update('capture.bufferPackets', undefined, vscode.ConfigurationTarget.Global);
      await config.update('capture.traceLevel', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});

describe('visualizer', () => {
  it('loads in the real webview, asks for the capture so far, and is answered with every packet in the store', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const panel = a.visualizer() ?? (await vscode.commands.executeCommand('bypassScope.openVisualizer'));
    const p = a.visualizer()!;
    assert.ok(panel);
    await until('the webview to send scope/ready and a range request', () => p.received.some((m) => m.type === 'scope/packetRange') && p.capture === c);
    // The webview asked while the capture may still have been filling: ask the panel to show it afresh.
    // (The logs are bounded and trimmed from the front: emptied here rather than indexed into.)
    p.received.length = 0;
    p.posted.length = 0;
    p.panel.webview.html = p.panel.webview.html + ' ';
    // The reloaded webview's first request is for the whole capture (the newest it can hold).
    const isWhole = (m: WebviewMessage): boolean => m.type === 'scope/packetRange' && m.fromId === 1 && m.toId === 0xffffffff;
    await until('the reloaded webview to ask again', () => p.received.some(isWhole), 20_000);
    const request = p.received.find(isWhole) as { id: number };
    // Request ids start again at 1 in a reloaded webview: the answer is the last one posted with its id.
    const response = await until('the answer', () => p.posted.filter((m): m is ResponseMessage => m.type === 'scope/response' && m.id === request.id).pop());
    assert.equal(response.ok, true);
    const ids = packetIdsOf((response.result as PacketRangeResult).batches);
    assert.deepEqual(ids, [...c.store.packets()].map((x) => x.id));
    assert.equal((response.result as PacketRangeResult).connections.length, c.store.connections().length);
  });

  it('Open Visualizer reveals the one panel', async () => {
    const a = await api();
    const first = await vscode.commands.executeCommand('bypassScope.openVisualizer');
    const second = await vscode.commands.executeCommand('bypassScope.openVisualizer');
    assert.equal(first, second);
    assert.equal(a.visualizer(), first);
  });
});

describe('live capture', () => {
  it('Pause/Resume pauses the engine (virtual time stands still) and resumes it', async () => {
    const a = await api();
    await noLiveCapture(a);
    const c = await startCapture(a, { speed: 0.05 });
    await until('some packets', () => c.store.totalPackets > 20);
    assert.equal(await vscode.commands.executeCommand('bypassScope.pauseResume'), 'paused');
    assert.equal(c.state, 'paused');
    const stats = await a.engine.current!.stats();
    await sleep(1200);
    const later = await a.engine.current!.stats();
    assert.equal(later.stats.timeNs, stats.stats.timeNs, 'virtual time should not move while paused');
    assert.equal(await vscode.commands.executeCommand('bypassScope.pauseResume'), 'running');
    await until('virtual time to move again', async () => (await a.engine.current!.stats()).stats.timeNs > later.stats.timeNs);
    await noLiveCapture(a);
  });

  it('Step to Next Packet runs the paused engine to exactly its next packet and selects it in the visualizer', async () => {
    const a = await api();
    await noLiveCapture(a);
    const c = await startCapture(a, { speed: 0.02 });
    await until('some packets', () => c.store.totalPackets > 5);
    await vscode.commands.executeCommand('bypassScope.pauseResume');
    await sleep(200);
    const before = c.store.totalPackets;
    const r = (await vscode.commands.executeCommand('bypassScope.stepPacket')) as { moved: string; packetId?: number; advanced?: boolean };
    assert.equal(r.moved, 'engine');
    assert.equal(r.advanced, true);
    await until('the stepped packet in the store', () => c.store.totalPackets > before);
    assert.equal(c.state, 'paused');
    const p = a.visualizer()!;
    const select = [...p.posted].reverse().find((m) => m.type === 'scope/select');
    assert.deepEqual(select, { type: 'scope/select', packetId: r.packetId });
    await noLiveCapture(a);
  });

  it('Step to Next TCP Transition runs the engine to the next state change and shows that connection at it', async () => {
    const a = await api();
    await noLiveCapture(a);
    const c = await startCapture(a, { speed: 0.02 });
    await vscode.commands.executeCommand('bypassScope.pauseResume');
    const before = c.store.totalTransitions;
    const r = (await vscode.commands.executeCommand('bypassScope.stepTransition')) as { moved: string; connId?: number };
    assert.equal(r.moved, 'engine');
    await until('a new transition in the store', () => c.store.totalTransitions > before);
    assert.ok(r.connId !== undefined);
    const p = a.visualizer()!;
    const steps = p.posted.filter((m) => m.type === 'scope/step');
    const last = steps[steps.length - 1];
    // Absolute: that connection after its newest transition.
    assert.deepEqual(last && { connId: last.connId, step: last.step }, { connId: r.connId, step: c.store.transitionsOf(r.connId!).length });
    await noLiveCapture(a);
  });

  it('Stop Capture stops it with the engine\'s summary', async () => {
    const a = await api();
    await noLiveCapture(a);
    const c = await startCapture(a, { speed: 0.05 });
    await until('some packets', () => c.store.totalPackets > 10);
    assert.equal(await vscode.commands.executeCommand('bypassScope.stopCapture'), true);
    assert.equal(c.state, 'stopped');
    assert.equal(c.summary?.reason, 'stopped');
    assert.equal(await vscode.commands.executeCommand('bypassScope.stopCapture'), false, 'nothing left to stop');
  });
});

describe('stepping a finished capture', () => {
  it('Step to Next Packet and Step Back move the visualizer\'s selection through the held packets in id order', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const ids = [...c.store.packets()].map((p) => p.id).sort((x, y) => x - y);
    const p = (await vscode.commands.executeCommand('bypassScope.openVisualizer')) as { select(id: number): void };
    p.select(ids[10]);
    const next = (await vscode.commands.executeCommand('bypassScope.stepPacket')) as { moved: string; packetId: number };
    assert.deepEqual(next, { moved: 'view', packetId: ids[11] });
    const back = (await vscode.commands.executeCommand('bypassScope.stepBack')) as { moved: string; packetId: number };
    assert.deepEqual(back, { moved: 'view', packetId: ids[10] });
  });

  it('Step to Next TCP Transition and Step Back step the open connection through its RFC 9293 states', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const rr = c.store.connections().find((x) => x.info?.remotePort === 9000)!;
    await vscode.commands.executeCommand('bypassScope.openConnection', rr.connId);
    const states: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = (await vscode.commands.executeCommand('bypassScope.stepTransition')) as { moved: string; connId: number; state: string };
      assert.equal(r.moved, 'view');
      assert.equal(r.connId, rr.connId);
      states.push(r.state);
    }
    assert.deepEqual(states, ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
    const back = (await vscode.commands.executeCommand('bypassScope.stepBack')) as { moved: string; state: string };
    assert.deepEqual(back, { moved: 'view', connId: rr.connId, state: 'FIN-WAIT-2' });
    // What the webview was told: the connection opened, then one absolute place per step.
    const p = a.visualizer()!;
    const told = p.posted.filter((m) => m.type === 'scope/step' || m.type === 'scope/openConnection').slice(-7).map((m) => (m.type === 'scope/step' ? `${m.connId}@${m.step}` : `open ${m.connId}`));
    assert.deepEqual(told, [`open ${rr.connId}`, ...[1, 2, 3, 4, 5, 4].map((n) => `${rr.connId}@${n}`)]);
  });
});

describe('stepping a running capture', () => {
  it('steps the visualizer through what was captured and leaves the engine running', async () => {
    const a = await api();
    await noLiveCapture(a);
    const c = await startCapture(a, { speed: 0.5 });
    const rr = await until('the rr connection', () => c.store.connections().find((x) => x.info?.remotePort === 9000 && x.transitions >= 2));
    await vscode.commands.executeCommand('bypassScope.openConnection', rr.connId);
    const r = (await vscode.commands.executeCommand('bypassScope.stepTransition')) as { moved: string; state: string };
    assert.deepEqual(r, { moved: 'view', connId: rr.connId, state: 'SYN-SENT' });
    assert.equal(c.state, 'running');
    await noLiveCapture(a);
  });
});

describe('Replay Capture File', () => {
  it('replays a pcapng through the rules when the engine has the pcap backend, and otherwise says so', async () => {
    const a = await api();
    await noLiveCapture(a);
    await a.engine.ensure();
    const hasPcap = a.engine.current!.hello.backends.includes('pcap');
    const file = extensionPath('examples', 'sample.pcapng');
    const c = (await vscode.commands.executeCommand('bypassScope.replayCapture', vscode.Uri.file(file), { rulesUri: undefined })) as { store: { totalPackets: number } } | undefined;
    if (hasPcap) {
      assert.ok(c !== undefined, 'the replay should start');
      await until('replayed packets', () => c.store.totalPackets > 0);
    } else {
      assert.equal(c, undefined);
      const failed = a.controller.current!;
      assert.equal(failed.state, 'failed');
      assert.match(failed.error ?? '', /backend 'pcap' is not available/);
    }
  });
});

describe('Export Capture as pcapng', () => {
  it('writes every packet that crossed the wire, which tshark reads back with path, rule and hops in each comment', async () => {
    const a = await api();
    const c = await finishedMixedCapture(a);
    const out = scratchFile(`export-${c.serial}.pcapng`);
    const r = (await vscode.commands.executeCommand('bypassScope.exportPcapng', out, c.serial)) as { written: number; skipped: number };
    assert.equal(r.written + r.skipped, c.store.size);
    const t = spawnSync('tshark', ['-r', out.fsPath, '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
    assert.equal(t.status, 0, `tshark: ${t.stderr}`);
    const lines = t.stdout.trim().split('\n');
    assert.equal(lines.length, r.written);
    assert.ok(lines.every((l) => /^path=\w+ rule=\S+ dir=(rx|tx)/.test(l)), `a comment is not path=… rule=… dir=…: ${lines.find((l) => !/^path=/.test(l))}`);
    assert.ok(lines.some((l) => l.startsWith('path=bypass rule=routing.bypass:5 dir=rx')), 'the market-data feed is steered by routing.bypass:5');
  });
});

describe('Decode Capture File', () => {
  it('opens the decoder\'s tcpdump-style lines for a capture file', async () => {
    await vscode.commands.executeCommand('bypassScope.decodeCapture', vscode.Uri.file(extensionPath('examples', 'sample.pcapng')));
    const doc = await until('the decoded document', () => vscode.window.activeTextEditor?.document);
    assert.match(doc.getText().split('\n')[0], /^1 0\.000000 /);
  });
});
