/**
 * A layer's tree for another place by hard links where that is safe: a clone's layers (clone.ts), and a running
 * lab's upper layer saved as a snapshot layer (layers.ts saveRunningSnapshot).
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runIn } from './sys.js';

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
 * Two `cp` runs in all (one for the links, one for the copies, with --parents from inside `from`): a checkpoint
 * freezes the lab for as long as this takes, and each process start costs more than the work of a small upper.
 */
export async function linkLayer(from: string, to: string): Promise<void> {
  const link: string[] = [];
  const copy: string[] = [];
  sortLayer(from, to, '', link, copy);
  if (link.length) await runIn(from)`cp -al --parents -- ${link} ${to}/`;
  if (copy.length) await runIn(from)`cp -a --parents -- ${copy} ${to}/`;
}

/** The folders down to the SHARED ones made in `to` (with their owner and mode); what to link and what to copy, relative. */
function sortLayer(from: string, to: string, rel: string, link: string[], copy: string[]): void {
  const st = statSync(from);
  mkdirSync(to, { mode: st.mode & 0o7777 });
  chownSync(to, st.uid, st.gid);
  chmodSync(to, st.mode & 0o7777);
  for (const e of readdirSync(from)) {
    const r = rel ? `${rel}/${e}` : e;
    const dir = lstatSync(join(from, e)).isDirectory();
    if (dir && SHARED.includes(r)) link.push(r);
    else if (dir && SHARED.some((s) => s.startsWith(`${r}/`))) sortLayer(join(from, e), join(to, e), r, link, copy);
    else copy.push(r);
  }
}
