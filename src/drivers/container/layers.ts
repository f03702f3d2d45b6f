/**
 * Layered snapshots of a (stopped, unmounted) lab disk. The disk is an overlay:
 *   lowerdir = layers/<top>:...:layers/<bottom>:<base image>, upperdir = disk/upper
 * `disk/stack.json` lists the frozen layers (top first); each snapshot's `snapshots/<name>/snapshot.json` lists its.
 * Frozen layers are never written again; several snapshots share them. No disk data is ever copied:
 *   save    = the upper becomes a frozen layer (one rename), a new empty upper above the stack;
 *   restore = the upper is discarded, the stack becomes the snapshot's, a new empty upper.
 * A running lab is saved without a stop (saveRunningSnapshot): its upper is copied into a new layer while the lab
 * is frozen (freeze.ts), the bulk as hard links (links.ts); the lab runs on, on its own stack and upper.
 * Old-format snapshots (a copied `upper/`) are converted on their first restore (one copy, then a layer like others).
 *
 * Crash safety. stack.json and snapshot.json are only ever replaced whole (temp file, fsync, rename). Before a save
 * or restore changes a folder it writes its intent into stack.json (`pending`); every later operation on the disk
 * (mount, save, restore, delete) first settles an unfinished intent (stack.ts settle()):
 *   freeze (save): intent {pending: freeze id} -> mv disk/upper layers/id -> new empty upper -> stack [id, ...].
 *     A crash before the mv leaves no layers/id: the intent is dropped (the old state, upper untouched). A crash
 *     after it: the layer holds the upper's data, so the freeze is finished (the new state). Then snapshot.json.
 *     A crash before snapshot.json: the lab is fine, its data on layers; the snapshot does not exist (save again).
 *   restore: intent {pending: restore layers} (nothing changed yet: a crash before it is the old state) -> the
 *     upper removed -> stack = the snapshot's -> empty upper. After the intent, a crash is finished forwards: the
 *     user asked for the upper to be discarded, and the snapshot's layers are kept by the intent.
 * Layers no stack, intent or snapshot refers to are removed afterwards (gc), each through removeTree (proven inside
 * the lab's state home); a layers folder or a layer that leads outside is refused.
 */
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../errors.js';
import { isSnapshotName, provenInside } from '../../lab/names.js';
import type { DiskLayout } from './disk.js';
import { checkedOverlayOptions, isLayerId, newLayerId, settle, type SnapshotRecord, type StackRecord, unreferenced } from './stack.js';
import { increment, isEmpty, type Scan, scan, writeIncrement } from './increment.js';
import { linkLayer } from './links.js';
import { removeTree, run } from './sys.js';

const DAMAGED = 'Restore another snapshot, or run `npm run lab:down` and `npm run lab:up` to make the lab afresh.';

function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LabError(`${file} cannot be read: ${(e as Error).message}`, DAMAGED);
  }
}

/** Replace `file` whole: a temp file beside it, fsync, rename (a crash leaves the old or the new content). */
export function writeAtomic(home: string, file: string, value: unknown): void {
  provenInside(home, file);
  const tmp = `${file}.tmp`;
  provenInside(home, tmp);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(value) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export const readStack = (d: DiskLayout): StackRecord => readJsonFile<StackRecord>(d.stack) ?? { layers: [] };
const writeStack = (d: DiskLayout, s: StackRecord) => writeAtomic(d.home, d.stack, s);
const layerDir = (d: DiskLayout, id: string) => join(d.layers, id);
const snapDir = (d: DiskLayout, name: string) => join(d.snapshots, name);

export function readSnapshot(d: DiskLayout, name: string): SnapshotRecord | undefined {
  const rec = readJsonFile<SnapshotRecord>(join(snapDir(d, name), 'snapshot.json'));
  if (rec?.layers) return rec;
  if (existsSync(join(snapDir(d, name), 'upper'))) return { name, taken: rec?.taken ?? '' }; // the old format
  return undefined;
}

export function listSnapshots(d: DiskLayout): string[] {
  return existsSync(d.snapshots)
    ? readdirSync(d.snapshots)
        .filter((n) => isSnapshotName(n) && readSnapshot(d, n))
        .sort()
    : [];
}

/** A folder of ours: a real directory (not a symlink) proven inside the state home. */
function realDir(home: string, p: string): boolean {
  const t = provenInside(home, p);
  return !!t && !!lstatSync(t, { throwIfNoEntry: false })?.isDirectory();
}

async function resetWork(d: DiskLayout): Promise<void> {
  await removeTree(d.home, d.work);
  mkdirSync(d.work, { recursive: true, mode: 0o755 });
}

/** Finish or undo a save or restore a crash interrupted (see the header). */
export async function settleDisk(d: DiskLayout): Promise<StackRecord> {
  const s = readStack(d);
  const act = settle(s, { layerExists: (id) => realDir(d.home, layerDir(d, id)) });
  if (act.do === 'nothing') return s;
  if (act.do === 'finish-restore') await removeTree(d.home, d.upper);
  if (act.do !== 'drop-intent') {
    mkdirSync(d.upper, { recursive: true, mode: 0o755 });
    await resetWork(d);
  }
  writeStack(d, act.record);
  return act.record;
}

/** The frozen layers' folders for the overlay, top first; each must be a real folder of ours. */
export function stackPaths(d: DiskLayout, s: StackRecord): string[] {
  return s.layers.map((id) => {
    const p = layerDir(d, id);
    if (!isLayerId(id) || !realDir(d.home, p)) throw new LabError(`the lab's disk layer ${p} is missing or not a folder (${d.stack} lists it)`, DAMAGED);
    return p;
  });
}

/** Refuse (before anything changes) a stack the kernel could not mount. */
function checkDepth(d: DiskLayout, layers: string[], base?: string): void {
  if (base) checkedOverlayOptions({ layers: layers.map((id) => layerDir(d, id)), base, upper: d.upper, work: d.work });
}

/** A layer id no folder has yet, a temp folder beside it (`<id>.tmp`) included. */
export function freeLayerId(d: DiskLayout): string {
  let id = newLayerId();
  while (existsSync(layerDir(d, id)) || existsSync(`${layerDir(d, id)}.tmp`)) id = newLayerId();
  return id;
}

/** Record snapshot `name` as `layers` (replacing an old-format one of that name), then remove what nothing uses. */
async function recordSnapshot(d: DiskLayout, name: string, layers: string[]): Promise<void> {
  mkdirSync(snapDir(d, name), { recursive: true, mode: 0o700 });
  writeAtomic(d.home, join(snapDir(d, name), 'snapshot.json'), { name, taken: new Date().toISOString(), layers } satisfies SnapshotRecord);
  await removeTree(d.home, join(snapDir(d, name), 'upper')); // an old-format snapshot of the same name
  await gc(d);
}

/** Save: freeze the upper into a layer (no copy) and record the stack as the snapshot `name`. */
export async function saveSnapshot(d: DiskLayout, name: string, o: { base?: string } = {}): Promise<void> {
  provenInside(d.home, join(snapDir(d, name), 'snapshot.json'));
  const s = await settleDisk(d);
  let layers = s.layers;
  const empty = existsSync(d.upper) && readdirSync(d.upper).length === 0;
  if (!empty || layers.length === 0) {
    const id = freeLayerId(d);
    provenInside(d.home, layerDir(d, id)); // a layers folder that leads out is refused before anything moves
    checkDepth(d, [id, ...layers], o.base);
    mkdirSync(d.layers, { recursive: true, mode: 0o700 });
    if (!existsSync(d.upper)) mkdirSync(d.upper, { recursive: true, mode: 0o755 });
    writeStack(d, { layers, pending: { op: 'freeze', id } });
    renameSync(d.upper, layerDir(d, id));
    layers = (await settleDisk(d)).layers;
  }
  await recordSnapshot(d, name, layers);
}

/** `disk/live.json`: the lab's last live save, for the next one's increment (increment.ts). */
interface LiveRecord {
  /** the lab's stack and upper (device:inode) it was taken from */
  stack: string[];
  upper: string;
  /** the snapshot's layers, top first */
  layers: string[];
  /** the upper's entries then: [path, signature, folder] */
  entries: [string, string, boolean][];
}

/** How many increments stack up before a save copies the whole upper again (each is one more overlay layer). */
const MAX_INCREMENTS = 12;

const liveFile = (d: DiskLayout) => join(d.stack, '..', 'live.json');
const upperId = (d: DiskLayout) => {
  const st = lstatSync(d.upper);
  return `${st.dev}:${st.ino}`;
};

/** The last live save when the next one can build on it: the same stack and upper, its layers all there. */
function liveBase(d: DiskLayout, s: StackRecord): LiveRecord | undefined {
  let rec: LiveRecord | undefined;
  try {
    rec = readJsonFile<LiveRecord>(liveFile(d));
  } catch {
    return undefined; // a damaged record only costs a whole copy
  }
  if (!rec || rec.upper !== upperId(d) || rec.stack.join(':') !== s.layers.join(':')) return undefined;
  if (rec.layers.length - s.layers.length >= MAX_INCREMENTS) return undefined;
  try {
    stackPaths(d, { layers: rec.layers }); // every layer still there (gc removes those no snapshot refers to)
  } catch {
    return undefined;
  }
  return rec;
}

/**
 * Save a running lab: `hold` keeps its processes still while its upper is copied into a new layer (links.ts: the
 * bulk as hard links, the rest copied), or only what changed since the lab's last live save (increment.ts); the
 * snapshot is that layer on the lab's stack (or on that save's layers). Nothing of the running disk changes:
 * stack.json stays, the upper stays. A crash leaves a temp folder or an unreferenced layer, which gc removes, or a
 * live.json of an older save, which only makes the next layer larger.
 */
export async function saveRunningSnapshot(
  d: DiskLayout,
  name: string,
  hold: (copy: () => Promise<void>) => Promise<void>,
  o: { base?: string } = {},
): Promise<void> {
  provenInside(d.home, join(snapDir(d, name), 'snapshot.json'));
  provenInside(d.home, liveFile(d));
  const s = readStack(d);
  if (s.pending) throw new LabError(`${d.stack} records an unfinished ${s.pending.op} while the lab runs`, DAMAGED);
  const prev = liveBase(d, s);
  const below = prev?.layers ?? s.layers;
  const id = freeLayerId(d);
  const tmp = `${layerDir(d, id)}.tmp`; // not a layer id: gc removes it after a crash
  provenInside(d.home, tmp);
  checkDepth(d, [id, ...below], o.base);
  mkdirSync(d.layers, { recursive: true, mode: 0o700 });
  await removeTree(d.home, tmp);
  let now: Scan = new Map();
  let wrote = false;
  await hold(async () => {
    now = scan(d.upper);
    if (prev) {
      const inc = increment(new Map(prev.entries.map(([p, sig, dir]) => [p, { sig, dir }])), now);
      if (isEmpty(inc)) return;
      await writeIncrement(d.upper, tmp, inc);
    } else {
      if (now.size === 0 && below.length > 0) return;
      await linkLayer(d.upper, tmp);
    }
    wrote = true;
  });
  let layers = below;
  if (wrote) {
    renameSync(tmp, layerDir(d, id)); // unreferenced (so removed by gc) until snapshot.json says otherwise
    layers = [id, ...below];
  }
  await recordSnapshot(d, name, layers);
  const entries = [...now].map(([p, e]): [string, string, boolean] => [p, e.sig, e.dir]);
  writeAtomic(d.home, liveFile(d), { stack: s.layers, upper: upperId(d), layers, entries } satisfies LiveRecord);
}

/** An old-format snapshot becomes a one-layer snapshot: its upper copied once into a layer (then the copy removed). */
async function convert(d: DiskLayout, name: string, taken: string): Promise<SnapshotRecord> {
  const id = freeLayerId(d);
  const tmp = `${layerDir(d, id)}.tmp`;
  provenInside(d.home, tmp);
  await removeTree(d.home, tmp);
  mkdirSync(d.layers, { recursive: true, mode: 0o700 });
  await run`cp -a ${join(snapDir(d, name), 'upper')} ${tmp}`;
  renameSync(tmp, layerDir(d, id)); // unreferenced (so removed by gc) until snapshot.json says otherwise
  const rec: SnapshotRecord = { name, taken, layers: [id] };
  writeAtomic(d.home, join(snapDir(d, name), 'snapshot.json'), rec);
  await removeTree(d.home, join(snapDir(d, name), 'upper'));
  return rec;
}

/** Restore: discard the upper (the caller saves it first when it must be kept); the stack becomes the snapshot's. */
export async function restoreSnapshot(d: DiskLayout, name: string, o: { base?: string } = {}): Promise<void> {
  provenInside(d.home, d.upper);
  const s = await settleDisk(d);
  let rec = readSnapshot(d, name);
  if (!rec) throw new LabError(`the lab has no snapshot "${name}"`, 'List them with `npm run lab:snapshot -- list`.');
  if (!rec.layers) rec = await convert(d, name, rec.taken);
  const layers = rec.layers ?? [];
  stackPaths(d, { layers }); // every layer there before anything is discarded
  checkDepth(d, layers, o.base);
  writeStack(d, { layers: s.layers, pending: { op: 'restore', layers } });
  await settleDisk(d);
  await gc(d);
}

export async function deleteSnapshot(d: DiskLayout, name: string): Promise<void> {
  await settleDisk(d);
  await removeTree(d.home, snapDir(d, name));
  await gc(d);
}

/** Remove the layers (and leftover temp folders) nothing refers to; returns their names. */
export async function gc(d: DiskLayout): Promise<string[]> {
  if (!existsSync(d.layers) && !lstatSync(d.layers, { throwIfNoEntry: false })) return [];
  provenInside(d.home, join(d.layers, 'x')); // the layers folder itself must not lead out
  const snaps = listSnapshots(d).map((n) => readSnapshot(d, n)!);
  const gone = unreferenced(readdirSync(d.layers), readStack(d), snaps);
  for (const e of gone) await removeTree(d.home, layerDir(d, e));
  return gone;
}
