// No root needed: a throwaway unprivileged user (made here, removed after) runs
// `bypass-scope capture --backend lab`, which starts itself in `unshare -Urn`; the mixed scenario's
// workloads all pass against Linux peers. Making the user needs root (CI runs as root).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { labProblem, ROOT } from './lab-support';

const root = process.getuid?.() === 0;
const tools = ['useradd', 'userdel', 'runuser'].find((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = labProblem() ?? (!root ? 'making a throwaway user needs root' : tools !== undefined ? `${tools} is not installed` : undefined);

function run(argv: readonly string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message}`);
}

describe('lab: without root', { skip }, () => {
  it('runs the lab capture as an unprivileged user, every workload verified', async () => {
    const user = `bslab${process.pid % 100000}`;
    run(['useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', user]);
    // /dev/net/tun is 0666 where udev runs; in a container it may be 0600: let this user open it, for this test only.
    const tunShared = (statSync('/dev/net/tun').mode & 0o006) === 0o006;
    const acl = !tunShared && spawnSync('sh', ['-c', 'command -v setfacl']).status === 0;
    const oldMode = statSync('/dev/net/tun').mode & 0o777;
    const hadAcl = acl && spawnSync('getfacl', ['--omit-header', '--skip-base', '/dev/net/tun'], { encoding: 'utf8' }).stdout.trim() !== '';
    try {
      if (!tunShared) {
        if (acl) run(['setfacl', '-m', `u:${user}:rw`, '/dev/net/tun']);
        else run(['chmod', 'o+rw', '/dev/net/tun']);
      }
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('runuser', ['-u', user, '--', process.execPath, join(ROOT, 'out/engine/cli.js'), 'capture', '--backend', 'lab', '--scenario', 'mixed', '--quiet', '--duration', '30'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH, HOME: '/tmp' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
      assert.equal(out.code, 0, `exit ${out.code}: ${out.stderr}\n${out.stdout}`);
      assert.match(out.stdout, /^capture: lab, scenario mixed/m);
      const lines = out.stdout.split('\n').filter((l) => /^ {2}(udp-feed|http|rr|echo|bulk|ping): /.test(l));
      assert.equal(lines.length, 6, `workload lines: ${lines.join(' | ')}`);
      for (const l of lines) assert.match(l, /: ok,/, l);
    } finally {
      if (!tunShared) {
        // Back as it was: without an ACL of its own the device gets none (-b also drops the mask entry -m made).
        if (acl) spawnSync('setfacl', hadAcl ? ['-x', `u:${user}`, '/dev/net/tun'] : ['-b', '/dev/net/tun']);
        else spawnSync('chmod', [oldMode.toString(8), '/dev/net/tun']);
      }
      spawnSync('userdel', [user]);
    }
  });
});
