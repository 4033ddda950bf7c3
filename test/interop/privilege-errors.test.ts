// test/interop: what a user without the privileges a native backend needs is told — the missing
// privilege by name, and the command that grants it. Each case runs as uid 65534 (nobody) inside a
// private network namespace the test makes (runInNamespace), with its own /dev/net/tun bound over the
// real one in a private mount namespace, so the real device's mode and ACL are never touched.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LAB_NAMESPACE_ENV } from '../../engine/backends/lab-topology';
import { labProblem, ROOT, runInNamespace } from './lab-support';

const CLI = join(ROOT, 'out/engine/cli.js');
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

function problem(): string | undefined {
  const lab = labProblem();
  if (lab !== undefined) return lab;
  if (process.getuid?.() !== 0) return 'dropping to another user needs root';
  const missing = ['setpriv', 'mknod', 'unshare', 'mount'].find((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing !== undefined) return `${missing} is not installed`;
  const readable = spawnSync(NOBODY[0], [...NOBODY.slice(1), 'test', '-r', CLI, '-a', '-x', process.execPath]);
  if (readable.status !== 0) return `uid 65534 cannot read ${CLI} or run ${process.execPath}`;
  return undefined;
}

/**
 * Runs the CLI with `args` as nobody, in a fresh network namespace set up by `setup` (as root), with
 * a /dev/net/tun of mode `tunMode` of its own. Without LAB_NAMESPACE_ENV: the lab makes its own
 * namespaces, as it does for a user.
 */
function asNobody(setup: string, tunMode: '0666' | '0600', args: readonly string[]) {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const script = `set -e
ip link set lo up
${setup}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mknod -m ${tunMode} "$dir/tun" c 10 200
unshare -m sh -c 'mount --bind "$1" /dev/net/tun && HOME=/tmp exec env -u ${LAB_NAMESPACE_ENV} ${NOBODY.join(' ')} "${process.execPath}" "${CLI}" ${quoted}' sh "$dir/tun"`;
  return runInNamespace(['sh', '-c', script], 60_000);
}

describe('native backends without the privileges they need', { skip: problem() }, () => {
  it('afpacket without CAP_NET_RAW names the capability and the setcap command that grants it', async () => {
    const r = await asNobody('ip link add bspv0 type veth peer name bspv1\nip link set bspv0 up\nip link set bspv1 up', '0666', [
      'capture', '--backend', 'afpacket', '--interface', 'bspv0', '--ip', '198.18.7.2/24', '--scenario', 'idle', '--duration', '1', '--quiet',
    ]);
    assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}\n${r.stdout}`);
    assert.match(r.stderr, /AF_PACKET: EPERM .*need CAP_NET_RAW/);
    assert.match(r.stderr, /setcap cap_net_raw/);
  });

  it('tap on a device that belongs to another user says so and how to make one of your own', async () => {
    const r = await asNobody('ip tuntap add dev bsptap0 mode tap user 0\nip addr add 198.18.0.1/24 dev bsptap0\nip link set bsptap0 up', '0666', [
      'capture', '--backend', 'tap', '--tap', 'bsptap0', '--duration', '1', '--quiet',
    ]);
    assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}\n${r.stdout}`);
    assert.match(r.stderr, /TUNSETIFF bsptap0: EPERM .*'bsptap0' belongs to another user.*not to uid 65534/);
    assert.match(r.stderr, /ip tuntap add dev bsptap0 mode tap user \$USER/);
  });

  it('tap and lab without access to /dev/net/tun say which file and what mode it needs', async () => {
    const tap = await asNobody('ip tuntap add dev bsptap1 mode tap\nip addr add 198.18.0.1/24 dev bsptap1\nip link set bsptap1 up', '0600', [
      'capture', '--backend', 'tap', '--tap', 'bsptap1', '--duration', '1', '--quiet',
    ]);
    assert.equal(tap.code, 1, `exit ${tap.code}: ${tap.stderr}\n${tap.stdout}`);
    assert.match(tap.stderr, /open \/dev\/net\/tun: EACCES .*must be readable and writable by you/);
    const lab = await asNobody('', '0600', ['capture', '--backend', 'lab', '--duration', '1', '--quiet']);
    assert.equal(lab.code, 1, `exit ${lab.code}: ${lab.stderr}\n${lab.stdout}`);
    assert.match(lab.stderr, /^bypass-scope capture: lab: .*\/dev\/net\/tun/m);
  });
});
