/**
 * A copy-on-write clone of a container lab's checkpoint (class:up). The clone gets its own state folder, its own
 * empty upper layer, and its own `layers/` folder whose layers are trees of the source's frozen layers with usr/
 * hard-linked (the files' data shared: the bulk of a layer is not copied; see linkLayer for the rest), and since
 * each lab owns its links, a layer GC or `lab:down` of the source or of any clone removes only that lab's links, never data another
 * lab still uses. Frozen layers are never written (overlayfs copies a file up into the upper before changing it),
 * so the shared files never change. The source's snapshots named in `carry` come along (records and journals), so
 * `course start` on the clone goes back to them like on any lab.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../errors.js';
import { ensureStateDirs, type LabState } from '../../lab/state.js';
import type { PortForward } from '../../lab/lab-file.js';
import { mountDisk, unmountDisk } from './disk.js';
import { imageForKey } from './image.js';
import { type LayerEdit, LayerView, writeLayer } from './layer-edit.js';
import { freeLayerId, readSnapshot, readStack, stackPaths, writeAtomic } from './layers.js';
import { labRef, readMeta, writeMeta } from './lifecycle.js';
import { linkLayer } from './links.js';
import { checkedOverlayOptions, type SnapshotRecord } from './stack.js';
import { removeTree, run } from './sys.js';

const journalCopy = (s: LabState, snap: string) => join(s.dir, 'snapshots', `${snap}.journal.jsonl`);

export interface CloneOptions {
  /** The source's snapshot the clone starts from. */
  from: string;
  /** The source's snapshots the clone keeps too (e.g. the earlier checkpoints). */
  carry: string[];
  ports: PortForward[];
}

/** Make `clone` (a lab that does not exist yet) from `source`'s snapshot; the clone is stopped, its disk not mounted. */
export async function cloneLab(source: LabState, clone: LabState, o: CloneOptions): Promise<void> {
  const src = labRef(source);
  const dst = labRef(clone);
  const meta = readMeta(src);
  if (!meta) throw new LabError(`lab ${source.name} has no container disk to clone`, `Build it first: npm run lab:up -- --name ${source.name}`);
  const names = [...new Set([o.from, ...o.carry])];
  const recs = names.map((n) => readSnapshot(src.disk, n));
  const missing = names.filter((_, i) => !recs[i]?.layers);
  if (missing.length) throw new LabError(`lab ${source.name} has no snapshot ${missing.join(', ')} to clone`, 'Run class:up again: it builds them.');
  const records = recs as Required<SnapshotRecord>[];
  ensureStateDirs(clone);
  mkdirSync(dst.disk.layers, { recursive: true, mode: 0o700 });
  for (const id of new Set(records.flatMap((r) => r.layers))) {
    const to = join(dst.disk.layers, id);
    if (existsSync(to)) continue;
    const tmp = `${to}.tmp`; // not a layer id: a crash leaves it for gc
    await removeTree(dst.home, tmp);
    await linkLayer(join(src.disk.layers, id), tmp);
    renameSync(tmp, to);
  }
  for (const p of [dst.disk.upper, dst.disk.work]) mkdirSync(p, { recursive: true, mode: 0o755 });
  for (const r of records) {
    mkdirSync(join(dst.disk.snapshots, r.name), { recursive: true, mode: 0o700 });
    writeAtomic(dst.home, join(dst.disk.snapshots, r.name, 'snapshot.json'), r);
    if (existsSync(journalCopy(source, r.name))) {
      mkdirSync(join(clone.dir, 'snapshots'), { recursive: true, mode: 0o700 });
      copyFileSync(journalCopy(source, r.name), journalCopy(clone, r.name));
    }
  }
  const start = records[0]!;
  writeAtomic(dst.home, dst.disk.stack, { layers: start.layers });
  if (existsSync(journalCopy(source, start.name))) copyFileSync(journalCopy(source, start.name), clone.journalFile);
  // booted: the disk has been booted before (its journal is kept; lab:up does not start a new one)
  writeMeta(dst, {
    name: clone.name,
    netns: dst.netns,
    baseKey: meta.baseKey,
    mirror: meta.mirror,
    created: new Date().toISOString(),
    booted: true,
    halted: true,
    ports: o.ports,
  });
}

/** Run `fn` with the (stopped) lab's disk mounted on the host at its root folder: to write into its upper layer. */
export async function withDiskMounted<T>(state: LabState, fn: (root: string) => Promise<T>): Promise<T> {
  const r = labRef(state);
  const meta = readMeta(r);
  const base = meta && imageForKey(meta.baseKey);
  if (!base) throw new LabError(`lab ${state.name}: the base image of its disk is gone`, 'Run `npm run class:down` and `npm run class:up` again.');
  await mountDisk(base.rootfs, r.disk);
  try {
    return await fn(r.disk.root);
  } finally {
    await unmountDisk(r.disk);
  }
}

/** Snapshot `name` of the (stopped) lab as its files are, read on the host through its layers (layer-edit.ts). */
export function snapshotView(state: LabState, name: string, o: { base?: string } = {}): LayerView {
  const r = labRef(state);
  const base = o.base ?? imageForKey(readMeta(r)?.baseKey ?? '')?.rootfs;
  if (!base) throw new LabError(`lab ${state.name}: the base image of its disk is gone`, 'Run `npm run class:down` and `npm run class:up` again.');
  const rec = readSnapshot(r.disk, name);
  if (!rec?.layers) throw new LabError(`lab ${state.name} has no snapshot ${name}`, 'Run class:down, then class:up again.');
  return new LayerView([...stackPaths(r.disk, { layers: rec.layers }), base]);
}

/**
 * Put one new frozen layer on each of the (stopped) lab's snapshots: `edit(name)`'s files, written straight into a
 * layer folder (no restore, mount or save), the snapshot's record then [that layer, ...its layers]; `base`: the base image's root (default: the lab's). The snapshot the
 * lab's stack is at gets its new stack too. For a lab no one uses yet (a clone before its first boot): a crash leaves
 * a layer folder no record names (removed by the next gc) or a snapshot with its layer.
 */
export async function layerOnSnapshots(
  state: LabState,
  names: string[],
  edit: (name: string, view: LayerView) => LayerEdit,
  o: { base?: string } = {},
): Promise<void> {
  const r = labRef(state);
  const stack = readStack(r.disk);
  for (const name of names) {
    const view = snapshotView(state, name, o);
    const rec = readSnapshot(r.disk, name)!;
    const id = freeLayerId(r.disk);
    const layers = [id, ...(rec.layers ?? [])];
    checkedOverlayOptions({ layers: layers.map((l) => join(r.disk.layers, l)), base: view.dirs.at(-1)!, upper: r.disk.upper, work: r.disk.work });
    const tmp = join(r.disk.layers, `${id}.tmp`); // not a layer id: a crash leaves it for gc
    await writeLayer(view, edit(name, view), tmp);
    renameSync(tmp, join(r.disk.layers, id));
    writeAtomic(r.home, join(r.disk.snapshots, name, 'snapshot.json'), { ...rec, layers } satisfies SnapshotRecord);
    if (!stack.pending && JSON.stringify(stack.layers) === JSON.stringify(rec.layers)) writeAtomic(r.home, r.disk.stack, { layers });
  }
}

/** du of the lab's upper layer in KiB (what a clone costs on top of its shared layers). */
export async function upperKiB(state: LabState): Promise<number> {
  const r = labRef(state);
  const out = await run`du -sk ${r.disk.upper}`;
  return Number(out.split(/\s/)[0]);
}
