// test/engine/cli: the installed command (`npx bypass-scope`, bin/bypass-scope.js) runs the same
// command line as the bundle, from any directory.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { root } from '../../support/cli';

function bin(...args: string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [join(root, 'bin', 'bypass-scope.js'), ...args], { cwd: tmpdir(), encoding: 'utf8' });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

describe('bin/bypass-scope.js', () => {
  it('prints the usage and exits 0 for --help', () => {
    const r = bin('--help');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /usage: bypass-scope <command>/);
    assert.match(r.out, /capture +run a capture/);
  });

  it('runs a capture from another directory with the package\'s example rules', () => {
    const r = bin('capture', '--packets', '20', '--quiet');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /rules examples\/routing\.bypass/);
    assert.match(r.out, /packets: 20 /);
  });

  it('exits 1 with one line for an unknown command', () => {
    const r = bin('frobnicate');
    assert.equal(r.code, 1, `got exit ${r.code}, want 1`);
    assert.equal(r.err.trim().split('\n').length, 1, `want one line, got: ${r.err}`);
  });
});
