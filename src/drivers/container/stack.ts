/**
 * The pure part of layered snapshots (no I/O): the records, what a half-done save or restore means, which layers are
 * still referenced, and the overlay option string with its length limit. The I/O is in layers.ts.
 */
import { LabError } from '../../errors.js';

/**
 * `disk/stack.json`: the frozen layers under the lab's upper layer, top first (ids of folders in `layers/`).
 * `pending` is the intent of a save or restore in progress (see layers.ts); absent when the record is settled.
 */
export interface StackRecord {
  layers: string[];
  pending?: { op: 'freeze'; id: string } | { op: 'restore'; layers: string[] };
}

/** `snapshots/<name>/snapshot.json`. `layers` absent: the old format (a copied `upper/` beside it). */
export interface SnapshotRecord {
  name: string;
  taken: string;
  layers?: string[];
}

/** What the disk looks like on the host, for settle(). */
export interface DiskFacts {
  layerExists: (id: string) => boolean;
}

/** How to finish (or undo) a half-done operation so that the record is settled again. */
export type Settle =
  | { do: 'nothing' }
  /** a freeze whose mv did not happen: drop the intent (the old state) */
  | { do: 'drop-intent'; record: StackRecord }
  /** a freeze whose mv happened: record the layer (the new state) and make an empty upper */
  | { do: 'finish-freeze'; record: StackRecord }
  /** a restore: discard whatever is left of the upper, take the snapshot's layers, make an empty upper */
  | { do: 'finish-restore'; record: StackRecord };

export function settle(s: StackRecord, f: DiskFacts): Settle {
  const p = s.pending;
  if (!p) return { do: 'nothing' };
  if (p.op === 'restore') return { do: 'finish-restore', record: { layers: p.layers } };
  // the id is new (checked before the intent is written), so its folder exists only when the mv happened
  if (f.layerExists(p.id)) return { do: 'finish-freeze', record: { layers: [p.id, ...s.layers] } };
  return { do: 'drop-intent', record: { layers: s.layers } };
}

/** Layer folders no snapshot and no current stack (or pending intent) refers to. */
export function unreferenced(entries: string[], stack: StackRecord, snapshots: SnapshotRecord[]): string[] {
  const keep = new Set(stack.layers);
  if (stack.pending?.op === 'freeze') keep.add(stack.pending.id);
  if (stack.pending?.op === 'restore') for (const l of stack.pending.layers) keep.add(l);
  for (const s of snapshots) for (const l of s.layers ?? []) keep.add(l);
  return entries.filter((e) => !keep.has(e)).sort();
}

/** A new layer id: time-ordered, short (every character counts against the mount option limit). */
export function newLayerId(now = Date.now(), rand = Math.random()): string {
  return `${now.toString(36)}${Math.floor(rand * 36 ** 3)
    .toString(36)
    .padStart(3, '0')}`;
}

export const isLayerId = (s: string) => /^[0-9a-z]{6,16}$/.test(s);

/** The kernel copies mount options into one page; the string with its final NUL must fit. */
export const MOUNT_OPTIONS_MAX = 4095;
/** overlayfs' own limit on lower layers (OVL_MAX_STACK). */
export const OVERLAY_MAX_STACK = 500;

export interface OverlayPaths {
  /** the frozen layers' folders, top first */
  layers: string[];
  base: string;
  upper: string;
  work: string;
}

export const overlayOptions = (p: OverlayPaths) => `lowerdir=${[...p.layers, p.base].join(':')},upperdir=${p.upper},workdir=${p.work}`;

/** How many layers of `layerPath` length fit beside these paths (for the error's hint and the docs). */
export function layersThatFit(p: Omit<OverlayPaths, 'layers'>, layerPath: string): number {
  const fixed = overlayOptions({ ...p, layers: [] }).length;
  return Math.min(OVERLAY_MAX_STACK - 1, Math.floor((MOUNT_OPTIONS_MAX - fixed) / (layerPath.length + 1)));
}

/** The option string, or a LabError (before anything is mounted) when the stack is too deep for the kernel. */
export function checkedOverlayOptions(p: OverlayPaths): string {
  const opts = overlayOptions(p);
  if (opts.length <= MOUNT_OPTIONS_MAX && p.layers.length + 1 <= OVERLAY_MAX_STACK) return opts;
  const fit = layersThatFit(p, p.layers[0] ?? '');
  throw new LabError(
    `the lab's disk has ${p.layers.length} snapshot layers: too many for one overlay mount (its options are ${opts.length} characters, the kernel takes ${MOUNT_OPTIONS_MAX}; about ${fit} layers fit with these paths)`,
    'Restore an older snapshot (fewer layers) or delete snapshots you no longer need (`npm run lab:snapshot -- delete NAME`), or use a shorter POSTFIX_LAB_HOME.',
  );
}
