// The whole test command: every suite, then one closing `N passed, N failed` line.
// Suites: engine, interop and differential tests on Node's test runner (TypeScript through tsx), the
// webview tests in headless Chromium (test/webview, skipped with a message when Chromium is missing),
// the extension's integration tests inside the real extension host of code-server
// (test/extension/integration/*.itest.ts, mocha) and the end-to-end tests that drive code-server's UI
// with Playwright (test/e2e/*.test.ts). Without the local VS Code (.rig/) the last two fail and say
// how to set it up.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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

function runNodeSuite(files, concurrency = 2) {
  const out = join(mkdtempSync(join(tmpdir(), 'bypass-scope-test-')), 'counts.json');
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
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
const matches = (f) => !only.length || only.some((o) => relative(root, f).includes(o));
let files = findTests(join(root, 'test')).filter((f) => !f.includes('/test/e2e/') && (hasChromium || !f.includes('/test/webview/')));
files = files.filter(matches);
const itestDir = join(root, 'test/extension/integration');
const itests = existsSync(itestDir) ? readdirSync(itestDir).filter((f) => f.endsWith('.itest.ts')).map((f) => join(itestDir, f)).filter(matches) : [];
const e2eTests = existsSync(join(root, 'test/e2e')) ? findTests(join(root, 'test/e2e')).filter(matches) : [];
const webviewSkipped = hasChromium ? 0 : findTests(join(root, 'test/webview')).filter((f) => !only.length || only.some((o) => relative(root, f).includes(o))).length;
if (webviewSkipped) console.log(`webview tests skipped: no chromium at ${chromium} (apt-get install chromium, or set CHROMIUM_PATH)`);

// Type-checking is part of the test command: each tsconfig that fails counts as one failed test.
function runTypecheck() {
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const project of ['engine', 'extension', 'test', 'webview', 'test/webview', 'test/extension/integration', 'test/e2e'].filter((p) => existsSync(join(root, p, 'tsconfig.json')))) {
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

if (files.length === 0 && itests.length === 0 && e2eTests.length === 0 && webviewSkipped) {
  console.log(`\n0 passed, 0 failed, ${webviewSkipped} skipped`);
  process.exit(0);
}
if (files.length === 0 && itests.length === 0 && e2eTests.length === 0) {
  console.log(`no test files match ${only.join(' ')}`);
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}

/** What the local VS Code needs, as code-server.mjs checks it; undefined when it is all there. */
async function vscodeRigMissing() {
  const { rigMissing } = await import(join(root, 'scripts/code-server.mjs'));
  return rigMissing();
}

/**
 * The integration suite: every *.itest.ts (bundled by the build into out/test/integration/) inside
 * the extension host of a throw-away code-server, on a scratch copy of the examples workspace.
 */
async function runIntegrationSuite(selected) {
  const missing = await vscodeRigMissing();
  if (missing) {
    console.log(`\nintegration tests: ${missing}`);
    return { passed: 0, failed: 1, skipped: 0, failures: [`integration tests (${missing})`] };
  }
  const ws = mkdtempSync(join(tmpdir(), 'bypass-scope-itest-ws-'));
  for (const f of readdirSync(join(root, 'examples'))) if (/\.(bypass|pcapng|pcap)$/.test(f)) cpSync(join(root, 'examples', f), join(ws, f));
  const env = { ...process.env, BYPASS_SCOPE_ITEST_FILES: only.length ? selected.map((f) => relative(itestDir, f).replace(/\.ts$/, '.js')).join(',') : '' };
  console.log(`\nintegration tests (${selected.length} files) in code-server's extension host`);
  const child = spawn(process.execPath, [join(root, 'scripts/code-server-tests.mjs'),
    `--extensionDevelopmentPath=${root}`, `--extensionTestsPath=${join(root, 'out/test/integration/index.js')}`, ws],
  { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let counts;
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop();
    for (const l of lines) {
      const m = /^integration-counts (\{.*\})$/.exec(l);
      if (m) counts = JSON.parse(m[1]);
      else console.log(l);
    }
  });
  const code = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
  rmSync(ws, { recursive: true, force: true });
  if (counts === undefined) return { passed: 0, failed: 1, skipped: 0, failures: [`integration tests ended (exit ${code}) without results`] };
  if (code !== 0 && counts.failed === 0) counts = { ...counts, failed: 1, failures: [...counts.failures, `integration run exited ${code}`] };
  console.log(`integration: ${counts.passed} passed, ${counts.failed} failed`);
  return { ...counts, failures: counts.failures.map((t) => `integration: ${t}`) };
}

async function runE2eSuite(selected) {
  const missing = await vscodeRigMissing();
  if (missing) {
    console.log(`\nend-to-end tests: ${missing}`);
    return { passed: 0, failed: 1, skipped: 0, failures: [`end-to-end tests (${missing})`] };
  }
  console.log(`\nend-to-end tests (${selected.length} files): Playwright through code-server's UI; screenshots in test-results/e2e/`);
  mkdirSync(join(root, 'test-results/e2e'), { recursive: true });
  // One at a time: each starts its own code-server and Chromium.
  return runNodeSuite(selected, 1);
}

function add(totals, c) {
  totals.passed += c.passed;
  totals.failed += c.failed;
  totals.skipped += c.skipped ?? 0;
  totals.failures.push(...c.failures);
}

const totals = files.length ? runNodeSuite(files) : { passed: 0, failed: 0, skipped: 0, failures: [] };
totals.skipped += webviewSkipped;
if (itests.length) add(totals, await runIntegrationSuite(itests));
if (e2eTests.length) add(totals, await runE2eSuite(e2eTests));
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
