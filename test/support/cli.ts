// test support: runs the built `bypass-scope` command line (test/run.mjs builds it before the suites).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

export function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [join(root, 'out', 'engine', 'cli.js'), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: res.status, out: res.stdout, err: res.stderr };
}
