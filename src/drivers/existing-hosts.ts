/** ssh: hosts that already exist. The lab does not create, stop or remove them; it only provisions them. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { HostSpec } from '../lab/lab-file.js';
import type { SshTarget } from '../ssh/target.js';
import type { Driver, DriverContext } from './types.js';
import { sshBanner } from './local/ssh-wait.js';

function identity(h: HostSpec): string {
  if (h.identityFile) {
    const p = h.identityFile.replace(/^~(?=\/)/, homedir());
    if (!existsSync(p))
      throw new InputError(
        `identity file ${p} for host ${h.name} does not exist`,
        'Set hosts[].identityFile in the lab file to a private key that can log in to the host.',
      );
    return p;
  }
  const found = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f)).find(existsSync);
  if (!found) throw new InputError(`host ${h.name} has no identityFile and no default key was found in ~/.ssh`, 'Set hosts[].identityFile in the lab file.');
  return found;
}

export function targetsOf(ctx: DriverContext): SshTarget[] {
  return ctx.lab.hosts.map((h) => ({ name: h.name, host: h.address, port: h.port, user: h.user, identityFile: identity(h), sudo: h.sudo }));
}

export const existingHostsDriver: Driver = {
  name: 'ssh',
  async up(ctx) {
    const targets = targetsOf(ctx);
    for (const t of targets) {
      if (!(await sshBanner(t.host, t.port))) {
        throw new InputError(
          `host ${t.name} (${t.host}:${t.port}) does not answer SSH`,
          'The ssh driver uses hosts that already run; start the host, or fix hosts[].address/port in the lab file.',
        );
      }
    }
    return { targets, created: false };
  },
  async halt(ctx) {
    ctx.progress('the ssh driver does not manage its hosts: nothing to halt');
  },
  async down(ctx) {
    ctx.progress("the ssh driver does not manage its hosts: only the lab's local state is removed");
  },
  async status(ctx) {
    const t = targetsOf(ctx)[0];
    const banner = t ? await sshBanner(t.host, t.port, 1500) : undefined;
    return {
      name: ctx.lab.name,
      driver: 'ssh',
      platform: ctx.lab.platform,
      state: banner ? 'running' : 'unknown',
      ssh: t,
      ports: ctx.lab.ports,
      detail: banner ? banner : 'no SSH answer',
    };
  },
};
