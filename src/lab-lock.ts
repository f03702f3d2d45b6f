/**
 * One lab:up per lab at a time: a lock file in the lab's state folder holding the PID (and the process's start
 * time, so a recycled PID is not taken for the owner). A second lab:up refuses at once, naming the first's PID;
 * a lock left by a process that is gone is taken over.
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';

/** Clock ticks since boot when the process started (field 22 of /proc/PID/stat); undefined off Linux. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return !(started && now && now !== started);
}

/** Take the lab's lock or throw; returns the release function. */
export function lockLab(stateDir: string, lab: string, what = 'lab:up'): () => void {
  const path = join(stateDir, 'lock');
  const mine = `${process.pid} ${startTime(process.pid) ?? ''} ${what}\n`;
  const tmp = `${path}.${process.pid}`;
  writeFileSync(tmp, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, path); // atomic: exactly one process creates the lock
        return () => {
          try {
            if (readFileSync(path, 'utf8') === mine) rmSync(path, { force: true });
          } catch {
            /* already gone */
          }
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let held = '';
      try {
        held = readFileSync(path, 'utf8');
      } catch {
        continue; /* released meanwhile */
      }
      const [pidText, started, holder] = held.trim().split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && alive(pid, started || undefined)) {
        throw new LabError(
          `lab ${lab} is busy: ${holder ?? 'another lab:up'} (PID ${pid}) is running on it`,
          `Wait for it to finish, or stop it (Ctrl-C in its terminal, or \`kill -INT ${pid}\`); it resumes where it stopped. The lock is ${path}.`,
        );
      }
      rmSync(path, { force: true }); // left by a process that is gone (killed, or the machine rebooted)
    }
    throw new LabError(`could not take the lock ${path}`, 'Another process keeps creating it; is a lab:up loop running?');
  } finally {
    rmSync(tmp, { force: true });
  }
}
