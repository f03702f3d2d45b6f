# Debian 12 from a base disk image made with debootstrap (packer/scripts/debian12-base-image.sh): no ISO needed.
# `npm run box:build -- --platform debian12 --provider libvirt` makes the image, caches it and passes its path and sha256.
# Validation conditions use operators only: Packer 1.6.6 evaluates them without functions (no regex, no contains).

variable "box_basename" {
  type        = string
  description = "File name of the box, without the provider and extension."
  default     = "postfix-lab-debian-12"
  validation {
    condition     = var.box_basename != ""
    error_message = "The box_basename must not be empty."
  }
}

variable "base_image" {
  type        = string
  description = "Path (or file:// URL) of the base qcow2 made with debootstrap."
}

variable "base_image_checksum" {
  type        = string
  description = "sha256 of the base image, as \"sha256:HEX\"."
  validation {
    condition     = var.base_image_checksum != "" && var.base_image_checksum != "none"
    error_message = "The base_image_checksum must be set (sha256:<64 hex digits>): the image is always checked."
  }
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
  description = "Memory of the build VM, in MiB."
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

variable "headless" {
  type        = bool
  description = "Run the build VM without a window."
  default     = true
}

variable "output_directory" {
  type        = string
  description = "Where the build puts the VM disk and the box."
  default     = "output/debian12"
}

variable "box_directory" {
  type        = string
  description = "Where the box file goes (outside output_directory: Packer deletes that folder once the box is made)."
  default     = "boxes"
}

variable "ssh_timeout" {
  type        = string
  description = "How long to wait for the build VM's SSH (TCG boots take about a minute)."
  default     = "15m"
}
