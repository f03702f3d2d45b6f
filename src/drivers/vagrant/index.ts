/**
 * The `vagrant` driver: the lab host is a VM booted by Vagrant (VirtualBox or libvirt) from a box built with Packer.
 * lab:up -> (build and add the box when missing) + `vagrant up`; lab:halt -> `vagrant halt`; lab:down ->
 * `vagrant destroy`; status -> `vagrant status`; snapshots -> `vagrant snapshot`. Connection details come from
 * `vagrant ssh-config`; Vagrant replaces the box's insecure key with a key of its own on the first boot.
 * Each lab has its own settings file and Vagrant dotfile folder under .lab/<name>/driver/.
 */
import { existsSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { ensureStateDirs } from '../../lab/state.js';
import type { SshTarget } from '../../ssh/target.js';
import type { Driver, DriverContext, LabStatus, SnapshotAction, UpResult } from '../types.js';
import { checkSnapshotName, removeInside } from '../../lab/names.js';
import { ensureBox } from './box.js';
import { checkVagrant } from './prereqs.js';
import { settingsFor, vagrantPaths, writeSettings } from './settings.js';
import { listSnapshots, machineState, runState, sshConfig, vagrant, waitForSsh, type VagrantCtx } from './vagrant.js';

function vctx(ctx: DriverContext): VagrantCtx {
  return { paths: vagrantPaths(ctx.state), progress: ctx.progress, signal: ctx.signal };
}

async function target(ctx: DriverContext, v: VagrantCtx): Promise<SshTarget> {
  const c = await sshConfig(v);
  await waitForSsh(c, 120_000, ctx.signal);
  return {
    name: ctx.lab.params.hostname.split('.')[0] ?? 'mail',
    host: c.host,
    port: c.port,
    user: c.user,
    identityFile: c.identityFile,
    sudo: c.user !== 'root',
  };
}

async function up(ctx: DriverContext): Promise<UpResult> {
  const s = settingsFor(ctx.lab);
  await checkVagrant(s.provider);
  ensureStateDirs(ctx.state);
  writeSettings(ctx.state, s);
  const v = vctx(ctx);
  const before = await machineState(v);
  if (before === 'not_created') {
    await ensureBox({ platform: ctx.lab.platform, provider: s.provider, name: s.box, progress: ctx.progress, signal: ctx.signal });
  }
  if (before !== 'running') {
    const started = Date.now();
    ctx.progress(`vagrant up --provider=${s.provider} (box ${s.box})`);
    await vagrant(v, ['up', `--provider=${s.provider}`]);
    ctx.progress(`the lab host booted in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  return { targets: [await target(ctx, v)], created: before === 'not_created' };
}

async function halt(ctx: DriverContext): Promise<void> {
  const v = vctx(ctx);
  if (!existsSync(v.paths.settingsFile)) return;
  await checkVagrant(settingsFor(ctx.lab).provider);
  if ((await machineState(v)) === 'not_created') return;
  await vagrant(v, ['halt']);
}

async function down(ctx: DriverContext): Promise<void> {
  const v = vctx(ctx);
  if (existsSync(v.paths.settingsFile) && existsSync(v.paths.dotfile)) {
    await checkVagrant(settingsFor(ctx.lab).provider);
    if ((await machineState(v)) !== 'not_created') await vagrant(v, ['destroy', '--force']);
  }
  removeInside(ctx.state.root, ctx.state.driverDir);
}

async function status(ctx: DriverContext): Promise<LabStatus> {
  const v = vctx(ctx);
  const base: LabStatus = { name: ctx.lab.name, driver: 'vagrant', platform: ctx.lab.platform, state: 'absent', ports: ctx.lab.ports };
  if (!existsSync(v.paths.settingsFile)) return base;
  const vs = await machineState(v);
  const state = runState(vs);
  const ssh =
    state === 'running'
      ? await sshConfig(v)
          .then((c) => ({ name: ctx.lab.params.hostname.split('.')[0] ?? 'mail', ...c, sudo: c.user !== 'root' }))
          .catch(() => undefined)
      : undefined;
  return { ...base, state, ssh, detail: `vagrant: ${vs}` };
}

/** `vagrant snapshot save/restore/list/delete`; a restore waits until SSH answers again. */
async function snapshot(ctx: DriverContext, action: SnapshotAction, name?: string): Promise<string[]> {
  const v = vctx(ctx);
  if (action === 'list') return listSnapshots(v);
  name = checkSnapshotName(name);
  if (!existsSync(v.paths.settingsFile) || (await machineState(v)) === 'not_created') {
    throw new InputError(`lab ${ctx.lab.name} has no VM, so there is nothing to ${action}`, 'Run `npm run lab:up` first.');
  }
  if (action === 'save') {
    ctx.progress(`saving snapshot ${name}`);
    await vagrant(v, ['snapshot', 'save', '--force', name]);
  } else {
    if (!(await listSnapshots(v)).includes(name)) {
      throw new InputError(`lab ${ctx.lab.name} has no snapshot named ${name}`, `Snapshots: ${(await listSnapshots(v)).join(', ') || 'none'}.`);
    }
    if (action === 'delete') {
      ctx.progress(`deleting snapshot ${name}`);
      await vagrant(v, ['snapshot', 'delete', name]);
      return listSnapshots(v);
    }
    ctx.progress(`restoring snapshot ${name}`);
    await vagrant(v, ['snapshot', 'restore', '--no-provision', name]);
    if ((await machineState(v)) === 'running') await target(ctx, v);
  }
  return listSnapshots(v);
}

export const vagrantDriver: Driver = { name: 'vagrant', up, halt, down, status, snapshot };
