#!/bin/sh -eux
# Packages install faster on a slow (TCG) VM without documentation, man pages and the man-db index to update.
cat > /etc/dpkg/dpkg.cfg.d/01-postfix-lab-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections
rm -rf /var/lib/man-db/auto-update
