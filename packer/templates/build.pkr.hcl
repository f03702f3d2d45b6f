build {
  description = "A Vagrant box for the lab (el7: VirtualBox or libvirt; debian12: libvirt), per ../os_pkrvars/<os>.pkrvars.hcl."
  sources     = ["source.virtualbox-iso.vm", "source.qemu.vm"]

  provisioner "shell" {
    execute_command = "echo 'vagrant' | {{ .Vars }} sudo -S -E sh -eux '{{ .Path }}'"
    scripts         = [for s in var.scripts : "${path.root}/../scripts/${s}"]
  }

  post-processor "vagrant" {
    output = "${var.box_directory}/${var.box_basename}-{{ .Provider }}.box"
  }
}
