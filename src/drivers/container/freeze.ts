/**
 * Holding a running lab still: cgroup v2's freezer (`cgroup.freeze`) on the lab's payload cgroup (nspawn.ts places
 * it in postfix-lab/<netns>). Frozen processes keep their memory, sockets and TCP connections; they simply do not
 * run. A snapshot copies the disk while the lab is frozen (layers.ts saveRunningSnapshot), so what it copies is
 * one instant of the lab, as a stop would leave it, without the stop and the boot.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from '../../errors.js';
import { labCgroups } from './nspawn.js';

/** The lab's cgroup with a freezer: its payload (the container's processes), else the whole lab; none on cgroup v1 alone. */
export function freezeFile(netns: string): string | undefined {
  for (const cg of labCgroups(netns)) {
    for (const d of [join(cg, 'payload'), cg]) if (existsSync(join(d, 'cgroup.freeze'))) return join(d, 'cgroup.freeze');
  }
  return undefined;
}

const frozen = (file: string) => /^frozen 1$/m.test(readFileSync(join(file, '..', 'cgroup.events'), 'utf8'));

/** Run `fn` with the lab's processes frozen; they run again afterwards, whatever `fn` does. */
export async function whileFrozen<T>(lab: string, file: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  writeFileSync(file, '1');
  try {
    const until = Date.now() + timeoutMs;
    while (!frozen(file)) {
      if (Date.now() > until) {
        throw new LabError(
          `lab ${lab} could not be held still for its snapshot within ${timeoutMs / 1000} s (a process in it does not stop)`,
          'Nothing was saved. Run the snapshot again, or `npm run lab:halt` first: a stopped lab is saved without freezing.',
        );
      }
      await sleep(5);
    }
    return await fn();
  } finally {
    writeFileSync(file, '0');
  }
}

/** Thaw a lab an interrupted snapshot left frozen (the process that froze it was killed); true when it was frozen. */
export function thawIfFrozen(netns: string): boolean {
  const file = freezeFile(netns);
  if (!file || readFileSync(file, 'utf8').trim() !== '1') return false;
  writeFileSync(file, '0');
  return true;
}
