/**
 * Edits of a stopped lab's disk without mounting it: a checkpoint's files read on the host through its frozen layers
 * (the overlay's rules: the top-most entry wins, a whiteout, a character device 0/0, hides what lies below it, a
 * file where a lower layer has a folder hides the folder), and a change written as one new frozen layer folder
 * (layers.ts): the files it replaces, whole, with their folders' mode and owner as the layers below have them, and
 * whiteouts for what it removes. What the overlay would copy up is written here directly; nothing else is copied.
 * Not read: overlayfs' own extended attributes (an opaque folder, a redirect, a metacopy). The container driver
 * mounts without redirect_dir and metacopy; an opaque folder (a folder removed and made again inside the lab) on
 * the path of a file read here would show files of the layers below it that the lab does not see.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, type Stats, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LabError } from '../../errors.js';
import { run } from './sys.js';

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

export interface Owner {
  mode: number;
  uid: number;
  gid: number;
}

/** One checkpoint's tree, read through its layers (top first; the base image's root last). */
export class LayerView {
  constructor(readonly dirs: string[]) {}

  /** The top-most entry of `rel` (a path inside the lab, no leading slash) and its lstat, or undefined. */
  locate(rel: string): { path: string; st: Stats } | undefined {
    const parts = rel.split('/');
    for (const d of this.dirs) {
      for (let k = 1; k < parts.length; k++) {
        const st = lstatSync(join(d, ...parts.slice(0, k)), { throwIfNoEntry: false });
        if (!st) break; // not in this layer: look lower
        if (isWhiteout(st)) return undefined;
        if (st.isSymbolicLink())
          throw new LabError(
            `the lab's /${parts.slice(0, k).join('/')} is a symbolic link: it cannot be re-keyed from the host`,
            'Run class:down, then class:up.',
          );
        if (!st.isDirectory()) return undefined;
      }
      const st = lstatSync(join(d, rel), { throwIfNoEntry: false });
      if (!st) continue;
      return isWhiteout(st) ? undefined : { path: join(d, rel), st };
    }
    return undefined;
  }

  exists = (rel: string) => this.locate(rel) !== undefined;

  /** The file's content, or undefined when the lab has no such file. */
  read(rel: string): string | undefined {
    const at = this.locate(rel);
    return at?.st.isFile() ? readFileSync(at.path, 'utf8') : undefined;
  }

  owner(rel: string): Owner | undefined {
    const st = this.locate(rel)?.st;
    return st && { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  }

  /** The names the lab sees in folder `rel`. */
  list(rel: string): string[] {
    const seen = new Map<string, boolean>();
    const parts = rel.split('/');
    for (const d of this.dirs) {
      let hidden = false;
      for (let k = 1; k <= parts.length && !hidden; k++) {
        const st = lstatSync(join(d, ...parts.slice(0, k)), { throwIfNoEntry: false });
        if (!st) break;
        if (!st.isDirectory()) hidden = true;
      }
      if (hidden) break;
      const st = lstatSync(join(d, rel), { throwIfNoEntry: false });
      if (!st?.isDirectory()) continue;
      for (const e of readdirSync(join(d, rel))) if (!seen.has(e)) seen.set(e, !isWhiteout(lstatSync(join(d, rel, e))));
    }
    return [...seen].filter(([, visible]) => visible).map(([e]) => e);
  }
}

export interface LayerFile extends Owner {
  /** inside the lab, no leading slash */
  path: string;
  content: string;
}

export interface LayerEdit {
  files: LayerFile[];
  /** paths to hide (whiteouts): only where the lab has them */
  remove: string[];
  /** mode and owner of a folder a file needs that the lab does not have yet */
  newDirs?: Record<string, Owner>;
}

/** Write `edit` as a layer folder `to` (which must not exist) above `view`. */
export async function writeLayer(view: LayerView, edit: LayerEdit, to: string): Promise<void> {
  const made = new Set<string>();
  const dir = (rel: string): void => {
    if (rel === '.' || made.has(rel)) return;
    dir(dirname(rel));
    const o = view.locate(rel)?.st.isDirectory() ? view.owner(rel) : edit.newDirs?.[rel];
    if (!o) throw new LabError(`the lab's disk has no folder /${rel} to re-key`, 'The checkpoint is damaged: run class:down, then class:up.');
    mkdirSync(join(to, rel), { mode: 0o700 });
    chownSync(join(to, rel), o.uid, o.gid);
    chmodSync(join(to, rel), o.mode);
    made.add(rel);
  };
  mkdirSync(to, { mode: 0o755 });
  const root = view.owner('.') ?? { mode: 0o755, uid: 0, gid: 0 };
  chownSync(to, root.uid, root.gid);
  chmodSync(to, root.mode);
  for (const f of edit.files) {
    dir(dirname(f.path));
    const p = join(to, f.path);
    writeFileSync(p, f.content, { mode: 0o600 });
    chownSync(p, f.uid, f.gid);
    chmodSync(p, f.mode);
  }
  const gone = edit.remove.filter((r) => view.exists(r) && !edit.files.some((f) => f.path === r));
  for (const r of gone) dir(dirname(r));
  // a whiteout is a character device 0/0, which only mknod makes (one command for all of them)
  if (gone.length) await run`sh -c ${'for f; do mknod "$f" c 0 0; done'} sh ${gone.map((r) => join(to, r))}`;
}
