#!/bin/bash
# postfix-lab, memo 1.5/1.6 (runbook-facts 1): rpm applies patches with fuzz 0, so check that the VDA patch
# (-p1) and then the sleep patch (-p0) apply cleanly to the prepared 2.10.1 tree (the SRPM's own patches
# applied by %prep) before rpmbuild uses them. Works in a temporary build directory and removes it: it changes
# nothing in ~/rpmbuild.
# Usage: postfix-lab-patch-dry-run.sh SPEC SOURCES_DIR VDA_PATCH SLEEP_PATCH
set -euo pipefail

spec=${1:?usage: postfix-lab-patch-dry-run.sh SPEC SOURCES_DIR VDA_PATCH SLEEP_PATCH}
sources=${2:?the SOURCES directory is missing}
vda=${3:?the VDA patch file name is missing}
sleep_patch=${4:?the sleep patch file name is missing}

for f in "$vda" "$sleep_patch"; do
  if [ ! -f "$sources/$f" ]; then
    echo "postfix-lab: the patch file $f is missing: expected it at $sources/$f." \
      "The download steps of sections 1.5/1.6 put it there (from the artifacts folder or its URL): run them again" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build"

# %prep as the SRPM ships it: leave out our own Patch100/101 lines in case the spec was already edited.
grep -v -E '^(Patch10[01]:|%patch10[01] )' "$spec" > "$work/postfix.spec"
if ! rpmbuild -bp --nodeps --define "_builddir $work/build" --define "_sourcedir $sources" \
    "$work/postfix.spec" > "$work/prep.log" 2>&1; then
  tail -n 20 "$work/prep.log" >&2
  echo "postfix-lab: rpmbuild -bp failed for $spec" >&2
  exit 1
fi

src=$(find "$work/build" -mindepth 1 -maxdepth 1 -type d -name 'postfix-*' -print -quit)
if [ -z "$src" ]; then
  echo "postfix-lab: %prep left no postfix-* tree in $work/build" >&2
  exit 1
fi

# try LEVEL FILE [--dry-run]: apply FILE with patch LEVEL and fuzz 0, as rpm would.
try() {
  local level=$1 file=$2
  shift 2
  if ! (cd "$src" && patch "$@" --batch --fuzz=0 "$level" < "$sources/$file") > "$work/patch.log" 2>&1; then
    cat "$work/patch.log" >&2
    echo "postfix-lab: $file does not apply to $(basename "$src") with $level --fuzz=0:" \
      "refresh it against 2.10.1, put the refreshed copy in the artifacts folder and pin its sha256" >&2
    exit 1
  fi
}

try -p1 "$vda" --dry-run
try -p1 "$vda"
try -p0 "$sleep_patch" --dry-run
echo "postfix-lab: $vda (-p1) and $sleep_patch (-p0) apply cleanly with --fuzz=0"
