# CentOS 7.9 from the vault's Minimal ISO, installed by packer/http/ks.cfg. Per-platform data: packer/el7.pkrvars.hcl.
# `npm run box:build -- --platform el7 --provider virtualbox|libvirt` downloads and checks the ISO once, then builds.
# Validation conditions use operators only: Packer 1.6.6 evaluates them without functions (no regex, no contains).

variable "box_basename" {
  type        = string
  description = "File name of the box, without the provider and extension."
  default     = "postfix-lab-centos-7.9"
  validation {
    condition     = var.box_basename != ""
    error_message = "The box_basename must not be empty."
  }
}

variable "iso_url" {
  type        = string
  description = "The installer ISO: the vault URL, or the path of a copy already checked against iso_checksum."
}

variable "iso_checksum" {
  type        = string
  description = "sha256 of the installer ISO, as \"sha256:HEX\" (inline: a file:https:// checksum would go online even to validate)."
  validation {
    condition     = var.iso_checksum != "" && var.iso_checksum != "none"
    error_message = "The iso_checksum must be set (sha256:<64 hex digits>): the ISO is always checked."
  }
}

variable "accelerator" {
  type        = string
  description = "QEMU accelerator for the libvirt box: tcg works everywhere (slow); kvm where /dev/kvm works."
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
  description = "Memory of the build VM, in MiB (anaconda needs at least 1024)."
  default     = 1536
  validation {
    condition     = var.memory >= 1024
    error_message = "The memory must be at least 1024 MiB: anaconda runs out of memory below that."
  }
}

variable "disk_size_mb" {
  type        = number
  description = "Virtual size of the box's disk, in MiB."
  default     = 20480
  validation {
    condition     = var.disk_size_mb >= 8192
    error_message = "The disk_size_mb must be at least 8192 (Postfix is built from source on this box)."
  }
}

variable "headless" {
  type        = bool
  description = "Run the build VM without a window."
  default     = true
}

variable "output_directory" {
  type        = string
  description = "Where the build puts the VM files and the boxes (one folder per builder)."
  default     = "output/el7"
}

variable "box_directory" {
  type        = string
  description = "Where the box file goes (outside output_directory: Packer deletes that folder once the box is made)."
  default     = "boxes"
}

variable "ssh_timeout" {
  type        = string
  description = "How long the installation may take before SSH answers (TCG installs take long)."
  default     = "90m"
}
