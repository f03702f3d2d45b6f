#!/bin/bash
# postfix-lab, memo 1.5-1.7 (runbook-facts 1): add the VDA and sleep patches to the vault SRPM's postfix.spec.
# Followed literally, the memo renames the VDA patch to a file only Simon Mudd's SRPM references, so the vault
# spec never applies it. Here both patches become Patch100/Patch101 with "%patch100 -p1" / "%patch101 -p0" after
# the spec's last top-level %patch line (not inside the pflogsumm pushd/popd block), and Release: gets a suffix
# so that the rebuilt package installs as an upgrade of the stock one. The spec keeps its mode and owner.
# Usage: postfix-lab-spec-add-patches.sh SPEC VDA_PATCH SLEEP_PATCH RELEASE_SUFFIX   (each edit is made once)
set -euo pipefail

spec=${1:?usage: postfix-lab-spec-add-patches.sh SPEC VDA_PATCH SLEEP_PATCH RELEASE_SUFFIX}
vda=${2:?the VDA patch file name is missing}
sleep_patch=${3:?the sleep patch file name is missing}
suffix=${4:?the release suffix is missing}

# insert_after_last REGEXP LINE: insert LINE after the last line matching REGEXP outside pushd/popd blocks.
insert_after_last() {
  local tmp
  tmp=$(mktemp "$spec.XXXXXX")
  if ! awk -v re="$1" -v add="$2" '
      { line[NR] = $0 }
      /^pushd[[:space:]]/ { depth++ }
      $0 ~ re && depth == 0 { last = NR }
      /^popd([[:space:]]|$)/ { if (depth > 0) depth-- }
      END {
        if (!last) exit 3
        for (i = 1; i <= NR; i++) { print line[i]; if (i == last) print add }
      }' "$spec" > "$tmp"; then
    rm -f "$tmp"
    echo "postfix-lab: no top-level line matching /$1/ in $spec" >&2
    exit 1
  fi
  # mktemp makes the file 0600: give it the spec's own mode and owner before it replaces the spec.
  if ! chmod --reference="$spec" "$tmp" || ! chown --reference="$spec" "$tmp"; then
    rm -f "$tmp"
    echo "postfix-lab: cannot give the edited copy the mode and owner of $spec; run as its owner" >&2
    exit 1
  fi
  mv -f "$tmp" "$spec"
}

grep -q '^Patch100:' "$spec" || insert_after_last '^Patch[0-9]+:' "Patch100: $vda"
grep -q '^Patch101:' "$spec" || insert_after_last '^Patch[0-9]+:' "Patch101: $sleep_patch"
grep -q '^%patch100 ' "$spec" || insert_after_last '^%patch[0-9]+ ' '%patch100 -p1 -b .vda'
grep -q '^%patch101 ' "$spec" || insert_after_last '^%patch[0-9]+ ' '%patch101 -p0 -b .sleep'
if ! grep -q "^Release:.*${suffix//./\\.}\$" "$spec"; then
  sed -i -E "s/^(Release:.*[^[:space:]])[[:space:]]*\$/\\1${suffix}/" "$spec"
fi
echo "postfix-lab: $spec has Patch100 ($vda), Patch101 ($sleep_patch) and Release suffix $suffix"
