// The afpacket backend: `bypass-scope capture --backend afpacket --interface NAME --ip A/N` on one
// end of a veth pair (made in a private namespace the test creates), Linux on the other end in a
// second namespace: the bypass stack answers ARP and ping at its own address through the socket,
// and frames the rules leave to the kernel are filtered in the kernel (cBPF) before the engine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labProblem, ROOT, runInNamespace } from './lab-support';

const skip = labProblem();
const CLI = join(ROOT, 'out/engine/cli.js');

describe('afpacket backend', { skip }, () => {
  it('answers ARP and ping at the bypass address, and keeps kernel-path frames out of the engine', async () => {
    const rules = join(tmpdir(), `afpacket-${process.pid}.bypass`);
    writeFileSync(rules, 'bypass icmp\ndefault kernel\n');
    const script = `set -e
ip link set lo up
ip link add bsv0 type veth peer name bsv1
unshare -n -- sh -c 'echo ready; exec sleep 60' > /tmp/bsv-holder-$$ &
HOLDER=$!
for i in $(seq 100); do grep -q ready /tmp/bsv-holder-$$ 2>/dev/null && break; sleep 0.05; done
rm -f /tmp/bsv-holder-$$
ip link set bsv1 netns $HOLDER
ip link set bsv0 up
nsenter --net=/proc/$HOLDER/ns/net sh -ec 'ip link set lo up; ip addr add 198.18.1.1/24 dev bsv1; ip link set bsv1 up'
"${process.execPath}" "${CLI}" capture --backend afpacket --interface bsv0 --ip 198.18.1.2/24 --rules "${rules}" --scenario idle --duration 6 --json > /tmp/bsv-capture-$$ &
CAP=$!
sleep 1.5
nsenter --net=/proc/$HOLDER/ns/net ping -n -q -c 3 -i 0.3 -W 2 198.18.1.2 | grep received
nsenter --net=/proc/$HOLDER/ns/net sh -c 'for i in 1 2 3 4 5; do echo x > /dev/udp/198.18.1.2/7301 2>/dev/null || true; done' || true
wait $CAP
cat /tmp/bsv-capture-$$
rm -f /tmp/bsv-capture-$$
kill $HOLDER`;
    const r = await runInNamespace(['bash', '-c', script], 60_000);
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}\n${r.stdout}`);
    assert.match(r.stdout, /3 packets transmitted, 3 received/, `ping: ${r.stdout.slice(0, 500)}`);
    const packets = r.stdout.split('\n').filter((l) => l.startsWith('{"id"')).map((l) => JSON.parse(l) as { direction: string; path: string; rule: string; summary: string });
    assert.ok(packets.some((p) => p.direction === 'tx' && p.path === 'bypass' && /ICMP echo reply/.test(p.summary)), 'no echo reply from the bypass stack');
    assert.ok(packets.some((p) => p.rule === 'afpacket-arp'), 'no ARP steered to the bypass stack');
    assert.equal(packets.filter((p) => /UDP/.test(p.summary)).length, 0, 'UDP to a kernel-path port reached the engine (the kernel filter should keep it)');
  });
});
