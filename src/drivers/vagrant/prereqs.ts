/**
 * What the vagrant driver needs on this machine, and what to install when it is missing. Nothing is installed
 * automatically: hypervisors and Vagrant plugins are the user's choice.
 */
import { LabError } from '../../errors.js';
import { onPath } from '../../lab/lab-file.js';
import { probe } from '../local/commands.js';
import type { Provider } from './settings.js';

const SBIN = '/usr/local/sbin:/usr/sbin:/sbin';
const has = (cmd: string) => onPath(cmd) || onPath(cmd, SBIN);
const OR_CONTAINER = 'Or run the lab without a hypervisor: set `driver: container` in the lab file (platform debian12).';

export interface Missing {
  what: string;
  install: string;
}

export const VAGRANT: Missing = {
  what: 'Vagrant',
  install: 'Install Vagrant (Debian/Ubuntu: `apt-get install vagrant`; elsewhere: https://developer.hashicorp.com/vagrant/install).',
};
export const VIRTUALBOX: Missing = {
  what: 'VirtualBox (VBoxManage)',
  install: 'Install VirtualBox 6.1 or 7 (https://www.virtualbox.org/wiki/Downloads), or set `vagrant: { provider: libvirt }` in the lab file.',
};
export const LIBVIRT: Missing = {
  what: 'the vagrant-libvirt plugin',
  install:
    'Install it with libvirt and QEMU (Debian/Ubuntu: `apt-get install vagrant-libvirt libvirt-daemon-system qemu-system-x86`; ' +
    'elsewhere: `vagrant plugin install vagrant-libvirt`), or set `vagrant: { provider: virtualbox }` in the lab file.',
};
export const PACKER: Missing = {
  what: 'Packer',
  install:
    'Install Packer to build the box (Debian/Ubuntu: `apt-get install packer`; elsewhere: https://developer.hashicorp.com/packer/install), ' +
    'or add a box you already have: `vagrant box add --name BOX FILE.box`.',
};

function fail(missing: Missing[], purpose: string): never {
  throw new LabError(
    `${purpose} needs ${missing.map((m) => m.what).join(' and ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`,
    `${missing.map((m) => m.install).join(' ')} ${OR_CONTAINER}`,
    2,
  );
}

/** Vagrant and the provider's tools; throws a LabError naming what to install. */
export async function checkVagrant(provider: Provider, purpose = 'the vagrant driver'): Promise<void> {
  const missing: Missing[] = [];
  if (!has('vagrant')) missing.push(VAGRANT);
  if (provider === 'virtualbox' && !has('VBoxManage')) missing.push(VIRTUALBOX);
  if (provider === 'libvirt') {
    if (missing.length === 0) {
      const plugins = await probe(['vagrant', 'plugin', 'list']);
      if (!/^vagrant-libvirt\b/m.test(plugins.stdout)) missing.push(LIBVIRT);
    } else {
      missing.push(LIBVIRT);
    }
  }
  if (missing.length) fail(missing, purpose);
}

export function checkPacker(purpose = 'building the box'): void {
  if (!has('packer')) fail([PACKER], purpose);
}

/** Tools the debian12 base image needs (root, Debian/Ubuntu host). */
export function checkImageTools(): void {
  const tools: [string, string][] = [
    ['debootstrap', 'debootstrap'],
    ['sfdisk', 'fdisk'],
    ['losetup', 'mount'],
    ['partx', 'util-linux'],
    ['mkfs.ext4', 'e2fsprogs'],
    ['qemu-img', 'qemu-utils'],
    ['qemu-system-x86_64', 'qemu-system-x86'],
  ];
  const missing = tools.filter(([c]) => !has(c));
  if (missing.length) {
    const pkgs = [...new Set(missing.map(([, p]) => p))].join(' ');
    throw new LabError(
      `building the debian12 box needs ${missing.map(([c]) => c).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`,
      `Install them (Debian/Ubuntu: \`apt-get install ${pkgs}\`). ${OR_CONTAINER}`,
      2,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new LabError(
      'building the debian12 base image needs root (debootstrap, loop devices, mounts)',
      'Run `npm run box:build -- --platform debian12 --provider libvirt` as root once; the box it adds is then there for every lab.',
      2,
    );
  }
}

/** Packer's version as [major, minor]; Packer >= 1.7 needs `packer init` for its plugins. */
export async function packerVersion(): Promise<[number, number]> {
  const r = await probe(['packer', 'version']);
  const m = /v?(\d+)\.(\d+)/.exec(r.stdout);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}
