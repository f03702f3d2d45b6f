# The variables every box shares; each OS sets its own values in ../os_pkrvars/<os>.pkrvars.hcl (bento's layout).
# `npm run box:build -- --platform el7|debian12 --provider virtualbox|libvirt` passes the var file, the checked
# input image and where to put the result. Validation conditions use operators only: Packer 1.6.6 evaluates them
# without functions (no regex, no contains).

variable "os_name" {
  type        = string
  description = "The platform the box is for (el7, debian12): names the build's output."
  validation {
    condition     = var.os_name == "el7" || var.os_name == "debian12"
    error_message = "The os_name must be el7 or debian12."
  }
}

variable "box_basename" {
  type        = string
  description = "File name of the box, without the provider and extension."
  validation {
    condition     = var.box_basename != ""
    error_message = "The box_basename must not be empty."
  }
}

variable "iso_url" {
  type        = string
  description = "The installer ISO (el7: the vault URL or a checked local copy), or the base disk image when disk_image is true (debian12)."
}

variable "iso_checksum" {
  type        = string
  description = "sha256 of iso_url, as \"sha256:HEX\" (inline: a file:https:// checksum would go online even to validate)."
  validation {
    condition     = var.iso_checksum != "" && var.iso_checksum != "none"
    error_message = "The iso_checksum must be set (sha256:<64 hex digits>): the input image is always checked."
  }
}

variable "disk_image" {
  type        = bool
  description = "iso_url is a bootable disk image (no installer, no boot command)."
  default     = false
}

variable "accelerator" {
  type        = string
  description = "QEMU accelerator: tcg works everywhere (slow); kvm where /dev/kvm works; hvf on macOS."
  default     = "tcg"
  validation {
    condition     = var.accelerator == "tcg" || var.accelerator == "kvm" || var.accelerator == "hvf" || var.accelerator == "whpx" || var.accelerator == "none"
    error_message = "The accelerator must be one of tcg, kvm, hvf, whpx, none."
  }
}

variable "qemu_cpu" {
  type        = string
  description = "QEMU's -cpu model (qemu64 for CentOS 7's kernel under TCG, max for Debian 12)."
  default     = "qemu64"
}

variable "cpus" {
  type        = number
  description = "Virtual CPUs of the build VM."
  default     = 2
  validation {
    condition     = var.cpus >= 1
    error_message = "The cpus must be at least 1."
  }
}

variable "memory" {
  type        = number
  description = "Memory of the build VM, in MiB (el7's anaconda needs at least 1024)."
  default     = 1024
  validation {
    condition     = var.memory >= 512
    error_message = "The memory must be at least 512 MiB."
  }
}

variable "disk_size_mb" {
  type        = number
  description = "Virtual size of the box's disk in MiB (it becomes the box's virtual_size)."
  default     = 8192
  validation {
    condition     = var.disk_size_mb >= 4096
    error_message = "The disk_size_mb must be at least 4096."
  }
}

variable "http_directory" {
  type        = string
  description = "Folder (under packer/) served to the installer over HTTP on 127.0.0.1; empty: none."
  default     = ""
}

variable "boot_command" {
  type        = list(string)
  description = "What the qemu build types at the installer's boot prompt (empty for a disk image)."
  default     = []
}

variable "floppy_boot_command" {
  type        = list(string)
  description = "The same for the VirtualBox build, which gets the kickstart on a floppy."
  default     = []
}

variable "floppy_files" {
  type        = list(string)
  description = "Files (under packer/) on the VirtualBox build's floppy."
  default     = []
}

variable "disable_vnc" {
  type        = bool
  description = "No VNC console for the qemu build (nothing to type at a disk image's boot)."
  default     = false
}

variable "serial_log" {
  type        = bool
  description = "Write the qemu build's serial console to serial.log in its output folder."
  default     = false
}

variable "ssh_pty" {
  type        = bool
  description = "Ask for a terminal on Packer's SSH session (EL7's sudoers may still require one until the bake)."
  default     = false
}

variable "ssh_timeout" {
  type        = string
  description = "How long to wait for the build VM's SSH (el7 installs first; TCG boots take about a minute)."
  default     = "15m"
}

variable "shutdown_command" {
  type        = string
  description = "How the build VM powers off once provisioned."
}

variable "scripts" {
  type        = list(string)
  description = "Provisioning scripts under packer/scripts/, in order (sh -eux, one thing each)."
}

variable "headless" {
  type        = bool
  description = "Run the build VM without a window."
  default     = true
}

variable "output_directory" {
  type        = string
  description = "Where the build puts the VM files (one folder per builder)."
  default     = "output"
}

variable "box_directory" {
  type        = string
  description = "Where the box file goes (outside output_directory: Packer deletes that folder once the box is made)."
  default     = "boxes"
}
