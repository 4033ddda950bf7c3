#!/usr/bin/env node
// The engine's command line: the bundled engine/cli.ts (run `npm run build` first).
require('../out/engine/cli.js').runFromCommandLine();
