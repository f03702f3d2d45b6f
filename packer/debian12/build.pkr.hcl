build {
  description = "Debian 12 Vagrant box for libvirt, from a debootstrap base image."
  sources     = ["source.qemu.debian12"]

  provisioner "shell" {
    execute_command = "echo 'vagrant' | {{ .Vars }} sudo -S -E sh -eux '{{ .Path }}'"
    scripts = [
      "${path.root}/../scripts/sshd.sh",
      "${path.root}/../scripts/debian12/minimize.sh",
      "${path.root}/../scripts/vagrant.sh",
      "${path.root}/../scripts/debian12/cleanup.sh",
      "${path.root}/../scripts/lock-password.sh",
    ]
  }

  post-processor "vagrant" {
    output = "${var.box_directory}/${var.box_basename}-{{ .Provider }}.box"
  }
}
