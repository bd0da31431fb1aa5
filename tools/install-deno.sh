#!/usr/bin/env bash
# Installs the pinned Deno (from the npm package `deno`) into .tools/ and prints its path.
set -euo pipefail
DENO_VERSION=2.9.6
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/node_modules/.bin/deno"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  echo "$bin"; exit 0
fi
command -v npm >/dev/null || { echo "install-deno: npm is required (Node.js 18+)" >&2; exit 1; }
mkdir -p "$root/.tools"
( cd "$root/.tools" && [ -f package.json ] || echo '{"private":true}' > package.json
  npm install --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" >&2 )
"$bin" --version >&2
echo "$bin"
