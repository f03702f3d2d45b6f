/** One lab's life: what exists of it (inspect), bringing it up, and taking its runtime apart. */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError, LabError } from '../../errors.js';
import type { Lab } from '../../lab/lab-file.js';
import { type LabState, readJson, writePrivate } from '../../lab/state.js';
import type { SshTarget } from '../../ssh/target.js';
import type { LabRunState } from '../types.js';
import { provenInside, removeInside } from '../../lab/names.js';
import { diskExists, isMounted, layout, mountDisk, nspawnLockName, prepareDisk, unmountDisk, type DiskLayout } from './disk.js';
import { checkPorts, forwarderPid, startForwarder, stopForwarder } from './forward.js';
import { thawIfFrozen } from './freeze.js';
import { ensureBaseImage, imageForKey, imageKey, pruneImages, type BaseImage } from './image.js';
import {
  checkOwner,
  linkExists,
  lookup,
  netnsExists,
  netnsName,
  networkDown,
  networkRefresh,
  networkUp,
  registeredStateDirs,
  registryEntry,
  type Allocation,
} from './network.js';
import { proxyReady } from './proxy.js';
import type { Kept } from './reboot.js';
import { boot, consoleTail, nspawnPid, runtimeTraces, shutdown, waitForSsh } from './nspawn.js';
import { run, unmountAll, withLock } from './sys.js';
import { isAlive } from '../local/processes.js';

/** `home`: the state home (POSTFIX_LAB_HOME); whatever the driver removes is proven inside it. */
export interface LabRef {
  name: string;
  netns: string;
  home: string;
  dir: string;
  stateDir: string;
  metaFile: string;
  disk: DiskLayout;
  keyFile: string;
}

export interface Meta {
  name: string;
  netns: string;
  baseKey: string;
  mirror: string;
  created: string;
  /** Set after the first boot reached SSH: up() then reports created=false. */
  booted?: boolean;
  halted?: boolean;
  /** nspawn's lock file for our root folder, removed after it stops. */
  lockFile?: string;
  ports?: Lab['ports'];
}

export function labRef(state: LabState): LabRef {
  return {
    name: state.name,
    netns: netnsName(state.name),
    home: state.root,
    dir: state.driverDir,
    stateDir: state.dir,
    metaFile: join(state.driverDir, 'container.json'),
    disk: layout(state.driverDir, state.root),
    keyFile: join(dirname(state.dir), '.keys', 'vagrant_ed25519'),
  };
}

export const readMeta = (r: LabRef) => readJson<Meta>(r.metaFile);
export const writeMeta = (r: LabRef, m: Meta) => writePrivate(r.metaFile, JSON.stringify(m, null, 2) + '\n');

/** Our reservation in the machine-wide registry (not one made by a same-named lab of another state folder). */
export function ownAllocation(r: LabRef): Allocation | undefined {
  return registryEntry(r.netns)?.stateDir === r.stateDir ? lookup(r.netns) : undefined;
}

export interface Inspection {
  state: LabRunState;
  detail?: string;
  meta?: Meta;
  alloc?: Allocation;
  pid?: number;
}

export function inspect(r: LabRef): Inspection {
  const meta = readMeta(r);
  const alloc = ownAllocation(r);
  const other = registryEntry(r.netns);
  if (other && other.stateDir !== r.stateDir && !meta) {
    return { state: 'absent', detail: `a lab of this name runs from another state folder (${other.stateDir})` };
  }
  const pid = nspawnPid(r.dir, r.netns);
  if (pid) {
    const fwd = meta?.ports?.length && !forwarderPid(r.dir) ? 'its port forwarder is not running (lab:up restarts it)' : undefined;
    return { state: 'running', meta, alloc, pid, detail: fwd };
  }
  const traces: string[] = [];
  if (alloc && other?.active) {
    if (netnsExists(r.netns)) traces.push('network namespace');
    if (linkExists(alloc.veth)) traces.push(`veth ${alloc.veth}`);
  }
  if (isMounted(r.disk)) traces.push('overlay mount');
  if (forwarderPid(r.dir)) traces.push('port forwarder');
  traces.push(...runtimeTraces(r.netns));
  if (traces.length) return { state: 'leftover', meta, alloc, detail: `left over from an interrupted or crashed run: ${traces.join(', ')}` };
  if (meta && diskExists(r.disk)) return { state: 'stopped', meta, alloc };
  if (meta || alloc) return { state: 'leftover', meta, alloc, detail: 'an incomplete lab (no disk yet)' };
  return { state: 'absent' };
}

/**
 * Take the lab's runtime apart (processes, cgroups, mount, namespace); keep the disk. `discard`: the disk's upper
 * layer is thrown away next (a snapshot restore), so the lab is killed instead of waiting for a clean power-off.
 */
export async function stopRuntime(r: LabRef, release: boolean, o: { discard?: boolean } = {}): Promise<void> {
  const meta = readMeta(r);
  const entry = registryEntry(r.netns);
  const foreign = entry !== undefined && entry.stateDir !== r.stateDir; // a same-named lab of another state folder
  await stopForwarder(r.dir);
  if (!foreign) thawIfFrozen(r.netns); // a lab an interrupted snapshot left frozen could not power off
  if (!foreign) await shutdown({ home: r.home, dir: r.dir, netns: r.netns, machine: r.name, lockFile: meta?.lockFile }, o.discard ? 0 : undefined);
  await unmountDisk(r.disk);
  if (existsSync(r.dir)) await unmountAll(r.dir);
  if (entry && !foreign) await networkDown(r.netns, release);
}

/** This installation's key pair for the vagrant user (never shipped in the image; 0600). */
export async function installationKey(r: LabRef): Promise<{ privateKey: string; publicKey: string }> {
  const dir = dirname(r.keyFile);
  provenInside(r.home, r.keyFile); // .keys must be a real folder of the state home before anything is written there
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // labs coming up side by side must agree on one key pair
  if (!existsSync(r.keyFile) || !existsSync(`${r.keyFile}.pub`))
    await withLock(`keys-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`, async () => {
      if (existsSync(r.keyFile) && existsSync(`${r.keyFile}.pub`)) return;
      for (const f of [r.keyFile, `${r.keyFile}.pub`]) removeInside(r.home, f);
      await run`ssh-keygen -q -t ed25519 -N ${''} -C ${'postfix-lab vagrant (this installation)'} -f ${r.keyFile}`;
    });
  chmodSync(r.keyFile, 0o600);
  return { privateKey: r.keyFile, publicKey: readFileSync(`${r.keyFile}.pub`, 'utf8') };
}

export function sshTarget(lab: Pick<Lab, 'params'>, alloc: Allocation, keyFile: string): SshTarget {
  return { name: lab.params.hostname.split('.')[0] ?? 'mail', host: alloc.labAddr, port: 22, user: 'vagrant', identityFile: keyFile, sudo: true };
}

const bootTimeoutMs = () => Number(process.env.POSTFIX_LAB_BOOT_TIMEOUT_S ?? 120) * 1000;

export interface StartOptions {
  lab: Lab;
  mirror: string;
  progress: (m: string) => void;
  signal?: AbortSignal;
}

async function baseFor(meta: Meta | undefined, o: StartOptions): Promise<BaseImage> {
  if (!meta) {
    const base = await ensureBaseImage({ mirror: o.mirror, progress: o.progress, signal: o.signal });
    // (a lab registered before names were checked may have a name the rule refuses: its folder is read as it is)
    const inUse = registeredStateDirs().map((d) => readJson<Meta>(join(d, 'driver', 'container.json'))?.baseKey);
    await pruneImages(new Set([base.key, ...inUse.filter((k): k is string => !!k)]));
    return base;
  }
  const have = imageForKey(meta.baseKey);
  if (have) return have;
  if (imageKey(meta.mirror) === meta.baseKey) return ensureBaseImage({ mirror: meta.mirror, progress: o.progress, signal: o.signal });
  throw new LabError(
    `the base image this lab's disk was made from (${meta.baseKey}) is gone`,
    'Its disk cannot be used without it: run `npm run lab:down` and `npm run lab:up` to make the lab afresh.',
  );
}

/**
 * Bring a lab that is not running up: disk, network, nspawn, forwarders; wait for sshd. Call under the lab lock.
 * `kept`: what stopForDisk kept of its runtime (its namespace is made afresh, nothing else).
 */
export async function start(r: LabRef, o: StartOptions, kept?: Kept): Promise<{ alloc: Allocation; created: boolean }> {
  checkOwner(r.netns, r.name, r.stateDir);
  let meta = readMeta(r);
  if (meta && !diskExists(r.disk)) meta = undefined;
  const base = await baseFor(meta, o);
  meta ??= { name: r.name, netns: r.netns, baseKey: base.key, mirror: o.mirror, created: new Date().toISOString() };
  const created = !meta.booted;
  const key = await installationKey(r);
  if (!kept?.portsHeld) await checkPorts(o.lab.ports, o.lab.file, o.lab.container.listen);
  meta.ports = o.lab.ports;
  writeMeta(r, meta);
  let pid: number;
  let alloc: Allocation;
  try {
    await mountDisk(base.rootfs, r.disk);
    prepareDisk(r.disk, { publicKey: key.publicKey, hostname: r.name, first: !meta.booted });
    meta.lockFile = nspawnLockName(r.disk);
    writeMeta(r, meta);
    alloc = kept ? await kept.ready : await networkUp(r.netns, r.name, r.stateDir, meta.mirror);
    o.progress(
      `booting ${r.name} at ${alloc.labAddr}${o.lab.ports.length ? `, ports ${o.lab.ports.map((p) => `${o.lab.container.listen ?? '127.0.0.1'}:${p.host}->${p.guest}`).join(' ')}` : ''}`,
    );
    pid = boot({ dir: r.dir, root: r.disk.root, machine: r.name, netns: r.netns });
  } catch (e) {
    await stopRuntime(r, false).catch(() => undefined);
    throw e;
  }
  const started = pid;
  // the forwarder (a Node process) starts while the lab boots
  const [forwarder, ready] = await Promise.all([
    startForwarder(r.dir, alloc.labAddr, o.lab.ports, pid, o.lab.file, o.lab.container.listen).then(
      () => undefined,
      (e: unknown) => e,
    ),
    waitForSsh(alloc.labAddr, { timeoutMs: bootTimeoutMs(), alive: () => isAlive(started), signal: o.signal }),
  ]);
  if (forwarder) {
    await stopRuntime(r, false).catch(() => undefined);
    throw forwarder;
  }
  if (!ready.ok) {
    if (ready.why === 'interrupted') throw interrupted(r);
    const tail = consoleTail(r.dir);
    await stopRuntime(r, false).catch(() => undefined);
    throw new LabError(
      `lab ${r.name} did not boot: ${ready.why}. Last lines of its console:\n${tail}`,
      `The whole console log is ${join(r.dir, 'console.log')}. Fix the cause and run \`npm run lab:up\` again, or \`npm run lab:down\` to remove the lab.`,
    );
  }
  await proxyReady(); // started (if it was not running) while the lab booted
  meta.booted = true;
  meta.halted = false;
  writeMeta(r, meta);
  return { alloc, created };
}

/** A running lab: make sure its forwarder serves the lab file's ports and sshd answers. */
export async function resume(r: LabRef, i: Inspection, o: StartOptions): Promise<Allocation> {
  const alloc = i.alloc;
  if (!alloc || !i.pid) throw new LabError(`lab ${r.name} runs but has no address reservation`, 'Run `npm run lab:down`, then `npm run lab:up`.');
  if (thawIfFrozen(r.netns)) o.progress(`lab ${r.name} was left frozen by an interrupted snapshot: it runs again`);
  const meta = i.meta ?? readMeta(r);
  const same = JSON.stringify(meta?.ports ?? []) === JSON.stringify(o.lab.ports);
  if (!same || (o.lab.ports.length && !forwarderPid(r.dir))) {
    await stopForwarder(r.dir);
    await checkPorts(o.lab.ports, o.lab.file, o.lab.container.listen);
    await startForwarder(r.dir, alloc.labAddr, o.lab.ports, i.pid, o.lab.file, o.lab.container.listen);
    if (meta) writeMeta(r, { ...meta, ports: o.lab.ports });
  }
  const pid = i.pid;
  const ready = await waitForSsh(alloc.labAddr, { timeoutMs: bootTimeoutMs(), alive: () => isAlive(pid), signal: o.signal });
  if (!ready.ok) {
    if (ready.why === 'interrupted') throw interrupted(r);
    throw new LabError(
      `lab ${r.name} runs but ${ready.why}. Last lines of its console:\n${consoleTail(r.dir)}`,
      'Run `npm run lab:halt` and `npm run lab:up` to boot it again, or `npm run lab:down` to remove it.',
    );
  }
  await networkRefresh(r.netns);
  await proxyReady();
  if (meta && !meta.booted) writeMeta(r, { ...meta, booted: true, halted: false });
  return alloc;
}

const interrupted = (r: LabRef) =>
  new LabError(
    `lab:up was interrupted while ${r.name} was booting`,
    'The lab keeps booting: run `npm run lab:up` again to continue, or `npm run lab:down` to remove it.',
  );

export function assertDebian12(lab: Lab): void {
  if (lab.platform !== 'debian12') {
    throw new InputError(
      `${lab.file}: the container driver runs debian12 labs only; this lab says platform: ${lab.platform}`,
      'CentOS 7 needs a real VM: set `driver: vagrant` in the lab file (or run with the vagrant driver), or use platform: debian12.',
    );
  }
}
