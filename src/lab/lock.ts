/** One lab:up per lab at a time: the lab's lock file (.lab/<name>/lock), taken with the one PID-file lock. */
import { join } from 'node:path';
import { takeLock } from '../drivers/local/lock.js';
import { LabError } from '../errors.js';

/** Take the lab's lock or throw, naming the PID that holds it; returns the release function. */
export function lockLab(stateDir: string, lab: string, what = 'lab:up'): () => void {
  const path = join(stateDir, 'lock');
  return takeLock(
    path,
    what,
    (pid, holder) =>
      new LabError(
        `lab ${lab} is busy: ${holder} (PID ${pid}) is running on it`,
        `Wait for it to finish, or stop it (Ctrl-C in its terminal, or \`kill -INT ${pid}\`); it resumes where it stopped. The lock is ${path}.`,
      ),
  );
}
