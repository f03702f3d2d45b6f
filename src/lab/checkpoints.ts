/**
 * Snapshots with their journal, and the course's checkpoints. A snapshot of the disk alone would leave the journal
 * saying steps are done that the restored disk never saw; so every save keeps a copy of the journal beside the
 * lab's state (.lab/<name>/snapshots/<snap>.journal.jsonl, removed with the lab) and every restore puts it back.
 *
 * lab:up takes a checkpoint `start-S` at the start of every course section S (course/sections.yaml) it is about
 * to build, on drivers whose snapshots are cheap (container: layered, no copy). It never takes one of a lab that
 * has already gone past S: a checkpoint is the lab exactly as the runbook leaves it after the sections before S.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Driver, DriverContext } from '../drivers/types.js';
import { InputError } from '../errors.js';
import { type Journal, type JournalRecord, readJsonLines } from '../runbook/journal.js';
import { type Plan, sectionOfStep } from '../runbook/plan.js';
import type { LabState } from './state.js';

export const checkpointName = (section: string) => `start-${section}`;
export const isCheckpoint = (name: string) => /^start-\d(\.\d)?$/.test(name);

/**
 * Drivers on which lab:up checkpoints by itself: the container driver (a layered snapshot of the lab as it runs,
 * held still for the copy: no stop, no boot, the connection lives on) and vagrant (`vagrant snapshot save`: the
 * provider's snapshot of the VM, libvirt or VirtualBox).
 * Existing hosts (the ssh driver) have no snapshots.
 */
export const checkpointsByDefault = (d: Driver) => d.name === 'container' || d.name === 'vagrant';

export interface SnapshotPlace {
  driver: Driver;
  ctx: DriverContext;
  state: LabState;
}

const journalCopy = (state: LabState, name: string) => join(state.dir, 'snapshots', `${name}.journal.jsonl`);

/** The journal as a snapshot keeps it: a run still going when it was taken is marked as ended there (partial). */
function journalAtSave(journal: string): string {
  if (!existsSync(journal)) return '';
  const recs = readJsonLines<JournalRecord>(journal);
  const open = recs.filter((r) => r.type === 'run').filter((r) => !recs.some((e) => e.type === 'end' && e.runId === r.runId));
  const ends = open.map((r) => JSON.stringify({ type: 'end', runId: r.runId, result: 'partial', at: new Date().toISOString() }));
  return [...recs.map((r) => JSON.stringify(r)), ...ends].map((l) => `${l}\n`).join('');
}

export async function saveSnapshot(p: SnapshotPlace, name: string): Promise<string[]> {
  if (!p.driver.snapshot) throw new InputError(`the ${p.driver.name} driver has no snapshots`, 'Snapshots exist for the container and vagrant drivers.');
  const journal = journalAtSave(p.state.journalFile);
  const list = await p.driver.snapshot(p.ctx, 'save', name);
  mkdirSync(join(p.state.dir, 'snapshots'), { recursive: true, mode: 0o700 });
  writeFileSync(journalCopy(p.state, name), journal, { mode: 0o600 });
  return list;
}

export async function restoreSnapshot(p: SnapshotPlace, name: string): Promise<string[]> {
  if (!p.driver.snapshot) throw new InputError(`the ${p.driver.name} driver has no snapshots`, 'Snapshots exist for the container and vagrant drivers.');
  const list = await p.driver.snapshot(p.ctx, 'restore', name);
  const copy = journalCopy(p.state, name);
  if (existsSync(copy)) copyFileSync(copy, p.state.journalFile);
  return list;
}

/**
 * Save the lab as `save`, then restore `restore` (course start: the learner's lab kept, the checkpoint back): on a
 * driver that can, with one stop and one boot. The saved journal's copy is written first (without its snapshot it
 * is never read).
 */
export async function saveAndRestore(p: SnapshotPlace, save: string, restore: string): Promise<string[]> {
  if (!p.driver.saveAndRestore) {
    await saveSnapshot(p, save);
    return restoreSnapshot(p, restore);
  }
  mkdirSync(join(p.state.dir, 'snapshots'), { recursive: true, mode: 0o700 });
  writeFileSync(journalCopy(p.state, save), journalAtSave(p.state.journalFile), { mode: 0o600 });
  const list = await p.driver.saveAndRestore(p.ctx, save, restore);
  const copy = journalCopy(p.state, restore);
  if (existsSync(copy)) copyFileSync(copy, p.state.journalFile);
  return list;
}

/** The sections whose start the lab has gone past: a step of theirs or of a later one is in the journal. */
export function sectionsPassed(plan: Plan, journal: Journal): Set<string> {
  const order = plan.roles.flatMap((r) => r.steps);
  const finished = journal.finished();
  const last = order.map((s, i) => (finished.has(s.id) ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
  return new Set(order.slice(0, last + 1).map(sectionOfStep));
}

/**
 * lab:up's per-section hook: checkpoint the lab at the start of each section it has not built yet; with `stopAt`,
 * end the run at the start of that section (after its checkpoint).
 */
export function checkpointHook(
  p: SnapshotPlace & { plan: Plan; journal: Journal; reconnect(): Promise<void>; stopAt?: string },
): (section: string) => Promise<void | 'stop'> {
  return async (section) => {
    const stop = section === p.stopAt ? ('stop' as const) : undefined;
    if (!checkpointsByDefault(p.driver) || sectionsPassed(p.plan, p.journal).has(section)) return stop;
    const name = checkpointName(section);
    if ((await p.driver.snapshot!(p.ctx, 'list')).includes(name)) return stop;
    const t0 = Date.now();
    await saveSnapshot(p, name);
    await p.reconnect();
    p.ctx.progress(`checkpoint ${name} taken (${((Date.now() - t0) / 1000).toFixed(1)}s): \`npm run course -- start ${section}\` comes back here`);
    return stop;
  };
}
