/**
 * What the container driver needs on the host, and installing it from Debian/Ubuntu packages when we are root there.
 * Installing never starts the packages' own daemons (apt-cacher-ng would otherwise listen on every address).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../errors.js';
import { probe, requireRoot, run } from './sys.js';
import { sbinPath } from '../local/commands.js';

export interface Requirement {
  command: string;
  pkg: string;
  why: string;
}

export const REQUIREMENTS: Requirement[] = [
  { command: 'mmdebstrap', pkg: 'mmdebstrap', why: 'builds the Debian 12 base image' },
  { command: 'systemd-nspawn', pkg: 'systemd-container', why: 'boots the lab with systemd inside' },
  { command: 'ip', pkg: 'iproute2', why: 'network namespace and veth pair' },
  { command: 'zstd', pkg: 'zstd', why: 'compresses the cached base image' },
  { command: 'apt-cacher-ng', pkg: 'apt-cacher-ng', why: "caching package proxy, the lab's only way out" },
  { command: 'nft', pkg: 'nftables', why: 'keeps the lab away from everything but the proxy' },
  { command: 'ssh-keygen', pkg: 'openssh-client', why: "makes this installation's key pair" },
  { command: 'setpriv', pkg: 'util-linux', why: 'runs the proxy without root' },
];

function onSbinPath(cmd: string): boolean {
  return sbinPath.split(':').some((d) => existsSync(join(d, cmd)));
}

export function missingRequirements(has: (cmd: string) => boolean = onSbinPath): Requirement[] {
  return REQUIREMENTS.filter((r) => !has(r.command));
}

function isDebianLike(): boolean {
  try {
    const os = readFileSync('/etc/os-release', 'utf8');
    return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(os) && onSbinPath('apt-get');
  } catch {
    return false;
  }
}

let checked = false;

/** Make sure every requirement is there; install what is missing (root on Debian/Ubuntu), else say what to do. */
export async function ensurePrerequisites(progress: (m: string) => void): Promise<void> {
  if (checked) return;
  requireRoot();
  const missing = missingRequirements();
  if (missing.length === 0) {
    checked = true;
    return;
  }
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  const list = missing.map((m) => `${m.command} (package ${m.pkg}: ${m.why})`).join(', ');
  if (!isDebianLike()) {
    throw new LabError(
      `the container driver needs ${list}, and this is not a Debian or Ubuntu host where they can be installed automatically`,
      `Install those tools with your system's package manager, or use a virtual machine instead: set \`driver: vagrant\` in the lab file (needs VirtualBox or libvirt, Vagrant and Packer).`,
    );
  }
  progress(`installing prerequisites: ${pkgs.join(' ')}`);
  // A policy-rc.d that refuses keeps package scripts from starting daemons (leave an existing one alone).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\n# postfix-lab: installing prerequisites, do not start services\nexit 101\n', { mode: 0o755 });
  try {
    const env = 'DEBIAN_FRONTEND=noninteractive';
    const install = await probe`env ${env} apt-get install -y -q --no-install-recommends ${pkgs}`;
    if (install.code !== 0) {
      progress('apt-get install failed, updating the package lists and trying again');
      await run`apt-get update -q`;
      await run`env ${env} apt-get install -y -q --no-install-recommends ${pkgs}`;
    }
  } catch (e) {
    throw new LabError(
      `could not install the container driver's prerequisites (${pkgs.join(' ')})`,
      `Install them by hand (\`apt-get install ${pkgs.join(' ')}\`) and check the package mirror in /etc/apt/sources.list*, or use \`driver: vagrant\`.`,
      1,
      { cause: e },
    );
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  // On a systemd host the package enabled its own apt-cacher-ng on every address; we run our own, bound to the lab side.
  if (pkgs.includes('apt-cacher-ng') && existsSync('/run/systemd/system')) {
    await probe`systemctl disable --now apt-cacher-ng.service`;
  }
  const still = missingRequirements();
  if (still.length) {
    throw new LabError(
      `still missing after installing: ${still.map((m) => m.command).join(', ')}`,
      'Install those packages by hand, or use `driver: vagrant`.',
    );
  }
  checked = true;
}
