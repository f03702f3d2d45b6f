source "qemu" "debian12" {
  disk_image       = true
  iso_url          = var.base_image
  iso_checksum     = var.base_image_checksum
  accelerator      = var.accelerator
  cpus             = var.cpus
  memory           = var.memory
  disk_size        = "${var.disk_size_mb}M"
  format           = "qcow2"
  disk_interface   = "virtio"
  net_device       = "virtio-net"
  headless         = var.headless
  disable_vnc      = true
  vm_name          = "${var.box_basename}.qcow2"
  output_directory = var.output_directory
  # The SSH forward listens on 127.0.0.1 only (Packer's own -netdev would bind every address).
  qemuargs = [
    ["-cpu", "max"],
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-device", "virtio-net,netdev=user.0"],
    ["-serial", "file:${var.output_directory}/serial.log"],
  ]
  ssh_host         = "127.0.0.1"
  ssh_username     = "vagrant"
  ssh_password     = "vagrant"
  ssh_timeout      = var.ssh_timeout
  shutdown_command = "sudo systemctl poweroff"
}
