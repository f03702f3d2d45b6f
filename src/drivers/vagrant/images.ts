/**
 * Inputs of a box build, cached with their checksums: the CentOS 7.9 ISO (downloaded once, checked against the
 * sha256 in packer/os_pkrvars/el7.pkrvars.hcl) and the debian12 base disk image (made with debootstrap, keyed by its recipe).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LabError } from '../../errors.js';
import { removeInside } from '../../lab/names.js';
import { repoRoot } from '../../schemas.js';
import { hostMirrors } from '../mirrors.js';
import { checkImageTools } from './prereqs.js';
import { probe, why } from '../local/commands.js';

export const packerDir = join(repoRoot, 'packer');

/** Machine-wide cache: POSTFIX_LAB_CACHE_DIR, else /var/cache/postfix-lab as root, ~/.cache/postfix-lab otherwise. */
export function cacheDir(...sub: string[]): string {
  const root = process.env.POSTFIX_LAB_CACHE_DIR ?? (process.getuid?.() === 0 ? '/var/cache/postfix-lab' : join(homedir(), '.cache', 'postfix-lab'));
  const dir = join(root, 'vagrant', ...sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

export const sha256 = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/** A cached file is good when its .sha256 sidecar exists and matches its content. */
export async function verifiedCache(path: string): Promise<string | undefined> {
  const side = `${path}.sha256`;
  if (!existsSync(path) || !existsSync(side)) return undefined;
  const want = readFileSync(side, 'utf8').trim();
  const have = await sha256File(path);
  if (have === want) return have;
  removeInside(cacheDir(), path);
  removeInside(cacheDir(), side);
  return undefined;
}

/** Store a finished file in the cache with its sidecar (rename last, so a half-written file is never "cached"). */
export async function storeCache(tmp: string, path: string): Promise<string> {
  const sum = await sha256File(tmp);
  renameSync(tmp, path);
  writeFileSync(`${path}.sha256`, `${sum}\n`);
  return sum;
}

/** Values of `key = "value"` lines of a .pkrvars.hcl file (the per-platform data stays in one place). */
export function pkrvars(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of readFileSync(file, 'utf8').matchAll(/^\s*([a-z_]+)\s*=\s*"?([^"\n]*?)"?\s*$/gm)) if (m[1]) out[m[1]] = m[2] ?? '';
  return out;
}

export interface Iso {
  path: string;
  checksum: string;
}

/** The el7 installer ISO: given (--iso), cached, or downloaded with progress; always checked against the pinned sha256. */
export async function el7Iso(progress: (m: string) => void, given?: string, signal?: AbortSignal): Promise<Iso> {
  const vars = pkrvars(join(packerDir, 'os_pkrvars', 'el7.pkrvars.hcl'));
  const url = vars.iso_url ?? '';
  const checksum = vars.iso_checksum ?? '';
  const want = checksum.replace(/^sha256:/, '');
  const path = join(cacheDir('iso'), basename(url));
  const where = `Download ${url} yourself (sha256 ${want}) and pass it with --iso FILE, or put it at ${path}.`;
  if (given) {
    progress(`checking ${given} against sha256 ${want.slice(0, 12)}...`);
    if (!existsSync(given)) throw new LabError(`--iso ${given}: no such file`, where, 2);
    if ((await sha256File(given)) !== want) throw new LabError(`--iso ${given} is not ${basename(url)}: its sha256 differs from ${want}`, where, 2);
    return { path: given, checksum };
  }
  if (existsSync(path)) {
    progress(`checking the cached ISO ${path}`);
    if ((await sha256File(path)) === want) return { path, checksum };
    progress('the cached ISO does not match its sha256: downloading it again');
  }
  const tmp = `${path}.part`;
  progress(`downloading ${url}`);
  try {
    const res = await fetch(url, { signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('content-length') ?? 0);
    let got = 0;
    let shown = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (c: Buffer) => {
      got += c.length;
      const pct = total ? Math.floor((got / total) * 100) : 0;
      if (pct >= shown + 5) {
        shown = pct;
        progress(`ISO: ${pct}% of ${Math.round(total / 2 ** 20)} MiB`);
      }
    });
    await pipeline(body, createWriteStream(tmp));
  } catch (e) {
    removeInside(cacheDir(), tmp);
    const code = (e as Error & { cause?: { code?: string } }).cause?.code;
    throw new LabError(`could not download the CentOS 7.9 ISO: ${(e as Error).message}${code ? ` (${code})` : ''}`, where, 1, { cause: e });
  }
  if ((await sha256File(tmp)) !== want) {
    removeInside(cacheDir(), tmp);
    throw new LabError(`the downloaded ${basename(url)} does not match its pinned sha256 ${want}`, where);
  }
  renameSync(tmp, path);
  return { path, checksum };
}

const BASE_SCRIPT = join(packerDir, 'scripts', 'debian12-base-image.sh');
/** The Vagrant user's setup, which the base image script runs in its chroot: part of the image's recipe. */
const VAGRANT_SCRIPT = join(packerDir, 'scripts', '_common', 'vagrant.sh');

export interface BaseImage {
  path: string;
  checksum: string;
  key: string;
}

/** The debian12 base qcow2, keyed by its recipe (script + mirrors + size): from the cache, or made with debootstrap. */
export async function debian12Base(progress: (m: string) => void, signal?: AbortSignal): Promise<BaseImage> {
  const { mirror, security } = hostMirrors();
  const size = '8G';
  const key = sha256(readFileSync(BASE_SCRIPT), readFileSync(VAGRANT_SCRIPT), mirror, security ?? '', size).slice(0, 16);
  const path = join(cacheDir('images'), `debian12-base-${key}.qcow2`);
  const cached = await verifiedCache(path);
  if (cached) {
    progress(`base image ${basename(path)} (cached, sha256 ${cached.slice(0, 12)}...)`);
    return { path, checksum: `sha256:${cached}`, key };
  }
  checkImageTools();
  progress(`base image: debootstrap Debian 12 from ${mirror} (1-2 minutes)`);
  const tmp = `${path}.${process.pid}.tmp`;
  const started = Date.now();
  const r = await probe(['sh', BASE_SCRIPT, tmp, mirror, security ?? '', size], {
    signal,
    onLine: (l) => {
      if (l.startsWith('== ')) progress(`base image: ${l.slice(3)}`);
    },
  });
  if (r.code !== 0 || !existsSync(tmp)) {
    removeInside(cacheDir(), tmp);
    throw new LabError(
      `building the debian12 base image failed (exit ${r.code}):\n${why(r)}`,
      `Check that the mirror ${mirror} answers (POSTFIX_LAB_MIRROR overrides the one from /etc/apt/sources.list*), then run again.`,
    );
  }
  const sum = await storeCache(tmp, path);
  progress(`base image ready in ${Math.round((Date.now() - started) / 1000)} s: ${Math.round(statSync(path).size / 2 ** 20)} MiB`);
  return { path, checksum: `sha256:${sum}`, key };
}
