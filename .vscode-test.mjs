// @vscode/test-cli configuration (`npx vscode-test`): the integration tests in out/test/integration/
// (built by `npm run build`). Where a desktop VS Code can be downloaded, BYPASS_SCOPE_VSCODE=desktop
// runs them there; otherwise (the default, and on machines without internet) in the local
// code-server through scripts/code-server-tests (set up once by `bash scripts/vscode-rig.sh`).
import { defineConfig } from '@vscode/test-cli';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const desktop = process.env.BYPASS_SCOPE_VSCODE === 'desktop';

export default defineConfig({
  label: 'integration',
  files: 'out/test/integration/*.itest.js',
  // The tests write only into temporary folders; the workspace is an empty scratch folder.
  workspaceFolder: mkdtempSync(join(tmpdir(), 'bypass-scope-vscode-test-')),
  mocha: { ui: 'bdd', timeout: 60_000, color: false },
  ...(desktop ? { version: 'stable' } : { useInstallation: { fromPath: 'scripts/code-server-tests' } }),
});
