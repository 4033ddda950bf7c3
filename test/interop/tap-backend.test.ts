// The tap backend: `bypass-scope capture --backend tap --tap NAME` attaches to an existing TAP (made
// beforehand as a user would, `ip tuntap add`, here inside a private namespace the test makes), the
// host's kernel behind it is the wire side, and the mixed scenario's workloads pass against it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { labProblem, ROOT, runInNamespace } from './lab-support';

const skip = labProblem();
const CLI = join(ROOT, 'out/engine/cli.js');

describe('tap backend', { skip }, () => {
  it('captures the mixed scenario on an existing TAP with the host kernel as the wire side', async () => {
    const script = `set -e
ip link set lo up
ip tuntap add dev bstap1 mode tap
echo 1 > /proc/sys/net/ipv6/conf/bstap1/disable_ipv6
ip addr add 198.18.0.1/24 dev bstap1
ip link set bstap1 up
exec "${process.execPath}" "${CLI}" capture --backend tap --tap bstap1 --scenario mixed --quiet --duration 30`;
    const r = await runInNamespace(['sh', '-c', script], 90_000);
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}\n${r.stdout}`);
    assert.match(r.stdout, /^capture: tap, scenario mixed/m);
    const lines = r.stdout.split('\n').filter((l) => /^ {2}(udp-feed|http|rr|echo|bulk|ping): /.test(l));
    assert.equal(lines.length, 6, `workload lines: ${lines.join(' | ')}`);
    for (const l of lines) assert.match(l, /: ok,/, l);
  });

  it('says how to make the device when it does not exist', async () => {
    const r = await runInNamespace([process.execPath, CLI, 'capture', '--backend', 'tap', '--tap', 'bsnone0', '--quiet'], 30_000);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no network device 'bsnone0'.*ip tuntap add dev bsnone0 mode tap user/);
  });
});
