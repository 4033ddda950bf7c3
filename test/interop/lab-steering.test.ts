// Steering in the lab is real: a kernel-path flow is answered by Linux (its SYN-ACK has the window
// and options of the Linux peer's own), a bypass flow by the engine's stack, the kernel never resets
// a bypass flow; ping and ARP to the address both stacks share are answered, by the stack the rules pick.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labProblem, runCase } from './lab-support';

const skip = labProblem();

interface Shape {
  path: string;
  window: number;
  options: number[];
}

describe('lab: steering between the bypass stack and the Linux kernel', { skip }, () => {
  it('answers a kernel-path flow by Linux and a bypass flow by the engine, with no RST on a bypass flow', async () => {
    const r = await runCase<{
      echoed: Record<string, number>;
      controlEcho: string;
      bypassSynAck?: Shape;
      kernelSynAck?: Shape;
      linuxPeerSynAck?: Shape;
      rstsOnBypassFlows: number;
      kernelSawBypassFlow: number;
      kernelSawWhat: string[];
      kernelPathTx: string[];
      bypassPathTx: string[];
    }>('steering');
    assert.deepEqual(r.echoed, { 7001: 20, 7002: 20 }, `connections echoed per port: got ${JSON.stringify(r.echoed)}, want 20 each`);
    assert.equal(r.controlEcho, 'control');
    assert.ok(r.kernelSynAck && r.bypassSynAck && r.linuxPeerSynAck, `a SYN-ACK is missing: ${JSON.stringify(r)}`);
    // Linux behind tap-host answers exactly as the Linux of the peer namespace does.
    assert.equal(r.kernelSynAck.window, r.linuxPeerSynAck.window, `kernel-path SYN-ACK window ${r.kernelSynAck.window}, Linux's own ${r.linuxPeerSynAck.window}`);
    assert.deepEqual(r.kernelSynAck.options, r.linuxPeerSynAck.options);
    // The engine's stack answers the bypass flow with its own window.
    assert.notEqual(r.bypassSynAck.window, r.linuxPeerSynAck.window, `the bypass SYN-ACK has Linux's window ${r.bypassSynAck.window}: was it answered by the kernel?`);
    assert.equal(r.bypassSynAck.path, 'bypass');
    assert.equal(r.kernelSynAck.path, 'kernel');
    assert.deepEqual(r.kernelPathTx, ['kernel'], `frames of the kernel-path flows left from ${r.kernelPathTx}`);
    assert.deepEqual(r.bypassPathTx, ['bypass'], `frames of the bypass flows left from ${r.bypassPathTx}`);
    // The kernel never sees a bypass flow, so it can never reset one. (The bypass stack may reset a
    // late duplicate for a connection it has closed, as RFC 9293 §3.10.7.1 says: that RST is its own.)
    assert.equal(r.kernelSawBypassFlow, 0, `packets of bypass flows that reached the kernel: ${r.kernelSawBypassFlow}, want 0: ${r.kernelSawWhat.join('; ')}`);
    assert.equal(r.rstsOnBypassFlows, 0, `RSTs from the kernel on bypass flows: ${r.rstsOnBypassFlows}, want 0`);
  });

  it('answers ping and ARP for the shared address, from the kernel by default and from the bypass stack under `bypass icmp`', async () => {
    const r = await runCase<{ kernelPing: number; kernelReplies: string[]; arpReplies: string[]; neighbour: string; reloaded: boolean; bypassPing: number; bypassReplies: string[] }>('ping-arp');
    assert.equal(r.kernelPing, 5, `ping replies under the default rule: ${r.kernelPing}, want 5`);
    assert.deepEqual(r.kernelReplies, ['kernel', 'kernel', 'kernel', 'kernel', 'kernel']);
    assert.ok(r.arpReplies.length >= 1, 'no ARP reply went out');
    assert.match(r.neighbour, /lladdr 02:42:53:00:00:02/, `the peer's neighbour entry: ${r.neighbour}`);
    assert.equal(r.reloaded, true);
    assert.equal(r.bypassPing, 5, `ping replies under 'bypass icmp': ${r.bypassPing}, want 5`);
    assert.deepEqual(r.bypassReplies, ['bypass', 'bypass', 'bypass', 'bypass', 'bypass']);
  });
});
