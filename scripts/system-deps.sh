#!/bin/sh
# System packages a purpose needs. As root on Debian/Ubuntu they are installed with apt; elsewhere the list is printed.
#   sh scripts/system-deps.sh test    -> what `npm test` needs (a real sshd, sudo, shellcheck, ...)
#   sh scripts/system-deps.sh bench   -> + ansible, for the comparison in `npm run bench -- ssh-steps`
set -e
case "$1" in
  test) pkgs="openssh-server openssh-client sudo shellcheck openssl" ;;
  bench) pkgs="openssh-server openssh-client sudo ansible" ;;
  *) echo "usage: system-deps.sh test|bench" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "postfix-lab: installing system packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends $missing >&2
else
  echo "postfix-lab: these system packages are needed:$missing" >&2
  echo "install them as root (Debian/Ubuntu: apt-get install$missing) and run again." >&2
  exit 2
fi
