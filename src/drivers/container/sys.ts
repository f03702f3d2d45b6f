/**
 * Host-side plumbing of the container driver: machine-wide paths, its commands (src/drivers/local/commands.ts with
 * the driver's hint), mounts, and its machine-wide locks (src/drivers/local/lock.ts).
 */
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../errors.js';
import { commands } from '../local/commands.js';
import { withLock as lock } from '../local/lock.js';
import { provenInside } from '../../lab/names.js';

/** Machine-wide folders (shared by every state root on this machine). Overridable for tests and benchmarks. */
export const paths = {
  /** Base image tarballs and the package proxy's cache: survive everything, rebuilt on demand. */
  get cache(): string {
    return process.env.POSTFIX_LAB_CACHE_DIR ?? '/var/cache/postfix-lab';
  },
  /** Unpacked base images (read-only lower layers), network registry, proxy config. */
  get lib(): string {
    return process.env.POSTFIX_LAB_LIB_DIR ?? '/var/lib/postfix-lab';
  },
  /** Runtime files (locks, proxy pid); removed when the last lab stops. */
  run: '/run/postfix-lab',
};

const HINT =
  'This is a host command the container driver runs as root; the lines above say why it failed. ' +
  'Run `npm run lab:status`, then `npm run lab:down` to clean up, and try again.';
const local = commands({ hint: HINT, cLocale: true });

/** Run a command (arguments are quoted by zx); a failure becomes a LabError with the command's output and a hint. */
export const run = local.run;

/** run() in the folder `cwd`: runIn(dir)`cp --parents ...`. */
export const runIn = (cwd: string) => commands({ hint: HINT, cLocale: true, cwd }).run;

/** run() with `input` on the command's stdin: runWithInput(text)`ip -batch -`. */
export const runWithInput = (input: string) => commands({ hint: HINT, cLocale: true, input }).run;

/** A probe: never throws, returns exit code and output. */
export const probe = local.probe;

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new LabError(
      'the container driver needs root: it makes network namespaces, overlay mounts and runs systemd-nspawn',
      'Run the command as root (e.g. `sudo npm run lab:up`), or use a virtual machine instead: set `driver: vagrant` in the lab file.',
    );
  }
}

/** A user's entry in ROOT/etc/passwd (the host's with ROOT "/", a lab's with its root folder). */
export function passwdEntry(root: string, user: string): { uid: number; gid: number; home: string } | undefined {
  let text: string;
  try {
    text = readFileSync(join(root, 'etc/passwd'), 'utf8');
  } catch {
    return undefined;
  }
  const f = text
    .split('\n')
    .find((l) => l.startsWith(`${user}:`))
    ?.split(':');
  return f && f.length >= 6 ? { uid: Number(f[2]), gid: Number(f[3]), home: f[5] || `/home/${user}` } : undefined;
}

// ---------------------------------------------------------------- mounts

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mounts', 'utf8');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[1];
    if (!mp) continue;
    const p = unescapeMount(mp);
    if (p === dir || p.startsWith(dir + '/')) out.add(p);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

export async function unmountAll(dir: string): Promise<void> {
  for (const mp of mountsUnder(dir)) {
    const r = await probe`umount ${mp}`;
    if (r.code !== 0) await run`umount -l ${mp}`;
  }
}

/**
 * rm -rf of `dir`, only when its real path is inside `root` (the lab's state home or the image cache: see
 * provenInside), and never across into another file system (a forgotten mount stays untouched).
 */
export async function removeTree(root: string, dir: string): Promise<void> {
  const target = provenInside(root, dir);
  if (!target || !existsSync(target)) return;
  await unmountAll(target);
  await run`rm -rf --one-file-system ${target}`;
}

// ---------------------------------------------------------------- locks

/** A machine-wide lock by name under /run/postfix-lab/locks (see src/drivers/local/lock.ts). */
export function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const dir = join(paths.run, 'locks');
  return lock(join(dir, `${name}.lock`), fn, {
    timeoutMs,
    // leave nothing under /run when idle: these only succeed when empty
    after: () => {
      try {
        rmdirSync(dir);
        rmdirSync(paths.run);
      } catch {
        /* still in use */
      }
    },
  });
}
