// The whole test command: every suite, then one closing `N passed, N failed` line.
// Suites: engine, interop and differential tests on Node's test runner (TypeScript through tsx), and the
// webview tests in headless Chromium (test/webview, skipped with a message when Chromium is missing).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

function runNodeSuite(files) {
  const out = join(mkdtempSync(join(tmpdir(), 'bypass-scope-test-')), 'counts.json');
  const args = ['--import', 'tsx', '--test', '--test-concurrency=2',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'test/support/count-reporter.mjs')}`, `--test-reporter-destination=${out}`,
    ...files];
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  try {
    return JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    return { passed: 0, failed: 1, skipped: 0, failures: [`node test runner exited ${res.status} without results`] };
  }
}

// The webview tests drive headless Chromium (Debian's package); without it they are skipped, and said so.
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(chromium);
let files = findTests(join(root, 'test')).filter((f) => !f.includes('/test/e2e/') && (hasChromium || !f.includes('/test/webview/')));
if (only.length) files = files.filter((f) => only.some((o) => relative(root, f).includes(o)));
const webviewSkipped = hasChromium ? 0 : findTests(join(root, 'test/webview')).filter((f) => !only.length || only.some((o) => relative(root, f).includes(o))).length;
if (webviewSkipped) console.log(`webview tests skipped: no chromium at ${chromium} (apt-get install chromium, or set CHROMIUM_PATH)`);

// Type-checking is part of the test command: each tsconfig that fails counts as one failed test.
function runTypecheck() {
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const project of ['engine', 'extension', 'test', 'webview', 'test/webview']) {
    const res = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project],
      { cwd: root, stdio: 'inherit' });
    if (res.status === 0) counts.passed++;
    else { counts.failed++; counts.failures.push(`typecheck ${project}`); }
  }
  console.log(`typecheck: ${counts.passed} of ${counts.passed + counts.failed} projects clean`);
  return counts;
}

// The CLI tests run the built command line: build first (esbuild takes a second or two).
const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('\nbuild failed\n0 passed, 1 failed');
  process.exit(1);
}

if (files.length === 0 && webviewSkipped) {
  console.log(`\n0 passed, 0 failed, ${webviewSkipped} skipped`);
  process.exit(0);
}
if (files.length === 0) {
  console.log(`no test files match ${only.join(' ')}`);
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}
const totals = runNodeSuite(files);
totals.skipped += webviewSkipped;
if (!only.length) {
  const tc = runTypecheck();
  totals.passed += tc.passed;
  totals.failed += tc.failed;
  totals.failures.push(...tc.failures);
}
if (totals.failures.length) {
  console.log('\nfailed:');
  for (const f of totals.failures) console.log('  ' + relative(root, f));
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed` + (totals.skipped ? `, ${totals.skipped} skipped` : ''));
process.exit(totals.failed > 0 ? 1 : 0);
