/**
 * The base image: a Debian 12 rootfs from mmdebstrap, baked like a Vagrant box, cached as a zstd-compressed
 * tarball keyed by its recipe (package list, mirror, bake script). Unpacked once per machine into a read-only
 * folder that every lab uses as the lower layer of its overlay.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type * as Tar from 'tar';
import { InputError, LabError } from '../../errors.js';
import { sh } from '../../host.js';
import type { Lab } from '../../lab/lab-file.js';
import { removeInside } from '../../lab/names.js';
import { repoRoot } from '../../schemas.js';
import { hostMirrors, securityMirror, SUITE } from '../mirrors.js';
import { PROXY_ADDR, PROXY_PORT } from './proxy.js';
import { paths, removeTree, run, withLock } from './sys.js';

/** What the box starts with; everything else (postfix, rsyslog, ...) is the runbook's to install. */
export const PACKAGES = ['openssh-server', 'sudo', 'systemd-sysv', 'dbus', 'libpam-systemd'];
/** Bump when the recipe changes in a way the bake script below does not show. */
const RECIPE_VERSION = 2; // 2: mmdebstrap instead of debootstrap

export interface BaseImage {
  key: string;
  rootfs: string;
  tarball: string;
  mirror: string;
}

/** The URL the lab's apt uses (through the proxy): the mirror, always over http (the proxy may fetch over https). */
export function labMirrorUrl(mirror: string): string {
  return mirror.replace(/^https:/, 'http:').replace(/\/+$/, '');
}

/** The Vagrant user's setup the boxes share (packer/scripts/_common/vagrant.sh). */
export const VAGRANT_SCRIPT = join(repoRoot, 'packer', 'scripts', '_common', 'vagrant.sh');
/** What makes a freshly bootstrapped root a container lab's base image (run after the Vagrant user's setup). */
const BAKE_SCRIPT = join(repoRoot, 'src', 'drivers', 'container', 'bake.sh');

/** Shell script run inside the fresh rootfs (chroot) to make it a Vagrant-style box. Part of the image key. */
export function bakeScript(mirror: string): string {
  const sec = securityMirror(mirror);
  // the Vagrant user as in the boxes, but keys only and no shared key: each installation adds its own
  return `set -- ${sh(labMirrorUrl(mirror))} ${SUITE} ${sh(sec ? labMirrorUrl(sec) : '')} ${PROXY_ADDR}:${PROXY_PORT}
VAGRANT_PASSWORD= VAGRANT_KEY=none sh -eu <<'VAGRANT_SH'
${readFileSync(VAGRANT_SCRIPT, 'utf8').trimEnd()}
VAGRANT_SH
${readFileSync(BAKE_SCRIPT, 'utf8')}`;
}

export function imageKey(mirror: string, packages = PACKAGES): string {
  const recipe = JSON.stringify({ v: RECIPE_VERSION, suite: SUITE, packages: [...packages].sort(), mirror, bake: bakeScript(mirror) });
  return createHash('sha256').update(recipe).digest('hex').slice(0, 16);
}

/** The Debian mirror this host uses (see ../mirrors.ts). */
export const hostMirror = (): string => hostMirrors().mirror;

export function resolveMirror(lab: Lab): string {
  const m = lab.container.mirror;
  if (m === undefined) return hostMirror();
  if (!/^https?:\/\/[^/\s]+(\/\S*)?$/.test(m)) {
    throw new InputError(
      `${lab.file}: container.mirror "${m}" is not an http(s) URL`,
      "Set container.mirror to a Debian mirror such as http://deb.debian.org/debian, or leave it out to use the host's mirror.",
    );
  }
  return m.replace(/\/+$/, '');
}

function imagePaths(key: string, cacheDir = paths.cache, libDir = paths.lib) {
  // lib and cache: the two folders of images; whatever is removed is proven inside one of them
  const lib = join(libDir, 'images');
  const cache = join(cacheDir, 'images');
  const dir = join(lib, key);
  return {
    lib,
    cache,
    dir,
    rootfs: join(dir, 'rootfs'),
    marker: join(dir, 'image.json'),
    tarball: join(cache, `${key}.tar.zst`),
    tmp: join(lib, `${key}.tmp`),
  };
}

export function imageForKey(key: string): BaseImage | undefined {
  const p = imagePaths(key);
  const meta = existsSync(p.marker) ? (JSON.parse(readFileSync(p.marker, 'utf8')) as { mirror: string }) : undefined;
  return meta ? { key, rootfs: p.rootfs, tarball: p.tarball, mirror: meta.mirror } : undefined;
}

export interface ImageOptions {
  mirror: string;
  progress: (m: string) => void;
  signal?: AbortSignal;
  cacheDir?: string;
  libDir?: string;
}

/** The unpacked base image for this mirror: already there, unpacked from the cached tarball, or built. */
export async function ensureBaseImage(o: ImageOptions): Promise<BaseImage> {
  const key = imageKey(o.mirror);
  const p = imagePaths(key, o.cacheDir, o.libDir);
  const done = (): BaseImage => {
    const now = new Date();
    utimesSync(p.marker, now, now); // last used, for pruneImages()
    return { key, rootfs: p.rootfs, tarball: p.tarball, mirror: o.mirror };
  };
  if (existsSync(p.marker)) return done();
  return withLock(`image-${key}`, async () => {
    if (existsSync(p.marker)) return done();
    await removeTree(p.lib, p.tmp); // an interrupted build or unpack
    mkdirSync(p.tmp, { recursive: true, mode: 0o755 });
    const rootfs = join(p.tmp, 'rootfs');
    if (existsSync(p.tarball)) {
      o.progress(`base image ${key}: unpacking the cached ${p.tarball}`);
      await unpack(p.tarball, rootfs);
    } else {
      await build(key, o, rootfs, p.tarball, p.lib);
    }
    writeFileSync(
      join(p.tmp, 'image.json'),
      JSON.stringify({ key, mirror: o.mirror, suite: SUITE, packages: PACKAGES, created: new Date().toISOString() }, null, 2) + '\n',
    );
    await removeTree(p.lib, p.dir);
    renameSync(p.tmp, p.dir);
    return done();
  });
}

/** mmdebstrap's progress lines and where each puts the build (only ever forwards). */
const STAGES: [RegExp, number, string][] = [
  [/^I: running apt-get update/, 10, 'reading the package lists'],
  [/^I: downloading packages/, 20, 'downloading packages'],
  [/^I: extracting archives/, 40, 'extracting'],
  [/^I: installing essential packages/, 50, 'installing the core'],
  [/^I: installing remaining packages/, 65, 'installing packages'],
  [/^I: (cleaning|success)/, 90, 'baking the Vagrant-style box'],
];

/**
 * The merged-/usr hook of mmdebstrap: the root starts merged and gets `usr-is-merged`, as debootstrap's does. Without
 * it apt satisfies init-system-helpers' `usrmerge | usr-is-merged` with usrmerge, which brings perl into the image.
 */
const MERGED_USR_HOOK = '/usr/share/mmdebstrap/hooks/merged-usr';

/**
 * The root from mmdebstrap: apt resolves and downloads (several files at once over one connection) where debootstrap
 * fetches one package after another; the same packages and versions (lsb-base, an empty transitional package, aside).
 * Measured on one machine, one build each from deb.debian.org: 39-41 s against debootstrap's 59-62 s.
 */
async function build(key: string, o: ImageOptions, rootfs: string, tarball: string, lib: string): Promise<void> {
  const t0 = Date.now();
  o.progress(`base image ${key}: building Debian 12 from ${o.mirror} (about a minute)`);
  const log: string[] = [];
  let percent = 0;
  const onLine = (line: string) => {
    log.push(line);
    if (log.length > 200) log.shift();
    const stage = STAGES.find(([re]) => re.test(line));
    if (stage && stage[1] > percent) {
      percent = stage[1];
      o.progress(`base image: ${stage[2]} (${percent}%)`);
    }
  };
  const hook = existsSync(MERGED_USR_HOOK) ? [`--hook-dir=${MERGED_USR_HOOK}`] : [];
  const args = ['--variant=minbase', ...hook, `--include=${PACKAGES.join(',')}`, SUITE, rootfs, o.mirror];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('mmdebstrap', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: o.signal,
      env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin`, LC_ALL: 'C' },
    });
    let buf = '';
    const feed = (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  }).catch((e: unknown) => {
    throw new LabError(
      `building the base image was interrupted or could not start mmdebstrap: ${String(e)}`,
      'Run `npm run lab:up` again; the build starts over.',
    );
  });
  if (code !== 0) {
    throw new LabError(
      `mmdebstrap failed (exit ${code}) building the base image from ${o.mirror}:\n${log.slice(-12).join('\n')}`,
      `Check that the mirror answers (set container.mirror in the lab file, or fix /etc/apt/sources.list.d/* and /etc/hosts) and that /usr/share/keyrings/debian-archive-keyring.gpg exists (package debian-archive-keyring), then run \`npm run lab:up\` again.`,
    );
  }
  await run`chroot ${rootfs} /bin/sh -c ${bakeScript(o.mirror)}`;
  // the build leaves device nodes in /dev; nspawn brings its own
  for (const e of readdirSync(join(rootfs, 'dev'))) removeInside(lib, join(rootfs, 'dev', e));
  o.progress('base image: compressing the cache (95%)');
  await pack(rootfs, tarball);
  o.progress(`base image ${key}: ready in ${((Date.now() - t0) / 1000).toFixed(0)} s, cached as ${tarball}`);
}

/**
 * Remove base images (unpacked and cached) that no lab uses and that were not used for a day: each recipe change
 * (package list, mirror, bake script) makes a new image, and the old ones would pile up.
 */
export async function pruneImages(keep: Set<string>, idleMs = 24 * 3600_000): Promise<void> {
  const old = (f: string) => {
    const st = statSync(f, { throwIfNoEntry: false });
    return !st || Date.now() - st.mtimeMs > idleMs;
  };
  const { lib: libImages, cache: cacheImages } = imagePaths('');
  for (const key of existsSync(libImages) ? readdirSync(libImages) : []) {
    const p = imagePaths(key);
    if (/^[0-9a-f]{16}$/.test(key) && !keep.has(key) && old(p.marker)) {
      await removeTree(p.lib, p.dir);
      removeInside(p.cache, p.tarball);
    }
  }
  for (const f of existsSync(cacheImages) ? readdirSync(cacheImages) : []) {
    const key = /^([0-9a-f]{16})\.tar\.zst$/.exec(f)?.[1];
    if (key && !keep.has(key) && !existsSync(imagePaths(key).dir) && old(join(cacheImages, f))) removeInside(cacheImages, join(cacheImages, f));
  }
}

/** The `tar` package, loaded when an image is packed or unpacked (0.1 s of every command's start otherwise). */
const loadTar = () => import('tar');

/** tar (the `tar` package) piped through `zstd`; written to a temporary name and renamed when complete. */
async function pack(rootfs: string, tarball: string): Promise<void> {
  const tar = await loadTar();
  mkdirSync(join(tarball, '..'), { recursive: true, mode: 0o755 });
  const tmp = `${tarball}.${process.pid}.tmp`;
  const z = spawn('zstd', ['-q', '-T0', '-3', '-f', '-o', tmp], { stdio: ['pipe', 'ignore', 'pipe'] });
  const exited = new Promise<number>((r) => z.on('close', (c) => r(c ?? 1)));
  // files, folders and links only: device nodes, fifos and sockets are not part of the image
  const keep = (_: string, st: Stats | Tar.ReadEntry) => !('isFile' in st) || st.isFile() || st.isDirectory() || st.isSymbolicLink();
  try {
    await pipeline(tar.c({ cwd: rootfs, preservePaths: true, portable: false, filter: keep }, ['.']), z.stdin);
    if ((await exited) !== 0) throw new Error(`zstd exited with ${await exited}`);
    renameSync(tmp, tarball);
  } catch (e) {
    removeInside(join(tarball, '..'), tmp);
    throw new LabError(`could not write the base image cache ${tarball}: ${String(e)}`, `Check free space under ${paths.cache}.`);
  }
}

/** Unpack a cached base image. node-tar chowns after chmod, which drops setuid/setgid bits: restore modes after. */
async function unpack(tarball: string, rootfs: string): Promise<void> {
  const tar = await loadTar();
  mkdirSync(rootfs, { recursive: true, mode: 0o755 });
  const modes: { path: string; mode: number; uid?: number; gid?: number }[] = [];
  const z = spawn('zstd', ['-q', '-d', '-c', tarball], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await pipeline(
      z.stdout,
      tar.x({
        cwd: rootfs,
        preservePaths: true,
        preserveOwner: true,
        chmod: true,
        processUmask: 0,
        onReadEntry: (e) => {
          if (e.type !== 'SymbolicLink' && e.mode !== undefined) modes.push({ path: e.path, mode: e.mode, uid: e.uid, gid: e.gid });
        },
      }),
    );
  } catch (e) {
    throw new LabError(
      `the cached base image ${tarball} could not be unpacked: ${String(e)}`,
      `Delete ${tarball} and run \`npm run lab:up\` again to rebuild it.`,
    );
  }
  for (const m of modes) {
    const p = join(rootfs, m.path);
    if (!lstatSync(p, { throwIfNoEntry: false })) continue;
    if (m.uid !== undefined && m.gid !== undefined) lchownSync(p, m.uid, m.gid);
    chmodSync(p, m.mode & 0o7777);
  }
}
