# CentOS 7.9 (end of life: everything comes from the vault). packer build -var-file=packer/el7.pkrvars.hcl packer/el7
box_basename = "postfix-lab-centos-7.9"
iso_url      = "https://vault.centos.org/7.9.2009/isos/x86_64/CentOS-7-x86_64-Minimal-2009.iso"
iso_checksum = "sha256:07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a"
cpus         = 2
memory       = 1536
disk_size_mb = 20480
