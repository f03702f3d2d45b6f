/** Processes on this machine that a driver started: checked by PID *and* command line before any signal. */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

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
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitExit(pid, ms)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitExit(pid, 2000);
}

/** Clock ticks since boot when the process started (field 22 of /proc/PID/stat); undefined off Linux. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Alive, and still the process that started at `started` (so a recycled PID is not taken for it). */
export function isSameProcess(pid: number, started: string | undefined): boolean {
  if (!isAlive(pid)) return false;
  const now = startTime(pid);
  return !(started && now && now !== started);
}
