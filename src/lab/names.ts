/**
 * Names never walk out of their folder. One rule for every name a user gives (a lab's name from `--name` or its
 * lab file, a snapshot name), checked before anything touches the disk; and one helper for every removal, which
 * removes a path only when its resolved real location is inside the folder it belongs to (no `..`, no symlink escape).
 */
import { lstatSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { InputError, LabError } from '../errors.js';
import { loadSchema } from '../schemas.js';

interface NameRule {
  pattern: RegExp;
  source: string;
  description: string;
}

/** A lab's name: the lab file schema's own pattern and wording, so `--name` and `name:` say the same. */
function labNameRule(): NameRule {
  const s = (loadSchema('lab') as { properties: { name: { pattern: string; description: string } } }).properties.name;
  return { pattern: new RegExp(s.pattern), source: s.pattern, description: s.description };
}

const SNAPSHOT: NameRule = {
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  source: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
  description: 'Letters, digits, dots, dashes and underscores; starts with a letter or digit; at most 63 characters.',
};

function check(rule: NameRule, what: string, name: unknown, from: string): string {
  if (typeof name === 'string' && rule.pattern.test(name) && !name.includes('..')) return name;
  throw new InputError(`${from}: ${JSON.stringify(name ?? '')} is not a valid ${what}`, `It must match ${rule.source}. ${rule.description}`);
}

/** A lab name (exit 2 with the lab file's wording otherwise). `from` says where it came from, e.g. "--name". */
export function checkLabName(name: unknown, from = '--name'): string {
  return check(labNameRule(), 'lab name', name, from);
}

export const isLabName = (name: string): boolean => labNameRule().pattern.test(name);

export function checkSnapshotName(name: unknown, from = 'snapshot name'): string {
  return check(SNAPSHOT, 'snapshot name', name, from);
}

export const isSnapshotName = (name: string): boolean => SNAPSHOT.pattern.test(name) && !name.includes('..');

/** A removal (or a write) that would reach outside the folder it belongs to; nothing was touched. */
export class PathOutside extends LabError {
  readonly path: string;
  readonly root: string;
  constructor(path: string, root: string, why: string) {
    super(
      `refusing to remove ${path}: ${why}`,
      `postfix-lab removes only what lies inside ${root} (the lab's state folder or the image cache), checked on the real path. ` +
        'If a symbolic link was put there by hand, remove it yourself; then run the command again.',
    );
    this.path = path;
    this.root = root;
  }
}

function real(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * The real location of `path` when it lies strictly inside `root` (its parent folders resolved, symlinks included;
 * `path` itself may be a symlink, which is then what would be removed, not its target). undefined when `path` does
 * not exist. Throws PathOutside when it would be anywhere else.
 */
export function provenInside(root: string, path: string): string | undefined {
  const abs = resolve(path);
  const rel = relative(resolve(root), abs);
  if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || rel.split(sep).includes('..')) {
    throw new PathOutside(abs, root, `it is not inside ${root}`);
  }
  const realRoot = real(root);
  if (!realRoot) return undefined; // no root, nothing under it
  // walk down from root: the first component that does not exist ends it (nothing to remove)
  const parent = real(dirname(abs));
  if (!parent) {
    // a parent is missing or is a dangling link; make sure no existing ancestor already leads outside
    let up = dirname(abs);
    while (!real(up)) up = dirname(up);
    const r = real(up)!;
    if (r !== realRoot && !r.startsWith(realRoot + sep)) throw new PathOutside(abs, root, `${up} leads to ${r}, outside ${realRoot}`);
    return undefined;
  }
  if (parent !== realRoot && !parent.startsWith(realRoot + sep)) {
    throw new PathOutside(abs, root, `its folder ${dirname(abs)} is really ${parent}, outside ${realRoot} (a symbolic link leads out)`);
  }
  const target = join(parent, basename(abs));
  if (!lstatSync(target, { throwIfNoEntry: false })) return undefined;
  return target;
}

/** rm -rf `path`, only when it is proven inside `root` (see provenInside); a symlink is removed, never followed. */
export function removeInside(root: string, path: string, o: { recursive?: boolean } = { recursive: true }): void {
  const target = provenInside(root, path);
  if (target) rmSync(target, { recursive: o.recursive ?? true, force: true });
}
