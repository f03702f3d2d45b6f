/**
 * A lab's disk: an overlay whose lower layer is the shared base image and whose upper layer lives in the lab's
 * driver folder. Snapshots are copies of the upper layer taken while the lab is stopped.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, LabError } from '../../errors.js';
import { isSnapshotName } from '../../lab/names.js';
import { mountsUnder, passwdEntry, removeTree, run, unmountAll } from './sys.js';

/** `home`: the state home the lab lives in; every removal below is proven inside it. */
export interface DiskLayout {
  home: string;
  upper: string;
  work: string;
  root: string;
  snapshots: string;
}

export function layout(driverDir: string, home: string): DiskLayout {
  return {
    home,
    upper: join(driverDir, 'disk', 'upper'),
    work: join(driverDir, 'disk', 'work'),
    root: join(driverDir, 'root'),
    snapshots: join(driverDir, 'snapshots'),
  };
}

export const diskExists = (d: DiskLayout) => existsSync(d.upper);
export const isMounted = (d: DiskLayout) => mountsUnder(d.root).length > 0;

export async function mountDisk(lower: string, d: DiskLayout): Promise<void> {
  for (const p of [lower, d.upper, d.work, d.root]) {
    if (/[,:\s\\]/.test(p)) {
      throw new InputError(
        `the path ${p} cannot be used in an overlay mount (it has a comma, colon, space or backslash)`,
        'Point POSTFIX_LAB_HOME at a folder whose path has none of these characters.',
      );
    }
  }
  for (const p of [d.upper, d.work, d.root]) mkdirSync(p, { recursive: true, mode: 0o755 });
  if (isMounted(d)) return;
  await run`mount -t overlay overlay -o ${`lowerdir=${lower},upperdir=${d.upper},workdir=${d.work}`} ${d.root}`;
}

export async function unmountDisk(d: DiskLayout): Promise<void> {
  await unmountAll(d.root);
}

/** nspawn's lock file name for this root folder (/run/systemd/nspawn/locks/inode-DEV:INO), to remove after it stops. */
export function nspawnLockName(d: DiskLayout): string {
  const st = statSync(d.root);
  return `inode-${st.dev}:${st.ino}`;
}

/**
 * Before each boot: this installation's public key for vagrant. On the first boot also the lab's host name.
 * (Host keys are made by the lab itself on first boot, so every lab has its own.)
 */
export function prepareDisk(d: DiskLayout, o: { publicKey: string; hostname: string; first: boolean }): void {
  const v = passwdEntry(d.root, 'vagrant');
  if (!v)
    throw new LabError('the lab\'s disk has no "vagrant" user', 'The lab disk is damaged: run `npm run lab:down` and `npm run lab:up` to make it afresh.');
  const ssh = join(d.root, v.home, '.ssh');
  mkdirSync(ssh, { recursive: true, mode: 0o700 });
  chownSync(ssh, v.uid, v.gid);
  chmodSync(ssh, 0o700);
  const keys = join(ssh, 'authorized_keys');
  writeFileSync(keys, o.publicKey.trim() + '\n', { mode: 0o600 });
  chownSync(keys, v.uid, v.gid);
  if (o.first) {
    writeFileSync(join(d.root, 'etc/hostname'), `${o.hostname}\n`);
    const hosts = join(d.root, 'etc/hosts');
    writeFileSync(hosts, readFileSync(hosts, 'utf8') + `127.0.1.1\t${o.hostname}\n`);
  }
}

// ---------------------------------------------------------------- snapshots

export function listSnapshots(d: DiskLayout): string[] {
  return existsSync(d.snapshots)
    ? readdirSync(d.snapshots)
        .filter((n) => isSnapshotName(n) && existsSync(join(d.snapshots, n, 'upper')))
        .sort()
    : [];
}

/** Copy the (unmounted) upper layer; `cp -a` keeps owners, modes, xattrs and overlay whiteouts. */
export async function saveSnapshot(d: DiskLayout, name: string): Promise<void> {
  const dir = join(d.snapshots, name);
  const tmp = `${dir}.tmp`;
  await removeTree(d.home, tmp);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  await run`cp -a ${d.upper} ${join(tmp, 'upper')}`;
  writeFileSync(join(tmp, 'snapshot.json'), JSON.stringify({ name, taken: new Date().toISOString() }) + '\n');
  await removeTree(d.home, dir);
  await run`mv ${tmp} ${dir}`;
}

export async function restoreSnapshot(d: DiskLayout, name: string): Promise<void> {
  const src = join(d.snapshots, name, 'upper');
  const tmp = `${d.upper}.restore`;
  await removeTree(d.home, tmp);
  await run`cp -a ${src} ${tmp}`;
  await removeTree(d.home, d.upper);
  await removeTree(d.home, d.work);
  await run`mv ${tmp} ${d.upper}`;
  mkdirSync(d.work, { recursive: true, mode: 0o755 });
}
