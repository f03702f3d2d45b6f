build {
  description = "CentOS 7.9 Vagrant box (VirtualBox or libvirt) for the memo's own platform."
  sources     = ["source.virtualbox-iso.el7", "source.qemu.el7"]

  provisioner "shell" {
    execute_command = "echo 'vagrant' | {{ .Vars }} sudo -S -E sh -eux '{{ .Path }}'"
    scripts = [
      "${path.root}/../scripts/el7/vault-repos.sh",
      "${path.root}/../scripts/sshd.sh",
      "${path.root}/../scripts/vagrant.sh",
      "${path.root}/../scripts/el7/cleanup.sh",
      "${path.root}/../scripts/lock-password.sh",
    ]
  }

  post-processor "vagrant" {
    output = "${var.box_directory}/${var.box_basename}-{{ .Provider }}.box"
  }
}
