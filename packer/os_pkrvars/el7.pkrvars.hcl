# CentOS 7.9 from the vault's Minimal ISO, installed by http/ks.cfg (end of life: everything comes from the vault).
os_name              = "el7"
box_basename         = "postfix-lab-centos-7.9"
iso_url              = "https://vault.centos.org/7.9.2009/isos/x86_64/CentOS-7-x86_64-Minimal-2009.iso"
iso_checksum         = "sha256:07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a"
memory               = 1536
disk_size_mb         = 20480
ssh_timeout          = "90m"
http_directory       = "http"
boot_command         = ["<up><wait><tab> inst.text inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg net.ifnames=0 biosdevname=0<enter><wait>"]
floppy_boot_command  = ["<up><wait><tab> inst.text inst.ks=hd:fd0:/ks.cfg net.ifnames=0 biosdevname=0<enter><wait>"]
floppy_files         = ["http/ks.cfg"]
ssh_pty              = true
shutdown_command     = "sudo /sbin/shutdown -P now"
scripts              = ["el7/vault-repos.sh", "sshd.sh", "_common/vagrant.sh", "el7/cleanup.sh", "lock-password.sh"]
