#!/bin/sh
# System packages a purpose needs. As root on Debian/Ubuntu they are installed with apt; elsewhere the list is printed.
#   sh scripts/system-deps.sh test    -> what `npm test` needs (a real sshd, sudo, shellcheck, ...; rpm and a C toolchain
#                                        with libdb-dev for the el7 suites, which build Postfix 2.10.1 from source)
#   sh scripts/system-deps.sh bench   -> + ansible, for the comparison in `npm run bench -- ssh-steps`
#   sh scripts/system-deps.sh vm      -> what `npm run test:vm` needs (Packer, Vagrant + vagrant-libvirt, libvirt, QEMU, debootstrap)
set -e
case "$1" in
  test) pkgs="openssh-server openssh-client sudo shellcheck openssl packer vagrant mmdebstrap systemd-container iproute2 zstd apt-cacher-ng nftables util-linux rpm gcc make libc6-dev patch binutils libdb-dev chromium fonts-ipafont-gothic" ;;
  bench) pkgs="openssh-server openssh-client sudo ansible" ;;
  vm) pkgs="packer vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils debootstrap fdisk iproute2 dnsmasq-base openssh-client" ;;
  *) echo "usage: system-deps.sh test|bench|vm" >&2; exit 2 ;;
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
  # Package scripts must not start daemons here (libvirtd would put its bridge and NAT on the host network).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  rc=0
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $missing >&2 || rc=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || exit "$rc"
else
  echo "postfix-lab: these system packages are needed:$missing" >&2
  echo "install them as root (Debian/Ubuntu: apt-get install$missing) and run again." >&2
  exit 2
fi
