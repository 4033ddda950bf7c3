// test/extension/integration: the tap and afpacket backends from VS Code, on devices this test makes
// inside network namespaces of its own (`ip netns add`, as root; removed after), with the capture's
// engine started inside the namespace (bypassScope.capture.networkNamespace): the quick picks list
// the devices there and ask the bypass stack's address, captures run on them, and a missing device
// is a clear message.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import type { Capture } from '../../../extension/capture-controller';
import { listDevices, suggestBypassAddress } from '../../../extension/devices';
import { api, noLiveCapture, scratchFile, sleep, until } from './helpers';

const root = process.getuid?.() === 0;
const NS = `bs-itest-${process.pid}`;
const PEER_NS = `bs-itest-${process.pid}-peer`;

function sh(script: string): void {
  const r = spawnSync('sh', ['-ec', script], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${script}\n→ exit ${r.status}: ${r.stderr}`);
}

function cleanup(): void {
  spawnSync('ip', ['netns', 'del', NS]);
  spawnSync('ip', ['netns', 'del', PEER_NS]);
}

/** Accepts the quick pick or input box open now (its selected item, or its value) after it has shown. */
async function accept(): Promise<void> {
  await sleep(700);
  await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
}

(root ? describe : describe.skip)('tap and afpacket captures from VS Code, in a namespace the test makes', () => {
  before(() => {
    cleanup();
    // The test's namespace: a TAP device with 198.18.0.1/24 on its kernel side (the tap backend's wire
    // side), and one end of a veth pair whose other end is Linux in a second namespace (afpacket).
    sh(`ip netns add ${NS}
ip netns add ${PEER_NS}
ip -n ${NS} link set lo up
ip -n ${NS} tuntap add dev bstap1 mode tap
ip netns exec ${NS} sh -c 'echo 1 > /proc/sys/net/ipv6/conf/bstap1/disable_ipv6'
ip -n ${NS} addr add 198.18.0.1/24 dev bstap1
ip -n ${NS} link set bstap1 up
ip -n ${NS} link add bsv0 type veth peer name bsv1 netns ${PEER_NS}
ip -n ${NS} addr add 198.18.1.3/24 dev bsv0
ip -n ${NS} link set bsv0 up
ip -n ${PEER_NS} link set lo up
ip -n ${PEER_NS} addr add 198.18.1.1/24 dev bsv1
ip -n ${PEER_NS} link set bsv1 up`);
  });

  after(async () => {
    const a = await api();
    await noLiveCapture(a);
    await until('the capture\'s engine to end', () => a.engine.place.kind === 'shared');
    cleanup();
  });

  it('lists the namespace\'s TAP devices and interfaces with their addresses, and suggests a bypass address on the interface\'s network', () => {
    const devices = listDevices(NS);
    const tap = devices.find((d) => d.name === 'bstap1');
    assert.deepEqual(tap && { kind: tap.kind, addresses: tap.addresses, up: tap.up }, { kind: 'tap', addresses: ['198.18.0.1/24'], up: true });
    const veth = devices.find((d) => d.name === 'bsv0')!;
    assert.equal(veth.kind, 'veth');
    assert.equal(suggestBypassAddress(veth), '198.18.1.200/24');
    assert.throws(() => listDevices(`${NS}-none`), /cannot list the devices of network namespace/);
  });

  it('Start Capture → tap offers the namespace\'s TAP device and captures the mixed scenario on it with the host kernel as the wire side', async () => {
    const a = await api();
    await noLiveCapture(a);
    const started = vscode.commands.executeCommand('bypassScope.startCapture', { backend: 'tap', scenario: 'mixed', rulesUri: undefined, impairment: 'none', networkNamespace: NS });
    await accept();
    const c = (await started) as Capture | undefined;
    assert.ok(c !== undefined, `the tap capture should start (${a.controller.current?.error ?? ''})`);
    assert.equal(c.request.device, 'bstap1', 'the one TAP device there comes first');
    assert.deepEqual(a.engine.place, { kind: 'netns', name: NS });
    await until(`the tap capture to end (${c.state})`, () => c.state === 'stopped', 40_000);
    assert.equal(c.summary?.reason, 'workloads-done');
    const totals = c.store.pathTotals();
    assert.ok(totals.bypass > 100 && totals.kernel > 50, `both paths: ${JSON.stringify(totals)}`);
    assert.equal(c.source, 'tap · bstap1');
  });

  it('Start Capture → afpacket asks the interface and the bypass stack\'s address; the bypass stack answers ping from Linux on the other end', async () => {
    const a = await api();
    await noLiveCapture(a);
    const rules = scratchFile('afpacket.bypass', 'bypass icmp\ndefault kernel\n');
    const started = vscode.commands.executeCommand('bypassScope.startCapture', { backend: 'afpacket', device: 'bsv0', rulesUri: rules.toString(), impairment: 'none', networkNamespace: NS });
    // The address question, with the suggestion on bsv0's network filled in.
    await accept();
    const c = (await started) as Capture | undefined;
    assert.ok(c !== undefined, `the afpacket capture should start (${a.controller.current?.error ?? ''})`);
    assert.equal(c.request.address, '198.18.1.200/24');
    await sleep(500);
    const ping = spawnSync('ip', ['netns', 'exec', PEER_NS, 'ping', '-n', '-q', '-c', '3', '-i', '0.3', '-W', '2', '198.18.1.200'], { encoding: 'utf8', timeout: 15_000 });
    assert.match(ping.stdout, /3 packets transmitted, 3 received/, `ping: ${ping.stdout} ${ping.stderr}`);
    await until('the echo replies in the store', () => [...c.store.packets()].filter((p) => p.direction === 'tx' && p.path === 'bypass').length >= 3);
    assert.equal(await vscode.commands.executeCommand('bypassScope.stopCapture'), true);
    assert.equal(c.state, 'stopped');
  });

  it('a device that is not there is a clear message: the TAP to make, the interface that is missing', async () => {
    const a = await api();
    await noLiveCapture(a);
    await assert.rejects(a.controller.start({ backend: 'tap', device: 'bsnone0', scenario: 'idle', networkNamespace: NS }), /no network device 'bsnone0'.*ip tuntap add dev bsnone0 mode tap user/);
    await assert.rejects(a.controller.start({ backend: 'afpacket', device: 'bsnone1', address: '198.18.1.200/24', networkNamespace: NS }), /afpacket: .*There is no interface 'bsnone1' in this network namespace/);
    await assert.rejects(a.controller.start({ backend: 'afpacket', device: 'bsv0', address: '198.18.1.200', networkNamespace: NS }), /the bypass stack's address wants A\.B\.C\.D\/N/);
    assert.equal(a.controller.current?.state, 'failed');
  });
});
