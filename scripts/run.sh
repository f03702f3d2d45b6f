#!/bin/sh
# Entry point of every npm script: installs the npm dependencies on first use, then runs the command from the one
# command table (src/cli/table.ts):  sh scripts/run.sh lab:up [flags]
# The tests need the development tools too (vitest, tsc, biome: 140 of the 166 MB); every other command only the
# runtime dependencies, which a fresh machine's `npm run lab:up` installs alone (npm ci --omit=dev, 11-12 s here
# against 16-22 s for all of them).
set -e
cd "$(dirname "$0")/.."
case "$1" in test | test:*) dev=yes ;; *) dev= ;; esac
if [ ! -x node_modules/.bin/tsx ] || { [ -n "$dev" ] && [ ! -x node_modules/.bin/vitest ]; } || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ -n "$dev" ] || [ -x node_modules/.bin/vitest ]; then
    echo "postfix-lab: installing npm dependencies (npm ci, first use) ..." >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    echo "postfix-lab: installing npm dependencies (npm ci --omit=dev, first use; \`npm test\` adds the test tools) ..." >&2
    npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2
  fi
fi
exec node_modules/.bin/tsx src/cli/bin.ts "$@"
