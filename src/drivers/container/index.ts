/**
 * The `container` driver: a Debian 12 lab host without a hypervisor. A rootfs from mmdebstrap (cached base image),
 * an overlay disk per lab, its own network namespace and veth pair, booted with `systemd-nspawn -b`, reached over SSH
 * as `vagrant` with this installation's key, forwarded ports on 127.0.0.1, packages through a caching proxy.
 * Not a security boundary: root in the lab is close to root on the host. A training box and a test fixture.
 */
import { InputError } from '../../errors.js';
import { ensureStateDirs } from '../../lab/state.js';
import { checkSnapshotName } from '../../lab/names.js';
import type { Driver, DriverContext, LabStatus, SnapshotAction, UpResult } from '../types.js';
import { imageForKey, resolveMirror } from './image.js';
import { freezeFile, whileFrozen } from './freeze.js';
import { deleteSnapshot, listSnapshots, restoreSnapshot, saveRunningSnapshot, saveSnapshot } from './layers.js';
import {
  assertDebian12,
  type Inspection,
  inspect,
  labRef,
  type Meta,
  readMeta,
  resume,
  sshTarget,
  start,
  stopRuntime,
  writeMeta,
  type LabRef,
} from './lifecycle.js';
import { ensurePrerequisites } from './prereqs.js';
import { type Kept, stopForDisk } from './reboot.js';
import { removeTree, requireRoot, withLock } from './sys.js';

const lockName = (r: LabRef) => `lab-${r.netns}`;

async function up(ctx: DriverContext): Promise<UpResult> {
  const { lab } = ctx;
  assertDebian12(lab);
  await ensurePrerequisites(ctx.progress);
  const mirror = resolveMirror(lab);
  ensureStateDirs(ctx.state);
  const r = labRef(ctx.state);
  return withLock(lockName(r), async () => {
    const o = { lab, mirror, progress: ctx.progress, signal: ctx.signal };
    const i = inspect(r);
    if (i.state === 'running') {
      const created = !i.meta?.booted;
      const alloc = await resume(r, i, o);
      return { targets: [sshTarget(lab, alloc, r.keyFile)], created };
    }
    if (i.state === 'leftover') {
      ctx.progress(`${r.name}: cleaning up first (${i.detail ?? 'an interrupted run'})`);
      await stopRuntime(r, false);
    }
    const { alloc, created } = await start(r, o);
    return { targets: [sshTarget(lab, alloc, r.keyFile)], created };
  });
}

async function halt(ctx: DriverContext): Promise<void> {
  requireRoot();
  const r = labRef(ctx.state);
  await withLock(lockName(r), async () => {
    const i = inspect(r);
    if (i.state === 'absent') return;
    if (i.state === 'running') ctx.progress(`stopping ${r.name}`);
    await stopRuntime(r, false);
    const meta = readMeta(r);
    if (meta) writeMeta(r, { ...meta, halted: true });
  });
}

async function down(ctx: DriverContext): Promise<void> {
  requireRoot();
  const r = labRef(ctx.state);
  await withLock(lockName(r), async () => {
    const i = inspect(r);
    if (i.state === 'running') ctx.progress(`stopping ${r.name}`);
    await stopRuntime(r, true);
    await removeTree(r.home, r.dir);
  });
}

async function status(ctx: DriverContext): Promise<LabStatus> {
  const r = labRef(ctx.state);
  const base: LabStatus = { name: r.name, driver: 'container', platform: 'debian12', state: 'unknown', ports: ctx.lab.ports };
  if (process.getuid?.() !== 0) return { ...base, detail: 'the container driver needs root to look at its labs' };
  const i = inspect(r);
  const ports = i.meta?.ports ?? ctx.lab.ports;
  const ssh = i.alloc ? sshTarget(ctx.lab, i.alloc, r.keyFile) : undefined;
  const halted = i.state === 'stopped' && i.meta?.halted === false ? 'stopped without lab:halt (the host restarted, or the lab powered itself off)' : undefined;
  return { ...base, state: i.state, ports, ssh, detail: i.detail ?? halted };
}

/**
 * Snapshots of the lab's disk, layered (layers.ts). A running lab is saved as it runs, held still for the copy
 * (freeze.ts): its connections stay open. A restore (or a save where this host has no cgroup v2 freezer) stops it
 * first and boots it again after, in one pass that keeps its address and forwarded ports (reboot.ts: killed, not
 * powered off).
 */
async function snapshot(ctx: DriverContext, action: SnapshotAction, name?: string): Promise<string[]> {
  const r = labRef(ctx.state);
  if (action === 'list') return listSnapshots(r.disk);
  const snap = checkSnapshotName(name);
  if (action !== 'delete') return diskWork(ctx, action === 'save' ? { save: snap } : { restore: snap });
  requireRoot();
  return withLock(lockName(r), async () => {
    existing(r, action, snap);
    ctx.progress(`deleting snapshot ${snap}`);
    await deleteSnapshot(r.disk, snap);
    return listSnapshots(r.disk);
  });
}

/** `course start`: the lab saved as `save`, then restored to `restore`, with one stop and one boot. */
async function saveAndRestore(ctx: DriverContext, save: string, restore: string): Promise<string[]> {
  return diskWork(ctx, { save: checkSnapshotName(save), restore: checkSnapshotName(restore) });
}

/** The lab's inspection; refuses a lab without a disk, or without the snapshot `need`. */
function existing(r: LabRef, action: string, need?: string): Inspection & { meta: Meta } {
  const i = inspect(r);
  if (i.state === 'absent' || !i.meta) {
    throw new InputError(`lab ${r.name} does not exist, so it has no disk to ${action}`, 'Run `npm run lab:up` first.');
  }
  const have = listSnapshots(r.disk);
  if (need && !have.includes(need)) {
    throw new InputError(`lab ${r.name} has no snapshot "${need}"`, have.length ? `Its snapshots: ${have.join(', ')}.` : 'Take one first: snapshot save NAME.');
  }
  return i as Inspection & { meta: Meta };
}

async function diskWork(ctx: DriverContext, w: { save?: string; restore?: string }): Promise<string[]> {
  requireRoot();
  const r = labRef(ctx.state);
  return withLock(lockName(r), async () => {
    const i = existing(r, w.restore ? 'restore' : 'save', w.restore);
    const base = imageForKey(i.meta.baseKey)?.rootfs;
    const freeze = i.state === 'running' && w.save && !w.restore ? freezeFile(r.netns) : undefined;
    if (freeze && w.save) {
      ctx.progress(`saving snapshot ${w.save} (the lab runs on, held still for the copy)`);
      await saveRunningSnapshot(r.disk, w.save, (copy) => whileFrozen(r.name, freeze, copy), { base });
      return listSnapshots(r.disk);
    }
    let kept: Kept | undefined;
    if (i.state !== 'stopped') ctx.progress(`stopping ${r.name} for the snapshot`);
    if (i.state === 'running') kept = await stopForDisk(r, i, ctx.lab);
    else if (i.state !== 'stopped') await stopRuntime(r, false, { discard: !w.save });
    // known good (it was running): no prerequisite or image checks again
    const boot = (k?: Kept) => start(r, { lab: ctx.lab, mirror: resolveMirror(ctx.lab), progress: ctx.progress, signal: ctx.signal }, k);
    try {
      if (w.save) {
        ctx.progress(`saving snapshot ${w.save}`);
        await saveSnapshot(r.disk, w.save, { base });
      }
      if (w.restore) {
        ctx.progress(`restoring snapshot ${w.restore}`);
        await restoreSnapshot(r.disk, w.restore, { base });
      }
    } catch (e) {
      // a refused save or restore changed nothing (or settles forwards at the next mount): the lab runs again
      if (i.state === 'running') await boot(kept).catch(async () => stopRuntime(r, false).catch(() => undefined));
      throw e;
    }
    if (i.state === 'running') await boot(kept);
    return listSnapshots(r.disk);
  });
}

export const containerDriver: Driver = { name: 'container', up, halt, down, status, snapshot, saveAndRestore };
