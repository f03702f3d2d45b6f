/**
 * What vagrant/Vagrantfile reads: one JSON file per lab, written from the lab file (and, for libvirt, from the
 * environment: accelerator, storage pool, management network). The Vagrantfile holds no logic of its own.
 */
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import type { Lab, Platform, PortForward } from '../../lab/lab-file.js';
import { repoRoot } from '../../schemas.js';
import { writePrivate, type LabState } from '../../lab/state.js';

export type Provider = Lab['vagrant']['provider'];
export type Accelerator = 'tcg' | 'kvm' | 'hvf' | 'whpx';

export interface VagrantSettings {
  /** VM name (VirtualBox) and libvirt domain prefix: unique per lab. */
  name: string;
  box: string;
  provider: Provider;
  hostname: string;
  memory: number;
  cpus: number;
  ports: PortForward[];
  /** vagrant-libvirt options, named as vagrant-libvirt names them. */
  libvirt: Record<string, string | number | boolean>;
}

export const vagrantDir = join(repoRoot, 'vagrant');

/** The box a platform's lab uses unless the lab file names one (`vagrant.box`). */
export const DEFAULT_BOXES: Record<Platform, string> = {
  el7: 'postfix-lab/centos-7.9',
  debian12: 'postfix-lab/debian-12',
};

/**
 * QEMU accelerator for Packer builds and libvirt labs: POSTFIX_LAB_ACCEL, default tcg (works everywhere, slow).
 * Never guessed from /dev/kvm: nested KVM can exist and hang.
 */
export function accelerator(env: NodeJS.ProcessEnv = process.env): Accelerator {
  const a = env.POSTFIX_LAB_ACCEL ?? 'tcg';
  if (a === 'tcg' || a === 'kvm' || a === 'hvf' || a === 'whpx') return a;
  throw new InputError(
    `POSTFIX_LAB_ACCEL=${a} is not an accelerator`,
    'Use tcg (software, works everywhere), kvm (Linux with working /dev/kvm), hvf (macOS) or whpx (Windows).',
  );
}

/** libvirt options: the accelerator's, then POSTFIX_LAB_LIBVIRT_OPTIONS (a JSON object) over them. */
export function libvirtOptions(env: NodeJS.ProcessEnv = process.env): VagrantSettings['libvirt'] {
  const accel = accelerator(env);
  const base: VagrantSettings['libvirt'] = accel === 'kvm' ? { driver: 'kvm' } : { driver: 'qemu', cpu_mode: 'custom', cpu_model: 'qemu64' };
  const raw = env.POSTFIX_LAB_LIBVIRT_OPTIONS;
  if (!raw) return base;
  let extra: unknown;
  try {
    extra = JSON.parse(raw);
  } catch {
    extra = undefined;
  }
  const ok =
    typeof extra === 'object' &&
    extra !== null &&
    !Array.isArray(extra) &&
    Object.entries(extra).every(([k, v]) => /^[a-z_]+$/.test(k) && ['string', 'number', 'boolean'].includes(typeof v));
  if (!ok) {
    throw new InputError(
      'POSTFIX_LAB_LIBVIRT_OPTIONS is not a JSON object of vagrant-libvirt options',
      'Example: POSTFIX_LAB_LIBVIRT_OPTIONS=\'{"storage_pool_name":"default","management_network_address":"192.168.121.0/24"}\'.',
    );
  }
  return { ...base, ...(extra as VagrantSettings['libvirt']) };
}

export function settingsFor(lab: Lab, env: NodeJS.ProcessEnv = process.env): VagrantSettings {
  return {
    name: `postfix-lab-${lab.name}`,
    box: lab.vagrant.box ?? DEFAULT_BOXES[lab.platform],
    provider: lab.vagrant.provider,
    hostname: lab.params.hostname,
    memory: lab.vagrant.memory,
    cpus: lab.vagrant.cpus,
    ports: lab.ports,
    libvirt: lab.vagrant.provider === 'libvirt' ? libvirtOptions(env) : {},
  };
}

export interface VagrantPaths {
  /** The settings file the Vagrantfile reads (POSTFIX_LAB_VAGRANT). */
  settingsFile: string;
  /** Vagrant's per-machine state (VAGRANT_DOTFILE_PATH): one per lab, so labs never collide. */
  dotfile: string;
}

export function vagrantPaths(state: LabState): VagrantPaths {
  return { settingsFile: join(state.driverDir, 'vagrant.json'), dotfile: join(state.driverDir, 'vagrant') };
}

export function writeSettings(state: LabState, s: VagrantSettings): void {
  writePrivate(vagrantPaths(state).settingsFile, JSON.stringify(s, null, 2) + '\n');
}

/** The environment every vagrant command of a lab runs with. */
export function vagrantEnv(p: VagrantPaths, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...env,
    VAGRANT_CWD: vagrantDir,
    VAGRANT_DOTFILE_PATH: p.dotfile,
    POSTFIX_LAB_VAGRANT: p.settingsFile,
    VAGRANT_CHECKPOINT_DISABLE: '1',
    VAGRANT_NO_COLOR: '1',
  };
}
