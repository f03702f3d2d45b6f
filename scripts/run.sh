#!/bin/sh
# Entry point of every npm script: installs what is missing on first use, then runs the command.
#   sh scripts/run.sh lab-up [flags]   -> scripts/lab-up.ts
#   sh scripts/run.sh test [files]     -> system packages for the tests, then vitest
set -e
cd "$(dirname "$0")/.."
cmd=$1
shift
if [ ! -x node_modules/.bin/tsx ] || [ ! -x node_modules/.bin/vitest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "postfix-lab: installing npm dependencies (npm ci, first use) ..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
case "$cmd" in
  test)
    sh scripts/system-deps.sh test
    echo "postfix-lab: typecheck (tsc --noEmit)" >&2
    node_modules/.bin/tsc --noEmit -p .
    exec node_modules/.bin/vitest run "$@"
    ;;
  test-vm)
    sh scripts/system-deps.sh vm
    exec node_modules/.bin/vitest run -c vitest.vm.config.ts "$@"
    ;;
  bench)
    [ "${1:-}" = ssh-steps ] && sh scripts/system-deps.sh bench
    exec node_modules/.bin/tsx scripts/bench.ts "$@"
    ;;
  *)
    exec node_modules/.bin/tsx "scripts/$cmd.ts" "$@"
    ;;
esac
