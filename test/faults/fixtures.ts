/** What the fault suites share: a small runbook with a long command, a big upload and a slow handler. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SshdFixture } from '../helpers/sshd.js';

export const scratchOf = (lab: string) => `/tmp/plab-faults/${lab}`;

/**
 * roles/01-faults under `dir`: long-step (3 s, records each start), big-file (a ~2 MB upload, notifies the
 * handler), record-restart (a 3 s handler that records each start). Every start is recorded, so a test can tell
 * a second copy from a retry that waited.
 */
export function faultRoles(dir: string): string {
  const roles = join(dir, 'roles');
  const role = join(roles, '01-faults');
  mkdirSync(join(role, 'templates'), { recursive: true });
  const line = 'x'.repeat(999);
  writeFileSync(join(role, 'templates', 'big.txt'), Array.from({ length: 2000 }, (_, i) => `${String(i).padStart(6, '0')} ${line}\n`).join(''));
  const d = '/tmp/plab-faults/{{ lab_name }}';
  writeFileSync(
    join(role, 'role.yaml'),
    [
      'role: faults',
      'section: 1',
      'title: Faults',
      'steps:',
      '  - id: long-step',
      '    title: Ensure the long command ran',
      '    section: "1.1"',
      `    command: { run: "echo start >> ${d}/long-starts; sleep 3; echo run >> ${d}/long-runs; touch ${d}/long-done", creates: "${d}/long-done" }`,
      '  - id: big-file',
      '    title: Ensure the big file is there',
      '    section: "1.2"',
      `    file: { path: "${d}/big.txt", template: big.txt, mode: "0644", backup: false }`,
      '    notify: [record-restart]',
      'handlers:',
      '  - id: record-restart',
      '    title: Record a restart',
      '    section: "1"',
      `    command: { run: "echo start >> ${d}/restart-starts; sleep 3; echo restart >> ${d}/restarts", always: true }`,
      '',
    ].join('\n'),
  );
  return roles;
}

/** Lab side: kill the per-connection sshd processes only (not the commands they started). Returns how many. */
export function killSessionSshd(sshd: SshdFixture): number {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      /* gone */
    }
  }
  const sessions: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      let comm = '';
      try {
        comm = readFileSync(`/proc/${c}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (!comm.startsWith('sshd')) continue;
      sessions.push(c);
      walk(c);
    }
  };
  walk(sshd.pid);
  for (const p of sessions) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return sessions.length;
}
