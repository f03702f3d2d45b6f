#!/bin/sh
# Entry point of every npm script: installs the npm dependencies on first use, then runs the command from the one
# command table (src/cli/table.ts):  sh scripts/run.sh lab:up [flags]
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/tsx ] || [ ! -x node_modules/.bin/vitest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "postfix-lab: installing npm dependencies (npm ci, first use) ..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
exec node_modules/.bin/tsx src/cli/bin.ts "$@"
