/**
 * The one PID-file lock: an exclusive file holding its owner's PID, created atomically; a lock whose owner died is
 * taken over. `withLock` waits its turn (callers in this process queue in memory, other processes poll); `takeLock`
 * refuses at once when a live process holds it (one lab:up per lab).
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from '../../errors.js';
import { removeInside } from '../../lab/names.js';
import { isAlive, isSameProcess, startTime } from './processes.js';

export interface LockOptions {
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  pollMs?: number;
  /** Called once when another live process holds the lock. */
  onWait?: (ownerPid: number) => void;
  /** Runs after the lock file is removed (e.g. removing folders left empty). */
  after?: () => void;
}

const queues = new Map<string, Promise<void>>();

export async function withLock<T>(file: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const before = queues.get(file) ?? Promise.resolve();
  const mine = before.then(() => gate);
  queues.set(file, mine);
  await before;
  try {
    await acquire(file, o);
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
      o.after?.();
    }
  } finally {
    release();
    if (queues.get(file) === mine) queues.delete(file);
  }
}

/** The PID holding `file`, when that process is alive. */
export function lockOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function acquire(file: string, o: LockOptions): Promise<void> {
  const end = Date.now() + (o.timeoutMs ?? 600_000);
  let told = false;
  for (;;) {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // the folder was just removed by another command going idle
      if (code !== 'EEXIST') throw e;
      let owner = 0;
      try {
        owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      } catch {
        /* being written or just removed */
      }
      if (owner && !isAlive(owner)) {
        removeInside(dirname(file), file);
        continue;
      }
      if (owner && !told) {
        told = true;
        o.onWait?.(owner);
      }
      if (Date.now() > end) {
        throw new LabError(
          `timed out waiting for the lock ${file} (held by PID ${owner})`,
          'Another postfix-lab command is working on the same lab, box or network; wait for it, or remove the lock file if that process is gone.',
        );
      }
      await sleep(o.pollMs ?? 20);
    }
  }
}

/**
 * Take the lock now or throw `busy(pid, holder)` when a live process holds it; returns the release. The file holds
 * "PID START-TIME WHAT" and is created by a link, so nobody ever reads it half-written.
 */
export function takeLock(file: string, what: string, busy: (pid: number, holder: string) => Error): () => void {
  const mine = `${process.pid} ${startTime(process.pid) ?? ''} ${what}\n`;
  const tmp = `${file}.${process.pid}`;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(tmp, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, file); // atomic: exactly one process creates the lock
        return () => {
          try {
            if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
          } catch {
            /* already gone */
          }
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let held = '';
      try {
        held = readFileSync(file, 'utf8');
      } catch {
        continue; // released meanwhile
      }
      const [pidText, started, holder] = held.trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && isSameProcess(pid, started || undefined)) throw busy(pid, holder ?? what);
      removeInside(dirname(file), file); // left by a process that is gone (killed, or the machine rebooted)
    }
    throw new LabError(`could not take the lock ${file}`, 'Another process keeps creating it; is a loop of the same command running?');
  } finally {
    rmSync(tmp, { force: true });
  }
}
