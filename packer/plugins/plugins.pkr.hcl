# Plugins for Packer >= 1.7, where builders and post-processors are plugins: `packer init packer/plugins/`
# installs them once per machine, then `packer build -var-file=packer/os_pkrvars/OS.pkrvars.hcl packer/templates` finds them.
# This file lives apart from the templates because Packer 1.6.6 (Debian 12's packer) rejects `required_plugins`
# in a template it loads; 1.6.6 has these builders built in and never reads this folder.
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.1.0"
    }
    # >= 1.0.5: VirtualBox 7 (no `modifyvm --audio`, NAT that cannot reach the host's loopback by default).
    virtualbox = {
      source  = "github.com/hashicorp/virtualbox"
      version = ">= 1.0.5"
    }
    vagrant = {
      source  = "github.com/hashicorp/vagrant"
      version = ">= 1.1.0"
    }
  }
}
