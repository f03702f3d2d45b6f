/**
 * Host-side plumbing shared by the container driver: machine-wide paths, commands through zx,
 * processes we started (checked by PID *and* command line before any signal), mounts and file locks.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $, type ProcessOutput } from 'zx';
import { LabError } from '../../errors.js';
import { provenInside, removeInside } from '../../names.js';

/** Machine-wide folders (shared by every state root on this machine). Overridable for tests and benchmarks. */
export const paths = {
  /** Base image tarballs and the package proxy's cache: survive everything, rebuilt on demand. */
  get cache(): string { return process.env.POSTFIX_LAB_CACHE_DIR ?? '/var/cache/postfix-lab'; },
  /** Unpacked base images (read-only lower layers), network registry, proxy config. */
  get lib(): string { return process.env.POSTFIX_LAB_LIB_DIR ?? '/var/lib/postfix-lab'; },
  /** Runtime files (locks, proxy pid); removed when the last lab stops. */
  run: '/run/postfix-lab',
};

/** PATH with the sbin folders, so `ip`, `nft`, `debootstrap` are found even from a user shell under sudo. */
export const sbinPath = `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

const quiet = $({ quiet: true, env: { ...process.env, PATH: `${sbinPath}:${process.env.PATH ?? ''}`, LC_ALL: 'C' } });

/** Run a command (arguments are quoted by zx); a failure becomes a LabError with the command's stderr and a hint. */
export const run = tagged();

/** run() with `input` on the command's stdin: runWithInput(text)`ip -batch -`. */
export const runWithInput = (input: string) => tagged(input);

function tagged(input?: string) {
  return async (pieces: TemplateStringsArray, ...args: unknown[]): Promise<string> => {
    try {
      const out = await (input === undefined ? quiet : quiet({ input }))(pieces, ...args);
      return out.stdout;
    } catch (e) {
      const p = e as ProcessOutput;
      const cmd = String.raw({ raw: pieces }, ...args.map((a) => (Array.isArray(a) ? a.join(' ') : String(a))));
      throw new LabError(
        `command failed: ${cmd}\n${(p.stderr || p.stdout || String(e)).trim().split('\n').slice(-8).join('\n')}`,
        'This is a host command the container driver runs as root; the lines above say why it failed. ' +
          'Run `npm run lab:status`, then `npm run lab:down` to clean up, and try again.',
        1,
        { cause: e },
      );
    }
  };
}

/** A probe: never throws, returns exit code and output. */
export async function probe(pieces: TemplateStringsArray, ...args: unknown[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await quiet(pieces, ...args).nothrow();
  return { code: out.exitCode ?? 1, stdout: out.stdout, stderr: out.stderr };
}

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
  try { text = readFileSync(join(root, 'etc/passwd'), 'utf8'); } catch { return undefined; }
  const f = text.split('\n').find((l) => l.startsWith(`${user}:`))?.split(':');
  return f && f.length >= 6 ? { uid: Number(f[2]), gid: Number(f[3]), home: f[5] || `/home/${user}` } : undefined;
}

// ---------------------------------------------------------------- processes

export function isAlive(pid: number | undefined): pid is number {
  if (!pid || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a zombie is not alive for our purposes
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** A PID file we wrote, and the process still is the one we started (its command line contains `marker`). */
export function ourPid(file: string, marker: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!isAlive(pid)) return undefined;
  return cmdline(pid).some((a) => a.includes(marker)) ? pid : undefined;
}

export async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

/** SIGTERM, then SIGKILL after `ms`. Only call with a PID checked by ourPid(). */
export async function terminate(pid: number, ms = 5000): Promise<void> {
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  if (await waitExit(pid, ms)) return;
  try { process.kill(pid, 'SIGKILL'); } catch { return; }
  await waitExit(pid, 2000);
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

/**
 * An exclusive lock file holding the owner's PID; a lock whose owner died is taken over.
 */
export async function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  // callers in this process queue in memory (no polling); the file lock is for other processes
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const before = queues.get(name) ?? Promise.resolve();
  const mine = before.then(() => gate);
  queues.set(name, mine);
  await before;
  try {
    return await fileLock(name, fn, timeoutMs);
  } finally {
    release();
    if (queues.get(name) === mine) queues.delete(name);
  }
}

const queues = new Map<string, Promise<void>>();

async function fileLock<T>(name: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const file = join(paths.run, 'locks', `${name}.lock`);
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // the idle run folder was just removed by another command
      if (code !== 'EEXIST') throw e;
      let owner = 0;
      try { owner = Number.parseInt(readFileSync(file, 'utf8'), 10); } catch { /* being written or just removed */ }
      if (owner && !isAlive(owner)) {
        removeInside(paths.run, file);
        continue;
      }
      if (Date.now() > end) {
        throw new LabError(`timed out waiting for the lock ${file} (held by PID ${owner})`,
          'Another postfix-lab command is working on the same lab or network; wait for it, or remove the lock file if that process is gone.');
      }
      await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    try { unlinkSync(file); } catch { /* already gone */ }
    // leave nothing under /run when idle: these only succeed when empty
    try { rmdirSync(dirname(file)); rmdirSync(paths.run); } catch { /* still in use */ }
  }
}
