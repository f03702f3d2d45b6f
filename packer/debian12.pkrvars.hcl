# Debian 12 from a debootstrap base image; box:build adds base_image and base_image_checksum (made and cached locally).
# packer build -var-file=packer/debian12.pkrvars.hcl -var base_image=... -var base_image_checksum=sha256:... packer/debian12
box_basename = "postfix-lab-debian-12"
accelerator  = "tcg"
cpus         = 2
memory       = 1024
disk_size_mb = 8192
