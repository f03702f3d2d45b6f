#!/bin/sh
# Entry point of every npm script: installs the npm dependencies on first use, compiles the CLI when its sources
# changed, then runs the command from the one command table (src/cli/table.ts):  sh scripts/run.sh lab:up [flags]
# The tests need the development tools too (vitest, tsc, biome: 140 of the 166 MB); every other command only the
# runtime dependencies, which a fresh machine's `npm run lab:up` installs alone (npm ci --omit=dev, 11-12 s here
# against 16-22 s for all of them).
set -e
cd "$(dirname "$0")/.."
case "$1" in test | test:*) dev=yes ;; *) dev= ;; esac
if [ ! -x node_modules/.bin/esbuild ] || { [ -n "$dev" ] && [ ! -x node_modules/.bin/vitest ]; } || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ -n "$dev" ] || [ -x node_modules/.bin/vitest ]; then
    echo "postfix-lab: installing npm dependencies (npm ci, first use) ..." >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    echo "postfix-lab: installing npm dependencies (npm ci --omit=dev, first use; \`npm test\` adds the test tools) ..." >&2
    npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2
  fi
fi
# The CLI runs compiled (esbuild, 0.1-0.2 s once per change of its sources), not through tsx, which costs every
# command about 0.7 s here. The build is keyed by the name, mtime and size of every file it compiles (src, and bench
# and test/helpers for `npm run bench`; 20 ms to compute); its files are only ever added, each by a rename, so a
# command already running keeps the files it loads later.
key=$(find src bench test/helpers scripts/run.sh package-lock.json -type f -printf '%p %T@ %s\n' | sort | sha1sum | cut -c1-16)
entry=dist/bin-$key.js
if [ ! -f "$entry" ]; then
  tmp=dist/.build-$$
  trap 'rm -rf "$tmp"' EXIT
  node_modules/.bin/esbuild src/cli/bin.ts --bundle --splitting --format=esm --platform=node --target=node20 \
    --packages=external --outdir="$tmp" --entry-names="bin-$key" --chunk-names='chunk-[hash]' --log-level=warning
  # builds older than a day (no command runs that long), and saved validators (src/validators.ts) of that age
  find dist -maxdepth 1 -name '*.js' -mtime +1 -delete
  find dist -path 'dist/validators/*.cjs' -mtime +1 -delete
  for f in "$tmp"/chunk-*.js; do [ ! -e "$f" ] || mv -f "$f" dist/; done
  mv -f "$tmp/bin-$key.js" "$entry"
  rm -rf "$tmp"
  trap - EXIT
fi
exec node "$entry" "$@"
