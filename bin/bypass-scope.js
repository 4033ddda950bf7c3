#!/usr/bin/env node
// The engine's command line: the bundled engine/cli.ts.
require('../out/engine/cli.js');
