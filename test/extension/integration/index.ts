// test/extension/integration: the extension-host test entry (@vscode/test-electron's extensionTestsPath
// contract: `run()` resolves when every test passed) — loads every bundled *.itest.js next to it into
// mocha (BDD) and reports each test as it ends, then one `integration-counts {…}` line that
// test/run.mjs reads. BYPASS_SCOPE_ITEST_GREP (a pattern of test titles) and BYPASS_SCOPE_ITEST_FILES
// narrow the run.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

/** Prints like mocha's spec reporter, without colours, and the counts as one JSON line at the end. */
class CountingReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let pending = 0;
    const failures: string[] = [];
    let depth = 0;
    const pad = () => '  '.repeat(depth);
    runner.on('suite', (s) => {
      if (s.title) console.log(`${pad()}${s.title}`);
      depth++;
    });
    runner.on('suite end', () => depth--);
    runner.on('pass', (t) => {
      passed++;
      console.log(`${pad()}✔ ${t.title} (${t.duration ?? 0} ms)`);
    });
    runner.on('pending', (t) => {
      pending++;
      console.log(`${pad()}- ${t.title} (pending)`);
    });
    runner.on('fail', (t, err: Error) => {
      failed++;
      failures.push(t.fullTitle());
      console.log(`${pad()}✘ ${t.title}`);
      for (const line of String(err?.stack ?? err).split('\n').slice(0, 14)) console.log(`${pad()}    ${line}`);
    });
    runner.once('end', () => {
      console.log(`integration-counts ${JSON.stringify({ passed, failed, skipped: pending, failures })}`);
    });
  }
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: CountingReporter as unknown as string });
  const grep = process.env.BYPASS_SCOPE_ITEST_GREP;
  if (grep) mocha.grep(grep);
  // BYPASS_SCOPE_ITEST_FILES: comma-separated file names (test/run.mjs with a path filter).
  const only = (process.env.BYPASS_SCOPE_ITEST_FILES ?? '').split(',').filter(Boolean);
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.itest.js') && (only.length === 0 || only.includes(f))).sort();
  for (const f of files) mocha.addFile(join(__dirname, f));
  return new Promise((resolve, reject) => {
    if (files.length === 0) {
      console.log(`integration-counts ${JSON.stringify({ passed: 0, failed: 1, skipped: 0, failures: [`no *.itest.js in ${__dirname}`] })}`);
      reject(new Error(`no integration tests in ${__dirname}`));
      return;
    }
    try {
      mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration tests failed`)) : resolve()));
    } catch (e) {
      reject(e as Error);
    }
  });
}
