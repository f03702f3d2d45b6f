#!/bin/sh -eux
# No package lists, host keys, machine id or DHCP leases in the box: each VM makes its own.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/lib/dhcp/*.leases
rm -f /etc/ssh/ssh_host_*
truncate -s 0 /etc/machine-id
