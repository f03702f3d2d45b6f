# One source per builder, shared by every OS: what differs per OS comes from ../os_pkrvars/<os>.pkrvars.hcl.
# Paths in the var files are under packer/ (path.root is packer/templates).

# VirtualBox 6 and 7 (el7 only: box:build refuses debian12 here): the kickstart comes on a floppy (VirtualBox 7's NAT
# cannot reach Packer's HTTP server on the host's loopback without `--nat-localhostreachable1`, an option VirtualBox 6
# rejects); no Guest Additions (the Vagrantfile uses no shared folders); VMSVGA graphics through
# `modifyvm --graphicscontroller` (VirtualBox 7 warns about VBoxVGA for Linux guests; Packer 1.6.6 has no
# gfx_controller setting). VirtualBox >= 7.0.18 dropped `modifyvm --audio`, which Packer 1.6.6's built-in builder
# still calls: there use Packer >= 1.7 with the plugin from packer/plugins/ (`packer init packer/plugins/`).
source "virtualbox-iso" "vm" {
  guest_os_type        = "RedHat_64"
  iso_url              = var.iso_url
  iso_checksum         = var.iso_checksum
  cpus                 = var.cpus
  memory               = var.memory
  disk_size            = var.disk_size_mb
  hard_drive_interface = "sata"
  iso_interface        = "sata"
  guest_additions_mode = "disable"
  headless             = var.headless
  vboxmanage           = [["modifyvm", "{{ .Name }}", "--graphicscontroller", "vmsvga", "--vram", "33"]]
  floppy_files         = [for f in var.floppy_files : "${path.root}/../${f}"]
  boot_wait            = "10s"
  boot_command         = var.floppy_boot_command
  vm_name              = var.box_basename
  output_directory     = "${var.output_directory}/virtualbox"
  ssh_username         = "vagrant"
  ssh_password         = "vagrant"
  ssh_pty              = var.ssh_pty
  ssh_timeout          = var.ssh_timeout
  shutdown_command     = var.shutdown_command
}

# QEMU (libvirt boxes): an installer ISO and its boot command (el7), or a bootable disk image (debian12).
source "qemu" "vm" {
  disk_image     = var.disk_image
  iso_url        = var.iso_url
  iso_checksum   = var.iso_checksum
  accelerator    = var.accelerator
  cpus           = var.cpus
  memory         = var.memory
  disk_size      = "${var.disk_size_mb}M"
  format         = "qcow2"
  disk_interface = "virtio"
  net_device     = "virtio-net"
  headless       = var.headless
  # The boot command types over VNC, bound to 127.0.0.1. Keep vnc_port_min at its default 5900: Packer 1.6.6
  # passes a wrong display number to qemu for any other minimum (fixed in 1.7).
  disable_vnc       = var.disable_vnc
  vnc_bind_address  = "127.0.0.1"
  http_bind_address = "127.0.0.1"
  http_directory    = var.http_directory == "" ? "" : "${path.root}/../${var.http_directory}"
  boot_wait         = "10s"
  boot_command      = var.boot_command
  vm_name           = "${var.box_basename}.qcow2"
  output_directory  = "${var.output_directory}/qemu"
  # The SSH forward listens on 127.0.0.1 only (Packer's own -netdev would bind every address).
  qemuargs = concat([
    ["-cpu", var.qemu_cpu],
    ["-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-device", "virtio-net,netdev=user.0"],
  ], var.serial_log ? [["-serial", "file:${var.output_directory}/qemu/serial.log"]] : [])
  ssh_host         = "127.0.0.1"
  ssh_username     = "vagrant"
  ssh_password     = "vagrant"
  ssh_pty          = var.ssh_pty
  ssh_timeout      = var.ssh_timeout
  shutdown_command = var.shutdown_command
}
