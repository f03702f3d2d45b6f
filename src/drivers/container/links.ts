/**
 * A layer's tree for another place by hard links where that is safe: a clone's layers (clone.ts), and a running
 * lab's upper layer saved as a snapshot layer (layers.ts saveRunningSnapshot).
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './sys.js';

/** What a layer shares with its clones by hard links: programs, libraries, package caches and lists (the bulk). */
export const SHARED = ['usr', 'var/cache', 'var/lib/apt', 'var/lib/dpkg'];

/**
 * A layer's tree for another place: the SHARED folders as hard links, the rest (etc/, var/spool, var/lib/postfix,
 * var/log, ...: small) copied. Postfix refuses to open a file with more than one hard link (safe_open:
 * "/etc/mailname: file has 2 hard links"), and overlayfs shows a lower file's link count, so what daemons open as
 * configuration or state must be files of their own.
 * Linking a running lab's files is safe for the SHARED folders because what writes there replaces a file whole (a
 * new file renamed over the old one: dpkg, apt's caches, lists and extended_states, debconf, ldconfig; checked on
 * a lab with `stat -c %i` before and after an install, an index update, debconf-set-selections and ldconfig), so
 * the linked file, kept by the snapshot, never changes. What is written in place (logs, journals, queues) is copied.
 * One `cp` per folder level for its copies and one for its links.
 */
export async function linkLayer(from: string, to: string, rel = ''): Promise<void> {
  const st = statSync(from);
  mkdirSync(to, { mode: st.mode & 0o7777 });
  chownSync(to, st.uid, st.gid);
  chmodSync(to, st.mode & 0o7777);
  const link: string[] = [];
  const copy: string[] = [];
  for (const e of readdirSync(from)) {
    const r = rel ? `${rel}/${e}` : e;
    const dir = lstatSync(join(from, e)).isDirectory();
    if (dir && SHARED.includes(r)) link.push(join(from, e));
    else if (dir && SHARED.some((s) => s.startsWith(`${r}/`))) await linkLayer(join(from, e), join(to, e), r);
    else copy.push(join(from, e));
  }
  if (link.length) await run`cp -al ${link} ${to}/`;
  if (copy.length) await run`cp -a ${copy} ${to}/`;
}
