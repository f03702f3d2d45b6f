/**
 * npm run bench -- snapshot [--lab FILE]: layered snapshots of a finished debian12 container lab (brought up first if
 * needed). Three rounds of save A, save B, restore A, restore B through the driver (as `course` calls it), each split
 * into stop / disk / boot from the driver's progress lines; du of each snapshot's own layer. Side by side: the old
 * approach's disk work (a `cp -a` of the lab's whole writable data per save and again per restore, same file system)
 * plus the same stop and boot. Target: restore <= 2 s.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { containerDriver as driver } from '../src/drivers/container/index.js';
import { layout } from '../src/drivers/container/disk.js';
import { readSnapshot } from '../src/drivers/container/layers.js';
import { removeTree } from '../src/drivers/container/sys.js';
import { labUp, openLab } from '../src/lab/ops.js';
import { Emitter } from '../src/output/events.js';
import { labState } from '../src/lab/state.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const r2 = (x: number) => Math.round(x * 100) / 100;
const duMiB = (p: string) => Number(execFileSync('du', ['-sm', p], { encoding: 'utf8' }).split('\t')[0]);

export async function benchSnapshot(labFile = 'labs/debian12-container.yaml', rounds = 3): Promise<Record<string, number>> {
  const recap = await labUp({ labFile, events: new Emitter() });
  if (recap.failed) throw new Error(`lab:up failed at ${recap.failedStep}: the lab is not finished, nothing to time`);
  const lab = openLab({ labFile });
  const state = labState(lab.name);
  let marks: [string, number][] = [];
  const ctx = { lab, state, progress: (m: string) => marks.push([m.split(' ')[0]!, performance.now()]) };
  const timed = async (action: 'save' | 'restore', name: string) => {
    marks = [];
    const t0 = performance.now();
    await driver.snapshot!(ctx, action, name);
    const t = (w: string) => marks.find(([m]) => m === w)?.[1] ?? t0;
    const disk = t(action === 'save' ? 'saving' : 'restoring');
    const boot = t('booting');
    return { total: (performance.now() - t0) / 1000, stop: (disk - t(`stopping`)) / 1000, disk: (boot - disk) / 1000, boot: (performance.now() - boot) / 1000 };
  };
  const runs: Record<string, ReturnType<typeof timed> extends Promise<infer T> ? T[] : never> = { save: [], restore: [] };
  for (let i = 0; i < rounds; i++) {
    runs.save!.push(await timed('save', 'bench-a'));
    runs.save!.push(await timed('save', 'bench-b'));
    runs.restore!.push(await timed('restore', 'bench-a'));
    runs.restore!.push(await timed('restore', 'bench-b'));
  }
  const m = (a: 'save' | 'restore', k: 'total' | 'stop' | 'disk' | 'boot') => r2(median(runs[a]!.map((x) => x[k])));
  const driverDir = state.driverDir;
  const layersOf = (n: string) => readSnapshot(layout(driverDir, state.root), n)?.layers ?? [];
  const own = layersOf('bench-b')[0];
  const perSnapshotMiB = own ? duMiB(join(driverDir, 'layers', own)) : Number.NaN;
  // the old approach: copy the lab's whole writable data (every layer of B plus the upper) once per save or restore
  const scratch = join(driverDir, 'bench-copy');
  await removeTree(state.root, scratch);
  const src = layersOf('bench-b').map((l) => join(driverDir, 'layers', l));
  const t0 = performance.now();
  execFileSync('mkdir', ['-p', scratch]);
  for (const s of src) execFileSync('cp', ['-a', s, join(scratch, 'x')]);
  const copy = (performance.now() - t0) / 1000;
  const copyMiB = duMiB(scratch);
  await removeTree(state.root, scratch);
  for (const n of ['bench-a', 'bench-b']) await driver.snapshot!(ctx, 'delete', n);
  const oldRestore = r2(m('restore', 'stop') + copy + m('restore', 'boot'));
  const oldSave = r2(m('save', 'stop') + copy + m('save', 'boot'));
  process.stdout.write(
    `snapshot: save ${m('save', 'total')} s (stop ${m('save', 'stop')}, disk ${m('save', 'disk')}, boot ${m('save', 'boot')}), ` +
      `restore ${m('restore', 'total')} s (stop ${m('restore', 'stop')}, disk ${m('restore', 'disk')}, boot ${m('restore', 'boot')}); target restore <= 2 s\n` +
      `  per snapshot ${perSnapshotMiB} MiB own layer vs ${copyMiB} MiB copied; old copy approach: save ~${oldSave} s, restore ~${oldRestore} s (cp -a ${r2(copy)} s)\n`,
  );
  return {
    save_s: m('save', 'total'),
    restore_s: m('restore', 'total'),
    restore_stop_s: m('restore', 'stop'),
    restore_disk_s: m('restore', 'disk'),
    restore_boot_s: m('restore', 'boot'),
    save_stop_s: m('save', 'stop'),
    copy_s: r2(copy),
    old_save_s: oldSave,
    old_restore_s: oldRestore,
    restore_ratio: r2(oldRestore / m('restore', 'total')),
    save_ratio: r2(oldSave / m('save', 'total')),
    snapshot_mib: perSnapshotMiB,
    copy_mib: copyMiB,
  };
}
