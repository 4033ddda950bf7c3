// bench: runs every benchmark (bench/*.bench.ts); each prints one JSON line of figures, which this
// collects and prints again, one per line, so `npm run bench > figures.jsonl` keeps them together.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const lines = [];
let failed = 0;
for (const file of benches) {
  process.stderr.write(`bench: ${file}\n`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', file)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const json = res.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  if (res.status !== 0 || json.length === 0) {
    failed++;
    lines.push(JSON.stringify({ bench: file, error: `exit ${res.status}` }));
  } else lines.push(...json);
}
for (const line of lines) console.log(line);
process.exit(failed ? 1 : 0);
