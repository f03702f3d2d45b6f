#!/bin/sh -eux
# No yum cache, host keys, machine id or MAC-bound network settings in the box: each VM makes its own.
yum -y clean all
rm -rf /var/cache/yum
rm -f /etc/ssh/ssh_host_* /etc/udev/rules.d/70-persistent-net.rules
sed -i '/^\(HWADDR\|UUID\)=/d' /etc/sysconfig/network-scripts/ifcfg-eth0
truncate -s 0 /etc/machine-id
