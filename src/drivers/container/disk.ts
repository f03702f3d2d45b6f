/**
 * A lab's disk: an overlay whose lowest layer is the shared base image, above it the lab's frozen snapshot layers
 * (layers.ts), and whose upper layer lives in the lab's driver folder.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, LabError } from '../../errors.js';
import { settleDisk, stackPaths } from './layers.js';
import { checkedOverlayOptions } from './stack.js';
import { mountsUnder, passwdEntry, run, unmountAll } from './sys.js';

/** `home`: the state home the lab lives in; every removal below is proven inside it. */
export interface DiskLayout {
  home: string;
  upper: string;
  work: string;
  root: string;
  snapshots: string;
  /** frozen layers (layers.ts) and the record of the current stack */
  layers: string;
  stack: string;
}

export function layout(driverDir: string, home: string): DiskLayout {
  return {
    home,
    upper: join(driverDir, 'disk', 'upper'),
    work: join(driverDir, 'disk', 'work'),
    root: join(driverDir, 'root'),
    snapshots: join(driverDir, 'snapshots'),
    layers: join(driverDir, 'layers'),
    stack: join(driverDir, 'disk', 'stack.json'),
  };
}

/** (a save interrupted between its rename and the new upper has a stack record but no upper: still a disk) */
export const diskExists = (d: DiskLayout) => existsSync(d.upper) || existsSync(d.stack);
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
  if (isMounted(d)) return;
  const layers = stackPaths(d, await settleDisk(d));
  for (const p of [d.upper, d.work, d.root]) mkdirSync(p, { recursive: true, mode: 0o755 });
  const options = checkedOverlayOptions({ layers, base: lower, upper: d.upper, work: d.work });
  await run`mount -t overlay overlay -o ${options} ${d.root}`;
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
