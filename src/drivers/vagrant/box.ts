/**
 * Base boxes: built with Packer from the shared templates in packer/templates/ and the platform's
 * packer/os_pkrvars/<platform>.pkrvars.hcl, cached as .box files with their sha256 (keyed by the
 * templates, scripts and inputs that made them), and added to Vagrant.
 *   el7      + virtualbox -> virtualbox-iso.vm   (CentOS 7.9 vault ISO + kickstart)
 *   el7      + libvirt    -> qemu.vm
 *   debian12 + libvirt    -> qemu.vm             (debootstrap base image, no ISO)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError, LabError } from '../../errors.js';
import type { Platform } from '../../lab/lab-file.js';
import { removeInside } from '../../lab/names.js';
import { cacheDir, debian12Base, el7Iso, packerDir, sha256, storeCache, verifiedCache } from './images.js';
import { checkPacker, checkVagrant, packerVersion } from './prereqs.js';
import { probe, run, why } from '../local/commands.js';
import { withLock } from '../local/lock.js';
import { accelerator, DEFAULT_BOXES, type Accelerator, type Provider } from './settings.js';

export interface BoxOptions {
  platform: Platform;
  provider: Provider;
  /** Name to add the box under (default: postfix-lab/centos-7.9 or postfix-lab/debian-12). */
  name?: string;
  accelerator?: Accelerator;
  /** A local copy of the el7 ISO (checked against its sha256). */
  iso?: string;
  /** Build again even when a cached box matches. */
  rebuild?: boolean;
  progress(message: string): void;
  signal?: AbortSignal;
}

export interface BoxResult {
  name: string;
  file: string;
  sha256: string;
  built: boolean;
  seconds: number;
}

/** The templates every box shares, and a platform's data for them (bento's layout). */
const templatesDir = join(packerDir, 'templates');
export const osVars = (platform: Platform): string => join(packerDir, 'os_pkrvars', `${platform}.pkrvars.hcl`);

/** The Packer source that builds a platform's box for a provider. */
export function packerSource(platform: Platform, provider: Provider): string {
  if (provider === 'libvirt') return 'qemu.vm';
  if (platform === 'el7') return 'virtualbox-iso.vm';
  throw new InputError(
    'the debian12 box is built from a disk image with QEMU and exists for the libvirt provider only',
    'Use `vagrant: { provider: libvirt }` for debian12, platform el7 for VirtualBox, or `driver: container` for debian12 without a hypervisor.',
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** Everything that goes into a platform's box, hashed: templates, var file, kickstart, scripts, and the input image. */
export function recipeKey(platform: Platform, provider: Provider, inputChecksum: string): string {
  const files = [
    ...filesUnder(templatesDir),
    osVars(platform),
    ...filesUnder(join(packerDir, 'scripts')),
    ...(platform === 'el7' ? [join(packerDir, 'http', 'ks.cfg')] : []),
  ];
  return sha256(platform, provider, inputChecksum, ...files.flatMap((f) => [relative(packerDir, f), readFileSync(f)])).slice(0, 16);
}

/** One build per box at a time on this machine (a second lab:up waits for the first, however long it takes). */
const withBoxLock = <T>(name: string, progress: (m: string) => void, fn: () => Promise<T>): Promise<T> =>
  withLock(join(cacheDir('locks'), `${name}.lock`), fn, {
    timeoutMs: Number.POSITIVE_INFINITY,
    pollMs: 2000,
    onWait: (pid) => progress(`another build of this box is running (pid ${pid}): waiting for it`),
  });

async function packer(args: string[], progress: (m: string) => void, signal?: AbortSignal): Promise<void> {
  const tail: string[] = [];
  const r = await probe(['packer', ...args], {
    cwd: packerDir,
    env: { ...process.env, PACKER_NO_COLOR: '1', CHECKPOINT_DISABLE: '1' },
    signal,
    onLine: (l) => {
      tail.push(l);
      if (tail.length > 40) tail.shift();
      const m = /^==> [\w.-]+: (.*)$/.exec(l);
      if (m?.[1] && !m[1].startsWith('+ ')) progress(m[1]);
    },
  });
  if (r.code !== 0) {
    const errors = tail.filter((l) => /error|fail|timeout/i.test(l)).slice(-8);
    throw new LabError(
      `\`packer ${args.join(' ')}\` failed (exit ${r.code}):\n${(errors.length ? errors : tail.slice(-12)).join('\n') || why(r)}`,
      "The lines above are Packer's. Run again with PACKER_LOG=1 for details; a cached input that went bad is rebuilt with --rebuild.",
    );
  }
}

/** Build (or take from the cache) the box file for a platform and provider. */
export async function buildBox(o: BoxOptions): Promise<BoxResult> {
  const started = Date.now();
  const source = packerSource(o.platform, o.provider);
  checkPacker();
  const accel = o.accelerator ?? accelerator();
  const input = o.platform === 'el7' ? await el7Iso(o.progress, o.iso, o.signal) : await debian12Base(o.progress, o.signal);
  const key = recipeKey(o.platform, o.provider, input.checksum);
  const file = join(cacheDir('boxes'), `${o.platform}-${o.provider}-${key}.box`);
  const name = o.name ?? DEFAULT_BOXES[o.platform];
  return withBoxLock(`box-${o.platform}-${o.provider}`, o.progress, async () => {
    const cached = o.rebuild ? undefined : await verifiedCache(file);
    if (cached) {
      o.progress(`box ${file} (cached, sha256 ${cached.slice(0, 12)}...)`);
      return { name, file, sha256: cached, built: false, seconds: (Date.now() - started) / 1000 };
    }
    const [major, minor] = await packerVersion();
    if (major > 1 || (major === 1 && minor >= 7)) {
      o.progress(`packer ${major}.${minor}: installing the plugins in packer/plugins/ (packer init)`);
      await packer(['init', join(packerDir, 'plugins')], o.progress, o.signal);
    }
    const work = join(cacheDir('build'), `${o.platform}-${o.provider}-${process.pid}`);
    removeInside(cacheDir(), work);
    mkdirSync(work, { recursive: true });
    const vars = ['-var', `iso_url=${input.path}`, '-var', `iso_checksum=${input.checksum}`];
    o.progress(`packer build ${source} (accelerator ${accel}${accel === 'tcg' ? ': a few minutes' : ''})`);
    try {
      await packer(
        [
          'build',
          '-force',
          '-color=false',
          `-only=${source}`,
          `-var-file=${osVars(o.platform)}`,
          ...vars,
          '-var',
          `accelerator=${accel}`,
          '-var',
          `output_directory=${join(work, 'output')}`,
          '-var',
          `box_directory=${join(work, 'box')}`,
          templatesDir,
        ],
        o.progress,
        o.signal,
      );
      const built = readdirSync(join(work, 'box')).find((f) => f.endsWith('.box'));
      if (!built)
        throw new LabError(`packer finished but left no .box file in ${join(work, 'box')}`, "This is a bug in the template's vagrant post-processor.");
      const sum = await storeCache(join(work, 'box', built), file);
      o.progress(
        `box built in ${Math.round((Date.now() - started) / 1000)} s: ${Math.round(statSync(file).size / 2 ** 20)} MiB, sha256 ${sum.slice(0, 12)}...`,
      );
      return { name, file, sha256: sum, built: true, seconds: (Date.now() - started) / 1000 };
    } finally {
      removeInside(cacheDir(), work);
    }
  });
}

/** Is a box of this name installed for this provider? */
export async function boxInstalled(name: string, provider: Provider): Promise<boolean> {
  const r = await probe(['vagrant', 'box', 'list', '--machine-readable'], { env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
  if (r.code !== 0) return false;
  let current = '';
  for (const line of r.stdout.split('\n')) {
    const [, , type, value] = line.split(',');
    if (type === 'box-name') current = value ?? '';
    if (type === 'box-provider' && current === name && value === provider) return true;
  }
  return false;
}

export async function addBox(name: string, file: string, progress: (m: string) => void): Promise<void> {
  progress(`vagrant box add ${name} (${file})`);
  await run(['vagrant', 'box', 'add', '--force', '--name', name, file], {
    env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' },
    hint: `Check the box file (${file}); \`npm run box:build -- --rebuild\` makes it again.`,
  });
}

/** The box a lab needs: there already, or built (or taken from the cache) and added. */
export async function ensureBox(o: BoxOptions & { name: string }): Promise<{ added: boolean; built: boolean }> {
  await checkVagrant(o.provider, 'adding the box');
  if (!o.rebuild && (await boxInstalled(o.name, o.provider))) return { added: false, built: false };
  if (!existsSync(osVars(o.platform))) throw new LabError(`no Packer data for ${o.platform} (${osVars(o.platform)})`, 'Check out the whole repository.');
  o.progress(`box ${o.name} (${o.provider}) is not installed: building it`);
  const box = await buildBox(o);
  await addBox(o.name, box.file, o.progress);
  return { added: true, built: box.built };
}
