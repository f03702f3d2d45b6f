/**
 * The learner's commands: start a section (from its checkpoint, or built up to it), solve it with the runbook, take
 * a challenge. Nothing a learner did is lost: before anything replaces the lab's disk, its state is saved as a
 * snapshot named after the time (mine-YYYYMMDD-HHMMSS), and the output says how to go back to it.
 */
import { existsSync } from 'node:fs';
import { InputError, LabError } from '../errors.js';
import type { Emitter } from '../output/events.js';
import type { Recap } from '../runbook/engine.js';
import { checkpointName, saveAndRestore, saveSnapshot, type SnapshotPlace } from '../lab/checkpoints.js';
import { lockLab } from '../lab/lock.js';
import { labUp, openLab, type LabRef } from '../lab/ops.js';
import { labOnDisk, withSession } from '../lab/session.js';
import { labState } from '../lab/state.js';
import { findBreak } from './breaks.js';
import { recordProgress } from './progress.js';
import { findSection, sectionsBefore } from './sections.js';

export interface CourseOptions extends LabRef {
  events: Emitter;
  signal?: AbortSignal;
}

const stamp = (d = new Date()) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

export interface StartResult {
  section: string;
  /** How the lab got there: its checkpoint, or the runbook from an earlier one (or from nothing). */
  from: 'checkpoint' | 'built';
  /** The learner's state before, saved as this snapshot. */
  saved?: string;
  builtFrom?: string;
  durationMs: number;
}

/** `course start S`: the lab at the start of section S. */
export async function courseStart(o: CourseOptions & { section: string }): Promise<StartResult> {
  const t0 = Date.now();
  const target = findSection(o.section);
  const lab = openLab(o);
  const exists = existsSync(labState(lab.name).metaFile);
  let saved: string | undefined;
  let builtFrom: string | undefined;
  if (exists) {
    const { state, driver, ctx } = await labOnDisk(o);
    if (!driver.snapshot)
      throw new InputError(`the ${driver.name} driver has no snapshots, so the course cannot reset this lab`, 'Use the container or vagrant driver.');
    const place: SnapshotPlace = { driver, ctx, state };
    const unlock = lockLab(state.dir, lab.name);
    try {
      const have = await driver.snapshot(ctx, 'list');
      saved = `mine-${stamp()}`;
      o.events.emit({ event: 'info', message: `saving your lab as it is now: snapshot ${saved}` });
      if (have.includes(checkpointName(target.id))) {
        o.events.emit({ event: 'info', message: `restoring checkpoint ${checkpointName(target.id)}` });
        await saveAndRestore(place, saved, checkpointName(target.id));
      } else {
        const earlier = [...sectionsBefore(target.id)].reverse().find((s) => have.includes(checkpointName(s.id)));
        if (!earlier) {
          await saveSnapshot(place, saved);
          throw new LabError(
            `lab ${lab.name} has no checkpoint at or before section ${target.id}`,
            `It was built before checkpoints existed, or on a driver without them. Your lab is saved as snapshot ${saved}. ` +
              '`npm run lab:down` then `npm run course -- start ' +
              target.id +
              '` builds a lab that has them.',
          );
        }
        o.events.emit({ event: 'info', message: `no checkpoint for ${target.id} yet: from ${checkpointName(earlier.id)}, building the sections in between` });
        await saveAndRestore(place, saved, checkpointName(earlier.id));
        builtFrom = earlier.id;
      }
    } finally {
      unlock();
    }
  }
  if (!exists || builtFrom) {
    // The runbook up to the start of the section; lab:up checkpoints every section on the way.
    const recap = await labUp({ ...o, stopAt: target.id });
    failIfFailed(recap, `building the lab up to section ${target.id}`);
    await ensureCheckpoint(o, target.id);
  }
  const state = labState(lab.name);
  recordProgress(state, { type: 'start', section: target.id, at: new Date().toISOString(), from: builtFrom || !exists ? 'built' : 'checkpoint', saved });
  return { section: target.id, from: builtFrom || !exists ? 'built' : 'checkpoint', saved, builtFrom, durationMs: Date.now() - t0 };
}

/** Drivers whose snapshots are not cheap (vagrant) get the section's checkpoint once it has been built. */
async function ensureCheckpoint(o: CourseOptions, section: string): Promise<void> {
  const { state, driver, ctx } = await labOnDisk(o);
  const unlock = lockLab(state.dir, openLab(o).name);
  try {
    if (!(await driver.snapshot!(ctx, 'list')).includes(checkpointName(section))) await saveSnapshot({ driver, ctx, state }, checkpointName(section));
  } finally {
    unlock();
  }
}

function failIfFailed(recap: Recap, what: string): void {
  if (recap.interrupted) throw new LabError(`${what} was interrupted`, 'Run the same course command again: it goes on from there.', 130);
  if (recap.failed)
    throw new LabError(
      `${what} stopped at ${recap.failedStep ?? 'a step'}`,
      "The step's message and log are above; fix it and run the command again.",
      recap.error?.exitCode ?? 1,
    );
}

/** `course solve S`: the runbook for the section (the learner's "show me"), with its diffs. */
export async function courseSolve(o: CourseOptions & { section: string }): Promise<Recap> {
  const target = findSection(o.section);
  const recap = await labUp({ ...o, selection: { section: target.id } });
  failIfFailed(recap, `solving section ${target.id}`);
  recordProgress(labState(openLab(o).name), { type: 'solve', section: target.id, at: new Date().toISOString(), changed: recap.changed });
  return recap;
}

/** `course break NAME`: one challenge from course/breaks.yaml, on the lab as it is. */
export async function courseBreak(o: CourseOptions & { challenge: string }): Promise<{ section: string; story: string }> {
  return withSession(o, async (s) => {
    const b = findBreak(o.challenge, s.lab.platform);
    const r = await s.host.exec(b.break, { sudo: true, timeoutMs: 120_000 });
    if (r.code !== 0)
      throw new LabError(
        `the challenge ${b.name} could not be set up (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`,
        'Challenges expect a finished lab: `npm run course -- start 4.6` then `npm run course -- solve 4.6`, or `npm run lab:up`.',
      );
    recordProgress(s.state, { type: 'break', section: b.section, name: b.name, at: new Date().toISOString() });
    return { section: b.section, story: b.story };
  });
}
