#!/bin/sh -eu
# A bootable Debian 12 qcow2 from debootstrap: the base disk image the debian12 Packer template starts from.
# Vagrant-ready: the `vagrant` user from _common/vagrant.sh with the password "vagrant" (Packer logs in with it; the
# build locks it at the end), Vagrant's insecure public key and passwordless sudo; sshd, DHCP on eth0.
#   sh packer/scripts/debian12-base-image.sh OUT.qcow2 MIRROR [SECURITY_MIRROR] [SIZE]
# Needs root, debootstrap, fdisk (sfdisk), util-linux (losetup, partx), e2fsprogs and qemu-utils. No udev needed.
set -eu
out=$1
mirror=$2
security=${3:-}
size=${4:-8G}
suite=bookworm
pkgs=linux-image-cloud-amd64,grub-pc,systemd-sysv,dbus,libpam-systemd,openssh-server,sudo,ifupdown,isc-dhcp-client,netbase,iproute2,ca-certificates
vagrant_sh=$(dirname "$0")/_common/vagrant.sh
[ -f "$vagrant_sh" ]

work=$(mktemp -d "${TMPDIR:-/var/tmp}/plab-base.XXXXXX")
root=$work/root
loop=
cleanup() {
  set +e
  for m in dev/pts dev proc sys; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
  mountpoint -q "$root" && umount "$root"
  [ -n "$loop" ] && { partx -d "$loop" 2>/dev/null; losetup -d "$loop"; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== disk: $size, one bootable ext4 partition"
truncate -s "$size" "$work/disk.raw"
echo 'start=2048, type=83, bootable' | sfdisk -q "$work/disk.raw"
loop=$(losetup -f --show -P "$work/disk.raw")
[ -b "${loop}p1" ] || partx -a "$loop"
mkfs.ext4 -q -L root "${loop}p1"
uuid=$(blkid -s UUID -o value "${loop}p1")
mkdir "$root"
mount "${loop}p1" "$root"

echo "== debootstrap $suite from $mirror"
debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$mirror"

echo "== configure"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  [ -z "$security" ] || echo "deb $security $suite-security main"
} > "$root/etc/apt/sources.list"
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" > "$root/etc/fstab"
echo debian12 > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian12\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
printf 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n' > "$root/etc/network/interfaces"
: > "$root/etc/resolv.conf"
# Host keys are made at boot (a box must not ship them).
mkdir -p "$root/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' > "$root/etc/systemd/system/ssh.service.d/keygen.conf"
rm -f "$root"/etc/ssh/ssh_host_*
printf 'UseDNS no\nGSSAPIAuthentication no\n' > "$root/etc/ssh/sshd_config.d/vagrant.conf"
chroot "$root" env VAGRANT_PASSWORD=vagrant sh -eu < "$vagrant_sh"

echo "== grub"
cat > "$root/etc/default/grub" <<GRUB
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
chroot "$root" grub-install --target=i386-pc "$loop"
chroot "$root" update-grub
# Without udev grub-mkconfig names the loop partition; the guest knows its disk by UUID.
sed -i "s|root=/dev/loop[0-9]*p1|root=UUID=$uuid|g" "$root/boot/grub/grub.cfg"
grep -q "root=UUID=$uuid" "$root/boot/grub/grub.cfg"

echo "== clean"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/tmp/*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
for m in dev/pts dev proc sys; do umount "$root/$m"; done
# Give the freed blocks back to the sparse file: a smaller qcow2.
fstrim "$root" || true
umount "$root"
partx -d "$loop" 2>/dev/null || true
losetup -d "$loop"
loop=

echo "== qcow2"
qemu-img convert -f raw -O qcow2 -c "$work/disk.raw" "$out.tmp"
mv "$out.tmp" "$out"
