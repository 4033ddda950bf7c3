// scripts/code-server-tests: runs an extension's integration tests in the real extension host of a
// throw-away code-server, taking VS Code's own command line, so that it serves as the "VS Code
// executable" of @vscode/test-electron (`runTests({ vscodeExecutablePath })`) and @vscode/test-cli
// (`useInstallation: { fromPath }`) where no desktop VS Code can be downloaded:
//
//   node scripts/code-server-tests.mjs --extensionDevelopmentPath=DIR --extensionTestsPath=FILE [FOLDER]
//
// It opens the workbench in headless Chromium with the development extension and the tests in the
// URL's payload; the test runner's output (the extension host's console) is printed, and the exit
// code is the extension host's (0: every test passed). Other VS Code flags are accepted and ignored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';
import { launchBrowser, rigMissing, startCodeServer, workbenchUrl } from './code-server.mjs';

/** The workbench's own chatter, which the extension host's console shares with the tests' output. */
const WORKBENCH_NOISE = [
  /^Resolving connection token/, /^Resolved connection token/, /^Creating a socket/, /^Ignoring fetching additional builtin extensions/,
  /^\[Service Worker\]/, /^\[AgentHost/, /^\[AccountPolicyGate\]/, /^\[reconnection-grace-time\]/,
];

function parseArgs(argv) {
  const out = { devPaths: [], testsPath: undefined, folder: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const take = (name) => {
      if (a === `--${name}`) return argv[++i];
      if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
      return undefined;
    };
    let v;
    if ((v = take('extensionDevelopmentPath')) !== undefined) out.devPaths.push(v);
    else if ((v = take('extensionTestsPath')) !== undefined) out.testsPath = v;
    else if (a.startsWith('--')) {
      // Flags that take a value as the next word (VS Code's --user-data-dir DIR and the like).
      if (!a.includes('=') && ['--user-data-dir', '--extensions-dir', '--locale', '--log'].includes(a)) i++;
    } else out.folder = a;
  }
  return out;
}

/** Runs the tests; resolves with the extension host's exit code. `onLog(line)` gets the test output. */
export async function runExtensionTests({ extensionDevelopmentPath, extensionTestsPath, folder, env, timeoutMs = 10 * 60_000, onLog = (l) => process.stdout.write(l + '\n') }) {
  const missing = rigMissing();
  if (missing) {
    onLog(missing);
    return 1;
  }
  const toPath = (p) => (p.startsWith('file://') ? fileURLToPath(p) : resolve(p));
  const serverLog = [];
  const server = await startCodeServer({ workspace: folder ? toPath(folder) : undefined, env, log: (l) => serverLog.push(l) });
  const browser = await launchBrowser();
  let finish;
  const done = new Promise((r) => (finish = r));
  const timer = setTimeout(() => {
    onLog(`code-server-tests: no result within ${timeoutMs / 1000} s; code-server said:\n${serverLog.slice(-40).join('\n')}`);
    finish(1);
  }, timeoutMs);
  try {
    const page = await browser.context.newPage();
    await page.exposeFunction('codeAutomationExit', (code) => finish(typeof code === 'number' ? code : 1));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      // The console's arguments as they were given (mocha's reporters use printf-style formats).
      const text = format(...(Array.isArray(args) ? args : [args]));
      for (const line of text.split('\n')) if (!WORKBENCH_NOISE.some((re) => re.test(line))) onLog(line, type);
    });
    page.on('pageerror', (e) => serverLog.push(`page error: ${e.message}`));
    const url = workbenchUrl(server, {
      folder: folder ? toPath(folder) : undefined,
      extensionDevelopmentPath: toPath(extensionDevelopmentPath),
      extensionTestsPath: toPath(extensionTestsPath),
    });
    await page.goto(url);
    const code = await done;
    return code;
  } finally {
    clearTimeout(timer);
    await browser.close();
    await server.stop();
  }
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const a = parseArgs(process.argv.slice(2));
  if (a.devPaths.length === 0 || a.testsPath === undefined) {
    process.stderr.write('usage: code-server-tests --extensionDevelopmentPath=DIR --extensionTestsPath=FILE [FOLDER]\n');
    process.exit(2);
  }
  // A folder is needed for workspace features; an empty throw-away one when none is given.
  let scratch;
  if (a.folder === undefined) {
    scratch = mkdtempSync(join(tmpdir(), 'bypass-scope-ws-'));
    a.folder = scratch;
  }
  const code = await runExtensionTests({ extensionDevelopmentPath: a.devPaths[0], extensionTestsPath: a.testsPath, folder: a.folder });
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  process.exit(code);
}
