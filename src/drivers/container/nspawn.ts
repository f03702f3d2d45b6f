/**
 * Booting and stopping a lab with `systemd-nspawn -b` (real systemd inside, so the runbook uses systemctl as on a VM).
 * nspawn runs detached (own session: Ctrl-C on `lab:up` does not reach it), its console goes to a log file, and it
 * is placed in a cgroup of its own (postfix-lab/<netns>) in every hierarchy nspawn uses: without that, nspawn with
 * --keep-unit puts every lab's "payload" in the same root cgroup. Everything in that cgroup is ours to stop.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from '../../errors.js';
import { removeInside } from '../../lab/names.js';
import { sh } from '../../host.js';
import { waitForSsh as sshd } from '../local/ssh-wait.js';
import { ourPid, waitExit } from '../local/processes.js';

/** nspawn's own bookkeeping for machines (what it cannot remove itself where /run is not tmpfs). */
const NSPAWN_RUN = '/run/systemd/nspawn';
const files = (dir: string) => ({ pid: join(dir, 'nspawn.pid'), console: join(dir, 'console.log') });
const marker = (netns: string) => `--network-namespace-path=/run/netns/${netns}`;

export function nspawnPid(dir: string, netns: string): number | undefined {
  return ourPid(files(dir).pid, marker(netns));
}

/** Roots of the cgroup hierarchies systemd-nspawn works in: cgroup2 (unified or pure) and v1 name=systemd. */
export function cgroupRoots(): string[] {
  const roots: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    const mp = left?.split(' ')[4];
    const [fstype, , opts] = right?.split(' ') ?? [];
    if (!mp) continue;
    if (fstype === 'cgroup2' || (fstype === 'cgroup' && opts?.split(',').includes('name=systemd'))) roots.push(mp);
  }
  return roots;
}

export const labCgroups = (netns: string) => cgroupRoots().map((r) => join(r, 'postfix-lab', netns));

/** Every cgroup folder below `dir`, deepest first. */
function cgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...cgroupTree(join(dir, e.name)));
  out.push(dir);
  return out;
}

export function cgroupPids(netns: string): number[] {
  const pids = new Set<number>();
  for (const cg of labCgroups(netns)) {
    for (const d of cgroupTree(cg)) {
      try {
        for (const p of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      } catch {
        /* removed meanwhile */
      }
    }
  }
  return [...pids];
}

export interface BootSpec {
  dir: string;
  root: string;
  machine: string;
  netns: string;
}

/** Start nspawn detached; returns its PID (the same process all the way: sh moves itself, then execs nspawn). */
export function boot(b: BootSpec): number {
  const f = files(b.dir);
  const cgroups = labCgroups(b.netns);
  const script = `set -e\nfor g in ${cgroups.map(sh).join(' ')}; do mkdir -p "$g"; echo $$ > "$g/cgroup.procs"; done\nexec "$0" "$@"`;
  const args = [
    '-q',
    '-b',
    '--console=read-only',
    '-D',
    b.root,
    '-M',
    b.machine,
    '--register=no',
    '--keep-unit',
    marker(b.netns),
    '--resolv-conf=off',
    '--link-journal=no',
  ];
  const out = openSync(f.console, 'w', 0o600);
  const child = spawn('/bin/sh', ['-c', script, 'systemd-nspawn', ...args], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_LOG_LEVEL: 'warning' },
  });
  closeSync(out);
  child.unref();
  if (!child.pid) throw new LabError('could not start systemd-nspawn', 'Check that systemd-container is installed.');
  writeFileSync(f.pid, `${child.pid}\n`, { mode: 0o600 });
  return child.pid;
}

export interface WaitOptions {
  timeoutMs: number;
  alive: () => boolean;
  signal?: AbortSignal;
}

export type WaitResult = { ok: true } | { ok: false; why: string };

export async function waitForSsh(host: string, o: WaitOptions): Promise<WaitResult> {
  const r = await sshd(host, 22, {
    timeoutMs: o.timeoutMs,
    intervalMs: 50,
    bannerTimeoutMs: 1000,
    alive: o.alive,
    gone: 'systemd-nspawn exited',
    signal: o.signal,
  });
  if (r.ok) return { ok: true };
  if (r.why === 'aborted') return { ok: false, why: 'interrupted' };
  return { ok: false, why: r.why === 'timeout' ? `sshd did not answer on ${host}:22 within ${Math.round(o.timeoutMs / 1000)} s` : r.why };
}

/** The console's last lines, without colour codes. */
export function consoleTail(dir: string, lines = 25): string {
  try {
    const text = readFileSync(files(dir).console, 'utf8')
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .replace(/\r/g, '');
    return text
      .split('\n')
      .filter((l) => l.trim())
      .slice(-lines)
      .map((l) => `  | ${l}`)
      .join('\n');
  } catch {
    return '  (no console log)';
  }
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Stop the lab: SIGTERM to nspawn (it powers the container off cleanly: systemd gets SIGRTMIN+3), SIGKILL to what is
 * in the lab's cgroup after the timeout (0: at once, when the lab's state is thrown away anyway). Then remove the
 * cgroups and nspawn's files under /run for this machine.
 */
export async function shutdown(b: { home: string; dir: string; netns: string; machine: string; lockFile?: string }, timeoutMs = 20_000): Promise<void> {
  const pid = nspawnPid(b.dir, b.netns);
  if (pid) {
    if (timeoutMs > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    if (timeoutMs <= 0 || !(await waitExit(pid, timeoutMs))) {
      killAll(cgroupPids(b.netns)); // the container first: SIGKILL on nspawn alone would orphan it
      await waitExit(pid, 5000);
    }
  }
  // anything left in the lab's cgroups (a crashed run's orphaned container) was started by us
  for (let i = 0; i < 50; i++) {
    const left = cgroupPids(b.netns);
    if (left.length === 0) break;
    killAll(left);
    await sleep(100);
  }
  for (const cg of labCgroups(b.netns)) {
    for (const d of cgroupTree(cg)) {
      try {
        rmdirSync(d);
      } catch {
        /* busy or gone */
      }
    }
    try {
      rmdirSync(join(cg, '..'));
    } catch {
      /* other labs */
    }
  }
  removeInside(b.home, files(b.dir).pid);
  for (const d of ['propagate', 'unix-export']) removeInside(join(NSPAWN_RUN, d), join(NSPAWN_RUN, d, b.machine));
  if (b.lockFile) removeInside(join(NSPAWN_RUN, 'locks'), join(NSPAWN_RUN, 'locks', b.lockFile));
}

/** What of a lab's runtime exists (for status and leftover detection). */
export function runtimeTraces(netns: string): string[] {
  const t: string[] = [];
  if (cgroupPids(netns).length) t.push('processes in its cgroup');
  else if (labCgroups(netns).some((c) => existsSync(c))) t.push('cgroup folders');
  return t;
}
