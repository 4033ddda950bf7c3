// build: one esbuild script for the three bundles (extension, engine, webview).
import { build, context } from 'esbuild';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'es2022' };

function integrationEntries() {
  const dir = 'test/extension/integration';
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f === 'index.ts' || f.endsWith('.itest.ts')).map((f) => `${dir}/${f}`);
}

const bundles = [
  { ...common, entryPoints: ['extension/extension.ts'], outfile: 'out/extension.js',
    platform: 'node', format: 'cjs', external: ['vscode', 'koffi'] },
  { ...common, entryPoints: ['engine/cli.ts', 'engine/main.ts'].filter(existsSync), outdir: 'out/engine',
    platform: 'node', format: 'cjs', external: ['koffi'] },
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'out/webview/main.js',
    platform: 'browser', format: 'esm' },
  // The integration tests that run inside the extension host (test/extension/integration/*.itest.ts) and
  // their mocha entry; mocha itself is loaded from node_modules at run time.
  { ...common, entryPoints: integrationEntries(), outdir: 'out/test/integration',
    platform: 'node', format: 'cjs', external: ['vscode', 'mocha'] },
].filter((b) => b.entryPoints.every(existsSync) && b.entryPoints.length > 0);

// Files the extension's manifest points at: the view and panel icons, the walkthrough's pages.
function copyAssets() {
  for (const [from, to] of [['extension/media', 'out/media'], ['extension/walkthrough', 'out/walkthrough']]) {
    if (existsSync(from)) cpSync(from, to, { recursive: true });
  }
}

copyAssets();
if (watch) {
  for (const b of bundles) await (await context(b)).watch();
  console.log('watching', bundles.length, 'bundles');
} else {
  // A removed test must not linger as a stale bundle.
  rmSync('out/test/integration', { recursive: true, force: true });
  await Promise.all(bundles.map((b) => build(b)));
}
