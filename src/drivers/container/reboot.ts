/**
 * A running lab stopped for work on its disk (a snapshot) and booted again at once: one pass that keeps what a stop
 * would only take apart to make again, and does not wait for what the disk work does not need.
 */
import { existsSync } from 'node:fs';
import type { Lab } from '../../lab/lab-file.js';
import { unmountDisk } from './disk.js';
import { forwarderPid, startForwarder, stopForwarder } from './forward.js';
import { type Inspection, type LabRef, readMeta, stopRuntime } from './lifecycle.js';
import { type Allocation, networkRenew } from './network.js';
import { shutdown } from './nspawn.js';
import { unmountAll } from './sys.js';

/** What stopForDisk keeps of a lab's runtime for start(r, o, kept). */
export interface Kept {
  /** The lab's address, its namespace being made afresh meanwhile. */
  ready: Promise<Allocation>;
  /** The forwarder holds the lab's ports for this process: no port check, the same ports served on. */
  portsHeld: boolean;
}

/**
 * Stop a running lab for work on its disk. Its processes are killed, not shut down: the lab shares this machine's
 * kernel, so every write() it made is in the page cache of the upper layer's files whatever becomes of its
 * processes (a kill loses only what a process still holds in its own memory, which no program can count on
 * keeping), and unmounting the overlay then writes them to the disk: overlayfs syncs its upper file system at
 * unmount (300 MB dirty before a umount, none after). A clean power-off took 1.5 s on a finished lab, and longer
 * on one still booting; the kill about 0.15 s.
 * Kept, rather than taken apart and made again: the address reservation, so the shared proxy and nft table stay
 * up, and the forwarded ports, held by this process meanwhile (the forwarder drops them by itself should this
 * process die). The namespace is made afresh, as a reboot resets a VM's network, while the disk work goes on.
 * Call under the lab lock; should start() not follow, stopRuntime() takes the rest apart.
 */
export async function stopForDisk(r: LabRef, i: Inspection, lab: Lab): Promise<Kept | undefined> {
  const alloc = i.alloc;
  const meta = i.meta ?? readMeta(r);
  if (!alloc || !meta) {
    await stopRuntime(r, false);
    return undefined;
  }
  const same = JSON.stringify(meta.ports ?? []) === JSON.stringify(lab.ports);
  let portsHeld = lab.ports.length === 0;
  if (same && !portsHeld && forwarderPid(r.dir)) {
    portsHeld = (await startForwarder(r.dir, alloc.labAddr, lab.ports, process.pid, lab.file).catch(() => undefined)) !== undefined;
  }
  if (!portsHeld) await stopForwarder(r.dir);
  await shutdown({ home: r.home, dir: r.dir, netns: r.netns, machine: r.name, lockFile: meta.lockFile }, 0);
  const ready = networkRenew(alloc).then(() => alloc);
  ready.catch(() => undefined); // (awaited by start(); a failure before it is handled there or by stopRuntime)
  await unmountDisk(r.disk);
  if (existsSync(r.dir)) await unmountAll(r.dir);
  return { ready, portsHeld };
}
