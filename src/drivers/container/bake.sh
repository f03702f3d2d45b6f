#!/bin/sh
# The container base image's bake, run in the freshly bootstrapped root (chroot) after the Vagrant user's setup
# (packer/scripts/_common/vagrant.sh, keys only). image.ts runs it with: MIRROR SUITE SECURITY_MIRROR PROXY
# (SECURITY_MIRROR may be empty; PROXY is ADDRESS:PORT of the package proxy, the lab's only way out).
set -eu
mirror=$1 suite=$2 security=$3 proxy=$4
rm -f /etc/ssh/ssh_host_*
# ed25519 and ecdsa only: an RSA-3072 key costs a second of CPU at every lab's first boot
printf 'UseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' > /etc/ssh/sshd_config.d/postfix-lab.conf
cat > /etc/systemd/system/ssh-host-keys.service <<'UNIT'
[Unit]
Description=Generate this lab's SSH host keys (first boot)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -N "" -t ed25519 -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -N "" -t ecdsa -f /etc/ssh/ssh_host_ecdsa_key
[Install]
RequiredBy=ssh.service
UNIT
systemctl enable ssh-host-keys.service
systemctl mask apt-daily.timer apt-daily-upgrade.timer
# the journal in memory (/run): Postfix's logs are rsyslog's files, as in the memo, and a live checkpoint copies no
# journal (two files of 8 MB each, copied whole into every checkpoint's layer otherwise)
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' > /etc/systemd/journald.conf.d/postfix-lab.conf
rm -rf /var/log/journal
# no user manager: every SSH login and sudo would start one (systemd --user) that nothing in the lab uses; the
# packages stay, as in the VM boxes (a package that runs `pam-auth-update` again would bring pam_systemd back:
# only slower). systemd-logind stays: it subscribes to PID 1's signals on the bus, without which PID 1 sends none
# there, and a user's `systemctl is-system-running --wait` during the boot waited out its timeout (300 s)
pam-auth-update --package --remove systemd
systemctl mask dev-hugepages.mount sys-fs-fuse-connections.mount
# generators for block devices and a login console a container has none of: each costs CPU at every boot
mkdir -p /etc/systemd/system-generators
for g in cryptsetup gpt-auto hibernate-resume integritysetup veritysetup getty; do ln -sf /dev/null "/etc/systemd/system-generators/systemd-$g-generator"; done
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/hostname
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
: > /etc/resolv.conf
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" > /etc/apt/sources.list
[ -z "$security" ] || printf 'deb %s %s-security main\n' "$security" "$suite" >> /etc/apt/sources.list
printf 'Acquire::http::Proxy "http://%s";\n' "$proxy" > /etc/apt/apt.conf.d/01postfix-lab-proxy
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/*
