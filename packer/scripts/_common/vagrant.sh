#!/bin/sh -eux
# The Vagrant user, the same everywhere it is made: the el7 and debian12 box bakes (Packer runs this after the
# kickstart or the base image created the login), the debian12 base image and the container image (both run it
# in a chroot). VAGRANT_PASSWORD: unset keeps the password, "" locks it (keys only), else sets it.
# VAGRANT_KEY: "insecure" (default) installs Vagrant's insecure public key (Vagrant swaps it for a key of its own
# on the first `vagrant up`); "none" installs no key (the container driver adds one per installation).
user=vagrant
pubkey='ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key'
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash -U "$user"
for g in wheel sudo; do if getent group "$g" >/dev/null; then usermod -a -G "$g" "$user"; fi; done
if [ "${VAGRANT_PASSWORD+set}" = set ]; then
  if [ -z "$VAGRANT_PASSWORD" ]; then usermod -p '*' "$user"; else echo "$user:$VAGRANT_PASSWORD" | chpasswd; fi
fi
# Passwordless sudo without a tty (EL7's /etc/sudoers may still say requiretty).
printf 'Defaults:%s !requiretty\n%s ALL=(ALL) NOPASSWD: ALL\n' "$user" "$user" > "/etc/sudoers.d/$user"
chmod 0440 "/etc/sudoers.d/$user"
sed -i 's/^\(Defaults *requiretty\)/# \1/' /etc/sudoers
install -d -m 0700 -o "$user" -g "$user" "/home/$user/.ssh"
if [ "${VAGRANT_KEY:-insecure}" = insecure ]; then
  echo "$pubkey" > "/home/$user/.ssh/authorized_keys"
  chown "$user:$user" "/home/$user/.ssh/authorized_keys"
  chmod 0600 "/home/$user/.ssh/authorized_keys"
fi
if command -v restorecon >/dev/null 2>&1; then restorecon -R "/home/$user/.ssh"; fi
