/**
 * Incremental checkpoint layers. A running lab's upper layer only grows between two saves of it, so a save need not
 * copy all of it again: the layer holds what changed since the lab's last live save (a whiteout for each entry that
 * went), on top of that save's layers. `disk/live.json` records that save: the lab's stack and upper it was taken
 * from, its layers, and the upper's entries as they were (the scan). Any other save, a restore, a halt-and-save or
 * a clone makes a new upper or stack, so the record no longer matches and the next save copies everything again.
 *
 * What counts as changed (an entry's signature): its inode and ctime, which every write, chmod, chown or link of
 * the entry moves (user space cannot set a ctime). Files in the folders shared by hard links (links.ts SHARED) are
 * compared by inode only: the layer shares their inode, so linking them moves their ctime, and what writes there
 * replaces a file whole (a new inode), which links.ts relies on already. A whiteout is compared by what it is.
 * What a layer holds for each kind of change (overlayfs semantics, upper layer over lower):
 * - a new or changed file, symlink or whiteout: the entry (linked in SHARED, copied elsewhere);
 * - a new folder, or one made anew (another inode: removed and made again): the whole folder as `cp -a` copies it,
 *   its opaque mark included, then a whiteout for what the older layers hold below it and it no longer has;
 * - a folder that is the same one: the folder itself without its extended attributes (its opacity is the same
 *   folder's in the older layer), made only where something below it or its own attributes changed;
 * - an entry gone from the upper whose folder is still there: a whiteout (a character device 0/0).
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, type BigIntStats, type Stats, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './links.js';
import { runIn } from './sys.js';

export interface Entry {
  sig: string;
  dir: boolean;
}
/** An upper layer's entries by path relative to it, parents before their children. */
export type Scan = Map<string, Entry>;

const inShared = (rel: string) => SHARED.some((s) => rel === s || rel.startsWith(`${s}/`));
/** A folder above a SHARED one: made entry by entry, never copied whole (what is below it splits into link and copy). */
const aboveShared = (rel: string) => SHARED.some((s) => s.startsWith(`${rel}/`));
/** The same folder (its inode), whatever changed in it. */
const sameInode = (a: Entry, b: Entry) => a.sig.split(':')[0] === b.sig.split(':')[0];
const parentOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

function signature(rel: string, st: BigIntStats): Entry {
  const dir = st.isDirectory();
  // a whiteout means only that it is there; overlayfs links new ones to one inode, which moves every whiteout's ctime
  if (st.isCharacterDevice() && st.rdev === 0n) return { dir, sig: 'whiteout' };
  return { dir, sig: !dir && inShared(rel) ? `${st.ino}` : `${st.ino}:${st.ctimeNs}` };
}

/** Every entry below `root` with its signature (lstat: links are not followed). */
export function scan(root: string): Scan {
  const out: Scan = new Map();
  const walk = (rel: string) => {
    for (const e of readdirSync(rel ? join(root, rel) : root)) {
      const r = rel ? `${rel}/${e}` : e;
      const entry = signature(r, lstatSync(join(root, r), { bigint: true }));
      out.set(r, entry);
      if (entry.dir) walk(r);
    }
  };
  walk('');
  return out;
}

export interface Increment {
  /** folders to make with their owner, mode and times (no extended attributes) */
  dirs: string[];
  /** folders copied whole (new, or made anew) */
  whole: string[];
  /** files, symlinks, devices (whiteouts of the upper included) that are new or changed */
  files: string[];
  /** entries gone since the last save */
  whiteouts: string[];
}

/** What the next layer holds, from the last save's scan and this one (pure). */
export function increment(prev: Scan, now: Scan): Increment {
  const inc: Increment = { dirs: [], whole: [], files: [], whiteouts: [] };
  const whole = new Set<string>();
  const underWhole = (rel: string) => {
    for (let p = parentOf(rel); p; p = parentOf(p)) if (whole.has(p)) return true;
    return false;
  };
  for (const [rel, n] of now) {
    if (underWhole(rel)) continue;
    const o = prev.get(rel);
    if (o && o.sig === n.sig && o.dir === n.dir) continue;
    if (!n.dir) inc.files.push(rel);
    else if (aboveShared(rel)) inc.dirs.push(rel);
    else if (o?.dir && sameInode(o, n)) inc.dirs.push(rel);
    else {
      inc.whole.push(rel);
      whole.add(rel);
    }
  }
  for (const [rel] of prev) {
    if (now.has(rel)) continue;
    const parent = parentOf(rel);
    if (parent === '' || now.get(parent)?.dir) inc.whiteouts.push(rel);
  }
  return inc;
}

export const isEmpty = (i: Increment) => !i.dirs.length && !i.whole.length && !i.files.length && !i.whiteouts.length;

/** The folders of the new layer and the upper's own stat of each (for their times at the end). */
type Made = Map<string, Stats>;

/** Make `to/rel` as the folder `from/rel` is (owner, mode), and the folders above it that `to` lacks. */
function makeDir(from: string, to: string, rel: string, made: Made): void {
  if (made.has(rel)) return;
  if (rel) makeDir(from, to, parentOf(rel), made);
  const dst = rel ? join(to, rel) : to;
  const st = lstatSync(rel ? join(from, rel) : from);
  made.set(rel, st);
  if (rel && existsSync(dst)) return; // inside a folder copied whole
  mkdirSync(dst, { mode: st.mode & 0o7777 });
  chownSync(dst, st.uid, st.gid);
  chmodSync(dst, st.mode & 0o7777);
}

/** At most this many paths per `cp` (well under the kernel's limit on a command line). */
const CHUNK = 2000;

/** Write the increment of the upper `from` into the new layer folder `to` (which must not exist). */
export async function writeIncrement(from: string, to: string, inc: Increment): Promise<void> {
  const made: Made = new Map();
  makeDir(from, to, '', made);
  for (const rel of inc.dirs) makeDir(from, to, rel, made);
  const entries = [...inc.whole, ...inc.files];
  for (const rel of entries) makeDir(from, to, parentOf(rel), made);
  const link = entries.filter(inShared);
  const copy = entries.filter((r) => !inShared(r));
  for (let i = 0; i < link.length; i += CHUNK) await runIn(from)`cp -al --parents -- ${link.slice(i, i + CHUNK)} ${to}/`;
  for (let i = 0; i < copy.length; i += CHUNK) await runIn(from)`cp -a --parents -- ${copy.slice(i, i + CHUNK)} ${to}/`;
  for (const rel of inc.whiteouts) makeDir(from, to, parentOf(rel), made); // after the copies: some are inside them
  if (inc.whiteouts.length) await runIn(to)`sh -c ${'for p; do mknod -m 000 "$p" c 0 0; done'} sh ${inc.whiteouts}`;
  // the folders' times last (every entry written into them moved them), deepest first
  for (const [rel, st] of [...made].sort(([a], [b]) => b.length - a.length)) utimesSync(rel ? join(to, rel) : to, st.atime, st.mtime);
}
