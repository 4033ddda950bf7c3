// scripts/start: `npm start` — builds, then opens the extension with a sim capture running and the
// visualizer open, on the examples workspace (examples/.vscode/settings.json asks for the capture):
// in the installed VS Code when `code` is on the PATH, otherwise in the local code-server (set up on
// first use by scripts/vscode-rig.sh) served on 127.0.0.1, with its URL printed. `npx bypass-scope
// capture` is the same job in a terminal.
//
//   node scripts/start.mjs [--port N] [--code-server] [--no-build]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { linkExtension, rigDir, rigMissing, root, startCodeServer } from './code-server.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const workspace = join(root, 'examples');

if (!flag('no-build')) {
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

function onPath(cmd) {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

if (!flag('code-server') && process.env.BYPASS_SCOPE_START !== 'code-server' && onPath('code')) {
  // The desktop VS Code: an extension development window on the examples workspace.
  const child = spawn('code', [`--extensionDevelopmentPath=${root}`, workspace], {
    stdio: 'inherit',
    env: { ...process.env, BYPASS_SCOPE_START_ON_OPEN: '1' },
  });
  child.on('exit', (code) => {
    if (code === 0) console.log('VS Code is opening examples/ with Bypass Scope: a sim capture starts and the visualizer opens.');
    process.exit(code ?? 1);
  });
} else {
  if (rigMissing()?.includes('code-server')) {
    console.log('No `code` on the PATH: setting up the local VS Code (code-server) once, in .rig/ (a few minutes)…');
    const r = spawnSync('bash', [join(root, 'scripts/vscode-rig.sh')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  // A lasting profile, so that the layout and settings stay from one start to the next.
  const dir = join(rigDir, 'start');
  mkdirSync(dir, { recursive: true });
  linkExtension(dir);
  const wanted = Number(option('port') ?? process.env.PORT ?? 8080);
  let server;
  try {
    server = await startCodeServer({ dir, port: wanted, workspace, log: 'ignore', settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
  } catch {
    // The port is taken: any free one.
    server = await startCodeServer({ dir, workspace, log: 'ignore', settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
  }
  const url = `${server.url}/?folder=${encodeURIComponent(workspace)}`;
  console.log(`\nBypass Scope is running in a local VS Code (code-server):\n\n  ${url}\n`);
  console.log('Open it in a browser: a sim capture starts and the visualizer opens. Ctrl+C stops it.');
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const end = await server.exited;
  console.log(`code-server ended (${end.signal ?? `code ${end.code}`})`);
  process.exit(1);
}
