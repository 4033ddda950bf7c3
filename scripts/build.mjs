// build: one esbuild script for the three bundles (extension, engine, webview).
import { build, context } from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'es2022' };

const bundles = [
  { ...common, entryPoints: ['extension/extension.ts'], outfile: 'out/extension.js',
    platform: 'node', format: 'cjs', external: ['vscode', 'koffi'] },
  { ...common, entryPoints: ['engine/cli.ts', 'engine/main.ts'].filter(existsSync), outdir: 'out/engine',
    platform: 'node', format: 'cjs', external: ['koffi'] },
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'out/webview/main.js',
    platform: 'browser', format: 'esm' },
].filter((b) => b.entryPoints.every(existsSync) && b.entryPoints.length > 0);

if (watch) {
  for (const b of bundles) await (await context(b)).watch();
  console.log('watching', bundles.length, 'bundles');
} else {
  await Promise.all(bundles.map((b) => build(b)));
}
