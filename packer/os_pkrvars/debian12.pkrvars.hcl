# Debian 12 from the debootstrap base image (scripts/debian12-base-image.sh): box:build makes and caches it, then
# passes it as iso_url (a disk image, not an installer) with its sha256 as iso_checksum.
os_name          = "debian12"
box_basename     = "postfix-lab-debian-12"
disk_image       = true
memory           = 1024
disk_size_mb     = 8192
qemu_cpu         = "max"
serial_log       = true
disable_vnc      = true
shutdown_command = "sudo systemctl poweroff"
scripts          = ["sshd.sh", "debian12/minimize.sh", "_common/vagrant.sh", "debian12/cleanup.sh", "lock-password.sh"]
