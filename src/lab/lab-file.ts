/** The lab file: what a lab is. Validated against schemas/lab.schema.json with positions in every error. */
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { loadSchema } from '../schemas.js';
import { positionOf, readYaml, validate } from '../yaml-load.js';
import { checkLabName } from './names.js';

export type Platform = 'debian12' | 'el7';
export type DriverName = 'container' | 'vagrant' | 'ssh';

export interface HostSpec {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
  sudo: boolean;
}

export interface PortForward {
  guest: number;
  host: number;
}

export interface LabParams {
  hostname: string;
  hostname_deux: string;
  domain: string;
  build_user: string;
  mail_user: string;
  artifacts: string;
  remote_logging: boolean;
  mynetworks: string;
  step_timeout: number;
  postscreen_greet_wait: number;
}

export interface Lab {
  file: string;
  dir: string;
  name: string;
  description?: string;
  driver: DriverName | 'auto';
  platform: Platform;
  hosts: HostSpec[];
  ports: PortForward[];
  sections: number[];
  params: LabParams;
  vagrant: { box?: string; provider: 'virtualbox' | 'libvirt'; memory: number; cpus: number };
  container: { mirror?: string; listen?: string };
  /** sha256 of artifacts the runbook leaves unpinned (file name -> hash), with where each was written (file:line:col). */
  pins: Record<string, { sha256: string; at: string }>;
}

const DEFAULT_PARAMS: LabParams = {
  hostname: 'mail.lab.example',
  hostname_deux: 'deux.lab.example',
  domain: 'lab.example',
  build_user: 'masuda',
  mail_user: 'learner',
  artifacts: 'artifacts',
  remote_logging: false,
  mynetworks: '127.0.0.0/8',
  step_timeout: 600,
  postscreen_greet_wait: 6,
};

interface RawLab {
  name: string;
  description?: string;
  driver: Lab['driver'];
  platform: Platform;
  hosts?: (Omit<HostSpec, 'port' | 'sudo'> & { port?: number; sudo?: boolean })[];
  ports?: PortForward[];
  sections?: 'all' | number[];
  params?: Partial<LabParams>;
  vagrant?: Partial<Lab['vagrant']>;
  container?: Lab['container'];
  pins?: Record<string, string>;
}

export function loadLab(path: string, overrides: { name?: string; platform?: Platform } = {}): Lab {
  const file = readYaml(path);
  validate(file, loadSchema('lab'));
  const raw = file.data as RawLab;
  const dir = dirname(resolve(path));
  if (raw.driver === 'ssh' && !raw.hosts) {
    throw new InputError(
      `${positionOf(file, [], 'driver')}: driver "ssh" needs a "hosts" list`,
      'Add hosts: [{ name, address, port, user, identityFile }] for the machines that already exist, or pick another driver.',
    );
  }
  if (overrides.name !== undefined) checkLabName(overrides.name, '--name');
  const names = new Map<string, number>();
  (raw.hosts ?? []).forEach((h, i) => {
    const prev = names.get(h.name);
    if (prev !== undefined)
      throw new InputError(
        `${positionOf(file, ['hosts', i], 'name')}: host name "${h.name}" is used twice (also hosts[${prev}])`,
        'Give each host its own name: each has its own journal and logs.',
      );
    names.set(h.name, i);
  });
  const seen = new Map<number, number>();
  (raw.ports ?? []).forEach((p, i) => {
    const prev = seen.get(p.host);
    if (prev !== undefined) {
      throw new InputError(
        `${positionOf(file, ['ports', i], 'host')}: host port ${p.host} is forwarded twice (also ports[${prev}])`,
        'Give each forwarded port its own host port.',
      );
    }
    seen.set(p.host, i);
  });
  const params = { ...DEFAULT_PARAMS, ...raw.params };
  return {
    file: path,
    dir,
    name: overrides.name ?? raw.name,
    description: raw.description,
    driver: raw.driver,
    platform: overrides.platform ?? raw.platform,
    hosts: (raw.hosts ?? []).map((h) => ({
      ...h,
      port: h.port ?? 22,
      sudo: h.sudo ?? h.user !== 'root',
      identityFile: h.identityFile && !isAbsolute(h.identityFile) && !h.identityFile.startsWith('~') ? join(dir, h.identityFile) : h.identityFile,
    })),
    ports: raw.ports ?? [],
    sections: raw.sections === undefined || raw.sections === 'all' ? [1, 2, 3, 4] : [...raw.sections].sort(),
    params: { ...params, artifacts: isAbsolute(params.artifacts) ? params.artifacts : join(dir, params.artifacts) },
    vagrant: { provider: 'virtualbox', memory: 1024, cpus: 2, ...raw.vagrant },
    container: { ...raw.container },
    pins: Object.fromEntries(Object.entries(raw.pins ?? {}).map(([k, v]) => [k, { sha256: v, at: positionOf(file, ['pins'], k) }])),
  };
}

export function onPath(cmd: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** `driver: auto`: vagrant where VirtualBox, Vagrant and Packer are installed, container otherwise; says why. */
export function resolveDriver(lab: Lab, has: (cmd: string) => boolean = onPath): { driver: DriverName; why: string } {
  if (lab.driver !== 'auto') return { driver: lab.driver, why: `the lab file ${lab.file} says driver: ${lab.driver}` };
  const need = ['VBoxManage', 'vagrant', 'packer'];
  const missing = need.filter((c) => !has(c));
  if (missing.length === 0) return { driver: 'vagrant', why: 'driver: auto, and VirtualBox, Vagrant and Packer are installed' };
  if (lab.platform === 'el7') {
    return { driver: 'vagrant', why: `driver: auto, and el7 needs a VM (containers run debian12 only); still to install: ${missing.join(', ')}` };
  }
  return {
    driver: 'container',
    why: `driver: auto, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed, so the lab runs in a systemd-nspawn container`,
  };
}
